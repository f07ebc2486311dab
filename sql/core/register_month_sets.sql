-- Register person: the sets of relative months -24..+36 with each monthly fact.
--
-- Grain: register person (core.register_persons).
-- Why: the monthly facts that marts.register_outcomes counts and marts.state_sequences orders
-- (ANALYSIS_PLAN "Register outcomes"), kept as sets of the relative months of the sequence
-- window -24..36 (ref.sequence_months) around the calendar month of the index date I
-- (sql/macros.sql month_set: bit rel_month + 24 of a BIGINT).
-- A month is in a fact's set when at least one spell of that kind covers at least one day of
-- it; overlapping, touching or repeated spells cannot count a month twice (a set holds a month
-- once). Spells are taken as known at C: spells starting after C are ignored, open spells and
-- ends after C run to C. `observed` holds the months that start on or before C; the later
-- months are not observed yet and are in no fact's set. Benefit groups come from
-- ref.benefit_groups; psychiatric inpatient = an inpatient care type (ref.care_types).
-- How (national scale, benchmarks/RESULTS.md): one row per person with five integers instead
-- of 61 person-month rows; every join is on the integer person_key given in staging.
-- core.register_months is the person x month view of this table.
CREATE OR REPLACE TABLE core.register_month_sets AS
WITH spells_at_cutoff AS (  -- every spell as known at C, with the fact it gives
    SELECT person_key, 'employed' AS fact, start_date,
           least(coalesce(end_date, $cutoff), $cutoff) AS end_date
    FROM staging.employment_spells
    WHERE start_date <= $cutoff
    UNION ALL
    SELECT person_key, 'subsidised', start_date, least(coalesce(end_date, $cutoff), $cutoff)
    FROM staging.pay_subsidy_spells
    WHERE start_date <= $cutoff
    UNION ALL
    SELECT person_key, benefit_group || '_benefit', start_date, least(coalesce(end_date, $cutoff), $cutoff)
    FROM staging.benefit_spells
    WHERE benefit_group IS NOT NULL AND start_date <= $cutoff
    UNION ALL
    SELECT person_key, 'inpatient', start_date, least(coalesce(end_date, $cutoff), $cutoff)
    FROM staging.psychiatric_care
    JOIN ref.care_types USING (hoitomuoto)
    WHERE inpatient AND start_date <= $cutoff
),
spell_sets AS (  -- the relative months a spell covers a day of (datediff('month') = calendar months)
    SELECT s.person_key, s.fact,
           month_set(datediff('month', p.index_month, s.start_date),
                     datediff('month', p.index_month, s.end_date)) AS months
    FROM spells_at_cutoff AS s
    JOIN core.register_persons AS p USING (person_key)
),
facts AS (  -- the union of a person's spells per fact
    SELECT person_key,
           bit_or(months) FILTER (WHERE fact = 'employed')             AS employed,
           bit_or(months) FILTER (WHERE fact = 'subsidised')           AS subsidised,
           bit_or(months) FILTER (WHERE fact = 'disability_benefit')   AS disability_benefit,
           bit_or(months) FILTER (WHERE fact = 'unemployment_benefit') AS unemployment_benefit,
           bit_or(months) FILTER (WHERE fact = 'inpatient')            AS inpatient
    FROM spell_sets
    GROUP BY person_key
)
SELECT p.person_key,
       p.person_id,
       p.ips,
       p.index_month,
       month_set(sequence_first(), datediff('month', p.index_month, $cutoff)) AS observed,
       coalesce(f.employed, 0)             AS employed,
       coalesce(f.subsidised, 0)           AS subsidised,
       coalesce(f.disability_benefit, 0)   AS disability_benefit,
       coalesce(f.unemployment_benefit, 0) AS unemployment_benefit,
       coalesce(f.inpatient, 0)            AS inpatient
FROM core.register_persons AS p
LEFT JOIN facts AS f USING (person_key)
ORDER BY p.person_key;
