-- marts.state_sequences
-- Grain: register person x relative month -24..+24 around the index month (core.register_months).
-- Why: ANALYSIS_PLAN "monthly state sequence": one state per month, the first state of
-- ref.states (by priority) whose condition holds in that month:
--   employed_subsidised   : employed and a pay-subsidy spell covers a day of the month
--   employed              : an employment spell covers a day of the month
--   disability_benefit    : a rehabilitation/disability benefit (ref.benefit_groups 'disability')
--   unemployment_benefit  : an unemployment benefit (ref.benefit_groups 'unemployment')
--   psychiatric_inpatient : an inpatient (osasto) episode
--   other                 : always (the last resort)
-- Months that start after C are not observed yet: state NULL.
CREATE OR REPLACE TABLE marts.state_sequences AS
WITH candidate_states AS (
    SELECT m.person_id, m.rel_month, s.state, s.priority
    FROM core.register_months AS m
    JOIN ref.states AS s
      ON CASE s.state
             WHEN 'employed_subsidised'   THEN m.employed AND m.subsidised
             WHEN 'employed'              THEN m.employed
             WHEN 'disability_benefit'    THEN m.disability_benefit
             WHEN 'unemployment_benefit'  THEN m.unemployment_benefit
             WHEN 'psychiatric_inpatient' THEN m.inpatient
             WHEN 'other'                 THEN TRUE
         END
    WHERE m.observed
),
chosen AS (
    SELECT person_id, rel_month, arg_min(state, priority) AS state
    FROM candidate_states
    GROUP BY person_id, rel_month
)
SELECT m.person_id, m.ips, m.rel_month, m.month, c.state
FROM core.register_months AS m
LEFT JOIN chosen AS c USING (person_id, rel_month)
ORDER BY m.person_id, m.rel_month;
