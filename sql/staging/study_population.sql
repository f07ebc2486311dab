-- The study population as of the cut-off ("Who is counted"), with the attributes the figures use.
--
-- Grain: one row per client counted in the study as of the cut-off (ANALYSIS_PLAN "Who is
-- counted"): research consent on or before C, IPS start S <= C, and no withdrawal on or
-- before C. Everything downstream starts from here, so a withdrawal removes the client
-- from every derived table on the next run.
CREATE OR REPLACE TABLE staging.study_population AS
SELECT
    c.person_id,
    c.alue,
    c.aalto,
    c.aloituspvm AS ips_start,
    c.lopetuspvm AS service_end,
    c.lopetussyy AS end_reason,
    c.syntymavuosi AS birth_year,
    year(c.aloituspvm) - c.syntymavuosi AS age,
    a.age_group,
    c.sukupuoli AS gender,
    c.koulutus AS education,
    c.tyohistoria AS work_history,
    c.dg,
    is_smi(c.dg) AS smi,
    coalesce(c.rekisterisuostumus, FALSE) AS register_consent
FROM staging.clients c
LEFT JOIN ref.age_groups a
    ON year(c.aloituspvm) - c.syntymavuosi BETWEEN a.min_age AND a.max_age
WHERE c.tutkimussuostumus IS NOT NULL
  AND c.tutkimussuostumus <= $cutoff
  AND c.aloituspvm <= $cutoff
  AND NOT consent_withdrawn_by(c.suostumus_peruttu, $cutoff)
