-- Models 1 (employment_predictors, unsubsidised_predictors): one row per study-population client
-- with both outcomes and the covariates of docs/analysis_plan.md "Models" 1.
SELECT person_id, alue, competitive, unsubsidised, age_group, gender, education, work_history, smi,
       fidelity_total
FROM core.client_outcomes
