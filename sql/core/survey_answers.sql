-- Every survey answer that counts as of the cut-off, one row per answered item, as answered.
--
-- Grain: source (client, coach, care_staff, employer) x respondent x round x item with an
-- answer. Which answers count is ANALYSIS_PLAN "The coaching process and the voices of
-- clients, coaches, care teams and employers":
--   client     the study-population client's latest response of each wave on or before C
--              (staging.survey_responses, as marts.client_scores), round = the wave;
--   coach      per study-population client and item, the answer in the latest current coach
--              response on or before C that answers that item, round = 'latest';
--   care_staff the current responses (latest `paivitetty` per `vastaustunnus`) on or before C,
--              round = `kierros`;
--   employer   likewise, round = 'all'.
-- `alue` is the client's county (clients, coaches) or the county the response names. The items
-- are those of ref.survey_items and of the scales (ref.scale_items) of each source. `EOS` and
-- blank are not answers (no row). A yes/no item counts K as 5 and E as 1, so that `n_1` is E
-- and `n_5` is K wherever answers are counted. Reverse keys are not applied here (the scales
-- apply them): an item is reported as it was answered.
CREATE OR REPLACE TABLE core.survey_answers AS
WITH items AS (
    SELECT source, item FROM ref.survey_items
    UNION
    SELECT s.source, i.item FROM ref.scale_items AS i JOIN ref.scales AS s USING (scale)
),
clients AS (
    SELECT r.*, p.alue
    FROM staging.survey_responses AS r
    JOIN staging.study_population AS p USING (person_id)
),
coaches AS (
    SELECT c.*, p.alue
    FROM staging.coach_survey AS c
    JOIN staging.study_population AS p USING (person_id)
),
responses AS (  -- every response as text columns, so that one UNPIVOT takes them all
    SELECT 'client' AS source, alue, wave AS round, person_id AS respondent, vastauspvm AS response_date,
           CAST(COLUMNS(* EXCLUDE (wave, person_id, vastauspvm, alue)) AS VARCHAR)
    FROM clients
    UNION ALL BY NAME
    SELECT 'coach' AS source, alue, 'latest' AS round, person_id AS respondent, vastauspvm AS response_date,
           CAST(COLUMNS(* EXCLUDE (person_id, vastauspvm, alue)) AS VARCHAR)
    FROM coaches
    UNION ALL BY NAME
    SELECT 'care_staff' AS source, alue, kierros AS round, vastaustunnus AS respondent, vastauspvm AS response_date,
           CAST(COLUMNS(* EXCLUDE (vastaustunnus, alue, kierros, vastauspvm)) AS VARCHAR)
    FROM staging.care_staff_survey
    UNION ALL BY NAME
    SELECT 'employer' AS source, alue, 'all' AS round, vastaustunnus AS respondent, vastauspvm AS response_date,
           CAST(COLUMNS(* EXCLUDE (vastaustunnus, alue, vastauspvm)) AS VARCHAR)
    FROM staging.employer_survey
),
answers AS (
    UNPIVOT responses
    ON COLUMNS(* EXCLUDE (source, alue, round, respondent, response_date))
    INTO NAME item VALUE answer
)
SELECT a.source,
       a.alue,
       a.round,
       a.respondent,
       a.item,
       CASE a.answer WHEN 'true' THEN 5 WHEN 'false' THEN 1 ELSE CAST(a.answer AS INTEGER) END AS answer,
       a.response_date
FROM answers AS a
JOIN items AS i ON i.source = a.source AND i.item = a.item
QUALIFY row_number() OVER (PARTITION BY a.source, a.round, a.respondent, a.item ORDER BY a.response_date DESC) = 1
ORDER BY a.source, a.round, a.respondent, a.item
