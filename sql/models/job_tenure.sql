-- Model 3 (job_tenure): the first competitive job of each client, its length and whether it is
-- ongoing at the cut-off.
SELECT person_id, alue, job_days, ongoing
FROM core.competitive_jobs
WHERE is_first
