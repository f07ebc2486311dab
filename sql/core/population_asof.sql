-- Study-population client x as-of date (population rule re-applied at each date).
--
-- Grain: study-population client x evaluation date (core.evaluation_dates.as_of).
-- Why: the study population ("Who is counted") re-applied at each as-of date d <= C:
-- research consent on or before d, IPS start S <= d, no withdrawal on or before d.
-- A client who has withdrawn by C is out of every date (a withdrawal removes the client from
-- every derived table), so the population at d is the population at C (staging.study_population,
-- which applies the rule at C) narrowed to consent <= d and S <= d. At d = C it is exactly
-- staging.study_population. Client attributes are those of the current record version.
CREATE OR REPLACE TABLE core.population_asof AS
SELECT d.as_of,
       p.*,
       c.tutkimussuostumus AS consent_date
FROM staging.study_population AS p
JOIN staging.clients AS c USING (person_id)
JOIN core.evaluation_dates AS d
  ON p.ips_start <= d.as_of
 AND c.tutkimussuostumus <= d.as_of
ORDER BY d.as_of, p.person_id;
