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
-- How (national scale, see benchmarks/RESULTS.md): months are counted as integers relative to
-- the index month (datediff('month', a, b) is the calendar-month difference), persons get a
-- running number in person_id order, and each person's facts are gathered once as sets of the
-- relative months that have them (bits of a BIGINT); the 49 rows of a person read their month there.
-- So the only person x month join is the one with earnings, on integers, and nothing large is
-- hashed or sorted on strings (the first version joined 10 M person-months on
-- (person_id, month) twice and grew faster than linearly once it reached the memory limit).
CREATE OR REPLACE TABLE core.register_months AS
WITH persons AS (
    SELECT row_number() OVER (ORDER BY person_id) AS pnum, person_id, ips, index_month
    FROM core.register_persons
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
spell_windows AS (  -- the first and last relative month a spell covers a day of, cut to -24..24
    SELECT p.pnum, s.fact,
           greatest(datediff('month', p.index_month, s.start_date), -24) AS first_rel,
           least(datediff('month', p.index_month, s.end_date), 24)       AS last_rel
    FROM spells_at_cutoff AS s
    JOIN persons AS p USING (person_id)
),
person_facts AS (  -- per person and fact, the set of relative months a spell covers a day of
    -- A set of months -24..24 is a BIGINT with bit (rel_month + 24) set for each month in it:
    -- a spell covering first_rel..last_rel sets bits first_rel+24 .. last_rel+24, and the
    -- union over a person's spells (bit_or) holds every month at least one spell covers.
    SELECT pnum,
           bit_or(months) FILTER (WHERE fact = 'employed')             AS employed,
           bit_or(months) FILTER (WHERE fact = 'subsidised')           AS subsidised,
           bit_or(months) FILTER (WHERE fact = 'disability_benefit')   AS disability_benefit,
           bit_or(months) FILTER (WHERE fact = 'unemployment_benefit') AS unemployment_benefit,
           bit_or(months) FILTER (WHERE fact = 'inpatient')            AS inpatient
    FROM (SELECT pnum, fact,
                 (CAST(1 AS BIGINT) << (last_rel + 25)) - (CAST(1 AS BIGINT) << (first_rel + 24)) AS months
          FROM spell_windows
          WHERE first_rel <= last_rel)
    GROUP BY pnum
),
month_earnings AS (  -- staging.earnings is one row per person and month already
    SELECT pnum, rel_month, ansiot_eur
    FROM (SELECT p.pnum, datediff('month', p.index_month, e.month) AS rel_month, e.ansiot_eur
          FROM staging.earnings AS e
          JOIN persons AS p USING (person_id))
    WHERE rel_month BETWEEN -24 AND 24
),
month_grid AS (  -- every person x relative month, with the month's facts read from the person's sets
    SELECT pnum, person_id, ips, rel_month, month,
           CASE WHEN month <= $cutoff THEN coalesce((employed >> (rel_month + 24)) & 1 = 1, FALSE) END             AS employed,
           CASE WHEN month <= $cutoff THEN coalesce((subsidised >> (rel_month + 24)) & 1 = 1, FALSE) END           AS subsidised,
           CASE WHEN month <= $cutoff THEN coalesce((disability_benefit >> (rel_month + 24)) & 1 = 1, FALSE) END   AS disability_benefit,
           CASE WHEN month <= $cutoff THEN coalesce((unemployment_benefit >> (rel_month + 24)) & 1 = 1, FALSE) END AS unemployment_benefit,
           CASE WHEN month <= $cutoff THEN coalesce((inpatient >> (rel_month + 24)) & 1 = 1, FALSE) END            AS inpatient
    FROM (SELECT p.pnum, p.person_id, p.ips, r.rel_month,
                 CAST(p.index_month + to_months(CAST(r.rel_month AS INTEGER)) AS DATE) AS month,
                 f.employed, f.subsidised, f.disability_benefit, f.unemployment_benefit, f.inpatient
          FROM persons AS p
          LEFT JOIN person_facts AS f USING (pnum),
               range(-24, 25) AS r(rel_month))
)
SELECT g.person_id,
       g.ips,
       g.rel_month,
       g.month,
       g.month <= $cutoff AS observed,
       g.employed,
       g.subsidised,
       g.disability_benefit,
       g.unemployment_benefit,
       g.inpatient,
       CASE WHEN g.month <= $cutoff THEN coalesce(e.ansiot_eur, 0) END AS earnings
FROM month_grid AS g
LEFT JOIN month_earnings AS e USING (pnum, rel_month)
ORDER BY g.pnum, g.rel_month;
