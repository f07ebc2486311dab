"""A Finnish personal identity code anywhere in a delivery stops the run before anything is
written, and the message names file, line and column without printing the code."""

import datetime as dt
import hashlib

import pytest

from deliveries import minimal_delivery, row, write_csv, write_parquet
from ips_eval.ingest.guard import scan_delivery
from ips_eval.ingest.identity import (IdentityCodeFound, find_identity_codes, is_identity_code,
                                     make_identity_code)
from pipelines.runner import PipelineFailed, run_pipeline

C = dt.date(2024, 12, 31)


@pytest.mark.parametrize("sign", ["+", "-", "Y", "X", "W", "V", "U", "A", "B", "C", "D", "E", "F"])
def test_every_century_sign_is_recognised(sign):
    year = {"+": 1890}.get(sign, 1960 if sign in "-YXWVU" else 2010)
    code = make_identity_code(dt.date(year, 5, 17), 234, sign)
    assert is_identity_code(code)
    # the check character is what makes it a code: change it and it is not one
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert not is_identity_code(wrong)


def test_the_example_of_exports_md_and_what_is_not_a_code():
    assert is_identity_code("131052-308T")
    assert list(find_identity_codes("vapaa teksti 131052-308T tässä"))
    for text in ["131052-308U", "310252-308T", "P131052308T", "2023-04-03", "3.4.2023", "A1B2C3D4", "131052-308TX"]:
        assert not list(find_identity_codes(text)), text


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


CODE = make_identity_code(dt.date(1975, 3, 14), 457, "-")


def _plant(delivery, where: str) -> None:
    """The code in one place of a minimal delivery."""
    if where == "free text":
        write_csv(delivery, "jobs", [row("jobs"), row("jobs", alkupvm="1.7.2023", ammatti=f"siivooja {CODE}")])
    elif where == "header":
        text = (delivery / "clients.csv").read_text(encoding="utf-8").split("\n")
        cols = text[0].split(";")
        cols[4] = CODE
        (delivery / "clients.csv").write_text("\n".join([";".join(cols)] + text[1:]), encoding="utf-8")
    elif where == "register csv":
        write_csv(delivery, "register_employment", [row("register_employment", tyonantaja=CODE)])
    else:
        (delivery / "register" / "benefits.csv").unlink()
        write_parquet(delivery, "register_benefits", [row("register_benefits"), row("register_benefits", etuus=CODE)])


WHERE = [
    ("free text", "jobs.csv", 3, "ammatti"),
    ("header", "clients.csv", 1, "field 5"),
    ("register csv", "register/employment.csv", 2, "tyonantaja"),
    ("register parquet", "register/benefits.parquet", 3, "etuus"),
]


@pytest.mark.parametrize("where, file, line, column", WHERE)
def test_the_guard_finds_a_code_anywhere_and_names_its_place_not_the_code(tmp_path, where, file, line, column):
    """The guard (the run's first asset, `audit/delivery_guard`, before anything is written)."""
    delivery = minimal_delivery(tmp_path / "delivery")
    _plant(delivery, where)
    with pytest.raises(IdentityCodeFound) as e:
        scan_delivery(delivery)
    message = str(e.value)
    assert message.startswith(f"{file}: a Finnish personal identity code at line {line}, column '{column}'")
    assert CODE not in message and CODE.lower() not in message


def test_a_code_stops_the_run_and_nothing_is_written(tmp_path):
    """The guard's refusal through a whole run: nothing but the run log and the lock file."""
    where, file, line, column = WHERE[0]
    delivery = minimal_delivery(tmp_path / "delivery")
    _plant(delivery, where)
    warehouse = tmp_path / "out" / "warehouse.duckdb"
    with pytest.raises(PipelineFailed) as e:
        run_pipeline(delivery, C, warehouse)
    message = str(e.value)
    assert message.startswith(f"{file}: a Finnish personal identity code at line {line}, column '{column}'")
    assert CODE not in message and CODE.lower() not in message
    assert not warehouse.exists()
    # nothing but the run log, which records the refusal without the code, and the (empty) lock file
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["warehouse.duckdb.lock", "warehouse.duckdb.runs.jsonl"]
    log = (warehouse.parent / "warehouse.duckdb.runs.jsonl").read_text()
    assert '"status": "failed"' in log and file in log and CODE not in log


def test_a_code_leaves_the_previous_warehouse_byte_for_byte(tmp_path, published_minimal):
    warehouse = published_minimal
    before = _sha(warehouse)
    listing = sorted(p.name for p in warehouse.parent.iterdir())
    bad = minimal_delivery(tmp_path / "bad", clients=[row("clients", person_id="P000002", tiimi=CODE)])
    with pytest.raises(PipelineFailed, match="clients.csv: a Finnish personal identity code at line 3, column 'tiimi'"):
        run_pipeline(bad, C, warehouse)
    assert _sha(warehouse) == before
    assert sorted(p.name for p in warehouse.parent.iterdir()) == listing == [
        "site", "w.duckdb", "w.duckdb.lock", "w.duckdb.runs.jsonl", "w.figures"]


@pytest.mark.parametrize("where, file, line, column", WHERE)
def test_duckdb_search_of_large_text_files_finds_the_same(tmp_path, monkeypatch, where, file, line, column):
    """Every text file through DuckDB's search (as large register CSVs go): same place, same message."""
    import ips_eval.ingest.guard as guard

    monkeypatch.setattr(guard, "DUCKDB_MIN_BYTES", 0)
    delivery = minimal_delivery(tmp_path / "delivery")
    _plant(delivery, where)
    with pytest.raises(IdentityCodeFound) as e:
        scan_delivery(delivery)
    message = str(e.value)
    assert message.startswith(f"{file}: a Finnish personal identity code at line {line}, column '{column}'")
    assert CODE not in message and CODE.lower() not in message


def test_duckdb_search_leaves_clean_files_and_lookalikes_to_itself(tmp_path, monkeypatch):
    """No code: no file goes to the line-by-line scan, not even one with a candidate that fails the check
    character; a file DuckDB cannot read as UTF-8 lines is scanned line by line and its code found."""
    import ips_eval.ingest.guard as guard

    monkeypatch.setattr(guard, "DUCKDB_MIN_BYTES", 0)
    delivery = minimal_delivery(tmp_path / "delivery")
    write_csv(delivery, "jobs", [row("jobs"), row("jobs", alkupvm="1.7.2023", ammatti="siivooja 131052-308U")])
    by_python = []
    original = guard.scan_text
    monkeypatch.setattr(guard, "scan_text", lambda path, relative: (by_python.append(relative), original(path, relative)))
    assert scan_delivery(delivery) > 0
    assert by_python == []
    (delivery / "notes.txt").write_bytes(f"h\u00e4iri\u00f6;x\nrivi;{CODE}\n".encode("cp1252"))
    with pytest.raises(IdentityCodeFound, match="notes.txt: a Finnish personal identity code at line 2, column 'x'"):
        scan_delivery(delivery)
    assert by_python == ["notes.txt"]
