-- The quarterly employment rate, every county (of the county table) x every quarter of ALL.
-- The mart starts each county at its own first quarter; the quarters before it are filled
-- with zeros here, because a missing row would publish a zero that rule 1 must suppress.
WITH quarters AS (
    SELECT DISTINCT quarter FROM marts.employment_rate_by_quarter WHERE alue = 'ALL'
), areas AS (
    SELECT DISTINCT alue FROM marts.employment_outcomes
)
SELECT a.alue, q.quarter,
       coalesce(r.n_served, 0) AS n_served,
       coalesce(r.n_working, 0) AS n_working,
       r.rate_working,
       coalesce(r.n_working_unsubsidised, 0) AS n_working_unsubsidised,
       r.rate_working_unsubsidised
FROM areas a
CROSS JOIN quarters q
LEFT JOIN marts.employment_rate_by_quarter r ON r.alue = a.alue AND r.quarter = q.quarter
ORDER BY a.alue = 'ALL', a.alue, q.quarter
