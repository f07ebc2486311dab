-- Care staff of all counties per survey round (marts.care_staff_scales, alue = 'ALL'): the
-- anonymous survey is published for all counties together only (rule 7). $columns: the
-- columns of the figures a section table shows; $rounds: the rounds in page order.
SELECT round,
       COLUMNS($columns)
FROM marts.care_staff_scales
WHERE alue = 'ALL'
ORDER BY array_position($rounds, round)
