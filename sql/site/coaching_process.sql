-- The coaching process per county and ALL (marts.coaching), for the site's declared sections
-- (ips_eval/publish/site/sections.yaml): $columns are the columns of the figures a section
-- table shows (counts, rates and means of the figure catalogue), so a figure added there is
-- read here with no edit. ALL last, counties alphabetically.
SELECT alue,
       COLUMNS($columns)
FROM marts.coaching
ORDER BY alue = 'ALL', alue
