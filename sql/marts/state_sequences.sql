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
-- How (national scale, see benchmarks/RESULTS.md): a month's state depends only on its five
-- facts, so the rule is applied once to each of the 32 combinations of facts (`chosen`), and
-- every observed month takes the state of its combination: one small lookup instead of
-- testing six states on each of 10 M person-months.
CREATE OR REPLACE TABLE marts.state_sequences AS
WITH combinations AS (  -- every combination of the five monthly facts
    SELECT e.employed, s.subsidised, d.disability_benefit, u.unemployment_benefit, i.inpatient
    FROM (VALUES (FALSE), (TRUE)) AS e(employed),
         (VALUES (FALSE), (TRUE)) AS s(subsidised),
         (VALUES (FALSE), (TRUE)) AS d(disability_benefit),
         (VALUES (FALSE), (TRUE)) AS u(unemployment_benefit),
         (VALUES (FALSE), (TRUE)) AS i(inpatient)
),
candidate_states AS (
    SELECT c.*, s.state, s.priority
    FROM combinations AS c
    JOIN ref.states AS s
      ON CASE s.state
             WHEN 'employed_subsidised'   THEN c.employed AND c.subsidised
             WHEN 'employed'              THEN c.employed
             WHEN 'disability_benefit'    THEN c.disability_benefit
             WHEN 'unemployment_benefit'  THEN c.unemployment_benefit
             WHEN 'psychiatric_inpatient' THEN c.inpatient
             WHEN 'other'                 THEN TRUE
         END
),
chosen AS (
    SELECT employed, subsidised, disability_benefit, unemployment_benefit, inpatient,
           arg_min(state, priority) AS state
    FROM candidate_states
    GROUP BY ALL
)
SELECT m.person_id, m.ips, m.rel_month, m.month, c.state
FROM core.register_months AS m
LEFT JOIN chosen AS c  -- an unobserved month has NULL facts: no combination, state NULL
  ON m.observed
 AND c.employed = m.employed AND c.subsidised = m.subsidised
 AND c.disability_benefit = m.disability_benefit AND c.unemployment_benefit = m.unemployment_benefit
 AND c.inpatient = m.inpatient
ORDER BY m.person_id, m.rel_month;
