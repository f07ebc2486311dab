-- Competitive job of a study-population client as of C.
--
-- Grain: competitive job of a study-population client, as of the run's cut-off C
-- (docs/warehouse.md). The rules live in core.competitive_jobs_asof; this is its slice at C.
CREATE OR REPLACE TABLE core.competitive_jobs AS
SELECT * EXCLUDE (as_of)
FROM core.competitive_jobs_asof
WHERE as_of = $cutoff
ORDER BY person_id, job_order;
