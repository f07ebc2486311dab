-- Study-population client x as-of date: every per-client outcome.
--
-- Grain: client of the study population at date as_of x evaluation date (core.evaluation_dates).
-- Why: every per-client outcome of ANALYSIS_PLAN "Headline employment outcomes", written once
-- for a date d and evaluated at the run's cut-off and at every quarter end in one query:
--   competitive / unsubsidised = at least one (unsubsidised) competitive job (core.competitive_jobs_asof)
--   other_activity  = no competitive job, but at least one other activity starting in [S, d]
--   tenure<k>       = the first job lasted at least k months; NULL unless tenure<k>_eligible
--                     (the first job started so that start + k months <= d + 1 day)
--   employed<k>     = in a competitive job on the day S + k months; NULL unless
--                     employed<k>_eligible (S + k months <= d)
--   ttf_days/ttf_event = days from S to the first job's start (event) when that job started
--                     on or before the service end (or the service has not ended); otherwise
--                     days to min(d, service end), no event: a job that starts after the
--                     service ended is not a job found in IPS (ANALYSIS_PLAN "Time to first
--                     competitive job ... censored at C or at service end"); ttf_competing =
--                     no event and the service ended on or before d (the competing event of
--                     the Aalen-Johansen estimate), so such a client counts as leaving the
--                     service without a job at its end
--   fidelity_total  = the county's latest fidelity total on or before d (NULL when none).
-- core.client_outcomes is this table at the run's cut-off.
CREATE OR REPLACE TABLE core.client_outcomes_asof AS
WITH job_counts AS (
    SELECT as_of,
           person_id,
           count(*)                AS n_competitive_jobs,
           bool_or(NOT subsidised) AS has_unsubsidised
    FROM core.competitive_jobs_asof
    GROUP BY as_of, person_id
),
first_job AS (
    SELECT *
    FROM core.competitive_jobs_asof
    WHERE is_first
),
other_activity AS (
    SELECT DISTINCT as_of, person_id
    FROM core.activities_asof
    WHERE activity_class = 'other_activity'
),
milestones AS (  -- the days S + 6 months and S + 12 months of each client
    SELECT as_of,
           person_id,
           CAST(ips_start + INTERVAL (follow_up_short_months()) MONTH AS DATE) AS day6,
           CAST(ips_start + INTERVAL (follow_up_long_months()) MONTH AS DATE)  AS day12
    FROM core.population_asof
),
in_job_on_milestone AS (
    SELECT m.as_of,
           m.person_id,
           bool_or(j.job_start <= m.day6 AND j.end_observed >= m.day6)   AS in_job_day6,
           bool_or(j.job_start <= m.day12 AND j.end_observed >= m.day12) AS in_job_day12
    FROM milestones AS m
    JOIN core.competitive_jobs_asof AS j USING (as_of, person_id)
    GROUP BY m.as_of, m.person_id
),
outcomes AS (
    SELECT p.as_of,
           p.person_id,
           p.alue,
           p.aalto,
           p.ips_start,
           p.service_end,
           p.end_reason,
           p.consent_date,
           p.age,
           p.age_group,
           p.gender,
           p.education,
           p.work_history,
           p.dg,
           p.smi,
           p.register_consent,
           jc.person_id IS NOT NULL                          AS competitive,
           coalesce(jc.has_unsubsidised, FALSE)              AS unsubsidised,
           jc.person_id IS NULL AND oa.person_id IS NOT NULL AS other_activity,
           coalesce(jc.n_competitive_jobs, 0)                AS n_competitive_jobs,
           fj.job_start                                      AS first_job_start,
           fj.job_end                                        AS first_job_end,
           fj.end_observed                                   AS first_job_end_observed,
           fj.job_days                                       AS first_job_days,
           fj.ongoing                                        AS first_job_ongoing,
           fj.subsidised                                     AS first_job_subsidised,
           coalesce(fj.tenure6_eligible, FALSE)              AS tenure6_eligible,
           CASE WHEN fj.tenure6_eligible THEN fj.lasted6 END AS tenure6,
           coalesce(fj.tenure12_eligible, FALSE)             AS tenure12_eligible,
           CASE WHEN fj.tenure12_eligible THEN fj.lasted12 END AS tenure12,
           m.day6,
           m.day12,
           m.day6 <= p.as_of                                 AS employed6_eligible,
           CASE WHEN m.day6 <= p.as_of THEN coalesce(ij.in_job_day6, FALSE) END   AS employed6,
           m.day12 <= p.as_of                                AS employed12_eligible,
           CASE WHEN m.day12 <= p.as_of THEN coalesce(ij.in_job_day12, FALSE) END AS employed12,
           datediff('day', p.ips_start, fj.job_start)        AS days_to_first_job,
           CASE
               WHEN fj.job_start <= coalesce(p.service_end, fj.job_start)
                   THEN datediff('day', p.ips_start, fj.job_start)
               ELSE datediff('day', p.ips_start, least(p.as_of, coalesce(p.service_end, p.as_of)))
           END                                               AS ttf_days,
           coalesce(fj.job_start <= coalesce(p.service_end, fj.job_start), FALSE) AS ttf_event,
           NOT coalesce(fj.job_start <= coalesce(p.service_end, fj.job_start), FALSE)
               AND coalesce(p.service_end <= p.as_of, FALSE) AS ttf_competing,
           fa.total                                          AS fidelity_total
    FROM core.population_asof AS p
    JOIN milestones AS m USING (as_of, person_id)
    LEFT JOIN job_counts AS jc USING (as_of, person_id)
    LEFT JOIN first_job AS fj USING (as_of, person_id)
    LEFT JOIN other_activity AS oa USING (as_of, person_id)
    LEFT JOIN in_job_on_milestone AS ij USING (as_of, person_id)
    LEFT JOIN core.fidelity_asof AS fa ON fa.as_of = p.as_of AND fa.alue = p.alue
)
SELECT *
FROM outcomes
ORDER BY as_of, person_id;
