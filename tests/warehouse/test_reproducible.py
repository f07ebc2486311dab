"""A re-run of the same delivery gives the same warehouse and the same published data, to the bit.

The session's synthetic study (`synthetic_study`: the default synthetic delivery, run once with
its figures and site) is run once more, into a warehouse and site of its own, with DuckDB in
another number of threads (two where the session's run had one, as tests/conftest.py sets
`IPS_EVAL_DUCKDB_THREADS` for the suite's workers; one where it had two): every
table of every schema hashes the same as the session's, and every CSV download of the site is
byte-identical.
Left out, because they are legitimately the run's own: `audit.runs.run_id`, `started_at` and
`finished_at` (the run's identity and clock). Nothing else is.

The validation engine (SQL in DuckDB, or pandera on pandas batches) is an implementation
detail: tests/ingest/test_validation_engines.py shows that both give the same raw tables,
rejected rows and load counts on a delivery, and everything after the ingest is a function
of those tables, as the two runs here show.
"""

import duckdb
import pytest

import ips_eval.warehouse.database as database
from pipelines.runner import run_pipeline

PER_RUN = {"audit.runs": {"run_id", "started_at", "finished_at"}}


def _table_hashes(path) -> dict[str, tuple]:
    """Each table's columns and types, its row count and the sum of its rows' hashes (computed in
    DuckDB: every value as its exact text, as a DOUBLE's text round-trips its bits; the sum does
    not depend on the rows' order)."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        hashes = {}
        for name in names:
            columns = [tuple(r[:2]) for r in con.execute(f"DESCRIBE {name}").fetchall()
                       if r[0] not in PER_RUN.get(name, ())]
            values = ", ".join(f'CAST("{c}" AS VARCHAR)' for c, _ in columns)
            hashes[name] = (columns, *con.execute(f"SELECT count(*), sum(hash({values})) FROM {name}").fetchall()[0])
    return hashes


@pytest.fixture(scope="module")
def two_runs(synthetic_study, tmp_path_factory):
    """The session's run and a re-run of its delivery in another number of DuckDB threads, as
    folders holding `warehouse.duckdb` and `site`."""
    root = tmp_path_factory.mktemp("reproducible")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "DEFAULT_THREADS", 1 if database.DEFAULT_THREADS > 1 else 2)
        run_pipeline(synthetic_study["root"] / "delivery", synthetic_study["config"].cutoff,
                     root / "warehouse.duckdb", figures_dir=root / "warehouse.figures", site_dir=root / "site")
    return [synthetic_study["root"], root]


def test_every_table_of_every_schema_is_identical(two_runs):
    a, b = (_table_hashes(r / "warehouse.duckdb") for r in two_runs)
    assert a.keys() == b.keys() and len(a) > 50
    assert {"raw.register_earnings", "marts.register_outcomes", "models.estimates", "audit.loads"} <= a.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_money_is_exact_from_the_reader_to_the_marts(two_runs):
    with duckdb.connect(str(two_runs[1] / "warehouse.duckdb"), read_only=True) as con:
        types = dict(con.execute(
            "SELECT schema_name || '.' || table_name || '.' || column_name, data_type FROM duckdb_columns()"
            " WHERE column_name IN ('ansiot_eur', 'earnings', 'earnings_post12')").fetchall())
    assert types["raw.register_earnings.ansiot_eur"] == "DECIMAL(18,2)"
    assert types["marts.register_outcomes.earnings_post12"].startswith("DECIMAL(")


def test_the_published_csv_files_are_byte_identical(two_runs):
    a, b = (sorted((r / "site").rglob("*.csv")) for r in two_runs)
    assert [p.relative_to(two_runs[0]) for p in a] == [p.relative_to(two_runs[1]) for p in b] and len(a) > 5
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
