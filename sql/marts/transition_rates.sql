-- Monthly transition rates between the states, for model 6's analysed IPS clients and its weighted comparison cohort.
--
-- Grain: group ('ips', 'comparison_weighted') x period ('pre12', 'post12', 'post24') x
-- from_state x to_state (every state of ref.states as to_state, rate 0 included, for each
-- from_state the group was observed in during the period).
-- Why: ANALYSIS_PLAN "Transitions in services and benefits": from each state, the share in
-- each state one month later.
-- Month pairs: a pair is a person's relative month m and m + 1 (marts.state_sequences); it
-- counts only when both months are observed (state not NULL: both start on or before C), and
-- it belongs to a period when m lies in that period's months (ref.transition_periods: pre12
-- m = -12..-1, so the last pair is -1 -> 0; post12 m = 0..11; post24 m = 0..23). Every observed
-- pair of the period counts: the analysed persons' 12-month windows are complete, and in post24
-- a person followed for 17 months after I gives 16 pairs (a pair's transition does not depend
-- on later months).
-- Groups: both are the persons the effectiveness model analysed (models.person_weights, written
-- by it), so the two groups compare the population its comparison cohort is weighted to:
-- 'ips' = its analysed IPS clients (complete 12-month window, known covariates, not trimmed),
-- each person-month with weight 1; 'comparison_weighted' = its analysed comparison persons, each
-- person-month with the person's ATT weight. An IPS client the model left out is in no group.
-- When that model was not fitted, models.person_weights has no rows and neither has this table
-- (the fit log says why).
-- n_from: person-months in from_state in the period whose next month is observed, weighted
-- (sum of the persons' weights; for 'ips' a plain count). rate: weighted share of those
-- person-months followed by to_state (sums to 1 over to_state). n_persons_from: persons
-- (unweighted) behind n_from; n_persons_moved: persons (unweighted) with at least one such
-- pair into to_state; the site publishes a rate only when both are at least T.
CREATE OR REPLACE TABLE marts.transition_rates AS
WITH weights AS (  -- as exact decimals: their sums do not depend on the threads' order, so a re-run gives the same bits
    SELECT w.person_id, CASE WHEN w.ips THEN 'ips' ELSE 'comparison_weighted' END AS "group",
           CAST(CASE WHEN w.ips THEN 1 ELSE w.weight END AS DECIMAL(38, 18)) AS weight
    FROM models.person_weights AS w
    WHERE w.model = 'effectiveness'
),
pairs AS (  -- each observed month pair m -> m + 1 of the months any period needs
    SELECT person_id, rel_month, state AS from_state,
           lead(state) OVER (PARTITION BY person_id ORDER BY rel_month) AS to_state,
           lead(rel_month) OVER (PARTITION BY person_id ORDER BY rel_month) AS next_month
    FROM marts.state_sequences
    WHERE rel_month BETWEEN (SELECT min(first_month) FROM ref.transition_periods)
                        AND (SELECT max(last_month) FROM ref.transition_periods) + 1
),
observed AS (  -- the pairs that count: both months observed, first month in the period
    SELECT w."group", p.period, x.person_id, x.from_state, x.to_state, w.weight
    FROM pairs AS x
    JOIN weights AS w USING (person_id)
    JOIN ref.transition_periods AS p ON x.rel_month BETWEEN p.first_month AND p.last_month
    WHERE x.from_state IS NOT NULL AND x.to_state IS NOT NULL AND x.next_month = x.rel_month + 1
),
counted AS (
    SELECT "group", period, from_state, to_state,
           sum(weight) AS weighted_months, count(DISTINCT person_id) AS n_persons_moved
    FROM observed
    GROUP BY ALL
),
from_totals AS (
    SELECT "group", period, from_state,
           sum(weight) AS n_from, count(DISTINCT person_id) AS n_persons_from
    FROM observed
    GROUP BY ALL
)
SELECT f."group", f.period, f.from_state, s.state AS to_state,
       CAST(f.n_from AS DOUBLE) AS n_from,
       CAST(coalesce(c.weighted_months, 0) AS DOUBLE) / CAST(f.n_from AS DOUBLE) AS rate,
       f.n_persons_from,
       coalesce(c.n_persons_moved, 0) AS n_persons_moved
FROM from_totals AS f
CROSS JOIN ref.states AS s
LEFT JOIN counted AS c
  ON c."group" = f."group" AND c.period = f.period AND c.from_state = f.from_state AND c.to_state = s.state
WHERE f.n_from > 0
ORDER BY f."group" DESC, f.period, f.from_state, s.priority
