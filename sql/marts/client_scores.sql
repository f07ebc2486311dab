-- Client x wave: client-reported scores of the latest response.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: study-population client (as of C) x survey wave with a response: the latest response
-- of the wave on or before C.
-- Why: ANALYSIS_PLAN "Client-reported outcomes". The rules are read from ref.scores
-- (item prefix, number of items, rule, largest number of missing items allowed):
--   rule 'item': the single item as is;
--   rule 'sum' : the sum of the items when none is missing; with 1..max_missing missing, the
--                mean of the answered items x the number of items (prorated); more: NULL;
--   rule 'mean': the mean of the answered items when at most max_missing are missing; more: NULL.
-- EOS ("don't know") and blank are NULL in staging, i.e. missing. Scores are DOUBLE, unrounded.
CREATE OR REPLACE TABLE marts.client_scores AS
WITH responses AS (
    SELECT r.*
    FROM staging.survey_responses AS r
    JOIN staging.study_population AS p USING (person_id)
    WHERE r.vastauspvm <= $cutoff
    QUALIFY row_number() OVER (PARTITION BY r.person_id, r.wave ORDER BY r.vastauspvm DESC) = 1
),
answers AS (  -- one row per answered item (UNPIVOT drops the missing ones)
    UNPIVOT (
        SELECT person_id, wave,
               COLUMNS(lambda c: regexp_full_match(c, '[a-z]+(_[0-9]+)?')
                            AND c NOT IN ('person_id', 'wave', 'vastauspvm'))
        FROM responses
    )
    ON COLUMNS(* EXCLUDE (person_id, wave))
    INTO NAME item VALUE answer
),
score_items AS (  -- the item columns of each score, from ref.scores
    SELECT s.score,
           s.rule,
           s.n_items,
           s.max_missing,
           CASE WHEN s.n_items = 1 THEN s.item_prefix ELSE s.item_prefix || '_' || k.i END AS item
    FROM ref.scores AS s,
         LATERAL (SELECT unnest(generate_series(1, s.n_items)) AS i) AS k
),
item_stats AS (
    SELECT a.person_id,
           a.wave,
           si.score,
           any_value(si.rule)        AS rule,
           any_value(si.n_items)     AS n_items,
           any_value(si.max_missing) AS max_missing,
           count(a.answer)           AS n_answered,
           sum(a.answer)             AS item_sum,
           avg(a.answer)             AS item_mean
    FROM answers AS a
    JOIN score_items AS si USING (item)
    GROUP BY a.person_id, a.wave, si.score
),
scores AS (
    SELECT person_id,
           wave,
           score,
           CASE
               WHEN n_answered = 0 OR n_items - n_answered > max_missing THEN NULL
               WHEN rule = 'item' THEN CAST(item_sum AS DOUBLE)
               WHEN rule = 'sum' AND n_answered = n_items THEN CAST(item_sum AS DOUBLE)
               WHEN rule = 'sum' THEN item_mean * n_items
               WHEN rule = 'mean' THEN item_mean
           END AS value
    FROM item_stats
)
SELECT r.person_id,
       r.wave,
       r.vastauspvm,
       max(s.value) FILTER (WHERE s.score = 'work_ability')  AS work_ability,
       max(s.value) FILTER (WHERE s.score = 'swemwbs')       AS swemwbs,
       max(s.value) FILTER (WHERE s.score = 'eurohis')       AS eurohis,
       max(s.value) FILTER (WHERE s.score = 'inclusion')     AS inclusion,
       max(s.value) FILTER (WHERE s.score = 'self_efficacy') AS self_efficacy,
       max(s.value) FILTER (WHERE s.score = 'rtw_readiness') AS rtw_readiness
FROM responses AS r
LEFT JOIN scores AS s USING (person_id, wave)
GROUP BY r.person_id, r.wave, r.vastauspvm
ORDER BY r.person_id, r.wave;
