-- Models 1 (employment_predictors, unsubsidised_predictors): one row per study-population client
-- with both outcomes and the covariates of docs/analysis_plan.md "Models" 1, and the final
-- report's two process predictors from the client's first coach response when it is dated within
-- 3 months of S (S <= the response date <= S + 3 months; a later rating could be caused by a job):
-- `trust` (luottamus) and `care_cooperation` (yhteistyo_hoitotaho), NULL otherwise.
-- `n_coach_responses` tells a delivery without coach responses (the two terms are then left out).
SELECT o.person_id, o.alue, o.competitive, o.unsubsidised, o.age_group, o.gender, o.education, o.work_history,
       o.smi, o.fidelity_total,
       CASE WHEN c.first_response_date BETWEEN o.ips_start AND CAST(o.ips_start + INTERVAL 3 MONTH AS DATE)
            THEN c.first_trust END AS trust,
       CASE WHEN c.first_response_date BETWEEN o.ips_start AND CAST(o.ips_start + INTERVAL 3 MONTH AS DATE)
            THEN c.first_cooperation END AS care_cooperation,
       coalesce(c.n_coach_responses, 0) AS n_coach_responses
FROM core.client_outcomes AS o
LEFT JOIN core.coaching_clients AS c ON c.person_id = o.person_id
ORDER BY o.person_id
