-- core.register_months
-- Grain: register person (core.register_persons) x relative month -24..+24 around the
-- calendar month of the index date I (rel_month 0 = the month of I).
-- Why: the monthly facts that marts.register_outcomes and marts.state_sequences count
-- (ANALYSIS_PLAN "Register outcomes"). A month has a fact when at least one spell covers at
-- least one day of it. Spells are taken as known at C: spells starting after C are ignored,
-- open spells and ends after C run to C. Overlapping, touching or repeated spells cannot
-- count a month twice (each month is one row). Months that start after C are not observed:
-- `observed` is FALSE and every fact is NULL. Benefit groups come from ref.benefit_groups;
-- psychiatric inpatient = an 'osasto' (inpatient) episode.
CREATE OR REPLACE TABLE core.register_months AS
WITH month_grid AS (
    SELECT p.person_id,
           p.ips,
           p.index_month,
           r.rel_month,
           CAST(p.index_month + to_months(CAST(r.rel_month AS INTEGER)) AS DATE) AS month
    FROM core.register_persons AS p,
         range(-24, 25) AS r(rel_month)
),
spells_at_cutoff AS (  -- every spell as known at C, with the fact it gives
    SELECT person_id, 'employed' AS fact, start_date,
           least(coalesce(end_date, $cutoff), $cutoff) AS end_date
    FROM staging.employment_spells
    WHERE start_date <= $cutoff
    UNION ALL
    SELECT person_id, 'subsidised', start_date, least(coalesce(end_date, $cutoff), $cutoff)
    FROM staging.pay_subsidy_spells
    WHERE start_date <= $cutoff
    UNION ALL
    SELECT b.person_id, g.benefit_group || '_benefit', b.start_date, least(coalesce(b.end_date, $cutoff), $cutoff)
    FROM staging.benefit_spells AS b
    JOIN ref.benefit_groups AS g USING (etuus)
    WHERE b.start_date <= $cutoff
    UNION ALL
    SELECT person_id, 'inpatient', start_date, least(coalesce(end_date, $cutoff), $cutoff)
    FROM staging.psychiatric_care
    JOIN ref.care_types USING (hoitomuoto)
    WHERE inpatient AND start_date <= $cutoff
),
spell_months AS (  -- each calendar month a spell covers at least one day of, within the window
    SELECT DISTINCT s.person_id, s.fact, CAST(t.month AS DATE) AS month
    FROM spells_at_cutoff AS s
    JOIN core.register_persons AS p USING (person_id),
         unnest(generate_series(
             greatest(CAST(date_trunc('month', s.start_date) AS DATE), CAST(p.index_month - INTERVAL 24 MONTH AS DATE)),
             least(CAST(date_trunc('month', s.end_date) AS DATE), CAST(p.index_month + INTERVAL 24 MONTH AS DATE)),
             INTERVAL 1 MONTH)) AS t(month)
),
month_facts AS (
    SELECT person_id,
           month,
           bool_or(fact = 'employed')             AS employed,
           bool_or(fact = 'subsidised')           AS subsidised,
           bool_or(fact = 'disability_benefit')   AS disability_benefit,
           bool_or(fact = 'unemployment_benefit') AS unemployment_benefit,
           bool_or(fact = 'inpatient')            AS inpatient
    FROM spell_months
    GROUP BY person_id, month
)
SELECT g.person_id,
       g.ips,
       g.rel_month,
       g.month,
       g.month <= $cutoff AS observed,
       CASE WHEN g.month <= $cutoff THEN coalesce(f.employed, FALSE) END             AS employed,
       CASE WHEN g.month <= $cutoff THEN coalesce(f.subsidised, FALSE) END           AS subsidised,
       CASE WHEN g.month <= $cutoff THEN coalesce(f.disability_benefit, FALSE) END   AS disability_benefit,
       CASE WHEN g.month <= $cutoff THEN coalesce(f.unemployment_benefit, FALSE) END AS unemployment_benefit,
       CASE WHEN g.month <= $cutoff THEN coalesce(f.inpatient, FALSE) END            AS inpatient,
       CASE WHEN g.month <= $cutoff THEN coalesce(e.ansiot_eur, 0) END               AS earnings
FROM month_grid AS g
LEFT JOIN month_facts AS f USING (person_id, month)
LEFT JOIN staging.earnings AS e USING (person_id, month)
ORDER BY g.person_id, g.rel_month;
