-- Column test `unique` (a column) or table test `unique` (a list of columns): no two rows share
-- the same values of $columns. NULL counts as a value, so two rows with NULL keys fail.
--
-- One row: how many key values occur more than once (`failures`), and the first five of them.
WITH key_rows AS (
    SELECT COLUMNS(lambda c: list_contains($columns, c)) FROM query_table($table)
),
repeated AS (
    SELECT CAST(k AS VARCHAR) AS key_value, count(*) AS n
    FROM key_rows AS k
    GROUP BY ALL
    HAVING count(*) > 1
)
SELECT count(*) AS failures,
       coalesce(list(key_value || ' x' || n ORDER BY key_value)[1:5], []) AS examples
FROM repeated
