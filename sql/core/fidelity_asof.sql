-- County x as-of date: the latest fidelity review on or before the date.
--
-- Grain: county x evaluation date (core.evaluation_dates), for counties with a review by then.
-- Why: "a county's current fidelity is its latest review on or before C", evaluated at every
-- as-of date (core.client_outcomes_asof carries it; marts.fidelity_current is the slice at C).
-- Several reviews of one county on its latest date: their mean total (n_reviews says how
-- many), and the category of that mean rounded down.
CREATE OR REPLACE TABLE core.fidelity_asof AS
WITH reviews_known AS (
    SELECT d.as_of, f.alue, f.arviointipvm, f.total
    FROM core.evaluation_dates AS d
    JOIN core.fidelity_reviews AS f ON f.arviointipvm <= d.as_of
),
latest_date AS (
    SELECT as_of, alue, max(arviointipvm) AS arviointipvm
    FROM reviews_known
    GROUP BY as_of, alue
),
latest AS (
    SELECT r.as_of, r.alue, r.arviointipvm, avg(r.total) AS total, count(*) AS n_reviews
    FROM reviews_known AS r
    JOIN latest_date AS l USING (as_of, alue, arviointipvm)
    GROUP BY r.as_of, r.alue, r.arviointipvm
)
SELECT l.as_of, l.alue, l.arviointipvm, l.total, fc.category, l.n_reviews
FROM latest AS l
LEFT JOIN ref.fidelity_categories AS fc
  ON floor(l.total) BETWEEN fc.min_total AND fc.max_total
ORDER BY l.as_of, l.alue;
