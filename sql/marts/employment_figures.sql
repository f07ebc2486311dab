-- Headline figures for every as-of date x county/ALL x grouping (the three employment marts are slices).
--
-- Grain: evaluation date (as_of) x county or 'ALL' (alue) x grouping x group_value, where
-- grouping is 'total' (group_value 'total'), 'wave', 'smi', 'gender' or 'age_group'.
-- Why: the one place where the headline figures of ANALYSIS_PLAN are counted from the
-- per-client and per-job rows (core.client_outcomes_asof, core.competitive_jobs_asof).
-- marts.employment_outcomes, marts.employment_outcomes_by_group and
-- marts.employment_outcomes_quarterly are slices of it. The grid is complete: every county of
-- the population and 'ALL', at the cut-off and at each quarter end of core.quarters, and every
-- group value present at that date, with zero counts where nobody is in a cell.
-- Which per-client columns are counted comes from the figure catalogue
-- (ips_eval/figures/catalogue.yaml), so that a figure is its rule in
-- core.client_outcomes_asof plus its catalogue entry: $headline_flags are the columns
-- counted (n_<column> = clients for whom it is true; a figure's own denominator is its
-- <name>_eligible column), $headline_rated the figures with a rate, $headline_columns every
-- figure column in catalogue order. A rate is the share of true among the clients whose
-- column is not NULL (a follow-up figure is NULL until the client's follow-up has come, so
-- this is numerator / denominator), unrounded, NULL when the denominator is 0.
-- median_job_days is the median (interpolated for an even number) of job_days of the
-- competitive jobs counted in n_jobs (ongoing jobs counted to the date).
CREATE OR REPLACE TABLE marts.employment_figures AS
WITH client_cells AS (  -- each client once per grouping
    SELECT c.as_of,
           c.person_id,
           c.alue,
           g.grouping,
           g.group_value,
           COLUMNS($headline_flags)
    FROM core.client_outcomes_asof AS c,
         LATERAL (VALUES
             ('total',     'total'),
             ('wave',      coalesce(c.aalto, 'unknown')),
             ('smi',       CASE c.smi WHEN TRUE THEN 'yes' WHEN FALSE THEN 'no' ELSE 'unknown' END),
             ('gender',    coalesce(c.gender, 'unknown')),
             ('age_group', coalesce(c.age_group, 'unknown'))
         ) AS g(grouping, group_value)
),
client_counts AS (
    SELECT as_of,
           CASE WHEN grouping(alue) = 1 THEN 'ALL' ELSE alue END AS alue,
           grouping,
           group_value,
           count(*)                                           AS n_clients,
           CAST(count_if(COLUMNS($headline_flags)) AS BIGINT) AS 'n_\0',
           avg(CAST(COLUMNS($headline_rated) AS INTEGER))     AS 'rate_\0'
    FROM client_cells
    GROUP BY GROUPING SETS ((as_of, grouping, group_value, alue), (as_of, grouping, group_value))
),
job_counts AS (
    SELECT j.as_of,
           CASE WHEN grouping(c.alue) = 1 THEN 'ALL' ELSE c.alue END AS alue,
           c.grouping,
           c.group_value,
           count(*)           AS n_jobs,
           median(j.job_days) AS median_job_days
    FROM core.competitive_jobs_asof AS j
    JOIN client_cells AS c USING (as_of, person_id)
    GROUP BY GROUPING SETS ((j.as_of, c.grouping, c.group_value, c.alue), (j.as_of, c.grouping, c.group_value))
),
county_dates AS (  -- (date, county) pairs reported: the cut-off, and each county's quarters
    SELECT quarter_end AS as_of, alue FROM core.quarters
    UNION
    SELECT CAST($cutoff AS DATE), alue FROM staging.study_population
    UNION
    SELECT CAST($cutoff AS DATE), 'ALL'
),
group_values AS (
    SELECT DISTINCT as_of, grouping, group_value
    FROM client_cells
    WHERE grouping <> 'total'
),
cells AS (
    SELECT cd.as_of, cd.alue, 'total' AS grouping, 'total' AS group_value
    FROM county_dates AS cd
    UNION ALL
    SELECT cd.as_of, cd.alue, gv.grouping, gv.group_value
    FROM county_dates AS cd
    JOIN group_values AS gv USING (as_of)
),
counts AS (
    SELECT cells.as_of,
           cells.alue,
           cells.grouping,
           cells.group_value,
           coalesce(COLUMNS('^n_'), 0),
           COLUMNS('^rate_'),
           jc.median_job_days
    FROM cells
    LEFT JOIN client_counts AS cc USING (as_of, alue, grouping, group_value)
    LEFT JOIN job_counts AS jc USING (as_of, alue, grouping, group_value)
)
SELECT d.is_cutoff,
       d.quarter,
       counts.as_of,
       counts.alue,
       counts.grouping,
       counts.group_value,
       COLUMNS($headline_columns),
       median_job_days
FROM counts
JOIN core.evaluation_dates AS d USING (as_of)
ORDER BY counts.as_of, counts.alue = 'ALL', counts.alue, counts.grouping, counts.group_value;
