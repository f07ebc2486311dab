-- The coaching process per county and ALL: employer contacts, trust, cooperation, timeliness.
--
-- A contract table: its name and columns are fixed by docs/analysis_plan.md "Stable output tables".
-- Grain: county of the client (with study-population clients) or 'ALL'.
-- Why: ANALYSIS_PLAN "The coaching process and the voices of clients, coaches, care teams and
-- employers", over the client rows of core.coaching_clients; the day limits (30 days to a
-- first employer meeting, the IPS standard; referral bands of 7 and 30 days) are
-- ref.coaching_days (ips_eval.definitions.COACHING_DAYS).
--   n_contact30_eligible  clients with S + 30 days <= C; n_contact30 of them, those whose first
--                         employer contact is on or before S + 30 days;
--   client_months         the coach-rated clients' days in service from S to service end or C,
--                         inclusive, / (365.25 / 12);
--   n_referred            clients with a referral date on or before S; the median and the bands
--                         are over them.
-- Without coach_survey.csv the coach figures are 0 or NULL and the register's timeliness
-- figures remain. Rates and means are unrounded, NULL when their denominator is 0.
CREATE OR REPLACE TABLE marts.coaching AS
WITH days AS (
    SELECT CAST(max(days) FILTER (WHERE limit_name = 'employer_contact') AS INTEGER) AS contact,
           CAST(max(days) FILTER (WHERE limit_name = 'referral_fast') AS INTEGER)    AS referral_fast,
           CAST(max(days) FILTER (WHERE limit_name = 'referral_month') AS INTEGER)   AS referral_month
    FROM ref.coaching_days
),
clients AS (
    SELECT c.*,
           c.n_coach_responses > 0 AS coach_rated,
           c.ips_start + d.contact <= $cutoff AS contact_eligible,
           c.first_employer_contact <= c.ips_start + d.contact AS contact_in_time,
           CASE WHEN c.referral_date <= c.ips_start THEN c.ips_start - c.referral_date END AS days_referral_to_start,
           d.referral_fast,
           d.referral_month
    FROM core.coaching_clients AS c, days AS d
),
figures AS (
    SELECT coalesce(alue, 'ALL') AS alue,
           count(*) AS n_clients,
           count(*) FILTER (WHERE coach_rated) AS n_coach_rated,
           count(*) FILTER (WHERE contact_eligible) AS n_contact30_eligible,
           count(*) FILTER (WHERE contact_eligible AND contact_in_time) AS n_contact30,
           CAST(sum(employer_contacts) FILTER (WHERE coach_rated) AS BIGINT) AS employer_contacts,
           sum(followed_to - ips_start + 1) FILTER (WHERE coach_rated) / (365.25 / 12) AS client_months,
           count(trust) AS n_trust,
           avg(trust) AS mean_trust,
           count(cooperation) AS n_cooperation,
           avg(cooperation) AS mean_cooperation,
           count(days_referral_to_start) AS n_referred,
           median(days_referral_to_start) AS median_days_referral_to_start,
           count(*) FILTER (WHERE days_referral_to_start <= referral_fast) AS n_referral7,
           count(*) FILTER (WHERE days_referral_to_start <= referral_month) AS n_referral30
    FROM clients
    GROUP BY GROUPING SETS ((alue), ())
)
SELECT alue,
       n_clients,
       n_coach_rated,
       n_contact30_eligible,
       n_contact30,
       n_contact30 / nullif(n_contact30_eligible, 0) AS rate_contact30,
       employer_contacts,
       client_months,
       employer_contacts / nullif(client_months, 0) AS contacts_per_client_month,
       n_trust,
       mean_trust,
       n_cooperation,
       mean_cooperation,
       n_referred,
       median_days_referral_to_start,
       n_referral7,
       n_referral30
FROM figures
ORDER BY alue = 'ALL', alue
