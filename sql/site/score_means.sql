-- Fallback when models.score_change is absent: per score and wave the number of clients with
-- the score and its mean (never a minimum or maximum). No person-level column leaves here.
WITH long AS (
    UNPIVOT marts.client_scores
    ON work_ability, swemwbs, eurohis, inclusion, self_efficacy, rtw_readiness, stigma
    INTO NAME score VALUE value
)
SELECT l.score, l.wave, count(l.value) AS n_responses, avg(l.value) AS mean
FROM long l
JOIN ref.survey_waves w ON w.wave = l.wave
GROUP BY l.score, l.wave, w.wave_order
ORDER BY l.score, w.wave_order
