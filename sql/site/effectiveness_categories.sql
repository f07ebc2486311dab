-- Rule 6 for the effectiveness model: people per group (IPS / comparison) in each category
-- of its categorical covariates, in the population the model analysed before its propensity
-- trimming, and (terms prefixed 'post24 ') in its 24-month population when it estimated the
-- 24-month outcome. The model counts them itself (ips_eval.models.effectiveness.category_counts):
-- the site reads the model's population, it never restates it.
SELECT term, category, n
FROM models.effectiveness_categories
WHERE model = 'effectiveness'
ORDER BY term, category
