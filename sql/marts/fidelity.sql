-- Fidelity review: total and category.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: fidelity review dated on or before C: total = sum of the 25 IPS-25 items,
-- category from ref.fidelity_categories (computed in core.fidelity_reviews).
CREATE OR REPLACE TABLE marts.fidelity AS
SELECT alue, arviointipvm, total, category, arvioija
FROM core.fidelity_reviews
ORDER BY alue, arviointipvm, arvioija;
