-- Every current jobs.csv record of a study-population client, classified.
--
-- Grain: current jobs.csv record (staging.jobs) of a study-population client (as of C),
-- whether or not it counts.
-- Why: the one place that classifies a record by kind (ANALYSIS_PLAN "Jobs" and the
-- `n_other_activity` row): a competitive job is a paid job (tyyppi 'tyo') on the open labour
-- market (avoimet_markkinat K); other activity is a work trial, studies, volunteering, `muu`
-- (other activity), or a paid job not recorded as open-market (avoimet_markkinat E or blank);
-- the codes are ref.activity_types. Whether a record counts at a date (start within [S, as_of]) is decided in
-- core.activities_asof; `at_cutoff` below only explains, for analysts, what happened at C.
CREATE OR REPLACE TABLE core.job_records AS
WITH client_records AS (
    SELECT j.person_id,
           p.alue,
           p.ips_start,
           j.tyyppi,
           j.tyonantaja,
           j.avoimet_markkinat,
           j.palkkatuki,
           j.alkupvm AS job_start,
           j.loppupvm AS job_end,
           j.tunnit_viikossa,
           j.ammatti,
           j.paivitetty
    FROM staging.jobs AS j
    JOIN staging.study_population AS p USING (person_id)
),
classified AS (
    SELECT r.*,
           CASE
               WHEN a.paid_job AND r.avoimet_markkinat IS TRUE THEN 'competitive'
               WHEN a.other_activity THEN 'other_activity'
               ELSE 'not_counted'
           END AS activity_class
    FROM client_records AS r
    LEFT JOIN ref.activity_types AS a USING (tyyppi)
)
SELECT *,
       CASE
           WHEN activity_class = 'not_counted' THEN 'not counted: activity type ' || tyyppi
           WHEN job_start < ips_start THEN 'not counted: starts before IPS start'
           WHEN job_start > $cutoff THEN 'not counted: starts after the cut-off'
           ELSE 'counted as ' || activity_class
       END AS at_cutoff
FROM classified
ORDER BY person_id, job_start, tyonantaja;
