-- marts.register_outcomes (contract: ANALYSIS_PLAN "Stable output tables")
-- Grain: person of core.register_persons (register cohort persons who may be used as of C).
-- Why: ANALYSIS_PLAN "Register outcomes", counted from core.register_months:
--   employed_months_pre12  = employed months among rel_month -12..-1 (the 12 calendar months
--                            before the month of the index date I);
--   employed_months_post12 = employed months among rel_month 0..11; earnings_post12 = the sum of
--                            earnings over the same months (0 when none registered);
--   benefit_months_post12  = months 0..11 covered by a disability-group benefit (ref.benefit_groups);
--   all three *_post12 are NULL unless the window ends on or before C (post12_complete).
-- Extra columns for the effectiveness model: benefit_months_pre12 (propensity score),
-- employed_months_pre24_13 (the placebo outcome, rel_month -24..-13), covariates of the cohort.
CREATE OR REPLACE TABLE marts.register_outcomes AS
WITH windows AS (
    SELECT p.*,
           CAST(p.index_month + INTERVAL 12 MONTH - INTERVAL 1 DAY AS DATE) AS post12_end
    FROM core.register_persons AS p
),
month_counts AS (
    SELECT person_id,
           count(*) FILTER (WHERE employed AND rel_month BETWEEN -12 AND -1) AS employed_months_pre12,
           count(*) FILTER (WHERE employed AND rel_month BETWEEN -24 AND -13) AS employed_months_pre24_13,
           count(*) FILTER (WHERE disability_benefit AND rel_month BETWEEN -12 AND -1) AS benefit_months_pre12,
           count(*) FILTER (WHERE employed AND rel_month BETWEEN 0 AND 11) AS employed_months_0_11,
           count(*) FILTER (WHERE disability_benefit AND rel_month BETWEEN 0 AND 11) AS benefit_months_0_11,
           coalesce(sum(earnings) FILTER (WHERE rel_month BETWEEN 0 AND 11), 0) AS earnings_0_11
    FROM core.register_months
    GROUP BY person_id
)
SELECT w.person_id,
       w.ips,
       m.employed_months_pre12,
       CASE WHEN w.post12_end <= $cutoff THEN m.employed_months_0_11 END AS employed_months_post12,
       CASE WHEN w.post12_end <= $cutoff THEN m.earnings_0_11 END        AS earnings_post12,
       CASE WHEN w.post12_end <= $cutoff THEN m.benefit_months_0_11 END  AS benefit_months_post12,
       m.benefit_months_pre12,
       m.employed_months_pre24_13,
       w.index_date,
       w.index_month,
       w.post12_end,
       w.post12_end <= $cutoff AS post12_complete,
       w.alue,
       w.birth_year,
       w.gender,
       w.education,
       w.dg,
       w.smi
FROM windows AS w
JOIN month_counts AS m USING (person_id)
ORDER BY w.person_id;
