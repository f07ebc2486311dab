-- Care staff per county (and ALL) and round: respondents, recovery orientation, employment expectations.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: county named by the response (or 'ALL') x survey round `kierros` with at least one
-- current response on or before C (staging.care_staff_survey).
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers". The two scores are scales of data_contracts/scales.yaml scored by
-- core.scale_scores: `recovery_orientation` the mean of toipumis_1..8 when at least 6 are
-- answered; `employment_expectations` the mean of tyo_1..4 after reversing tyo_3 and tyo_4,
-- when at least 3 are answered. `n_*` counts the respondents with the score, `mean_*` is
-- their mean (NULL when none), summed as exact decimals of each score (12 places) so that a
-- re-run gives the same bits whatever order the threads add them in. Empty without
-- care_staff_survey.csv.
CREATE OR REPLACE TABLE marts.care_staff_scales AS
WITH scores AS (
    SELECT respondent,
           max(value) FILTER (WHERE scale = 'recovery_orientation') AS recovery_orientation,
           max(value) FILTER (WHERE scale = 'employment_expectations') AS employment_expectations
    FROM core.scale_scores
    WHERE source = 'care_staff'
    GROUP BY respondent
),
figures AS (
    SELECT coalesce(r.alue, 'ALL') AS alue,
           r.kierros AS round,
           count(*) AS n_respondents,
           count(s.recovery_orientation) AS n_recovery_orientation,
           CAST(avg(CAST(s.recovery_orientation AS DECIMAL(38, 12))) AS DOUBLE) AS mean_recovery_orientation,
           count(s.employment_expectations) AS n_employment_expectations,
           CAST(avg(CAST(s.employment_expectations AS DECIMAL(38, 12))) AS DOUBLE) AS mean_employment_expectations
    FROM staging.care_staff_survey AS r
    LEFT JOIN scores AS s ON s.respondent = r.vastaustunnus
    GROUP BY GROUPING SETS ((r.alue, r.kierros), (r.kierros))
)
SELECT f.*
FROM figures AS f
LEFT JOIN ref.scale_waves AS w ON w.scale = 'recovery_orientation' AND w.wave = f.round
ORDER BY f.alue = 'ALL', f.alue, w.wave_order
