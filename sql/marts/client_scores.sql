-- Client x wave: client-reported scores of the latest response.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: study-population client (as of C) x survey wave with a response: the latest response
-- of the wave on or before C.
-- Why: ANALYSIS_PLAN "Client-reported outcomes". Each score is a scale of
-- data_contracts/scales.yaml with `score: true`, scored by core.scale_scores (reverse keys,
-- the rule and the fewest answered items all come from the declaration); a response with
-- too few answered items of a scale has NULL for it. EOS ("don't know") and blank are missing.
-- Scores are DOUBLE, unrounded; the columns are the declared scores in their order.
CREATE OR REPLACE TABLE marts.client_scores AS
WITH responses AS (
    SELECT r.person_id, r.wave, r.vastauspvm
    FROM staging.survey_responses AS r
    JOIN staging.study_population AS p USING (person_id)
),
scores AS (
    SELECT s.respondent AS person_id, s.round AS wave, s.scale, s.value
    FROM core.scale_scores AS s
    JOIN ref.scales AS d USING (scale)
    WHERE s.source = 'client' AND d.score
)
SELECT r.person_id,
       r.wave,
       r.vastauspvm,
       max(s.value) FILTER (WHERE s.scale = 'work_ability')  AS work_ability,
       max(s.value) FILTER (WHERE s.scale = 'swemwbs')       AS swemwbs,
       max(s.value) FILTER (WHERE s.scale = 'eurohis')       AS eurohis,
       max(s.value) FILTER (WHERE s.scale = 'inclusion')     AS inclusion,
       max(s.value) FILTER (WHERE s.scale = 'self_efficacy') AS self_efficacy,
       max(s.value) FILTER (WHERE s.scale = 'rtw_readiness') AS rtw_readiness,
       max(s.value) FILTER (WHERE s.scale = 'stigma')        AS stigma
FROM responses AS r
LEFT JOIN scores AS s USING (person_id, wave)
GROUP BY r.person_id, r.wave, r.vastauspvm
ORDER BY r.person_id, r.wave;
