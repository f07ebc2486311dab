-- View: register person x relative month -24..+36, the monthly facts and earnings.
--
-- Grain: register person (core.register_persons) x relative month -24..+36 (ref.sequence_months) around the
-- calendar month of the index date I (rel_month 0 = the month of I).
-- Why: the monthly facts of ANALYSIS_PLAN "Register outcomes" one row per month, as analysts
-- read them: core.register_month_sets unpacked (a month is in a set when its bit in
-- ref.sequence_months is set, sql/macros.sql month_set), with the month's registered earnings. Months that start
-- after C are not observed: `observed` is FALSE and every fact, earnings included, is NULL.
-- A view, not a table: one row per person and month of the sequence, which the pipeline
-- itself never needs stored (marts.register_outcomes counts the sets directly); a full read
-- costs about what storing it would (benchmarks/RESULTS.md).
CREATE OR REPLACE VIEW core.register_months AS
WITH months AS (
    SELECT s.person_key, s.person_id, s.ips, r.rel_month,
           CAST(s.index_month + INTERVAL (CAST(r.rel_month AS INTEGER)) MONTH AS DATE) AS month,
           (s.observed >> r.bit) & 1 = 1 AS observed,
           (s.employed >> r.bit) & 1 = 1 AS employed,
           (s.subsidised >> r.bit) & 1 = 1 AS subsidised,
           (s.disability_benefit >> r.bit) & 1 = 1 AS disability_benefit,
           (s.unemployment_benefit >> r.bit) & 1 = 1 AS unemployment_benefit,
           (s.inpatient >> r.bit) & 1 = 1 AS inpatient
    FROM core.register_month_sets AS s, ref.sequence_months AS r
)
SELECT m.person_id,
       m.ips,
       m.rel_month,
       m.month,
       m.observed,
       CASE WHEN m.observed THEN m.employed END             AS employed,
       CASE WHEN m.observed THEN m.subsidised END           AS subsidised,
       CASE WHEN m.observed THEN m.disability_benefit END   AS disability_benefit,
       CASE WHEN m.observed THEN m.unemployment_benefit END AS unemployment_benefit,
       CASE WHEN m.observed THEN m.inpatient END            AS inpatient,
       CASE WHEN m.observed THEN coalesce(e.ansiot_eur, 0) END AS earnings
FROM months AS m
LEFT JOIN staging.earnings AS e ON e.person_key = m.person_key AND e.month = m.month
