-- Fidelity review dated by C with its total and category.
--
-- Grain: IPS-25 fidelity review (staging.fidelity_reviews) dated on or before the cut-off C.
-- Why: ANALYSIS_PLAN "Fidelity": total = the sum of the 25 items (25-125, all items are
-- required by the contract), category from ref.fidelity_categories. Reviews dated after C
-- are not yet known at C and are left out.
CREATE OR REPLACE TABLE core.fidelity_reviews AS
WITH totals AS (
    SELECT alue,
           arviointipvm,
           arvioija,
           (k01 + k02 + k03 + k04 + k05
           + k06 + k07 + k08 + k09 + k10
           + k11 + k12 + k13 + k14 + k15
           + k16 + k17 + k18 + k19 + k20
           + k21 + k22 + k23 + k24 + k25) AS total
    FROM staging.fidelity_reviews
    WHERE arviointipvm <= $cutoff
)
SELECT t.alue, t.arviointipvm, t.arvioija, t.total, fc.category
FROM totals AS t
LEFT JOIN ref.fidelity_categories AS fc
  ON t.total BETWEEN fc.min_total AND fc.max_total
ORDER BY t.alue, t.arviointipvm, t.arvioija;
