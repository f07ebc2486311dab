"""Property-based fuzzing of the readers: random mutations of valid files never end in
anything but a contract error (a refused file) or a clean load where rows read = accepted +
rejected."""

import pytest
import shutil
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deliveries import csv_text, load_exports, row, write_delivery
from ips_eval.ingest.contracts import load_contracts
from ips_eval.ingest.delivery import DeliveryRefused
from ips_eval.ingest.identity import IdentityCodeFound

pytestmark = pytest.mark.slow  # mutated project and register files, many examples

SPICE = [b";", b'"', b"\n", b"\r\n", b"\r", b"EOS", b"K", b"e", b"31.2.2024", b"\xe4", b"\xc3\xa4", b"\x81",
         b"-", b"+", b",", b" ", b"\t", b"0", b"99999999999", b"\xef\xbb\xbf", b"1.1.1900", b"\x00"]


def _valid(export: str) -> bytes:
    rows = [row(export), row(export, **{load_contracts()[export].columns[0].header: "P000002"})] \
        if export == "clients" else [row(export)]
    return csv_text(export, rows).encode("utf-8")


mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(min_value=0, max_value=1),
    st.one_of(st.sampled_from(SPICE), st.binary(min_size=1, max_size=4)),
    st.integers(min_value=1, max_value=5),
)


def _mutate(data: bytes, mutations) -> bytes:
    for kind, where, spice, length in mutations:
        i = int(where * len(data))
        if kind == "insert":
            data = data[:i] + spice + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + length:]
        else:
            data = data[:i] + spice + data[i + length:]
    return data


@settings(max_examples=20, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(export=st.sampled_from(["clients", "jobs", "survey_final", "fidelity_reviews"]),
       mutations=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_project_files_are_refused_or_accounted_for(export, mutations):
    folder = Path(tempfile.mkdtemp())
    try:
        write_delivery(folder, {"clients": [row("clients"), row("clients", person_id="P000002")]}, register=False)
        target = folder / load_contracts()[export].file
        target.write_bytes(_mutate(_valid(export), mutations))
        con = duckdb.connect()
        try:
            load_exports(con, folder, export)
        except (DeliveryRefused, IdentityCodeFound) as e:
            assert str(e).split(":")[0] in {load_contracts()[x].file for x in load_contracts()} | {
                p.relative_to(folder).as_posix() for p in folder.rglob("*")}
            return
        for file, read, accepted, rejected, withdrawn, empty in con.execute(
                "SELECT file, rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads"
        ).fetchall():
            assert read == accepted + rejected + withdrawn + empty, file
            assert con.execute("SELECT count(*) FROM audit.rejected_rows WHERE file = ?", [file]).fetchall()[0][0] == rejected
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=12, deadline=None, database=None, derandomize=True)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_register_files_are_refused_or_accounted_for(mutations):
    folder = Path(tempfile.mkdtemp())
    try:
        write_delivery(folder, {"clients": [row("clients")], "register_employment": [
            row("register_employment"), row("register_employment", alkupvm="2021-01-01", loppupvm=None)]})
        target = folder / "register" / "employment.csv"
        target.write_bytes(_mutate(target.read_bytes(), mutations))
        con = duckdb.connect()
        try:
            load_exports(con, folder, "register_employment")
        except (DeliveryRefused, IdentityCodeFound) as e:
            assert str(e).startswith("register/employment.csv")
            return
        read, accepted, rejected, withdrawn, empty = con.execute(
            "SELECT rows_read, rows_accepted, rows_rejected, rows_withdrawn, rows_empty FROM audit.loads"
            " WHERE export='register_employment'"
        ).fetchall()[0]
        assert read == accepted + rejected + withdrawn + empty
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
