-- Employers who answered, of all counties, by industry, personnel size class and sector.
--
-- Grain: characteristic (`toimiala`, `koko`, `sektori`) x code of its code list
-- (data_contracts/codes.yaml: industries, size_classes, sectors), plus 'unknown' (not
-- answered) and 'ALL' (every current employer response), zeros included: every category has
-- its row, so that the codes add up to ALL within each characteristic.
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers": employers' industry, size class and sector are tabulated for ALL only (rule 7:
-- the anonymous survey's small groups would identify a workplace). The responses are
-- staging.employer_survey (the latest `paivitetty` per `vastaustunnus`, on or before C).
CREATE OR REPLACE TABLE marts.employer_profile AS
WITH characteristics AS (
    SELECT * FROM (VALUES ('toimiala', 'industries', 1), ('koko', 'size_classes', 2), ('sektori', 'sectors', 3))
        AS t(characteristic, code_list, characteristic_order)
),
categories AS (
    SELECT ch.characteristic, ch.characteristic_order, c.value AS code, row_number() OVER (
               PARTITION BY ch.characteristic ORDER BY c.rowid) AS code_order
    FROM characteristics AS ch
    JOIN ref.codes AS c ON c.list = ch.code_list
    UNION ALL
    SELECT characteristic, characteristic_order, 'unknown', 1000 FROM characteristics
    UNION ALL
    SELECT characteristic, characteristic_order, 'ALL', 1001 FROM characteristics
),
answers AS (
    SELECT r.vastaustunnus, ch.characteristic,
           coalesce(CASE ch.characteristic WHEN 'toimiala' THEN r.toimiala
                                           WHEN 'koko' THEN r.koko
                                           ELSE r.sektori END, 'unknown') AS code
    FROM staging.employer_survey AS r, characteristics AS ch
)
SELECT c.characteristic,
       c.code,
       count(a.vastaustunnus) AS n_employers
FROM categories AS c
LEFT JOIN answers AS a
       ON a.characteristic = c.characteristic AND (a.code = c.code OR c.code = 'ALL')
GROUP BY c.characteristic, c.code, c.characteristic_order, c.code_order
ORDER BY c.characteristic_order, c.code_order
