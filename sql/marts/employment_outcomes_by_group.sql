-- Headline employment outcomes by wave, SMI, gender and age group, as of C.
--
-- Grain: county or 'ALL' x grouping ('wave', 'smi', 'gender', 'age_group') x group_value, as of C.
-- The headline figures of marts.employment_outcomes within each group (counted in
-- marts.employment_figures). group_value: wave '1'/'2'; smi 'yes'/'no'/'unknown';
-- gender '1'/'2'/'9'; age_group as in ref.age_groups; 'unknown' where the attribute is missing.
CREATE OR REPLACE TABLE marts.employment_outcomes_by_group AS
SELECT alue,
       grouping,
       group_value,
       COLUMNS('^(n|rate|median)_'),
       as_of AS cutoff
FROM marts.employment_figures
WHERE as_of = $cutoff AND grouping <> 'total'
ORDER BY alue = 'ALL', alue, grouping, group_value;
