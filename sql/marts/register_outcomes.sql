-- Register cohort person: employed months, earnings and benefit months around the index date.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: person of core.register_persons (register cohort persons who may be used as of C).
-- Why: ANALYSIS_PLAN "Register outcomes", counted from the month sets of
-- core.register_month_sets (months_in, sql/macros.sql; rel_month 0 = the month of I):
--   employed_months_pre12  = employed months among rel_month -12..-1 (the 12 calendar months
--                            before the month of the index date I);
--   employed_months_post12 = employed months among rel_month 0..11; earnings_post12 = the sum of
--                            staging.earnings over the same months (0 when none registered);
--   benefit_months_post12  = months 0..11 covered by a disability-group benefit (ref.benefit_groups);
--   all three *_post12 are NULL unless the window ends on or before C (post12_complete).
-- The longer follow-up (ANALYSIS_PLAN "Longer follow-up"): the same three over rel_month 0..23
-- (*_post24) and 0..35 (*_post36), each NULL unless its window, the month of I and the 23 (35)
-- months after it, ends on or before C (post24_complete, post36_complete).
-- Extra columns for the effectiveness model: benefit_months_pre12 (propensity score), the
-- negative-control outcomes of rel_month -24..-13 (the 12 months a year before those the
-- propensity model sees): employed_months_pre24_13, benefit_months_pre24_13 (disability-group
-- benefit months) and psych_inpatient_days_pre24_13 (distinct days from the first day of
-- month -24 to the last day of month -13 covered by a psychiatric inpatient episode,
-- ref.care_types; overlapping episodes count a day once), and the covariates of the cohort.
CREATE OR REPLACE TABLE marts.register_outcomes AS
WITH windows AS (
    SELECT p.*,
           CAST(p.index_month + INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE) AS post12_end,
           CAST(p.index_month + INTERVAL 24 MONTH - INTERVAL 1 DAY AS DATE) AS post24_end,
           CAST(p.index_month + INTERVAL 36 MONTH - INTERVAL 1 DAY AS DATE) AS post36_end
    FROM core.register_persons AS p
),
post_earnings AS (  -- staging.earnings is one row per person and month already
    SELECT e.person_key,
           sum(e.ansiot_eur) FILTER (WHERE e.month <= w.post12_end) AS earnings_0_11,
           sum(e.ansiot_eur) FILTER (WHERE e.month <= w.post24_end) AS earnings_0_23,
           sum(e.ansiot_eur)                                        AS earnings_0_35
    FROM staging.earnings AS e
    JOIN windows AS w
      ON e.person_key = w.person_key
     AND e.month BETWEEN w.index_month AND least(w.post36_end, $cutoff)
    -- Not needed for the result: months before every window are dropped before the join, so
    -- that the years of earnings before the study do not reach it.
    WHERE e.month >= (SELECT min(index_month) FROM windows)
    GROUP BY e.person_key
),
inpatient_clipped AS (  -- each inpatient episode cut to months -24..-13
    SELECT c.person_key,
           greatest(c.start_date, CAST(w.index_month - INTERVAL 24 MONTH AS DATE)) AS first_day,
           least(coalesce(c.end_date, $cutoff), $cutoff,
                 CAST(w.index_month - INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE)) AS last_day
    FROM staging.psychiatric_care AS c
    JOIN ref.care_types AS t USING (hoitomuoto)
    JOIN windows AS w ON w.person_key = c.person_key
    WHERE t.inpatient
      AND c.start_date <= $cutoff
      AND c.start_date < w.index_month - INTERVAL 12 MONTH
      AND coalesce(c.end_date, $cutoff) >= w.index_month - INTERVAL 24 MONTH
),
inpatient_islands AS (  -- overlapping episodes merged, so that a day counts once without listing days
    SELECT person_key, first_day, last_day,
           sum(CASE WHEN previous_last IS NULL OR first_day > previous_last THEN 1 ELSE 0 END)
               OVER (PARTITION BY person_key ORDER BY first_day, last_day ROWS UNBOUNDED PRECEDING) AS island
    FROM (
        SELECT *, max(last_day) OVER (PARTITION BY person_key ORDER BY first_day, last_day
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_last
        FROM (SELECT DISTINCT person_key, first_day, last_day  -- ties taken alike by both windows
              FROM inpatient_clipped
              WHERE first_day <= last_day)
    )
),
inpatient_pre24_13 AS (
    SELECT person_key, CAST(sum(days) AS BIGINT) AS psych_inpatient_days_pre24_13
    FROM (SELECT person_key, datediff('day', min(first_day), max(last_day)) + 1 AS days
          FROM inpatient_islands GROUP BY person_key, island)
    GROUP BY person_key
)
SELECT w.person_id,
       w.ips,
       months_in(s.employed, -12, -1) AS employed_months_pre12,
       CASE WHEN w.post12_end <= $cutoff THEN months_in(s.employed, 0, 11) END           AS employed_months_post12,
       CASE WHEN w.post12_end <= $cutoff THEN coalesce(e.earnings_0_11, 0) END           AS earnings_post12,
       CASE WHEN w.post12_end <= $cutoff THEN months_in(s.disability_benefit, 0, 11) END AS benefit_months_post12,
       CASE WHEN w.post24_end <= $cutoff THEN months_in(s.employed, 0, 23) END           AS employed_months_post24,
       CASE WHEN w.post24_end <= $cutoff THEN coalesce(e.earnings_0_23, 0) END           AS earnings_post24,
       CASE WHEN w.post24_end <= $cutoff THEN months_in(s.disability_benefit, 0, 23) END AS benefit_months_post24,
       CASE WHEN w.post36_end <= $cutoff THEN months_in(s.employed, 0, 35) END           AS employed_months_post36,
       CASE WHEN w.post36_end <= $cutoff THEN coalesce(e.earnings_0_35, 0) END           AS earnings_post36,
       CASE WHEN w.post36_end <= $cutoff THEN months_in(s.disability_benefit, 0, 35) END AS benefit_months_post36,
       months_in(s.disability_benefit, -12, -1) AS benefit_months_pre12,
       months_in(s.employed, -24, -13)          AS employed_months_pre24_13,
       months_in(s.disability_benefit, -24, -13) AS benefit_months_pre24_13,
       coalesce(i.psych_inpatient_days_pre24_13, 0) AS psych_inpatient_days_pre24_13,
       w.index_date,
       w.index_month,
       w.post12_end,
       w.post12_end <= $cutoff AS post12_complete,
       w.post24_end <= $cutoff AS post24_complete,
       w.post36_end <= $cutoff AS post36_complete,
       w.alue,
       w.birth_year,
       w.gender,
       w.education,
       w.dg,
       w.smi
FROM windows AS w
JOIN core.register_month_sets AS s USING (person_key)
LEFT JOIN post_earnings AS e USING (person_key)
LEFT JOIN inpatient_pre24_13 AS i USING (person_key)
ORDER BY w.person_id;
