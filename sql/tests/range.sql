-- Column test `range`: every non-NULL value lies in [$min, $max]; a bound given as NULL is
-- open. NaN is above every bound, so a NaN fails a range with a maximum.
--
-- One row: how many rows fail (`failures`), and the first five values outside the range (as text, sorted).
WITH cell AS (
    SELECT r[$column] AS value FROM query_table($table) AS r
)
SELECT count(*) AS failures,
       coalesce(list(DISTINCT CAST(value AS VARCHAR) ORDER BY CAST(value AS VARCHAR))[1:5], []) AS examples
FROM cell
WHERE value < $min OR value > $max
