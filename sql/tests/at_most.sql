-- Column test `at_most`: in every row the column is at most the column $other (a numerator
-- and its denominator, a start and its end); rows where either is NULL are not compared.
--
-- One row: how many rows fail (`failures`), and the five smallest pairs that do.
WITH pair AS (
    SELECT r[$column] AS value, r[$other] AS bound FROM query_table($table) AS r
)
SELECT count(*) AS failures,
       coalesce(list(CAST(value AS VARCHAR) || ' > ' || CAST(bound AS VARCHAR) ORDER BY value, bound)[1:5], [])
           AS examples
FROM pair
WHERE value > bound
