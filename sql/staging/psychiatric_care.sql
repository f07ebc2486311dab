-- Grain: one care episode (an inpatient period or an outpatient visit); exact duplicates collapse.
-- Only persons of staging.register_population are kept, with their person_key.
CREATE OR REPLACE TABLE staging.psychiatric_care AS
SELECT p.person_key, c.*
FROM (SELECT DISTINCT person_id, hoitomuoto, alkupvm AS start_date, loppupvm AS end_date, dg
      FROM raw.register_psychiatric_care) AS c
JOIN staging.register_population AS p USING (person_id)
