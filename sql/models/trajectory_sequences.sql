-- Trajectory types: one row per person of the effectiveness model's 24-month fit (its
-- models.person_weights_post24: IPS clients weight 1, comparison persons their ATT weight from
-- the 24-month propensity model, which balances this population) with the
-- post-index sequence as a string of state numbers, one character per month from $first to
-- $last (ref.states priority, 1 = employed_subsidised ... 6 = other). `states` is NULL when a
-- month of that window is not observed yet (its state is NULL): such a person is counted and
-- left out. One row per person, so the person-months stay in DuckDB.
WITH months AS (
    SELECT q.person_id, q.rel_month, s.priority
    FROM marts.state_sequences AS q
    JOIN ref.states AS s ON s.state = q.state
    WHERE q.rel_month BETWEEN $first AND $last
)
SELECT w.person_id,
       w.ips,
       w.weight,
       CASE WHEN count(m.priority) = $last - $first + 1
            THEN string_agg(CAST(m.priority AS VARCHAR), '' ORDER BY m.rel_month) END AS states
FROM models.person_weights_post24 AS w
LEFT JOIN months AS m ON m.person_id = w.person_id
WHERE w.model = 'effectiveness'
GROUP BY w.person_id, w.ips, w.weight
ORDER BY w.person_id
