-- Rule 6 for the effectiveness model: people per group (IPS / comparison) in each category
-- of its categorical covariates, among persons with a complete 12-month outcome window
-- (the model's population before its propensity trimming); and, when the model estimated
-- the 24-month outcome (its own fit, on the persons whose 24-month window has ended), the
-- same for that population (terms prefixed 'post24 ').
WITH populations AS (
    SELECT '' AS prefix, * FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL
    UNION ALL
    SELECT 'post24 ', * FROM marts.register_outcomes
    WHERE employed_months_post24 IS NOT NULL
      AND EXISTS (SELECT 1 FROM models.estimates AS e
                  WHERE e.model = 'effectiveness' AND e.term = 'employed_months_post24')
)
SELECT prefix || 'ips' AS term, CAST(ips AS VARCHAR) AS category, count(*) AS n
FROM populations GROUP BY ALL
UNION ALL
SELECT prefix || 'county x ips', alue || ' / ' || ips, count(*)
FROM populations GROUP BY ALL
UNION ALL
SELECT prefix || 'gender x ips', gender || ' / ' || ips, count(*)
FROM populations WHERE gender IN ('1', '2') GROUP BY ALL
UNION ALL
SELECT prefix || 'education x ips', coalesce(education, 'unknown') || ' / ' || ips, count(*)
FROM populations GROUP BY ALL
UNION ALL
SELECT prefix || 'smi x ips', coalesce(CAST(smi AS VARCHAR), 'unknown') || ' / ' || ips, count(*)
FROM populations GROUP BY ALL
