-- Current version of each coach survey response, on or before the cut-off.
--
-- Grain: one row per (person_id, vastauspvm), the current version of the response (latest
-- `paivitetty`; docs/exports.md "coach_survey.csv"), for responses dated on or before C (a
-- response after C does not count: ANALYSIS_PLAN "The coaching process and the voices of
-- clients, coaches, care teams and employers"). Versions with equal timestamps but different
-- values never get this far (the ingest rejects them as conflicting_versions). Empty when the
-- delivery has no coach_survey.csv (the file is optional).
CREATE OR REPLACE TABLE staging.coach_survey AS
SELECT DISTINCT ON (person_id, vastauspvm) * EXCLUDE (_file, _line)
FROM raw.coach_survey
WHERE vastauspvm <= $cutoff
ORDER BY person_id, vastauspvm, paivitetty DESC, _line DESC
