-- The same figures for all counties together by one grouping (wave, smi, gender, age_group).
-- Every group value has its row (zeros included), so a missing row never publishes a zero.
SELECT g.group_value,
       n_clients, n_competitive, rate_competitive, n_unsubsidised, rate_unsubsidised,
       n_tenure6, n_tenure6_eligible, rate_tenure6, n_tenure12, n_tenure12_eligible, rate_tenure12,
       n_employed6, n_employed6_eligible, rate_employed6, n_employed12, n_employed12_eligible, rate_employed12
FROM marts.employment_outcomes_by_group g
LEFT JOIN ref.age_groups a ON g.grouping = 'age_group' AND a.age_group = g.group_value
WHERE g.alue = 'ALL' AND g.grouping = $grouping
ORDER BY a.min_age NULLS LAST, g.group_value
