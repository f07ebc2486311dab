-- Model 7 (transition_to_work): each register person's months at risk of moving from a benefit
-- state into employment after the index month, counted per month group (docs/models.md).
-- A person-month at risk is a relative month m >= 0 in a benefit state (ref.states kind
-- 'benefit') whose next month m + 1 is observed (within the sequence, on or before C); its
-- outcome is 1 when month m + 1 is in employment (kind 'employment', with or without subsidy).
-- The month groups (first_month..last_month of m) come from the model module as the relation
-- `hazard_month_groups`. One row per person and month group with at least one month at risk:
-- the person-months are counted here, never handed to Python one by one.
WITH pairs AS (
    SELECT person_id, rel_month, state,
           lead(state) OVER (PARTITION BY person_id ORDER BY rel_month) AS next_state
    FROM marts.state_sequences
    WHERE rel_month >= 0
)
SELECT p.person_id, g.month_group,
       count(*) AS months_at_risk,
       count(*) FILTER (WHERE n.kind = 'employment') AS moves_into_work
FROM pairs AS p
JOIN ref.states AS f ON f.state = p.state AND f.kind = 'benefit'
JOIN ref.states AS n ON n.state = p.next_state
JOIN hazard_month_groups AS g ON p.rel_month BETWEEN g.first_month AND g.last_month
GROUP BY ALL
ORDER BY p.person_id, g.month_group
