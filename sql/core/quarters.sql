-- County (and ALL) x calendar quarter from the first IPS start to the last quarter ending by C.
--
-- Grain: one row per county (and alue = 'ALL') x calendar quarter [quarter_start, quarter_end].
-- Why: both quarterly marts report "every calendar quarter from the one that holds the
-- earliest IPS start of that population to the last one with quarter_end <= C"
-- (ANALYSIS_PLAN "Quarterly employment rate"). "That population" is the study population
-- as of C, per county and for all counties together; each county's range starts at its own
-- first IPS start. A cut-off inside a quarter leaves that quarter out (it is not complete).
CREATE OR REPLACE TABLE core.quarters AS
WITH first_ips_start AS (
    SELECT alue, min(ips_start) AS first_start
    FROM staging.study_population
    GROUP BY alue
    UNION ALL
    SELECT 'ALL' AS alue, min(ips_start) AS first_start   -- NULL (no quarters) when nobody is counted
    FROM staging.study_population
),
quarter_starts AS (
    SELECT f.alue, CAST(t.qs AS DATE) AS quarter_start
    FROM first_ips_start AS f,
         unnest(generate_series(CAST(date_trunc('quarter', f.first_start) AS DATE),
                                CAST($cutoff AS DATE),
                                INTERVAL 3 MONTH)) AS t(qs)
),
quarters AS (
    SELECT alue,
           quarter_start,
           CAST(quarter_start + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE) AS quarter_end
    FROM quarter_starts
)
SELECT alue,
       year(quarter_start) || 'Q' || quarter(quarter_start) AS quarter,
       quarter_start,
       quarter_end
FROM quarters
WHERE quarter_end <= $cutoff
ORDER BY alue, quarter_start;
