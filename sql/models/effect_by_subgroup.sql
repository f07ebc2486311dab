-- Model 9 (effect_by_subgroup): model 6's analysis frame (one row per register cohort person, the
-- propensity covariates and the 12-month outcome) with the subgroups of the "for whom" question:
-- `smi` (the diagnosis as marts.register_outcomes reads it) and the county's current fidelity
-- category (marts.fidelity_current; NULL for a county without a fidelity review). Age group and
-- gender come from the columns model 6 derives.
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
       f.category AS fidelity_category
FROM marts.register_outcomes AS o
LEFT JOIN marts.fidelity_current AS f ON f.alue = o.alue
ORDER BY o.person_id
