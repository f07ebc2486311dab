-- County (and ALL) x year (and ALL): what the IPS service cost, and per client-year, client and employed client.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: county x year, county x ALL, ALL x year and ALL x ALL (`vuosi` is the year as text,
-- or 'ALL'). The years are those for which some county reported costs (a year of staging.costs
-- on or before the year of C); the counties are those with a cost row or a study-population client.
-- Why: ANALYSIS_PLAN "Costs", from the current version of each cost row (staging.costs):
--   cost_eur     = sum of `euroa`; coach_fte = sum of `htv` (as given; NULL when no row gives one);
--   client_years = days in service of study-population clients within the year / 365.25, service
--                  from S to the service end or C, both days counted (core.client_outcomes);
--   n_started    = clients whose S falls in the year ("clients who started in the period"), and
--                  of them n_employed (a competitive job by C) and n_unsubsidised (one without
--                  pay subsidy), the denominators of cost_per_client, cost_per_employed and
--                  cost_per_unsubsidised; cost_per_client_year = cost_eur / client_years;
--   n_in_service = the clients behind client_years: those with a day in service within the year
--                  (over all years: within any of them, each client once), the count that
--                  decides whether cost_per_client_year may be published (disclosure rule 4).
--   A ratio is NULL when its denominator is 0.
-- A county without a cost row for a year reports no cost for it (docs/exports.md): its cost
-- figures for that year are missing, not zero, and so are those of every total that year is
-- part of (county x ALL, ALL x year, ALL x ALL), since a sum with an unknown part is unknown.
-- A county-year with neither a cost row nor a client in service is part of no total.
CREATE OR REPLACE TABLE marts.costs AS
WITH cost_rows AS (  -- one row per county and reported year
    SELECT alue, vuosi, sum(euroa) AS cost_eur, sum(htv) AS coach_fte
    FROM staging.costs
    WHERE vuosi <= year($cutoff)
    GROUP BY alue, vuosi
),
years AS (
    SELECT DISTINCT vuosi, make_date(vuosi, 1, 1) AS first_day, make_date(vuosi, 12, 31) AS last_day
    FROM cost_rows
),
clients AS (
    SELECT person_id, alue, ips_start, least(coalesce(service_end, $cutoff), $cutoff) AS service_last,
           competitive, unsubsidised
    FROM core.client_outcomes
),
in_service AS (  -- distinct clients in service, per county and year and every total
    SELECT CASE WHEN grouping(c.alue) = 1 THEN 'ALL' ELSE c.alue END AS alue,
           CASE WHEN grouping(y.vuosi) = 1 THEN 'ALL' ELSE CAST(y.vuosi AS VARCHAR) END AS vuosi,
           count(DISTINCT c.person_id) AS n_in_service
    FROM clients AS c
    JOIN years AS y ON c.ips_start <= y.last_day AND c.service_last >= y.first_day
    GROUP BY GROUPING SETS ((c.alue, y.vuosi), (c.alue), (y.vuosi), ())
),
service AS (  -- per county and year: client-days in service and the clients who started
    -- days stay integers until the last step: a sum of doubles depends on the threads' order
    SELECT c.alue, y.vuosi,
           sum(greatest(datediff('day', greatest(c.ips_start, y.first_day), least(c.service_last, y.last_day)) + 1, 0))
               AS client_days,
           count(*) FILTER (WHERE year(c.ips_start) = y.vuosi)                    AS n_started,
           count(*) FILTER (WHERE year(c.ips_start) = y.vuosi AND c.competitive)  AS n_employed,
           count(*) FILTER (WHERE year(c.ips_start) = y.vuosi AND c.unsubsidised) AS n_unsubsidised
    FROM clients AS c
    CROSS JOIN years AS y
    GROUP BY c.alue, y.vuosi
),
county_years AS (
    SELECT a.alue, y.vuosi,
           r.vuosi IS NOT NULL              AS reported,
           r.cost_eur, r.coach_fte,
           coalesce(s.client_days, 0)       AS client_days,
           coalesce(s.n_started, 0)         AS n_started,
           coalesce(s.n_employed, 0)        AS n_employed,
           coalesce(s.n_unsubsidised, 0)    AS n_unsubsidised
    FROM (SELECT alue FROM cost_rows UNION SELECT alue FROM clients) AS a
    CROSS JOIN years AS y
    LEFT JOIN cost_rows AS r ON r.alue = a.alue AND r.vuosi = y.vuosi
    LEFT JOIN service AS s ON s.alue = a.alue AND s.vuosi = y.vuosi
),
totals AS (
    SELECT CASE WHEN grouping(alue) = 1 THEN 'ALL' ELSE alue END AS alue,
           CASE WHEN grouping(vuosi) = 1 THEN 'ALL' ELSE CAST(vuosi AS VARCHAR) END AS vuosi,
           grouping(alue) AS all_counties,
           grouping(vuosi) AS all_years,
           bool_and(reported) AS complete,
           sum(cost_eur) AS cost_eur,
           sum(coach_fte) AS coach_fte,
           sum(client_days) / 365.25 AS client_years,
           sum(n_started) AS n_started,
           sum(n_employed) AS n_employed,
           sum(n_unsubsidised) AS n_unsubsidised
    FROM county_years
    WHERE reported OR client_days > 0 OR n_started > 0
    GROUP BY GROUPING SETS ((alue, vuosi), (alue), (vuosi), ())
    HAVING count(*) > 0  -- no cost rows at all: no rows, not an empty ALL x ALL row
)
SELECT t.alue,
       t.vuosi,
       CASE WHEN complete THEN cost_eur END                              AS cost_eur,
       CASE WHEN complete THEN coach_fte END                             AS coach_fte,
       client_years,
       CASE WHEN complete THEN cost_eur / nullif(client_years, 0) END   AS cost_per_client_year,
       CASE WHEN complete THEN cost_eur / nullif(n_started, 0) END      AS cost_per_client,
       CASE WHEN complete THEN cost_eur / nullif(n_employed, 0) END     AS cost_per_employed,
       CASE WHEN complete THEN cost_eur / nullif(n_unsubsidised, 0) END AS cost_per_unsubsidised,
       CAST(n_started AS BIGINT)      AS n_started,
       CAST(n_employed AS BIGINT)     AS n_employed,
       CAST(n_unsubsidised AS BIGINT) AS n_unsubsidised,
       CAST(coalesce(i.n_in_service, 0) AS BIGINT) AS n_in_service
FROM totals AS t
LEFT JOIN in_service AS i ON i.alue = t.alue AND i.vuosi = t.vuosi
ORDER BY all_counties, t.alue, all_years, t.vuosi
