-- Kaplan-Meier steps of time to the first competitive job (all counties); the site publishes
-- them only through disclosure.publishable_curve (rule 5).
SELECT time, n_at_risk, n_events, n_censored, estimate, ci_low, ci_high
FROM models.km_time_to_first_job
WHERE "group" = 'ALL'
ORDER BY time
