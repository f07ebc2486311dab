-- One model's diagnostics that failed (models.diagnostics): the site states them beside the estimates.
SELECT diagnostic
FROM models.diagnostics
WHERE model = $model AND passed = FALSE
ORDER BY diagnostic
