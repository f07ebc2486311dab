-- Current version of each employer survey response, on or before the cut-off.
--
-- Grain: one row per `vastaustunnus`: a repeated id is a repeated export of one response and
-- the latest `paivitetty` counts, and then its date decides (docs/exports.md
-- "employer_survey.csv"); responses dated after C do not count. Empty when the delivery has no
-- employer_survey.csv (the file is optional).
CREATE OR REPLACE TABLE staging.employer_survey AS
SELECT *
FROM (
    SELECT DISTINCT ON (vastaustunnus) * EXCLUDE (_file, _line)
    FROM raw.employer_survey
    ORDER BY vastaustunnus, paivitetty DESC, _line DESC
)
WHERE vastauspvm <= $cutoff
