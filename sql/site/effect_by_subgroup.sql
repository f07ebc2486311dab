-- Model 9's effect of IPS within subgroups (models.effect_by_subgroup), the "for whom" section:
-- the estimates with their intervals and each subgroup's heterogeneity test, of the levels
-- with at least $threshold treated and $threshold comparison persons (the people behind an
-- estimate, rule 4) and an estimate. The counts themselves are not read: with the model's
-- overall n they would give away a level left out. $subgroups: the page's order.
SELECT subgroup,
       level,
       estimate,
       ci_low,
       ci_high,
       p_heterogeneity
FROM models.effect_by_subgroup
WHERE n_treated >= $threshold
  AND n_comparison >= $threshold
  AND estimate IS NOT NULL
  AND ci_low IS NOT NULL
  AND ci_high IS NOT NULL
  AND coalesce(status, '') NOT IN ('not_estimated', 'not_fitted', 'failed', 'not_publishable')
ORDER BY array_position($subgroups, subgroup), level
