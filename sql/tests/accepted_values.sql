-- Column test `accepted_values`: every non-NULL value of the column, as text, is one of
-- $accepted (a BOOLEAN reads 'true'/'false', a number as DuckDB prints it).
--
-- One row: how many rows fail (`failures`), and the first five values that are not accepted.
WITH cell AS (
    SELECT CAST(r[$column] AS VARCHAR) AS value FROM query_table($table) AS r
)
SELECT count(*) AS failures,
       coalesce(list(DISTINCT value ORDER BY value)[1:5], []) AS examples
FROM cell
WHERE value IS NOT NULL AND NOT list_contains($accepted, value)
