-- View: register person x relative month, one state per month by priority.
--
-- Grain: register person x relative month -24..+36 (ref.sequence_months) around the index month.
-- Why: ANALYSIS_PLAN "monthly state sequence": one state per month, the first state of
-- ref.states (by priority) whose condition holds in that month:
--   employed_subsidised   : employed and a pay-subsidy spell covers a day of the month
--   employed              : an employment spell covers a day of the month
--   disability_benefit    : a rehabilitation/disability benefit (ref.benefit_groups 'disability')
--   unemployment_benefit  : an unemployment benefit (ref.benefit_groups 'unemployment')
--   psychiatric_inpatient : an inpatient (osasto) episode
--   other                 : always (the last resort)
-- Months that start after C are not observed yet: state NULL.
-- next_state: the state of month rel_month + 1 (NULL when that month is not observed or lies
-- past the window), so that a month pair m -> m + 1 is one row (marts.transition_rates).
-- How (national scale, see benchmarks/RESULTS.md): a month's state depends only on its five
-- facts, so the rule is applied once to each of the 32 combinations of facts (`chosen`), and
-- every observed month takes the state of its combination: one small lookup instead of
-- testing six states on each person-month. The lookup is a list indexed by the combination,
-- not a join: the planner then estimates the view's rows as person x month, so a reader that
-- joins it to persons builds its hash table on the persons. A month's combination is read straight
-- from the person's month sets (core.register_month_sets, the month's bit in ref.sequence_months; sql/macros.sql).
-- A view, not a table: one row per person and month, read in full once a run (the
-- effectiveness model's chronogram); reading it costs less than storing it would.
CREATE OR REPLACE VIEW marts.state_sequences AS
WITH combinations AS (  -- every combination of the five monthly facts, numbered as the bits of `months` below
    SELECT e.employed, s.subsidised, d.disability_benefit, u.unemployment_benefit, i.inpatient,
           CAST(e.employed AS INTEGER) + 2 * CAST(s.subsidised AS INTEGER) + 4 * CAST(d.disability_benefit AS INTEGER)
           + 8 * CAST(u.unemployment_benefit AS INTEGER) + 16 * CAST(i.inpatient AS INTEGER) AS combination
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
    SELECT combination, arg_min(state, priority) AS state
    FROM candidate_states
    GROUP BY combination
),
state_list AS (  -- the states of `chosen` as one list, in the order of their combinations: combination c -> states[c + 1]
    SELECT list(state ORDER BY combination) AS states
    FROM chosen
),
months AS (  -- each person's 61 months and the next month; an unobserved month (after C) has no combination
    SELECT s.person_id, s.ips, s.index_month, r.rel_month,
           CASE WHEN (s.observed >> r.bit) & 1 = 1 THEN
                     ((s.employed >> r.bit) & 1)
               + 2 * ((s.subsidised >> r.bit) & 1)
               + 4 * ((s.disability_benefit >> r.bit) & 1)
               + 8 * ((s.unemployment_benefit >> r.bit) & 1)
               + 16 * ((s.inpatient >> r.bit) & 1) END AS combination,
           CASE WHEN (s.observed >> (r.bit + 1)) & 1 = 1 THEN  -- a set holds no month past the window
                     ((s.employed >> (r.bit + 1)) & 1)
               + 2 * ((s.subsidised >> (r.bit + 1)) & 1)
               + 4 * ((s.disability_benefit >> (r.bit + 1)) & 1)
               + 8 * ((s.unemployment_benefit >> (r.bit + 1)) & 1)
               + 16 * ((s.inpatient >> (r.bit + 1)) & 1) END AS next_combination
    FROM core.register_month_sets AS s, ref.sequence_months AS r
)
SELECT m.person_id, m.ips, m.rel_month,
       CAST(m.index_month + INTERVAL (CAST(m.rel_month AS INTEGER)) MONTH AS DATE) AS month,
       l.states[m.combination + 1] AS state,  -- no combination (not observed): state NULL
       l.states[m.next_combination + 1] AS next_state
FROM months AS m, state_list AS l
