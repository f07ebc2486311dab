-- The first competitive jobs the time-to-first-job curve counts (its events: `ttf_event`),
-- as of the run's cut-off and as of every quarter end, from this delivery. Rule 8 reads
-- the difference between the cut-off and an earlier curve's cut-off: the first jobs the
-- new curve holds that the earlier one could not (people who started since, and first jobs
-- found since among the people it had).
SELECT d.as_of, d.is_cutoff, count(*) FILTER (WHERE o.ttf_event) AS n_first_jobs
FROM core.evaluation_dates AS d
LEFT JOIN core.client_outcomes_asof AS o USING (as_of)
GROUP BY d.as_of, d.is_cutoff
ORDER BY d.as_of
