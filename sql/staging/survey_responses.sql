-- Client x survey wave: the latest response on or before the cut-off.
--
-- Grain: client x wave, the latest response of the wave given on or before the cut-off
-- (a client may answer twice in one wave; the later answer counts).
CREATE OR REPLACE TABLE staging.survey_responses AS
WITH responses AS (
    SELECT 'baseline' AS wave, * EXCLUDE (_file) FROM raw.survey_baseline
    UNION ALL BY NAME
    SELECT 'midpoint' AS wave, * EXCLUDE (_file) FROM raw.survey_midpoint
    UNION ALL BY NAME
    SELECT 'final' AS wave, * EXCLUDE (_file) FROM raw.survey_final
)
SELECT DISTINCT ON (person_id, wave) * EXCLUDE (_line)
FROM responses
WHERE vastauspvm <= $cutoff
ORDER BY person_id, wave, vastauspvm DESC, _line DESC
