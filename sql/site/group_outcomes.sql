-- The same figures ($columns, as county_outcomes.sql) for all counties together by one
-- grouping (wave, smi, gender, age_group). Every group value has its row (zeros included), so
-- a missing row never publishes a zero.
SELECT g.group_value,
       COLUMNS($columns)
FROM marts.employment_outcomes_by_group g
LEFT JOIN ref.age_groups a ON g.grouping = 'age_group' AND a.age_group = g.group_value
WHERE g.alue = 'ALL' AND g.grouping = $grouping
ORDER BY a.min_age NULLS LAST, g.group_value
