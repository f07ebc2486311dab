-- Headline employment outcomes per county and ALL, as of C.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: one row per county of the study population plus one row with alue = 'ALL', as of C.
-- Every headline figure by its name; the counting lives in marts.employment_figures.
CREATE OR REPLACE TABLE marts.employment_outcomes AS
SELECT alue,
       COLUMNS('^(n|rate|median)_'),
       as_of AS cutoff
FROM marts.employment_figures
WHERE as_of = $cutoff AND grouping = 'total'
ORDER BY alue = 'ALL', alue;
