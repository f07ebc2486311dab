-- Scale scores of each client response and each care-staff response, from the declared scales.
--
-- Grain: source (client, care_staff) x respondent x round x scale with at least one answered
-- item. The rules are data_contracts/scales.yaml, read from ref.scales and ref.scale_items:
-- reverse-keyed items are scored min + max - x first; then
--   rule 'item': the single item as is;
--   rule 'sum' : the sum of the items when all are answered; with fewer (but at least
--                min_answered), the mean of the answered items x the number of items (prorated);
--   rule 'mean': the mean of the answered items;
-- and fewer than min_answered answered items give NULL. The answers are those of
-- core.survey_answers. Coaches' scales are not scored (a coach's items may come from different
-- responses; marts.scale_reliability reads coach responses whole). Scores are DOUBLE, unrounded.
CREATE OR REPLACE TABLE core.scale_scores AS
WITH scored AS (
    SELECT a.source,
           a.alue,
           a.round,
           a.respondent,
           s.scale,
           s.rule,
           s.n_items,
           s.min_answered,
           CASE WHEN i.reverse THEN s.min_value + s.max_value - a.answer ELSE a.answer END AS answer
    FROM core.survey_answers AS a
    JOIN ref.scale_items AS i USING (item)
    JOIN ref.scales AS s ON s.scale = i.scale AND s.source = a.source
    WHERE a.source IN ('client', 'care_staff')
),
stats AS (
    SELECT source, alue, round, respondent, scale,
           any_value(rule) AS rule,
           any_value(n_items) AS n_items,
           any_value(min_answered) AS min_answered,
           count(*) AS n_answered,
           sum(answer) AS item_sum,
           avg(answer) AS item_mean
    FROM scored
    GROUP BY source, alue, round, respondent, scale
)
SELECT source,
       alue,
       round,
       respondent,
       scale,
       n_answered,
       CASE
           WHEN n_answered < min_answered THEN NULL
           WHEN rule = 'item' THEN CAST(item_sum AS DOUBLE)
           WHEN rule = 'sum' AND n_answered = n_items THEN CAST(item_sum AS DOUBLE)
           WHEN rule = 'sum' THEN item_mean * n_items
           WHEN rule = 'mean' THEN item_mean
       END AS value
FROM stats
ORDER BY source, round, respondent, scale
