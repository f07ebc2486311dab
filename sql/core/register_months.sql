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
-- the index month (datediff('month', ...) is the calendar-month difference), persons get a
-- running number in person_id order, and every join, aggregate and sort below is on those
-- integers, so that 10 M person-months need no string hashing and no date series per spell.
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
spell_months AS (  -- each relative month a spell covers at least one day of, within the window
    SELECT pnum, fact, unnest(range(first_rel, last_rel + 1)) AS rel_month
    FROM spell_windows
    WHERE first_rel <= last_rel
),
person_facts AS (  -- per person, the relative months that have each fact
    SELECT pnum,
           list(rel_month) FILTER (WHERE fact = 'employed')             AS employed,
           list(rel_month) FILTER (WHERE fact = 'subsidised')           AS subsidised,
           list(rel_month) FILTER (WHERE fact = 'disability_benefit')   AS disability_benefit,
           list(rel_month) FILTER (WHERE fact = 'unemployment_benefit') AS unemployment_benefit,
           list(rel_month) FILTER (WHERE fact = 'inpatient')            AS inpatient
    FROM spell_months
    GROUP BY pnum
),
person_earnings AS (  -- per person, relative month -> the month's earnings (staging.earnings: one row per month)
    SELECT p.pnum, map(list(datediff('month', p.index_month, e.month)), list(e.ansiot_eur)) AS earnings
    FROM staging.earnings AS e
    JOIN persons AS p USING (person_id)
    WHERE e.month BETWEEN p.index_month - INTERVAL 24 MONTH AND p.index_month + INTERVAL 24 MONTH
    GROUP BY p.pnum
),
month_grid AS (  -- every person x relative month, with the person's facts beside it
    SELECT pnum, person_id, ips, rel_month,
           CAST(index_month + to_months(CAST(rel_month AS INTEGER)) AS DATE) AS month,
           employed, subsidised, disability_benefit, unemployment_benefit, inpatient, earnings
    FROM (SELECT p.*, f.* EXCLUDE (pnum), e.earnings, unnest(range(-24, 25)) AS rel_month
          FROM persons AS p
          LEFT JOIN person_facts AS f USING (pnum)
          LEFT JOIN person_earnings AS e USING (pnum))
)
SELECT person_id,
       ips,
       rel_month,
       month,
       month <= $cutoff AS observed,
       CASE WHEN month <= $cutoff THEN coalesce(list_contains(employed, rel_month), FALSE) END             AS employed,
       CASE WHEN month <= $cutoff THEN coalesce(list_contains(subsidised, rel_month), FALSE) END           AS subsidised,
       CASE WHEN month <= $cutoff THEN coalesce(list_contains(disability_benefit, rel_month), FALSE) END   AS disability_benefit,
       CASE WHEN month <= $cutoff THEN coalesce(list_contains(unemployment_benefit, rel_month), FALSE) END AS unemployment_benefit,
       CASE WHEN month <= $cutoff THEN coalesce(list_contains(inpatient, rel_month), FALSE) END            AS inpatient,
       CASE WHEN month <= $cutoff THEN coalesce(earnings[rel_month], 0) END                              AS earnings
FROM month_grid
ORDER BY pnum, rel_month;
