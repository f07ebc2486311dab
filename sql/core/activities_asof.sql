-- Counted activity (competitive job or other activity) x as-of date.
--
-- Grain: counted activity record (competitive job or other activity) x evaluation date.
-- Why: the one place of the time window of ANALYSIS_PLAN "Jobs": a record counts at date d
-- for a client of the population at d when it starts on or after the client's IPS start S
-- and on or before d. Records starting before S or after d do not count.
CREATE OR REPLACE TABLE core.activities_asof AS
SELECT p.as_of,
       r.person_id,
       r.alue,
       r.ips_start,
       r.activity_class,
       r.tyyppi,
       r.tyonantaja,
       r.avoimet_markkinat,
       r.palkkatuki,
       r.job_start,
       r.job_end
FROM core.job_records AS r
JOIN core.population_asof AS p USING (person_id)
WHERE r.activity_class IN ('competitive', 'other_activity')
  AND r.job_start >= r.ips_start
  AND r.job_start <= p.as_of
ORDER BY p.as_of, r.person_id, r.job_start;
