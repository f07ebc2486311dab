-- Model 4 (scores_<score>): one row per client and survey wave with every score (and the
-- response date, vastauspvm, when the mart holds it) and the start of the client's first
-- competitive job (employed by the response date).
SELECT s.*, o.first_job_start
FROM marts.client_scores AS s
JOIN core.client_outcomes AS o ON o.person_id = s.person_id
