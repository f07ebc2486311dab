-- Grain: one care episode (an inpatient period or an outpatient visit); exact duplicates collapse.
-- Only persons of staging.register_population are kept, with their person_key (matched before
-- the duplicates collapse, so that rows of other persons are never hashed).
CREATE OR REPLACE TABLE staging.psychiatric_care AS
SELECT DISTINCT p.person_key, c.person_id, c.hoitomuoto, c.alkupvm AS start_date, c.loppupvm AS end_date, c.dg
FROM raw.register_psychiatric_care AS c
JOIN staging.register_population AS p USING (person_id)
