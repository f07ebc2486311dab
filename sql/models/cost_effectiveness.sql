-- Model 8 (cost_effectiveness): one row per IPS client of the register cohort with the cost of
-- their service over the effect's windows (docs/models.md). A register cohort IPS person is a
-- study-population client under the same pseudonym (core.register_persons keeps only those), so
-- their service is their row of core.client_outcomes, in the county of that service.
-- The windows are those of the outcomes (marts.register_outcomes): the month of the index date I
-- and the 11 (23) months after it. A client's days in service within a window run from the
-- later of S and the window's first day to the earliest of the service end, C and the window's
-- last day, both days counted (0 when they do not meet); / 365.25 they are client-years, the
-- rule of marts.costs. cost_post12 (cost_post24) = those client-years x the county's cost per
-- client-year over the whole period (marts.costs, vuosi 'ALL'; NULL when the county has no cost
-- row for a year or no cost at all: the model names such counties and leaves their clients out).
-- A window ended by C does not change when C moves later: neither do its days nor its cost.
-- client_years (the whole service, S to the service end or C) is kept to describe the clients.
-- (One SELECT, no CTE: the model's input check, models.data.read_query, reads its columns.)
SELECT r.person_id,
       c.alue AS service_alue,
       (datediff('day', c.ips_start, least(coalesce(c.service_end, e.as_of), e.as_of)) + 1) / 365.25 AS client_years,
       greatest(datediff('day', greatest(c.ips_start, r.index_month), least(least(coalesce(c.service_end, e.as_of), e.as_of),
                    CAST(r.index_month + INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE))) + 1, 0) / 365.25 AS client_years_post12,
       greatest(datediff('day', greatest(c.ips_start, r.index_month), least(least(coalesce(c.service_end, e.as_of), e.as_of),
                    CAST(r.index_month + INTERVAL 24 MONTH - INTERVAL 1 DAY AS DATE))) + 1, 0) / 365.25 AS client_years_post24,
       CAST(m.cost_per_client_year AS DOUBLE) AS cost_per_client_year,
       greatest(datediff('day', greatest(c.ips_start, r.index_month), least(least(coalesce(c.service_end, e.as_of), e.as_of),
                    CAST(r.index_month + INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE))) + 1, 0) / 365.25 * CAST(m.cost_per_client_year AS DOUBLE) AS cost_post12,
       greatest(datediff('day', greatest(c.ips_start, r.index_month), least(least(coalesce(c.service_end, e.as_of), e.as_of),
                    CAST(r.index_month + INTERVAL 24 MONTH - INTERVAL 1 DAY AS DATE))) + 1, 0) / 365.25 * CAST(m.cost_per_client_year AS DOUBLE) AS cost_post24
FROM core.register_persons AS r
JOIN core.evaluation_dates AS e ON e.is_cutoff
LEFT JOIN core.client_outcomes AS c ON c.person_id = r.person_id
LEFT JOIN marts.costs AS m ON m.alue = c.alue AND m.vuosi = 'ALL'
WHERE r.ips = 1
ORDER BY r.person_id
