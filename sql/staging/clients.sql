-- Current version of each clients.csv record.
--
-- Grain: one row per client, the current version of the record (latest `paivitetty`).
-- Exact duplicate rows collapse here; versions with equal timestamps but different values
-- never get this far (the ingest rejects them as conflicting_versions).
CREATE OR REPLACE TABLE staging.clients AS
SELECT DISTINCT ON (person_id) * EXCLUDE (_file, _line)
FROM raw.clients
ORDER BY person_id, paivitetty DESC, _line DESC
