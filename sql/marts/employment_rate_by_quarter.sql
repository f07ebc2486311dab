-- The international quarterly employment rate per county and ALL.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: county or 'ALL' x calendar quarter (core.quarters: from the quarter holding the
-- earliest IPS start of that population to the last quarter with quarter_end <= C).
-- The international IPS quarterly employment rate, exactly as ANALYSIS_PLAN "Quarterly
-- employment rate" defines it; the client rows behind it are core.client_quarters.
-- Rates are the counts / n_served, unrounded, NULL when n_served = 0.
CREATE OR REPLACE TABLE marts.employment_rate_by_quarter AS
WITH counts AS (
    SELECT q.alue,
           q.quarter,
           q.quarter_start,
           q.quarter_end,
           count(cq.person_id)                 AS n_served,
           count(*) FILTER (WHERE cq.working)               AS n_working,
           count(*) FILTER (WHERE cq.working_unsubsidised)  AS n_working_unsubsidised
    FROM core.quarters AS q
    LEFT JOIN core.client_quarters AS cq
      ON cq.quarter = q.quarter
     AND (q.alue = 'ALL' OR cq.alue = q.alue)
    GROUP BY q.alue, q.quarter, q.quarter_start, q.quarter_end
)
SELECT alue,
       quarter,
       n_served,
       n_working,
       n_working / nullif(n_served, 0)              AS rate_working,
       n_working_unsubsidised,
       n_working_unsubsidised / nullif(n_served, 0) AS rate_working_unsubsidised,
       quarter_start,
       quarter_end
FROM counts
ORDER BY alue = 'ALL', alue, quarter_start;
