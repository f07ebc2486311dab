-- The quarterly employment rate, every county (of the county table) x every quarter of ALL:
-- the counts $counts and rates $rates the website publishes (the figure catalogue's).
-- The mart starts each county at its own first quarter; the quarters before it are filled
-- with zeros here, because a missing row would publish a zero that rule 1 must suppress.
WITH quarters AS (
    SELECT DISTINCT quarter FROM marts.employment_rate_by_quarter WHERE alue = 'ALL'
), areas AS (
    SELECT DISTINCT alue FROM marts.employment_outcomes
), rows AS (
    SELECT a.alue, q.quarter, r.* EXCLUDE (alue, quarter)
    FROM areas a
    CROSS JOIN quarters q
    LEFT JOIN marts.employment_rate_by_quarter r ON r.alue = a.alue AND r.quarter = q.quarter
)
SELECT alue, quarter,
       coalesce(COLUMNS($counts), 0),
       COLUMNS($rates)
FROM rows
ORDER BY alue = 'ALL', alue, quarter
