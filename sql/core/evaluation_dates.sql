-- The as-of dates the headline outcomes are evaluated at: C and every quarter end.
--
-- Grain: one row per date at which the headline outcomes are evaluated ("as of" dates):
-- the run's cut-off C, and every quarter end of core.quarters (the quarterly headline mart
-- computes each figure as if that quarter end were the cut-off).
-- Why: every per-client rule in core is written once, for a column `as_of`, and evaluated
-- at all these dates in one query by joining this table (never by looping in Python).
CREATE OR REPLACE TABLE core.evaluation_dates AS
WITH quarter_ends AS (
    SELECT DISTINCT quarter, quarter_start, quarter_end
    FROM core.quarters
),
run_cutoff AS (
    SELECT CAST($cutoff AS DATE) AS cutoff
)
SELECT coalesce(q.quarter_end, r.cutoff) AS as_of,
       r.cutoff IS NOT NULL               AS is_cutoff,      -- the run's own cut-off C
       q.quarter_end IS NOT NULL          AS is_quarter_end,
       q.quarter,
       q.quarter_start
FROM quarter_ends AS q
FULL OUTER JOIN run_cutoff AS r ON q.quarter_end = r.cutoff
ORDER BY as_of;
