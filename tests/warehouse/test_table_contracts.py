"""The column contracts beside the SQL (sql/<schema>/<table>.yml): read strictly, equal to the
built tables (names and types), their tests able to fail, and docs/warehouse.md generated
from them."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from ips_eval import PROJECT_ROOT, SQL_DIR
from ips_eval.warehouse import lineage
from ips_eval.warehouse.table_contracts import (
    ColumnTest,
    ContractError,
    TableContract,
    column_differences,
    run_test,
    run_tests,
    sql_files,
    table_contracts,
)
from ips_eval.warehouse.tables import sql_tables

C = dt.date(2024, 6, 30)


def test_every_table_of_sql_has_its_contract_beside_it():
    contracts = table_contracts()
    files = sql_files()
    assert {t.name for t in sql_tables()} <= set(files)
    for name, path in files.items():
        assert contracts[name].path == path.with_suffix(".yml"), name
    # the tables Python writes are declared too, each with a description of its own
    written = {n for n in contracts if n not in files}
    assert {"models.estimates", "models.fit_log", "models.diagnostics", "models.person_weights",
            "models.effectiveness_categories", "marts.trajectory_types", "audit.loads", "audit.runs"} <= written
    assert all(contracts[n].description for n in written)


def _copy_sql(tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    return copy


@pytest.mark.parametrize("change,message", [
    (lambda s: (s / "marts" / "fidelity_current.yml").unlink(), r"fidelity_current.sql: no contract declares"),
    (lambda s: _edit(s / "marts" / "fidelity_current.yml", "- not_null", "- not_empty"), r"unknown test 'not_empty'"),
    (lambda s: _edit(s / "marts" / "fidelity_current.yml", "unique: [alue]", "unique: [county]"),
     r"names column 'county', which is not declared"),
    (lambda s: _edit(s / "marts" / "fidelity_current.yml", "type: DOUBLE", "kind: DOUBLE"), r"needs a `name` and a `type`"),
    (lambda s: _edit(s / "marts" / "fidelity_current.yml", "name: marts.fidelity_current", "name: marts.fidelity"),
     r"declares marts.fidelity, expected marts.fidelity_current alone"),
    (lambda s: _edit(s / "models" / "tables.yml", "- name: models.fit_log", "- name: models.estimates"),
     r"models.estimates is declared twice"),
    (lambda s: _edit(s / "core" / "client_outcomes.yml", "{codes: genders}", "{codes: sexes}"),
     r"client_outcomes.yml.*no code list 'sexes'"),
    (lambda s: _edit(s / "marts" / "employment_rate_by_quarter.yml", "- figures: quarterly", "- figures: weekly"),
     r"employment_rate_by_quarter.yml.*`- figures: <table>` takes one of \['headline', 'quarterly'\]"),
    (lambda s: _edit(s / "marts" / "employment_outcomes.yml", "      - name: median_job_days",
                     "      - name: n_jobs\n        type: BIGINT\n      - name: median_job_days"),
     r"employment_outcomes: column n_jobs declared twice"),
])
def test_a_contract_that_does_not_hold_together_is_refused_naming_its_file(tmp_path, change, message):
    sql = _copy_sql(tmp_path)
    change(sql)
    with pytest.raises(ContractError, match=message):
        table_contracts(sql)


#: The marts whose counts, denominators and rates the figure catalogue decides, and its table for each.
CATALOGUE_MARTS = {"marts.employment_figures": "headline", "marts.employment_outcomes": "headline",
                   "marts.employment_outcomes_by_group": "headline", "marts.employment_outcomes_quarterly": "headline",
                   "marts.employment_rate_by_quarter": "quarterly"}


def test_the_catalogue_marts_take_the_figure_columns_and_their_tests_from_the_catalogue():
    """A figure is its SQL rule and its catalogue entry: no mart's contract types a figure's
    column, and each mart declares every count, own denominator and rate of its catalogue
    table with a count's and a rate's tests."""
    from ips_eval.figures.catalogue import figures

    contracts = table_contracts()
    for name, table in CATALOGUE_MARTS.items():
        contract = contracts[name]
        typed = contract.path.read_text(encoding="utf-8")
        assert f"- figures: {table}" in typed, name
        tests = list(contract.tests)  # a test's argument is a dict: not hashable
        for f in figures(table):
            assert f"name: {f.count}" not in typed, (name, f.count)
            for count in f.counts:
                assert contract.types[count] == "BIGINT"
                assert ColumnTest("not_null", (count,)) in tests and ColumnTest("range", (count,), {"min": 0}) in tests
            if f.rate:
                assert contract.types[f.rate] == "DOUBLE"
                assert ColumnTest("at_most", (f.count,), f.denominator) in tests
                assert ColumnTest("range", (f.rate,), {"min": 0, "max": 1}) in tests


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_each_generic_test_passes_and_fails_on_what_it_says(con):
    con.execute("CREATE SCHEMA s")
    con.execute("CREATE TABLE s.t AS SELECT * FROM (VALUES (1, 'a', 0.5, 2), (2, 'b', 1.0, 2), (3, NULL, NULL, 9))"
                " v(id, code, rate, n)")
    con.execute("CREATE TABLE s.bad AS SELECT * FROM (VALUES (1, 'c', 1.5, 3, 2), (1, 'a', -0.1, 1, 5))"
                " v(id, code, rate, k, n)")
    cases = [
        (ColumnTest("not_null", ("id",)), 0, None),
        (ColumnTest("not_null", ("code",)), 1, None),
        (ColumnTest("unique", ("id",)), 0, 1),
        (ColumnTest("accepted_values", ("code",), {"values": ("a", "b")}), 0, 1),
        (ColumnTest("range", ("rate",), {"min": 0, "max": 1}), 0, 2),
        (ColumnTest("at_most", ("id",), "n"), 0, None),
    ]
    for test, good, bad in cases:
        assert run_test(con, "s.t", test).failures == good, test
        if bad is not None:
            result = run_test(con, "s.bad", test)
            assert result.failures == bad and not result.passed, test
            what = "key value(s)" if test.kind == "unique" else "row(s)"
            assert result.message("s.bad").startswith(f"s.bad.{test.columns[0]}: {bad} {what} not {test.text}")
    assert run_test(con, "s.bad", ColumnTest("at_most", ("k",), "n")).examples == ("3 > 2",)
    assert run_test(con, "s.bad", ColumnTest("unique", ("id", "code"))).passed


def test_a_tables_tests_run_together_say_what_each_says_alone(con):
    """run_tests sends a table's tests as one statement: each result is the one its test gives alone."""
    con.execute("CREATE SCHEMA s")
    con.execute("CREATE TABLE s.bad AS SELECT * FROM (VALUES (1, 'c', 1.5, 3, 2), (1, 'a', -0.1, 1, 5), (2, NULL, NULL, 1, 1))"
                " v(id, code, rate, k, n)")
    tests = (ColumnTest("not_null", ("code",)), ColumnTest("unique", ("id",)), ColumnTest("unique", ("id", "code")),
             ColumnTest("accepted_values", ("code",), {"values": ("a", "b")}),
             ColumnTest("range", ("rate",), {"min": 0, "max": 1}), ColumnTest("range", ("n",), {"min": 2}),
             ColumnTest("at_most", ("k",), "n"), ColumnTest("not_null", ("id",)))
    contract = TableContract("s.bad", Path("s/bad.yml"), ())
    together = run_tests(con, contract, tests)
    alone = [run_test(con, "s.bad", t) for t in tests]
    assert [(r.test, r.failures, sorted(r.examples)) for r in together] == \
        [(r.test, r.failures, sorted(r.examples)) for r in alone]
    assert [r.failures for r in together] == [1, 1, 0, 1, 2, 1, 1, 0]  # counted by hand from the rows above


def _small_warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    """Every table of sql/ built from a small delivery through the library (no Dagster)."""
    from deliveries import minimal_delivery, row
    from ips_eval.ingest.load import load_delivery
    from ips_eval.models.registry import ensure_model_tables
    from ips_eval.warehouse.tables import build_after_models, build_outcomes, build_staging

    # every optional export and every survey wave given, so that the survey tables have rows to test
    delivery = minimal_delivery(tmp_path / "delivery", costs=[row("costs")],
                                register_cohort=[row("register_cohort")], fidelity_reviews=[row("fidelity_reviews")],
                                survey_baseline=[row("survey_baseline")],
                                survey_final=[row("survey_final", vastauspvm="1.3.2024")],
                                coach_survey=[row("coach_survey")], care_staff_survey=[row("care_staff_survey")],
                                employer_survey=[row("employer_survey")])
    con = duckdb.connect()
    load_delivery(con, delivery, C)
    build_staging(con, C)
    build_outcomes(con, C)
    ensure_model_tables(con, "effectiveness")
    build_after_models(con, C)
    return con


def test_the_tables_of_sql_are_built_as_declared_and_pass_their_tests(tmp_path):
    con = _small_warehouse(tmp_path)
    contracts = table_contracts()
    problems = []
    for table in sql_tables():
        problems += column_differences(con, contracts[table.name])
        problems += [r.message(table.name) for r in run_tests(con, contracts[table.name]) if not r.passed]
    assert not problems, "\n".join(problems)
    # the consent purge's temporary table, as sql/audit/withdrawn_persons.sql makes it
    from ips_eval.warehouse.database import run_sql

    run_sql(con, "audit/withdrawn_persons", cutoff=C)
    con.execute("CREATE TABLE audit.withdrawn_persons AS SELECT * FROM withdrawn_persons")
    assert column_differences(con, contracts["audit.withdrawn_persons"]) == []
    assert all(r.passed for r in run_tests(con, contracts["audit.withdrawn_persons"]))
    # and the comparison can fail: a column the SQL makes but the contract does not declare
    con.execute("ALTER TABLE marts.fidelity_current ADD COLUMN reviewer_count INTEGER")
    assert column_differences(con, contracts["marts.fidelity_current"]) == [
        "marts.fidelity_current: column reviewer_count is built but not declared (sql/marts/fidelity_current.yml)"]


@pytest.mark.pipeline
def test_every_declared_table_of_a_whole_run_is_built_as_declared(study_con):
    """The whole synthetic study: the models' and the audit's tables too, with their tests."""
    problems = []
    for name, contract in table_contracts().items():
        if name == "audit.withdrawn_persons":
            continue  # a temporary table of the consent purge, never in the warehouse: the test above
        differences = column_differences(study_con, contract)
        problems += differences or [r.message(name) for r in run_tests(study_con, contract) if not r.passed]
    assert not problems, "\n".join(problems)
    rows = study_con.execute("SELECT count(*) FROM models.effectiveness_categories WHERE term = 'ips'").fetchone()[0]
    assert rows == 2  # IPS and comparison: the model wrote the counts the site reads


def test_every_sql_file_parses_and_reads_only_declared_tables():
    """Lineage is read from every file of sql/ (the builds, the models' inputs, the site's
    queries, the generic tests), and every table a file reads is declared somewhere: by a
    contract, a data contract (raw) or ips_eval.definitions (ref).

    Examples of what it catches: a site query reading a table no model declares it writes,
    a model input query reading a table that was renamed."""
    from ips_eval.definitions import reference_tables
    from ips_eval.ingest.contracts import load_contracts

    known = set(table_contracts()) | {c.table for c in load_contracts().values()}
    known |= {f"ref.{t}" for t in reference_tables()} | {"ref.codes"}
    # a model's table that a declared site section requires is an optional input: without it
    # the section says its figures are not available (the "for whom" section and model 9)
    from ips_eval.publish.site.sections import SECTIONS

    optional = {s.requires for s in SECTIONS if s.requires.startswith("models.")} - known
    files = sorted(SQL_DIR.glob("*/*.sql"))
    assert {p.parent.name for p in files} >= {"staging", "core", "marts", "audit", "models", "site", "tests"}
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            read = lineage.tables_read(text)
        except Exception as e:  # a parser error names the file
            problems.append(f"{path.relative_to(SQL_DIR)}: does not parse ({e})")
            continue
        unknown = {t for t in read - known - (optional if path.parent.name == "site" else set())
                   if not t.startswith("information_schema.")}  # DuckDB's catalogue
        problems += [f"{path.relative_to(SQL_DIR)}: reads {t}, which no contract declares" for t in sorted(unknown)]
    assert not problems, "\n".join(problems)


def test_no_sql_lives_outside_sql_and_no_site_query_restates_a_model_population():
    assert not list((PROJECT_ROOT / "ips_eval").rglob("*.sql"))
    for path in (PROJECT_ROOT / "ips_eval").rglob("*.py"):
        assert "queries/" not in path.read_text(encoding="utf-8"), path
    # the site's model-table check reads what the model wrote, not the model's input tables
    site_reads = lineage.tables_read((SQL_DIR / "site" / "effectiveness_categories.sql").read_text(encoding="utf-8"))
    assert site_reads == {"models.effectiveness_categories"}


def test_docs_warehouse_md_is_generated_from_the_sql_and_the_contracts():
    from ips_eval.warehouse.tables_doc import BEGIN, END, PAGE, render, splice

    page = PAGE.read_text(encoding="utf-8")
    assert page == splice(page, render()), "docs/warehouse.md is stale: python -m ips_eval.warehouse.tables_doc"
    generated = page.split(BEGIN, 1)[1].split(END, 1)[0]
    listed = set(re.findall(r"^#### `([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)`", generated, re.M))
    from ips_eval.definitions import reference_tables
    from ips_eval.ingest.contracts import load_contracts

    every = set(table_contracts()) | {c.table for c in load_contracts().values()} | {f"ref.{t}" for t in reference_tables()}
    assert every <= listed, sorted(every - listed)
    # the hand-written sections are kept around the generated part
    for kept in ("## One run at a time, and the order of publishing", "**Every line of a delivered file is accounted for**"):
        assert kept in page.split(BEGIN, 1)[0]


@pytest.mark.pipeline
def test_a_failed_contract_test_stops_the_run_before_the_swap(tmp_path, monkeypatch):
    """The contract tests are blocking asset checks: a count gone negative in a mart fails
    its asset's step, the run names the check and the rows, and nothing that reads the mart
    is built. Shown on the smallest sub-graph: the mart, what it is built from and one model
    that reads it; that a failed blocking check leaves the published warehouse as it was is
    tests/warehouse/test_warehouse_runs.py's whole run."""
    import dagster as dg

    from deliveries import minimal_delivery
    from pipelines import runner
    from pipelines.assets import tables as table_assets_module
    from pipelines.definitions import all_assets
    from pipelines.resources import StudyRun

    real_build = table_assets_module.build_table

    def build_then_corrupt(con, table, cutoff, *args):
        rows = real_build(con, table, cutoff, *args)
        if table.name == "marts.employment_outcomes":
            con.execute("UPDATE marts.employment_outcomes SET n_jobs = -1 WHERE alue = 'ALL'")
        return rows

    monkeypatch.setattr(table_assets_module, "build_table", build_then_corrupt)
    mart, reader = dg.AssetKey(["marts", "employment_outcomes"]), dg.AssetKey(["models", "fidelity_outcome"])
    study = StudyRun(input_dir=str(minimal_delivery(tmp_path / "delivery")), cutoff=C.isoformat(),
                     warehouse=str(tmp_path / "w.duckdb"), start_from="empty")
    selection = dg.AssetSelection.assets(mart).upstream() | dg.AssetSelection.assets(reader)
    result = dg.materialize(all_assets, selection=selection, resources={"study": study}, raise_on_error=False)
    assert not result.success
    assert runner._first_failure(result) == ("blocking check contract on marts/employment_outcomes failed: "
                                              "n_jobs_range: marts.employment_outcomes.n_jobs: 1 row(s) not >= 0 (e.g. -1)")
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["core", "client_outcomes_asof"]) in built and reader not in built
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert "models__fidelity_outcome" in result.dagster_run.step_keys_to_execute
    assert "marts__employment_outcomes" in started and "models__fidelity_outcome" not in started
    assert not (tmp_path / "w.duckdb").exists()


def test_a_build_replaces_a_table_by_a_view_and_back(tmp_path, con):
    """A run from a copy of the published warehouse may find the other kind under a table's name."""
    from ips_eval.warehouse.tables import SqlTable, build_table

    con.execute("CREATE SCHEMA marts; CREATE TABLE marts.x AS SELECT 1 AS a")
    kinds = []
    for kind in ("VIEW", "TABLE", "TABLE"):
        path = tmp_path / f"{kind}.sql"
        path.write_text(f"CREATE OR REPLACE {kind} marts.x AS SELECT 2 AS a", encoding="utf-8")
        assert build_table(con, SqlTable("marts.x", path, (), "", kind), C) == 1
        kinds.append(con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'x'").fetchall())
    assert kinds == [[("VIEW",)], [("BASE TABLE",)], [("BASE TABLE",)]]
