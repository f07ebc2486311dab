-- Model 6 (effectiveness): one row per register cohort person with the propensity-model
-- covariates, the outcomes and the negative-control outcomes (docs/models.md). Persons whose
-- 12-month outcome window has not ended by the cut-off have NULL outcomes; the model counts
-- them and leaves them out; likewise the 24-month outcomes, estimated apart (docs/models.md).
-- `smi` is no covariate: the model counts its population by it for the site's disclosure
-- check (models.effectiveness_categories).
SELECT o.person_id,
       o.ips,
       o.alue,
       o.birth_year,
       o.gender,
       o.education,
       o.dg,
       o.smi,
       o.index_date,
       o.employed_months_pre12,
       o.benefit_months_pre12,
       o.employed_months_post12,
       o.earnings_post12,
       o.employed_months_post24,
       o.earnings_post24,
       o.employed_months_pre24_13,
       o.benefit_months_pre24_13,
       o.psych_inpatient_days_pre24_13
FROM marts.register_outcomes AS o
ORDER BY o.person_id
