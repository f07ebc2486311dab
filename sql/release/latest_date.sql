-- The newest date of a delivery: the latest record update, survey response, fidelity review,
-- register month or register spell start (the release guard's cut-off rule, docs/release.md).
-- Register spell ends are left out: a pay-subsidy decision may end in the future.
--
-- Grain: one row per export that has a date, with its newest date and the column it comes from.
SELECT 'clients' AS export, 'paivitetty' AS "column", CAST(max(paivitetty) AS DATE) AS latest FROM raw.clients
UNION ALL SELECT 'jobs', 'paivitetty', CAST(max(paivitetty) AS DATE) FROM raw.jobs
UNION ALL SELECT 'costs', 'paivitetty', CAST(max(paivitetty) AS DATE) FROM raw.costs
UNION ALL SELECT 'fidelity_reviews', 'arviointipvm', max(arviointipvm) FROM raw.fidelity_reviews
UNION ALL SELECT 'survey_baseline', 'vastauspvm', max(vastauspvm) FROM raw.survey_baseline
UNION ALL SELECT 'survey_midpoint', 'vastauspvm', max(vastauspvm) FROM raw.survey_midpoint
UNION ALL SELECT 'survey_final', 'vastauspvm', max(vastauspvm) FROM raw.survey_final
UNION ALL SELECT 'register_cohort', 'indeksipvm', max(indeksipvm) FROM raw.register_cohort
UNION ALL SELECT 'register_earnings', 'kuukausi', CAST(last_day(max(kuukausi)) AS DATE) FROM raw.register_earnings
UNION ALL SELECT 'register_employment', 'alkupvm', max(alkupvm) FROM raw.register_employment
UNION ALL SELECT 'register_pay_subsidy', 'alkupvm', max(alkupvm) FROM raw.register_pay_subsidy
UNION ALL SELECT 'register_benefits', 'alkupvm', max(alkupvm) FROM raw.register_benefits
UNION ALL SELECT 'register_psychiatric_care', 'alkupvm', max(alkupvm) FROM raw.register_psychiatric_care
