-- The columns of a built table or view and their DuckDB types, in order: what a table's
-- contract (sql/<schema>/<table>.yml) is compared with. $table is the qualified name.
SELECT column_name, data_type
FROM information_schema.columns
WHERE table_schema || '.' || table_name = $table
ORDER BY ordinal_position
