-- Current version of each care-staff survey response, on or before the cut-off.
--
-- Grain: one row per `vastaustunnus` (the survey tool's response id): a repeated id is a
-- repeated export of one response and the latest `paivitetty` counts, and then its date
-- decides (docs/exports.md "care_staff_survey.csv"); responses dated after C do not count.
-- Empty when the delivery has no care_staff_survey.csv (the file is optional).
CREATE OR REPLACE TABLE staging.care_staff_survey AS
SELECT *
FROM (
    SELECT DISTINCT ON (vastaustunnus) * EXCLUDE (_file, _line)
    FROM raw.care_staff_survey
    ORDER BY vastaustunnus, paivitetty DESC, _line DESC
)
WHERE vastauspvm <= $cutoff
