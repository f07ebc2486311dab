-- Study-population client as of C: every per-client outcome.
--
-- Grain: study-population client as of the run's cut-off C (docs/warehouse.md); every
-- study-population client exactly once. The rules live in core.client_outcomes_asof; this is
-- its slice at C.
CREATE OR REPLACE TABLE core.client_outcomes AS
SELECT * EXCLUDE (as_of)
FROM core.client_outcomes_asof
WHERE as_of = $cutoff
ORDER BY person_id;
