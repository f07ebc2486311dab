-- The clients whose consent was withdrawn by the cut-off: `withdrawn_persons`, a temporary
-- table of the consent purge (ips_eval.ingest.withdrawals), dropped when it is done.
--
-- Grain: one row per client whose current record says consent was withdrawn on or before the
-- cut-off. A temporary table: the purge deletes these persons' rows from every table of the
-- run, so their pseudonyms are never written anywhere, not even here.
CREATE OR REPLACE TEMP TABLE withdrawn_persons AS
SELECT person_id
FROM (
    SELECT DISTINCT ON (person_id) person_id, suostumus_peruttu
    FROM raw.clients
    ORDER BY person_id, paivitetty DESC, _line DESC
)
WHERE consent_withdrawn_by(suostumus_peruttu, $cutoff)
