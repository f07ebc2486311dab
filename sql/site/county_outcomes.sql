-- Headline employment figures per county and ALL (marts.employment_outcomes), the columns the
-- website publishes: $columns, the published columns of the figure catalogue
-- (ips_eval/figures/catalogue.yaml), so a figure added there is read here with no edit.
-- ALL last, counties alphabetically.
SELECT alue,
       COLUMNS($columns)
FROM marts.employment_outcomes
ORDER BY alue = 'ALL', alue
