-- Cronbach's alpha of each questionnaire scale per wave or round.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: one row per scale with `reliability: true` in data_contracts/scales.yaml x each wave
-- or round it is asked in (ref.scale_waves), also when no response is complete.
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers". The responses are those core.survey_answers counts (clients: the latest response
-- of each wave; care staff: the current responses per round), and for `coach_change` each
-- study-population client's latest coach response on or before C taken whole (its items are
-- not mixed with earlier responses). `n_complete` counts the responses with every item of the
-- scale answered; over them, after reverse-keying (min + max - x),
--   alpha = k / (k - 1) * (1 - sum of the item variances / variance of the item sum),
-- with sample variances (n - 1); NULL under 2 complete responses or when the sum does not vary.
-- The variances' common factor n (n - 1) cancels, so the ratio is taken of the integers
-- n * sum(x^2) - sum(x)^2, exact: a re-run gives the same bits whatever order the threads add
-- the answers in.
CREATE OR REPLACE TABLE marts.scale_reliability AS
WITH latest_coach AS (  -- each client's latest coach response, whole
    SELECT c.person_id AS respondent, 'latest' AS round,
           CAST(COLUMNS(* EXCLUDE (person_id, vastauspvm)) AS VARCHAR)
    FROM staging.coach_survey AS c
    JOIN staging.study_population AS p USING (person_id)
    QUALIFY row_number() OVER (PARTITION BY c.person_id ORDER BY c.vastauspvm DESC) = 1
),
coach_answers AS (
    SELECT 'coach' AS source, round, respondent, item, CAST(answer AS INTEGER) AS answer
    FROM (UNPIVOT latest_coach ON COLUMNS(* EXCLUDE (respondent, round)) INTO NAME item VALUE answer)
    WHERE item IN (SELECT i.item FROM ref.scale_items AS i JOIN ref.scales AS s USING (scale)
                   WHERE s.source = 'coach')
),
answers AS (
    SELECT source, round, respondent, item, answer FROM core.survey_answers WHERE source IN ('client', 'care_staff')
    UNION ALL
    SELECT source, round, respondent, item, answer FROM coach_answers
),
keyed AS (  -- each answer of a scale item, reverse-keyed
    SELECT s.scale, a.round AS wave, a.respondent, a.item, s.n_items,
           CASE WHEN i.reverse THEN s.min_value + s.max_value - a.answer ELSE a.answer END AS answer
    FROM answers AS a
    JOIN ref.scale_items AS i USING (item)
    JOIN ref.scales AS s ON s.scale = i.scale AND s.source = a.source
    WHERE s.reliability
),
complete AS (
    SELECT scale, wave, respondent, any_value(n_items) AS n_items, sum(answer) AS total
    FROM keyed
    GROUP BY scale, wave, respondent
    HAVING count(*) = any_value(n_items)
),
item_variances AS (  -- sum over items of n * sum(x^2) - sum(x)^2
    SELECT k.scale, k.wave, sum(k.n * k.s2 - k.s1 * k.s1) AS sum_item_scatter
    FROM (
        SELECT k.scale, k.wave, k.item, CAST(count(*) AS HUGEINT) AS n,
               sum(CAST(k.answer AS HUGEINT) * k.answer) AS s2, sum(CAST(k.answer AS HUGEINT)) AS s1
        FROM keyed AS k
        JOIN complete AS c USING (scale, wave, respondent)
        GROUP BY k.scale, k.wave, k.item
    ) AS k
    GROUP BY k.scale, k.wave
),
totals AS (
    SELECT scale, wave, count(*) AS n_complete, any_value(n_items) AS k,
           CAST(count(*) AS HUGEINT) * sum(CAST(total AS HUGEINT) * total)
           - sum(CAST(total AS HUGEINT)) * sum(CAST(total AS HUGEINT)) AS total_scatter
    FROM complete
    GROUP BY scale, wave
)
SELECT w.scale,
       w.wave,
       coalesce(t.n_complete, 0) AS n_complete,
       CASE WHEN t.n_complete >= 2 AND t.total_scatter > 0
            THEN t.k / (t.k - 1) * (1 - CAST(v.sum_item_scatter AS DOUBLE) / CAST(t.total_scatter AS DOUBLE)) END AS alpha
FROM ref.scale_waves AS w
JOIN ref.scales AS s USING (scale)
LEFT JOIN totals AS t USING (scale, wave)
LEFT JOIN item_variances AS v USING (scale, wave)
WHERE s.reliability
ORDER BY s.scale_order, w.wave_order
