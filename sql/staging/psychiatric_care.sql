-- Specialised psychiatric care episodes of the usable persons.
--
-- Grain: one care episode (an inpatient period or an outpatient visit); exact duplicates collapse.
-- Only persons of staging.register_population are kept. The person is its person_key (join
-- staging.register_population for the pseudonym), as in staging.earnings: at national scale,
-- collapsing duplicates on the integer rather than the pseudonym keeps the hash table within
-- DuckDB's memory limit, and the step grows linearly (benchmarks/RESULTS.md).
CREATE OR REPLACE TABLE staging.psychiatric_care AS
SELECT DISTINCT p.person_key, c.hoitomuoto, c.alkupvm AS start_date, c.loppupvm AS end_date, c.dg
FROM raw.register_psychiatric_care AS c
JOIN staging.register_population AS p USING (person_id)
