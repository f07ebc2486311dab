-- Every fidelity review of fidelity_reviews.csv, exact duplicates collapsed.
--
-- Grain: one fidelity review (exact duplicate rows collapse).
CREATE OR REPLACE TABLE staging.fidelity_reviews AS
SELECT DISTINCT * EXCLUDE (_file, _line)
FROM raw.fidelity_reviews
