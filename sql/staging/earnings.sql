-- Grain: person x calendar month; the month's rows summed after exact duplicates collapse.
CREATE OR REPLACE TABLE staging.earnings AS
SELECT person_id, kuukausi AS month, sum(ansiot_eur) AS ansiot_eur
FROM (
    SELECT DISTINCT person_id, kuukausi, ansiot_eur
    FROM raw.register_earnings
    SEMI JOIN staging.register_population USING (person_id)
)
GROUP BY person_id, kuukausi
