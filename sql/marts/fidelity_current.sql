-- Each county's latest fidelity review by C.
--
-- Grain: county with at least one review on or before C: its latest review on or before C
-- (several reviews on that date: their mean total, n_reviews of them; see core.fidelity_asof).
CREATE OR REPLACE TABLE marts.fidelity_current AS
SELECT alue, arviointipvm, total, category, n_reviews
FROM core.fidelity_asof
WHERE as_of = $cutoff
ORDER BY alue;
