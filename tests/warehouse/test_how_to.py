"""docs/how-to/add-an-export.md, done in temporary copies of data_contracts/ and sql/: the
export is loaded, staged, checked and documented. (docs/how-to/add-a-table.md is done by
tests/pipelines/test_definitions.py::test_the_table_assets_follow_the_sql_files.)"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import pytest

from ips_eval import CONTRACTS_DIR, PROJECT_ROOT, SQL_DIR

pytestmark = pytest.mark.slow  # adds an export in a copy of the project

C = dt.date(2024, 6, 30)
HOW_TO = PROJECT_ROOT / "docs" / "how-to" / "add-an-export.md"


def _blocks(language: str) -> list[str]:
    """The code blocks of the how-to page in `language`: the test uses the page's own examples."""
    return re.findall(rf"```{language}\n(.*?)```", HOW_TO.read_text(encoding="utf-8"), re.S)


@pytest.fixture
def contracts_copy(tmp_path, monkeypatch):
    """data_contracts/ copied, with the how-to's example contract added, read in its place."""
    from ips_eval.ingest import contracts

    copy = tmp_path / "data_contracts"
    shutil.copytree(CONTRACTS_DIR, copy)
    (copy / "referrals.yaml").write_text(_blocks("yaml")[0], encoding="utf-8")
    monkeypatch.setattr(contracts, "CONTRACTS_DIR", copy)
    contracts.load_contracts.cache_clear()
    yield copy
    contracts.load_contracts.cache_clear()


def test_an_export_is_added_by_its_contract_and_its_staging_sql(tmp_path, contracts_copy):
    from deliveries import minimal_delivery, write_csv
    from ips_eval.ingest.contracts import load_contracts
    from ips_eval.ingest.load import load_delivery
    from ips_eval.warehouse.table_contracts import column_differences, run_tests, table_contract
    from ips_eval.warehouse.tables import build_staging, build_table, sql_table
    from ips_eval.warehouse.tables_doc import render
    from pipelines.assets.ingest import _raw_asset
    from pipelines.assets.tables import table_assets

    contract = load_contracts()["referrals"]
    assert contract.table == "raw.referrals" and contract.person_column == "person_id"

    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    (sql / "staging" / "referrals.sql").write_text(_blocks("sql")[0], encoding="utf-8")
    (sql / "staging" / "referrals.yml").write_text(
        "tables:\n  - name: staging.referrals\n    tests:\n      - unique: [person_id, lahetepvm]\n    columns:\n"
        "      - name: person_id\n        type: VARCHAR\n        description: The client.\n        tests: [not_null]\n"
        "      - name: lahetepvm\n        type: DATE\n        description: Date of the referral.\n        tests: [not_null]\n"
        "      - name: lahettaja\n        type: VARCHAR\n        description: Who referred.\n", encoding="utf-8")

    # a small delivery: the minimal one, and a referrals.csv with a duplicate row and an orphan
    delivery = minimal_delivery(tmp_path / "delivery")
    ok = {"person_id": "P000001", "lahetepvm": "1.3.2023", "lahettaja": "psykiatria"}
    write_csv(delivery, "referrals", [ok, ok, {**ok, "person_id": "P999999"}])
    con = duckdb.connect()
    load_delivery(con, delivery, C)
    assert con.execute("SELECT rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE export = 'referrals'"
                       ).fetchone() == (3, 2, 1)
    assert con.execute("SELECT rule FROM audit.rejected_rows WHERE export = 'referrals'").fetchall() == [("orphan",)]

    # staged from the SQL file, as its contract declares
    build_staging(con, C)
    staged = sql_table("staging.referrals", sql)
    assert staged.reads == ("raw.referrals",)
    build_table(con, staged, C)
    assert con.execute("SELECT * FROM staging.referrals").fetchall() == [("P000001", dt.date(2023, 3, 1), "psykiatria")]
    declared = table_contract("staging.referrals", sql)
    assert column_differences(con, declared) == []
    assert all(r.passed for r in run_tests(con, declared))

    # Dagster: the raw asset with its line-accounting check, the staging asset after the purge, with its checks
    assert _raw_asset(contract).key.path == ["raw", "referrals"]
    (accounted,) = _raw_asset(contract).check_specs
    assert (accounted.asset_key.path[-1], accounted.name, accounted.blocking) == ("referrals", "rows_accounted", True)
    asset = next(a for a in table_assets(sql) if a.key.path == ["staging", "referrals"])
    (check,) = asset.check_specs
    assert check.name == "contract" and check.blocking
    assert all(f"{test} (" in check.description
               for test in ("person_id_lahetepvm_unique", "person_id_not_null", "lahetepvm_not_null"))
    assert [d.asset_key.path for d in asset.specs_by_key[asset.key].deps] == [["audit", "consent_withdrawals"]]

    # documented: raw.referrals from its data contract, staging.referrals from its SQL and contract
    page = render(sql)
    assert "#### `raw.referrals`\n\nReferrals to IPS; one row per referral." in page
    assert "| `lahetepvm` | DATE | `lahetepvm` (date, required) |" in page
    assert "#### `staging.referrals`\n\nReferrals to IPS, exact duplicate rows collapsed." in page
    assert "| `lahettaja` | VARCHAR | Who referred. |  |" in page
