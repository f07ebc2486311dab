-- Survey items of clients, coaches, care staff and employers: the distribution of the answers.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: source x county (and 'ALL') x round x item with at least one answer; the items are
-- ref.survey_items (ips_eval.definitions.SURVEY_ITEMS), the answers those core.survey_answers
-- counts (clients: the latest final-survey response, the only wave with these items; coaches:
-- round 'latest'; care staff per `kierros`; employers: round 'all').
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers". An answer is positive at ref.survey_answer_levels.positive_from or above (4-5 of
-- a 1-5 item; K of a yes/no item, counted as 5); `mean` is blank for yes/no items, whose
-- `n_1` counts E and `n_5` K. Items are reported as answered (tyo_3, tyo_4 not reversed).
CREATE OR REPLACE TABLE marts.survey_items AS
WITH answers AS (
    SELECT a.source, a.alue, a.round, a.item, a.answer, i.item_order, i.yes_no, l.positive_from
    FROM core.survey_answers AS a
    JOIN ref.survey_items AS i USING (source, item)
    CROSS JOIN ref.survey_answer_levels AS l
),
figures AS (
    SELECT source,
           coalesce(alue, 'ALL') AS alue,
           round,
           item,
           any_value(item_order) AS item_order,
           count(*) AS n_answered,
           count(*) FILTER (WHERE answer >= positive_from) AS n_positive,
           CASE WHEN bool_or(yes_no) THEN NULL ELSE avg(answer) END AS mean,
           count(*) FILTER (WHERE answer = 1) AS n_1,
           count(*) FILTER (WHERE answer = 2) AS n_2,
           count(*) FILTER (WHERE answer = 3) AS n_3,
           count(*) FILTER (WHERE answer = 4) AS n_4,
           count(*) FILTER (WHERE answer = 5) AS n_5
    FROM answers
    GROUP BY GROUPING SETS ((source, round, item, alue), (source, round, item))
)
SELECT source,
       alue,
       round,
       item,
       n_answered,
       n_positive,
       n_positive / n_answered AS rate_positive,
       mean,
       n_1,
       n_2,
       n_3,
       n_4,
       n_5
FROM figures
ORDER BY source, alue = 'ALL', alue, round, item_order
