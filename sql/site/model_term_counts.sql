-- People (and people with the outcome) in each category of each term of one model.
SELECT term, n, n_events
FROM models.term_counts
WHERE model = $model
