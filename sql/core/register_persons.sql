-- Register cohort person whose register data may be used as of C.
--
-- Grain: person of register/cohort whose register data may be used as of C.
-- Why: "Register data is used only for study-population clients with rekisterisuostumus = K,
-- and for comparison persons (ips = 0) with index date <= C. Any other person in a register
-- extract is left out of every derived table." staging.register_population applies this; it
-- is applied again here (cheaply) so that no register-derived table can ever hold a person
-- outside it. Also left out: a comparison person whose pseudonym is a client in clients.csv
-- (an IPS client is not a valid comparison person, and a withdrawn client must not come back
-- through the comparison cohort).
CREATE OR REPLACE TABLE core.register_persons AS
SELECT r.*,
       CAST(date_trunc('month', r.index_date) AS DATE) AS index_month
FROM staging.register_population AS r
LEFT JOIN staging.study_population AS p USING (person_id)
WHERE r.index_date <= $cutoff
  AND (
        (r.ips = 1 AND p.register_consent IS TRUE)
     OR (r.ips = 0 AND NOT EXISTS (SELECT 1 FROM staging.clients AS c WHERE c.person_id = r.person_id))
      )
ORDER BY r.person_key;
