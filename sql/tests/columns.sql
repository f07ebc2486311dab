-- The columns of a built table or view and their DuckDB types, in order: what a table's
-- contract (sql/<schema>/<table>.yml) is compared with. $table is the qualified name.
-- duckdb_columns() rather than information_schema.columns, a view over it that takes longer
-- to answer, on every table of every build.
SELECT column_name, data_type
FROM duckdb_columns()
WHERE schema_name || '.' || table_name = $table
ORDER BY column_index
