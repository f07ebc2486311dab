-- Study-population client: the coaching process as the coach survey and the client register tell it.
--
-- Grain: one row per study-population client (as of C), with or without coach responses.
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers" (marts.coaching aggregates these rows; the models of the process read them).
--   followed_to             service end, or C when the service had not ended by C;
--   referral_date           `lahetepvm` of the client register (NULL when not given);
--   n_coach_responses       current coach responses on or before C (staging.coach_survey);
--   first_employer_contact  the earliest `ens_tyonantajakontakti` on or after S and on or before
--                           C over all those responses (a later form stating a later date does
--                           not move it; a date before S does not count, like a job before S);
--   employer_contacts       the sum of `tyonantajakontaktit` over those responses;
--   trust, cooperation      `luottamus` and `yhteistyo_hoitotaho` as core.survey_answers counts
--                           coach items (the latest response on or before C that answers them);
--   first_response_date, first_trust, first_cooperation: the client's first coach response
--                           and its two ratings (model 1 uses them when dated within 3 months of S).
CREATE OR REPLACE TABLE core.coaching_clients AS
WITH responses AS (
    SELECT c.*, p.ips_start
    FROM staging.coach_survey AS c
    JOIN staging.study_population AS p USING (person_id)
),
per_client AS (
    SELECT person_id,
           count(*) AS n_coach_responses,
           min(vastauspvm) AS first_response_date,
           CAST(sum(tyonantajakontaktit) AS BIGINT) AS employer_contacts,
           min(ens_tyonantajakontakti) FILTER (
               WHERE ens_tyonantajakontakti >= ips_start AND ens_tyonantajakontakti <= $cutoff
           ) AS first_employer_contact
    FROM responses
    GROUP BY person_id
),
first_response AS (
    SELECT DISTINCT ON (person_id) person_id, luottamus AS first_trust, yhteistyo_hoitotaho AS first_cooperation
    FROM responses
    ORDER BY person_id, vastauspvm
),
ratings AS (
    SELECT respondent AS person_id,
           max(answer) FILTER (WHERE item = 'luottamus') AS trust,
           max(answer) FILTER (WHERE item = 'yhteistyo_hoitotaho') AS cooperation
    FROM core.survey_answers
    WHERE source = 'coach'
    GROUP BY respondent
)
SELECT p.person_id,
       p.alue,
       p.ips_start,
       least(coalesce(p.service_end, $cutoff), $cutoff) AS followed_to,
       c.lahetepvm AS referral_date,
       coalesce(pc.n_coach_responses, 0) AS n_coach_responses,
       pc.first_employer_contact,
       pc.employer_contacts,
       r.trust,
       r.cooperation,
       pc.first_response_date,
       f.first_trust,
       f.first_cooperation
FROM staging.study_population AS p
JOIN staging.clients AS c USING (person_id)
LEFT JOIN per_client AS pc USING (person_id)
LEFT JOIN first_response AS f USING (person_id)
LEFT JOIN ratings AS r USING (person_id)
ORDER BY p.person_id
