-- Register cohort person whose register data may be used, numbered with an integer key.
--
-- Grain: one row per person of register/cohort whose register data may be used: IPS clients
-- in the study population who consented to register linkage, and comparison persons
-- (covered by the data permit) whose index date is on or before the cut-off. Every other
-- person in an extract is left out of every derived table.
-- person_key: a whole number per person (in person_id order) that the register staging tables
-- carry beside or instead of the pseudonym, so that the national-scale joins of core.* are on
-- integers (benchmarks/RESULTS.md). It is given anew by every run: not an identifier to keep.
CREATE OR REPLACE TABLE staging.register_population AS
WITH cohort AS (
    SELECT DISTINCT ON (person_id) * EXCLUDE (_file, _line)
    FROM raw.register_cohort
    ORDER BY person_id, _line
)
SELECT
    CAST(row_number() OVER (ORDER BY c.person_id) AS INTEGER) AS person_key,
    c.person_id,
    CAST(c.ips AS INTEGER) AS ips,
    c.alue,
    c.syntymavuosi AS birth_year,
    c.sukupuoli AS gender,
    c.koulutus AS education,
    c.dg,
    is_smi(c.dg) AS smi,
    c.indeksipvm AS index_date
FROM cohort c
LEFT JOIN staging.study_population p USING (person_id)
WHERE (c.ips = '1' AND p.register_consent)
   OR (c.ips = '0' AND c.indeksipvm <= $cutoff AND p.person_id IS NULL)
-- rows in person order: readers that take the table as it is stored (the models) get the same order every run
ORDER BY c.person_id
