-- Headline employment figures per county and ALL (marts.employment_outcomes), the columns the
-- website publishes. Counts and their rates only: n_jobs/median_job_days/n_other_activity are
-- not on the site. ALL last, counties alphabetically.
SELECT alue,
       n_clients, n_competitive, rate_competitive, n_unsubsidised, rate_unsubsidised,
       n_tenure6, n_tenure6_eligible, rate_tenure6, n_tenure12, n_tenure12_eligible, rate_tenure12,
       n_employed6, n_employed6_eligible, rate_employed6, n_employed12, n_employed12_eligible, rate_employed12
FROM marts.employment_outcomes
ORDER BY alue = 'ALL', alue
