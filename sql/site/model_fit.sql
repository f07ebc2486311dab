-- One model's fit-log row and its residual degrees of freedom when the model reported them.
SELECT f.status, f.n,
       (SELECT max(value) FROM models.diagnostics d
        WHERE d.model = f.model AND d.diagnostic = 'residual_df') AS residual_df
FROM models.fit_log f
WHERE f.model = $model
