-- Model 2 (time_to_first_job): one row per study-population client with the time to the first
-- competitive job (ttf_days, ttf_event, ttf_competing: sql/core/client_outcomes_asof.sql) and the
-- covariates of model 1 for the Cox model.
SELECT person_id, alue, ttf_days, ttf_event, ttf_competing, age_group, gender, education, work_history,
       smi, fidelity_total
FROM core.client_outcomes
