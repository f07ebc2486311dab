-- Model 4, when marts.client_scores holds no response date: the date of each client's latest
-- response per wave from staging.survey_responses (the grain of the mart).
SELECT person_id, wave, max(vastauspvm) AS vastauspvm
FROM staging.survey_responses
GROUP BY person_id, wave
