-- Model 7 (transition_to_work): each register person's months at risk of moving from a benefit
-- state into employment after the index month, counted per month group (docs/models.md).
-- A person-month at risk is a relative month m >= 0 in a benefit state (ref.states kind
-- 'benefit') whose next month m + 1 is observed (within the sequence, on or before C); its
-- outcome is 1 when month m + 1 is in employment (kind 'employment', with or without subsidy).
-- Recurrent: a person who moved into work and came back onto a benefit is at risk again, so
-- months_at_risk and moves_into_work count every spell on benefits. The first-move-only fit
-- reads months_at_risk_first (the months up to and including the first move, or all when the
-- person never moved) and first_moves (0 or 1 per person over the groups).
-- The month groups (first_month..last_month of m) come from the model module as the relation
-- `hazard_month_groups`. One row per person and month group with at least one month at risk:
-- the person-months are counted here, never handed to Python one by one.
WITH at_risk AS (  -- the month and the next are one row of the view (state, next_state)
    SELECT p.person_id, p.rel_month, n.kind = 'employment' AS moved
    FROM marts.state_sequences AS p
    JOIN ref.states AS f ON f.state = p.state AND f.kind = 'benefit'
    JOIN ref.states AS n ON n.state = p.next_state
    WHERE p.rel_month >= 0
),
first_move AS (
    SELECT person_id, min(rel_month) AS first_move_month
    FROM at_risk
    WHERE moved
    GROUP BY person_id
)
SELECT a.person_id, g.month_group,
       count(*) AS months_at_risk,
       count(*) FILTER (WHERE a.moved) AS moves_into_work,
       count(*) FILTER (WHERE m.first_move_month IS NULL OR a.rel_month <= m.first_move_month) AS months_at_risk_first,
       count(*) FILTER (WHERE a.rel_month = m.first_move_month) AS first_moves
FROM at_risk AS a
LEFT JOIN first_move AS m ON m.person_id = a.person_id
JOIN hazard_month_groups AS g ON a.rel_month BETWEEN g.first_month AND g.last_month
GROUP BY ALL
ORDER BY a.person_id, g.month_group
