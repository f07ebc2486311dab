-- Model 5 (fidelity_outcome): one row per county with its competitive-employment rate and its
-- current fidelity total (NULL when the county has no review yet).
SELECT o.alue, o.n_clients, o.n_competitive, o.rate_competitive, f.total
FROM marts.employment_outcomes AS o
LEFT JOIN marts.fidelity_current AS f ON f.alue = o.alue
WHERE o.alue <> 'ALL'
