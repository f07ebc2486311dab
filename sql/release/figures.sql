-- The records a release is compared on with the published warehouse it replaces (the release
-- guard, docs/release.md): what the sources never delete, so fewer of them than before means a
-- delivery cut short or incomplete, not a change in the data.
--
-- Grain: one row per export, county and unit. Project exports are counted per county of the
-- client (every county a client's record versions name, so a client who moves is counted in both
-- and no county loses a client by a move); register extracts for the whole cohort ('ALL').
-- Read after the consent purge: withdrawn persons are already gone, and the guard allows each
-- export to lose as many records as the purge removed from it.
WITH client_counties AS (
    SELECT DISTINCT person_id, alue FROM raw.clients
)
SELECT 'clients' AS export, alue AS county, 'clients' AS unit, count(DISTINCT person_id) AS n
FROM raw.clients
GROUP BY alue
UNION ALL
SELECT 'jobs', c.alue, 'jobs', count(DISTINCT (j.person_id, j.tyonantaja, j.alkupvm))
FROM raw.jobs AS j
JOIN client_counties AS c USING (person_id)
GROUP BY c.alue
UNION ALL
SELECT s.export, c.alue, 'responses', count(DISTINCT (s.person_id, s.vastauspvm))
FROM (
    SELECT 'survey_baseline' AS export, person_id, vastauspvm FROM raw.survey_baseline
    UNION ALL
    SELECT 'survey_midpoint', person_id, vastauspvm FROM raw.survey_midpoint
    UNION ALL
    SELECT 'survey_final', person_id, vastauspvm FROM raw.survey_final
) AS s
JOIN client_counties AS c USING (person_id)
GROUP BY s.export, c.alue
UNION ALL
SELECT 'register_cohort', 'ALL', 'register persons', count(DISTINCT person_id)
FROM raw.register_cohort
UNION ALL
SELECT 'register_earnings', 'ALL', 'months of register follow-up', count(DISTINCT (person_id, kuukausi))
FROM raw.register_earnings
UNION ALL
SELECT 'register_employment', 'ALL', 'spells', count(*) FROM raw.register_employment
UNION ALL
SELECT 'register_pay_subsidy', 'ALL', 'spells', count(*) FROM raw.register_pay_subsidy
UNION ALL
SELECT 'register_benefits', 'ALL', 'spells', count(*) FROM raw.register_benefits
UNION ALL
SELECT 'register_psychiatric_care', 'ALL', 'spells', count(*) FROM raw.register_psychiatric_care
