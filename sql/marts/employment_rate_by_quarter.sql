-- The international quarterly employment rate per county and ALL.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: county or 'ALL' x calendar quarter (core.quarters: from the quarter holding the
-- earliest IPS start of that population to the last quarter with quarter_end <= C).
-- The international IPS quarterly employment rate, exactly as ANALYSIS_PLAN "Quarterly
-- employment rate" defines it; the client rows behind it are core.client_quarters.
-- The counts are of the per-client columns of core.client_quarters the figure catalogue
-- (ips_eval/figures/catalogue.yaml) names ($quarterly_flags: n_<column> = clients for whom it
-- is true; 0 in a quarter with nobody served, where DuckDB's count_if of no rows is NULL), and
-- the rates of $quarterly_rated the share of them among the clients served: the counts /
-- n_served, unrounded, NULL when n_served = 0.
CREATE OR REPLACE TABLE marts.employment_rate_by_quarter AS
WITH counts AS (
    SELECT q.alue,
           q.quarter,
           q.quarter_start,
           q.quarter_end,
           count(cq.person_id)                                 AS n_served,
           CAST(coalesce(count_if(COLUMNS($quarterly_flags)), 0) AS BIGINT) AS 'n_\0',
           avg(CAST(COLUMNS($quarterly_rated) AS INTEGER))     AS 'rate_\0'
    FROM core.quarters AS q
    LEFT JOIN core.client_quarters AS cq
      ON cq.quarter = q.quarter
     AND (q.alue = 'ALL' OR cq.alue = q.alue)
    GROUP BY q.alue, q.quarter, q.quarter_start, q.quarter_end
)
SELECT alue,
       quarter,
       COLUMNS('^(n|rate)_'),
       quarter_start,
       quarter_end
FROM counts
ORDER BY alue = 'ALL', alue, quarter_start;
