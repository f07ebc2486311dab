-- Model 10 (change_agreement): one row per study-population client and change domain d (1-8) with
-- both the client's `koettu_d` (the final survey that counts) and the coach's `hyoty_d` (the
-- latest coach response on or before C that answers it), as core.survey_answers counts them.
SELECT c.respondent AS person_id,
       c.alue,
       CAST(substr(c.item, length('koettu_') + 1) AS INTEGER) AS domain,
       c.answer AS client_answer,
       k.answer AS coach_answer
FROM core.survey_answers AS c
JOIN core.survey_answers AS k
  ON k.source = 'coach' AND k.round = 'latest' AND k.respondent = c.respondent
 AND k.item = 'hyoty_' || substr(c.item, length('koettu_') + 1)
WHERE c.source = 'client' AND c.round = 'final' AND c.item LIKE 'koettu\_%' ESCAPE '\'
ORDER BY c.respondent, c.item
