-- Client x quarter in service: working / working unsubsidised (quarterly employment rate).
--
-- Grain: study-population client (as of C) x calendar quarter of core.quarters in which the
-- client was in service.
-- Why: the rows behind marts.employment_rate_by_quarter (ANALYSIS_PLAN "Quarterly employment
-- rate", exactly): served in quarter [qs, qe] when S <= qe and lopetuspvm blank or >= qs;
-- working when a competitive job (started on or after S, core.competitive_jobs) overlaps the
-- quarter: start <= qe and (ongoing at C, or end >= qs); working_unsubsidised likewise with
-- an unsubsidised job.
CREATE OR REPLACE TABLE core.client_quarters AS
WITH calendar AS (
    SELECT DISTINCT quarter, quarter_start, quarter_end
    FROM core.quarters
),
served AS (
    SELECT q.quarter, q.quarter_start, q.quarter_end, c.person_id, c.alue, c.ips_start, c.service_end
    FROM calendar AS q
    JOIN core.client_outcomes AS c
      ON c.ips_start <= q.quarter_end
     AND (c.service_end IS NULL OR c.service_end >= q.quarter_start)
),
working AS (
    SELECT s.quarter,
           s.person_id,
           count(*)                AS n_jobs_in_quarter,
           bool_or(NOT j.subsidised) AS any_unsubsidised
    FROM served AS s
    JOIN core.competitive_jobs AS j
      ON j.person_id = s.person_id
     AND j.job_start <= s.quarter_end
     AND (j.ongoing OR j.job_end >= s.quarter_start)
    GROUP BY s.quarter, s.person_id
)
SELECT s.quarter,
       s.quarter_start,
       s.quarter_end,
       s.person_id,
       s.alue,
       s.ips_start,
       s.service_end,
       w.person_id IS NOT NULL               AS working,
       coalesce(w.any_unsubsidised, FALSE)   AS working_unsubsidised,
       coalesce(w.n_jobs_in_quarter, 0)      AS n_jobs_in_quarter
FROM served AS s
LEFT JOIN working AS w USING (quarter, person_id)
ORDER BY s.quarter_start, s.person_id;
