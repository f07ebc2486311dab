-- Grain: one care episode (an inpatient period or an outpatient visit); exact duplicates collapse.
CREATE OR REPLACE TABLE staging.psychiatric_care AS
SELECT DISTINCT person_id, hoitomuoto, alkupvm AS start_date, loppupvm AS end_date, dg
FROM raw.register_psychiatric_care
SEMI JOIN staging.register_population USING (person_id)
