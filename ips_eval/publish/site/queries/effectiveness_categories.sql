-- Rule 6 for the effectiveness model: people per group (IPS / comparison) in each category
-- of its categorical covariates, among persons with a complete 12-month outcome window
-- (the model's population before its propensity trimming).
SELECT 'ips' AS term, CAST(ips AS VARCHAR) AS category, count(*) AS n
FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'county x ips', alue || ' / ' || ips, count(*)
FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'gender x ips', gender || ' / ' || ips, count(*)
FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL AND gender IN ('1', '2') GROUP BY ALL
UNION ALL
SELECT 'education x ips', coalesce(education, 'unknown') || ' / ' || ips, count(*)
FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'smi x ips', coalesce(CAST(smi AS VARCHAR), 'unknown') || ' / ' || ips, count(*)
FROM marts.register_outcomes WHERE employed_months_post12 IS NOT NULL GROUP BY ALL
