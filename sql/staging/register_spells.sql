-- Register spells of the usable persons, overlapping and touching spells merged.
--
-- Grain: one merged spell per person, source (employment / pay_subsidy / benefits) and kind
-- (the benefit for benefits, '' otherwise). Overlapping, touching (a start on the day after
-- an end) and repeated spells become one; an open spell (NULL end, ongoing at extraction)
-- stays open. Only persons of staging.register_population are kept, with their person_key.
-- The merge is written once here; employment_spells, pay_subsidy_spells and benefit_spells
-- are views of this table.
CREATE OR REPLACE TABLE staging.register_spells AS
WITH spells AS (
    SELECT 'employment' AS source, person_id, '' AS kind, alkupvm AS start_date,
           coalesce(loppupvm, DATE '9999-12-31') AS end_date
    FROM raw.register_employment
    UNION ALL
    SELECT 'pay_subsidy', person_id, '', alkupvm, coalesce(loppupvm, DATE '9999-12-31')
    FROM raw.register_pay_subsidy
    UNION ALL
    SELECT 'benefits', person_id, etuus, alkupvm, coalesce(loppupvm, DATE '9999-12-31')
    FROM raw.register_benefits
), eligible AS (
    -- a repeated spell is one row: the two windows below order the rows by their dates, and
    -- rows that tie there could be taken in another order by each, which splits an island
    SELECT DISTINCT s.*, p.person_key FROM spells AS s JOIN staging.register_population AS p USING (person_id)
), ordered AS (
    SELECT *, max(end_date) OVER (PARTITION BY source, person_key, kind ORDER BY start_date, end_date
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end
    FROM eligible
), islands AS (
    SELECT *, sum(CASE WHEN previous_end IS NULL OR start_date > previous_end + 1 THEN 1 ELSE 0 END)
                  OVER (PARTITION BY source, person_key, kind ORDER BY start_date, end_date
                        ROWS UNBOUNDED PRECEDING) AS island
    FROM ordered
)
SELECT source, person_key, any_value(person_id) AS person_id, kind, min(start_date) AS start_date,
       nullif(max(end_date), DATE '9999-12-31') AS end_date
FROM islands
GROUP BY source, person_key, kind, island
