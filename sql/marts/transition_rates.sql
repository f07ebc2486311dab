-- Monthly transition rates between the states, for model 6's analysed IPS clients and its weighted comparison cohort.
--
-- Grain: group ('ips', 'comparison_weighted') x period ('pre12', 'post12', 'post24') x
-- from_state x to_state (every state of ref.states as to_state, rate 0 included, for each
-- from_state the group was observed in during the period).
-- Why: ANALYSIS_PLAN "Transitions in services and benefits": from each state, the share in
-- each state one month later.
-- Month pairs: a pair is a person's relative month m and m + 1 (marts.state_sequences: its
-- state and next_state); it counts only when both months are observed (not NULL: both start on
-- or before C), and it belongs to a period when m lies in that period's months (ref.transition_periods: pre12
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
-- How (national scale, benchmarks/RESULTS.md): the person-month pairs are never grouped by
-- person and state: the weighted sums are grouped straight by group, period and pair of states,
-- and the persons are counted from one row per person and period holding the set of pairs of
-- states the person made (a bit per pair in a BIGINT: room for the pairs of up to 7
-- states; more stop the build with an overflow error), so no count(DISTINCT) and no hash table
-- of person-months is needed.
CREATE OR REPLACE TABLE marts.transition_rates AS
WITH weights AS (  -- as exact decimals: their sums do not depend on the threads' order, so a re-run gives the same bits
    SELECT w.person_id, CASE WHEN w.ips THEN 'ips' ELSE 'comparison_weighted' END AS "group",
           CAST(CASE WHEN w.ips THEN 1 ELSE w.weight END AS DECIMAL(38, 18)) AS weight
    FROM models.person_weights AS w
    WHERE w.model = 'effectiveness'
),
state_list AS (  -- the states by priority: a pair's bit is (from's position - 1) * states + to's position - 1
    SELECT list(state ORDER BY priority) AS states
    FROM ref.states
),
state_pairs AS (  -- every pair of states (from_state, to_state) with its bit
    SELECT f.state AS from_state, t.state AS to_state,
           CAST(1 AS BIGINT) << CAST((array_position(l.states, f.state) - 1) * array_length(l.states)
                                     + array_position(l.states, t.state) - 1 AS INTEGER) AS pair_bit
    FROM ref.states AS f, ref.states AS t, state_list AS l
),
observed AS NOT MATERIALIZED (  -- the pairs that count: both months observed, first month in the period
    -- (read twice rather than stored: its rows are the person-month pairs)
    SELECT w."group", p.period, x.person_id, x.state AS from_state, x.next_state AS to_state, w.weight,
           CAST(1 AS BIGINT) << CAST((array_position(l.states, x.state) - 1) * array_length(l.states)
                                     + array_position(l.states, x.next_state) - 1 AS INTEGER) AS pair_bit
    FROM marts.state_sequences AS x
    JOIN weights AS w USING (person_id)
    JOIN ref.transition_periods AS p ON x.rel_month BETWEEN p.first_month AND p.last_month
    CROSS JOIN state_list AS l
    WHERE x.state IS NOT NULL AND x.next_state IS NOT NULL
),
counted AS (
    SELECT "group", period, from_state, to_state, sum(weight) AS weighted_months
    FROM observed
    GROUP BY ALL
),
person_pairs AS (  -- per person and period, the set of the pairs of states the person made
    SELECT "group", period, person_id, bit_or(pair_bit) AS pairs
    FROM observed
    GROUP BY ALL
),
persons_moved AS (  -- persons whose set holds the pair
    SELECT q."group", q.period, s.from_state, s.to_state, count(*) AS n_persons_moved
    FROM person_pairs AS q
    JOIN state_pairs AS s ON q.pairs & s.pair_bit <> 0
    GROUP BY ALL
),
persons_from AS (  -- persons whose set holds a pair from the state
    SELECT q."group", q.period, s.from_state, count(*) AS n_persons_from
    FROM person_pairs AS q
    JOIN (SELECT from_state, bit_or(pair_bit) AS pairs FROM state_pairs GROUP BY from_state) AS s
      ON q.pairs & s.pairs <> 0
    GROUP BY ALL
),
from_totals AS (  -- exact decimals: the same sum as over the person-months
    SELECT "group", period, from_state, sum(weighted_months) AS n_from
    FROM counted
    GROUP BY ALL
)
SELECT f."group", f.period, f.from_state, s.state AS to_state,
       CAST(f.n_from AS DOUBLE) AS n_from,
       CAST(coalesce(c.weighted_months, 0) AS DOUBLE) / CAST(f.n_from AS DOUBLE) AS rate,
       pf.n_persons_from,
       coalesce(pm.n_persons_moved, 0) AS n_persons_moved
FROM from_totals AS f
JOIN persons_from AS pf USING ("group", period, from_state)
CROSS JOIN ref.states AS s
LEFT JOIN counted AS c
  ON c."group" = f."group" AND c.period = f.period AND c.from_state = f.from_state AND c.to_state = s.state
LEFT JOIN persons_moved AS pm
  ON pm."group" = f."group" AND pm.period = f.period AND pm.from_state = f.from_state AND pm.to_state = s.state
WHERE f.n_from > 0
ORDER BY f."group" DESC, f.period, f.from_state, s.priority
