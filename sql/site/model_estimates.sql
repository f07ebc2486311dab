-- One model's tidy estimates (models.estimates), in the order the model wrote them.
SELECT term, estimator, estimate, ci_low, ci_high, p_value, n
FROM models.estimates
WHERE model = $model
