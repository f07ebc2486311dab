-- Earnings per register person and calendar month.
--
-- Grain: person x calendar month; the month's rows summed after exact duplicates collapse.
-- Only persons of staging.register_population are kept. The person is its person_key (join
-- staging.register_population for the pseudonym): this is the largest register table (one row
-- per person and month), and grouping and storing it by an integer rather than the pseudonym
-- makes it much cheaper to build (benchmarks/RESULTS.md).
-- A row is (person, month, amount), so "exact duplicates collapse, then the month's rows are
-- summed" is the sum of the month's distinct amounts.
CREATE OR REPLACE TABLE staging.earnings AS
SELECT p.person_key, e.kuukausi AS month, sum(DISTINCT e.ansiot_eur) AS ansiot_eur
FROM raw.register_earnings AS e
JOIN staging.register_population AS p USING (person_id)
GROUP BY p.person_key, e.kuukausi
