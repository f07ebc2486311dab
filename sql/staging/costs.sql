-- Current version of each costs.csv record (county, year, cost type).
--
-- Grain: one row per (alue, vuosi, kustannuslaji), the current version of the record: the
-- latest `paivitetty` wins, so a correction a county sends later replaces the row it corrects
-- (docs/exports.md "costs.csv"). Exact duplicate rows collapse here; versions with equal
-- timestamps but different values never get this far (the ingest rejects them as
-- conflicting_versions). Empty when the delivery has no costs.csv (the file is optional).
CREATE OR REPLACE TABLE staging.costs AS
SELECT DISTINCT ON (alue, vuosi, kustannuslaji) * EXCLUDE (_file, _line)
FROM raw.costs
ORDER BY alue, vuosi, kustannuslaji, paivitetty DESC, _line DESC
