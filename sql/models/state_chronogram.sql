-- Grain: group (IPS / comparison / comparison weighted to the IPS clients) x relative month x
-- state: the share of the analysed persons in that monthly state. Reads the person weights the
-- effectiveness model registers as `analysed_weights` (person_id, ips, w). Aggregated here so
-- that the rows per person-month stay in DuckDB rather than pandas. Weights are summed as
-- DECIMAL: an exact sum does not depend on the order DuckDB's threads add the rows in, so a
-- re-run gives the same shares to the bit.
WITH s AS (
    SELECT q.person_id, q.rel_month, q.state, a.ips, a.w
    FROM marts.state_sequences AS q
    JOIN analysed_weights AS a USING (person_id)
), groups AS (
    SELECT 'IPS' AS grp, person_id, rel_month, state, 1.0 AS weight FROM s WHERE ips = 1
    UNION ALL
    SELECT 'comparison', person_id, rel_month, state, 1.0 FROM s WHERE ips = 0
    UNION ALL
    SELECT 'comparison, weighted', person_id, rel_month, state, w FROM s WHERE ips = 0
), num AS (  -- months after the cut-off have no state: they count in no share's numerator
    SELECT grp, rel_month, state, sum(CAST(weight AS DECIMAL(38, 12))) AS num FROM groups WHERE state IS NOT NULL GROUP BY ALL
), den AS (
    SELECT grp, rel_month, sum(CAST(weight AS DECIMAL(38, 12))) AS den FROM groups GROUP BY ALL
), people AS (
    SELECT grp, count(DISTINCT person_id) AS n FROM groups GROUP BY ALL
)
SELECT num.grp AS "group", num.rel_month, num.state, CAST(num.num AS DOUBLE) / CAST(den.den AS DOUBLE) AS share, people.n
FROM num
JOIN den USING (grp, rel_month)
JOIN people USING (grp)
ORDER BY 1, 2, 3
