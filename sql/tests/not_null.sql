-- Column test `not_null`: the column holds no NULL.
--
-- One row: how many rows fail (`failures`), and none as examples (a NULL has nothing to show).
-- $table is the qualified table, $column the column; both are bound, never formatted in.
SELECT count(*) AS failures,
       CAST([] AS VARCHAR[]) AS examples
FROM query_table($table) AS r
WHERE r[$column] IS NULL
