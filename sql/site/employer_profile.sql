-- Employers who answered, all counties together, by industry, size class and sector
-- (marts.employer_profile): rule 7 publishes these for ALL only. $columns: the columns of the
-- figures the section table shows. In the mart's order (characteristic, its codes, unknown, ALL).
SELECT characteristic,
       code,
       COLUMNS($columns)
FROM marts.employer_profile
