-- Model 8 (cost_effectiveness): one row per IPS client of the register cohort with the cost of
-- their service (docs/models.md). A register cohort IPS person is a study-population client
-- under the same pseudonym (core.register_persons keeps only those), so their service is their
-- row of core.client_outcomes: client-years = days in service from S to the service end or C,
-- both days counted, / 365.25 (the rule of marts.costs), in the county of that service.
-- cost_per_client_year is the county's over the whole period (marts.costs, vuosi 'ALL'); NULL
-- when the county has no cost row for a year or no cost at all (the model names such counties).
-- client_cost = client_years x cost_per_client_year, the client's share of the county's cost.
SELECT r.person_id,
       c.alue AS service_alue,
       (datediff('day', c.ips_start, least(coalesce(c.service_end, e.as_of), e.as_of)) + 1) / 365.25 AS client_years,
       CAST(m.cost_per_client_year AS DOUBLE) AS cost_per_client_year,
       (datediff('day', c.ips_start, least(coalesce(c.service_end, e.as_of), e.as_of)) + 1) / 365.25
           * CAST(m.cost_per_client_year AS DOUBLE) AS client_cost
FROM core.register_persons AS r
JOIN core.evaluation_dates AS e ON e.is_cutoff
LEFT JOIN core.client_outcomes AS c ON c.person_id = r.person_id
LEFT JOIN marts.costs AS m ON m.alue = c.alue AND m.vuosi = 'ALL'
WHERE r.ips = 1
ORDER BY r.person_id
