-- Grain: group (IPS / comparison / comparison weighted to the IPS clients) x relative month x
-- state: the share of the analysed persons in that monthly state. Reads the person weights the
-- effectiveness model registers as `analysed_weights` (person_id, ips, w). Aggregated here so
-- that the rows per person-month stay in DuckDB rather than pandas. The person-months are
-- grouped once, by treatment, month and state (a count and a weight sum); the three groups are
-- made from those cells, not from three copies of the rows. Weights are summed as DECIMAL: an
-- exact sum does not depend on the order DuckDB's threads add the rows in, so a re-run gives
-- the same shares to the bit.
WITH s AS (
    SELECT q.person_id, q.rel_month, q.state, a.ips, a.w
    FROM marts.state_sequences AS q
    JOIN analysed_weights AS a USING (person_id)
), cells AS (
    SELECT ips, rel_month, state, CAST(count(*) AS DECIMAL(38, 12)) AS n, sum(CAST(w AS DECIMAL(38, 12))) AS w
    FROM s GROUP BY ALL
), groups AS (
    SELECT 'IPS' AS grp, rel_month, state, n AS weight FROM cells WHERE ips = 1
    UNION ALL
    SELECT 'comparison', rel_month, state, n FROM cells WHERE ips = 0
    UNION ALL
    SELECT 'comparison, weighted', rel_month, state, w FROM cells WHERE ips = 0
), num AS (
    SELECT grp, rel_month, state, sum(weight) AS num FROM groups WHERE state IS NOT NULL GROUP BY ALL
), den AS (
    SELECT grp, rel_month, sum(weight) AS den FROM groups GROUP BY ALL
), persons AS (
    SELECT ips, count(*) AS n FROM (SELECT DISTINCT person_id, ips FROM s) GROUP BY ALL
), people AS (
    SELECT 'IPS' AS grp, n FROM persons WHERE ips = 1
    UNION ALL SELECT 'comparison', n FROM persons WHERE ips = 0
    UNION ALL SELECT 'comparison, weighted', n FROM persons WHERE ips = 0
)
SELECT num.grp AS "group", num.rel_month, num.state, CAST(num.num AS DOUBLE) / CAST(den.den AS DOUBLE) AS share, people.n
FROM num
JOIN den USING (grp, rel_month)
JOIN people USING (grp)
ORDER BY 1, 2, 3
