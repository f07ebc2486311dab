-- Headline employment outcomes as if each quarter end were the cut-off.
--
-- Grain: county or 'ALL' x quarter of core.quarters (from the quarter that holds the first IPS
-- start of that county's population to the last quarter ending on or before C).
-- Each row holds the headline figures computed as if the quarter end were the cut-off: the
-- population rule, the job window, censoring, eligibility and the "first job" are all
-- re-applied at the quarter end (core.*_asof tables, counted in marts.employment_figures).
CREATE OR REPLACE TABLE marts.employment_outcomes_quarterly AS
SELECT q.alue,
       q.quarter,
       q.quarter_start,
       q.quarter_end,
       COLUMNS('^(n|rate|median)_')   -- the figures (core.quarters has no such columns)
FROM core.quarters AS q
JOIN marts.employment_figures AS f
  ON f.as_of = q.quarter_end AND f.alue = q.alue AND f.grouping = 'total'
ORDER BY q.alue = 'ALL', q.alue, q.quarter_start;
