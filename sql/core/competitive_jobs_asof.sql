-- Competitive job x as-of date: censoring, length, tenure, first job.
--
-- Grain: competitive job of a client of the population at date as_of x evaluation date.
-- Why: every per-job rule of ANALYSIS_PLAN "Jobs" and "Headline" written once for a date d:
--   ongoing at d      = end blank or end > d (censored at d); end_observed = end, or d when ongoing
--   job_days          = end_observed - start + 1 (end dates inclusive)
--   lasted k months   = end_observed + 1 day >= start + k months, k = follow_up_short_months()
--                       and follow_up_long_months() of ips_eval.definitions (calendar months, as SQL
--                       date + INTERVAL k MONTH: 31 Jan + 1 month = 28/29 Feb)
--   tenure eligible   = start + k months <= d + 1 day
--   first job         = earliest start; ties: the longest (job_days); remaining ties (same start,
--                       same length) go to an unsubsidised job, then by employer pseudonym.
--   subsidised        = palkkatuki K (blank is not subsidised).
-- core.competitive_jobs is this table at the run's cut-off.
CREATE OR REPLACE TABLE core.competitive_jobs_asof AS
WITH competitive AS (
    SELECT as_of,
           person_id,
           alue,
           ips_start,
           tyonantaja,
           job_start,
           job_end,
           (job_end IS NULL OR job_end > as_of) AS ongoing,
           coalesce(palkkatuki, FALSE)          AS subsidised
    FROM core.activities_asof
    WHERE activity_class = 'competitive'
),
observed AS (
    SELECT *,
           CASE WHEN ongoing THEN as_of ELSE job_end END AS end_observed
    FROM competitive
),
measured AS (
    SELECT *,
           datediff('day', job_start, end_observed) + 1        AS job_days,
           CAST(job_start + INTERVAL (follow_up_short_months()) MONTH AS DATE) AS start_plus6,
           CAST(job_start + INTERVAL (follow_up_long_months()) MONTH AS DATE)  AS start_plus12
    FROM observed
),
ordered AS (
    SELECT *,
           row_number() OVER (
               PARTITION BY as_of, person_id
               ORDER BY job_start, job_days DESC, subsidised, tyonantaja NULLS LAST, job_end NULLS FIRST
           ) AS job_order
    FROM measured
)
SELECT as_of,
       person_id,
       alue,
       ips_start,
       tyonantaja,
       job_start,
       job_end,
       ongoing,
       end_observed,
       subsidised,
       job_days,
       job_order,
       job_order = 1                      AS is_first,
       start_plus6,
       start_plus12,
       start_plus6 <= as_of + 1           AS tenure6_eligible,
       start_plus12 <= as_of + 1          AS tenure12_eligible,
       end_observed + 1 >= start_plus6    AS lasted6,
       end_observed + 1 >= start_plus12   AS lasted12
FROM ordered
ORDER BY as_of, person_id, job_order;
