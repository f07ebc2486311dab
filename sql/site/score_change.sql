-- Paired change from baseline to final per score (models.score_change, from the scores_* models).
SELECT score, n_pairs, mean_baseline, mean_final, mean_change, ci_low, ci_high
FROM models.score_change
ORDER BY score
