"""The DuckDB warehouse: the database file, the tables built from `sql/`, and the checks on them.

Analysts open it read-only::

    from ips_eval.warehouse import open_readonly
    con = open_readonly("data/demo/warehouse.duckdb")
"""

from ips_eval.warehouse.database import connect, open_readonly, table_exists

__all__ = ["connect", "open_readonly", "table_exists"]
