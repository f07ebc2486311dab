-- Current version of each jobs.csv record (person, employer, start).
--
-- Grain: one row per job or activity record (person_id, tyonantaja, alkupvm), current version.
CREATE OR REPLACE TABLE staging.jobs AS
SELECT DISTINCT ON (person_id, tyonantaja, alkupvm) * EXCLUDE (_file, _line)
FROM raw.jobs
ORDER BY person_id, tyonantaja, alkupvm, paivitetty DESC, _line DESC
