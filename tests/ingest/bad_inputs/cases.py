"""The catalogue of bad deliveries: each case builds a small delivery with one fault and says
what must happen. README.md beside this file lists the same cases (a test keeps them in step).

Expected outcomes:
- `Refused(file, reason)`: the run stops, the message names the file and the reason, nothing is written;
- `Rejected(file, [(line, column, rule), ...])`: the named rows are rejected with the named rule,
  the rest is loaded, rows read = accepted + rejected;
- `Accepted(file, rows)`: not an error: loaded as it is.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from deliveries import contract, csv_text, minimal_delivery, row, write_csv, write_parquet
from ips_eval.ingest.contracts import load_contracts
from ips_eval.ingest.guard import scan_delivery
from ips_eval.ingest.identity import make_identity_code
from ips_eval.ingest.load import ingest_export, load_delivery, prepare

CUTOFF = dt.date(2024, 12, 31)
HETU = make_identity_code(dt.date(1968, 11, 2), 345, "-")


@dataclass(frozen=True)
class Refused:
    file: str
    reason: str  # a regular expression the message must match


@dataclass(frozen=True)
class Rejected:
    file: str
    rows: list[tuple[int, str | None, str]]


@dataclass(frozen=True)
class Accepted:
    file: str
    rows: int
    empty: int = 0  # empty lines, counted in audit.loads.rows_empty


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    build: Callable[[Path], None]
    expected: Refused | Rejected | Accepted
    tags: tuple[str, ...] = field(default=())


def _append(path: Path, text: str, encoding: str = "utf-8") -> None:
    with open(path, "ab") as f:
        f.write(text.encode(encoding))


def _line(export: str, **values) -> str:
    return csv_text(export, [row(export, **values)]).split("\n")[1] + "\n"


def _replace_header(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("\n", 1)
    path.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")


def _rewrite(path: Path, transform: Callable[[str], str]) -> None:
    path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")


def _jobs_extra(**values) -> Callable[[Path], None]:
    return lambda d: _append(d / "jobs.csv", _line("jobs", **values))


def _clients_extra(**values) -> Callable[[Path], None]:
    return lambda d: _append(d / "clients.csv", _line("clients", **values))


def _survey_extra(**values) -> Callable[[Path], None]:
    return lambda d: _append(d / "survey_baseline.csv", _line("survey_baseline", **values))


def _costs(*rows: dict) -> Callable[[Path], None]:
    return lambda d: write_csv(d, "costs", [row("costs", **r) for r in rows])


def _wrong_delimiter(d: Path) -> None:
    _rewrite(d / "jobs.csv", lambda t: t.replace(";", ","))


def _truncated(d: Path) -> None:
    _append(d / "jobs.csv", "P000001;tyo;T009;K;E;1.8.2023")  # cut off mid-row, no line end


def _date_cut_short(d: Path) -> None:
    _append(d / "jobs.csv", "P000001;tyo;T009;K;E;1.8.2023;;20;5223;2.8.20")  # cut off inside a date, no line end


def _huge_line_appended(d: Path) -> None:
    _append(d / "jobs.csv", "x" * 40_000_000)  # 40 MB of text, no delimiter, no line end


def _empty_lines(d: Path) -> None:
    _append(d / "jobs.csv", "\n\r\n" + _line("jobs", tyonantaja="T002") + "\n")


def _mixed_line_endings(d: Path) -> None:
    text = (d / "clients.csv").read_text(encoding="utf-8") + _line("clients", person_id="P000002")
    lines = text.split("\n")
    (d / "clients.csv").write_bytes(("\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:])).encode())


def _huge_line(d: Path) -> None:
    (d / "survey_midpoint.csv").write_text("x" * 3_000_000, encoding="utf-8")


def _huge_cell(d: Path) -> None:
    _append(d / "jobs.csv", _line("jobs", alkupvm="1.8.2023", ammatti="x" * 2_000_000))


def _parquet_wrong_types(d: Path) -> None:
    (d / "register" / "employment.csv").unlink()
    table = pa.table({"person_id": ["P000001"], "tyonantaja": ["T001"], "alkupvm": pa.array([45123], pa.int64()),
                      "loppupvm": pa.array([None], pa.int64())})
    pq.write_table(table, d / "register" / "employment.parquet")


def _no_register(d: Path) -> None:
    for p in (d / "register").iterdir():
        p.unlink()
    (d / "register").rmdir()


def _hetu_in_header(d: Path) -> None:
    _replace_header(d / "jobs.csv", "ammatti", HETU)


def _hetu_in_parquet(d: Path) -> None:
    (d / "register" / "cohort.csv").unlink()
    write_parquet(d, "register_cohort", [row("register_cohort"), row("register_cohort", person_id="C000002", dg=HETU)])


def _csv_and_parquet(d: Path) -> None:
    write_parquet(d, "register_earnings", [row("register_earnings")])


def _unreadable_encoding(d: Path) -> None:
    _append(d / "clients.csv", _line("clients", person_id="P000002", tiimi="Tiimi \x81"), encoding="latin-1")


def _conflict(d: Path) -> None:
    _append(d / "jobs.csv", _line("jobs", alkupvm="1.9.2023", tunnit_viikossa="10"))
    _append(d / "jobs.csv", _line("jobs", alkupvm="1.9.2023", tunnit_viikossa="30"))


def _optional_export(export: str, **values) -> Callable[[Path], None]:
    """An optional export with one good row (line 2) and one row with `values` changed (line 3)."""
    return lambda d: write_csv(d, export, [row(export), row(export, **values)])


def _final_survey_without_later_items(d: Path) -> None:
    """survey_final.csv as deliveries before 2024 send it: none of the later items' columns."""
    later = {c.header for c in contract("survey_final").columns} - {c.header for c in contract("survey_midpoint").columns}
    headers = [c.header for c in contract("survey_final").columns if c.header not in later]
    write_csv(d, "survey_final", [row("survey_final")], headers=headers)


CASES: list[Case] = [
    Case("wrong_delimiter", "jobs.csv written with ',' instead of ';'", _wrong_delimiter,
         Refused("jobs.csv", "no ';' delimiter")),
    Case("missing_required_column", "clients.csv without the aloituspvm column",
         lambda d: _rewrite(d / "clients.csv", lambda t: "\n".join(
             ";".join(f for i, f in enumerate(line.split(";")) if i != 6) for line in t.split("\n"))),
         Refused("clients.csv", "required column.*aloituspvm")),
    Case("unknown_extra_column", "jobs.csv with a column the contract does not know",
         lambda d: _rewrite(d / "jobs.csv", lambda t: "\n".join(
             (line + ";lisatieto" if i == 0 else line + ";" if line else line) for i, line in enumerate(t.split("\n")))),
         Refused("jobs.csv", "unknown column.*lisatieto")),
    Case("duplicate_header", "fidelity_reviews.csv naming k07 twice",
         lambda d: _replace_header(d / "fidelity_reviews.csv", "k08", "k07"),
         Refused("fidelity_reviews.csv", "names column 'k07' twice")),
    Case("empty_file", "survey_final.csv of zero bytes", lambda d: (d / "survey_final.csv").write_bytes(b""),
         Refused("survey_final.csv", "empty")),
    Case("header_only", "survey_midpoint.csv with a header and no rows (no answers yet)", lambda d: None,
         Accepted("survey_midpoint.csv", 0)),
    Case("truncated_last_line", "jobs.csv whose last line is cut off mid-row", _truncated,
         Rejected("jobs.csv", [(3, None, "truncated_line")])),
    Case("date_cut_short_last_line", "jobs.csv whose last line is cut off inside a date", _date_cut_short,
         Rejected("jobs.csv", [(3, "paivitetty", "truncated_line")])),
    Case("huge_line_appended", "a 40 MB line with no delimiter appended to jobs.csv", _huge_line_appended,
         Rejected("jobs.csv", [(3, None, "line_too_long")])),
    Case("empty_lines", "empty lines (LF and CRLF) between and after the rows of jobs.csv", _empty_lines,
         Accepted("jobs.csv", 2, empty=3)),
    Case("nul_bytes", "NUL bytes inside clients.csv", lambda d: _append(d / "clients.csv", "P00\x00002;Kainuu\n"),
         Refused("clients.csv", "NUL bytes")),
    Case("unreadable_encoding", "bytes that are neither UTF-8 nor Windows-1252", _unreadable_encoding,
         Refused("clients.csv", "neither UTF-8 nor Windows-1252")),
    Case("mixed_line_endings", "CRLF and LF line ends in one file", _mixed_line_endings,
         Accepted("clients.csv", 2)),
    Case("excel_serial_date", "an Excel serial number (45123) where a date is expected",
         _jobs_extra(alkupvm="45123"), Rejected("jobs.csv", [(3, "alkupvm", "type")])),
    Case("iso_date_in_project_file", "yyyy-mm-dd in a project export that uses d.m.yyyy",
         _jobs_extra(alkupvm="2023-08-01"), Rejected("jobs.csv", [(3, "alkupvm", "type")])),
    Case("finnish_date_in_register", "d.m.yyyy in a register extract that uses yyyy-mm-dd",
         lambda d: _append(d / "register" / "employment.csv", "P000001;T001;1.8.2020;\n"),
         Rejected("register/employment.csv", [(2, "alkupvm", "type")])),
    Case("impossible_date", "31.2.2024", _jobs_extra(alkupvm="31.2.2024"),
         Rejected("jobs.csv", [(3, "alkupvm", "type")])),
    Case("two_digit_year", "3.8.23", _jobs_extra(alkupvm="3.8.23"), Rejected("jobs.csv", [(3, "alkupvm", "type")])),
    Case("date_after_cutoff", "a job starting after the cut-off: data of a later quarter, not an error",
         _jobs_extra(alkupvm="15.1.2025"), Accepted("jobs.csv", 2)),
    Case("negative_hours", "tunnit_viikossa -5", _jobs_extra(alkupvm="1.8.2023", tunnit_viikossa="-5"),
         Rejected("jobs.csv", [(3, "tunnit_viikossa", "range")])),
    Case("absurd_hours", "tunnit_viikossa 168,0", _jobs_extra(alkupvm="1.8.2023", tunnit_viikossa="168,0"),
         Rejected("jobs.csv", [(3, "tunnit_viikossa", "range")])),
    Case("lowercase_yes_no", "'k' and 'e' for K and E", _jobs_extra(alkupvm="1.8.2023", avoimet_markkinat="k"),
         Rejected("jobs.csv", [(3, "avoimet_markkinat", "type")])),
    Case("lowercase_code", "'TYO' for the code tyo", _jobs_extra(alkupvm="1.8.2023", tyyppi="TYO"),
         Rejected("jobs.csv", [(3, "tyyppi", "code")])),
    Case("unknown_county", "alue 'Ahvenanmaa' (not a wellbeing services county)",
         _clients_extra(person_id="P000002", alue="Ahvenanmaa"), Rejected("clients.csv", [(3, "alue", "code")])),
    Case("survey_answer_out_of_range", "swemwbs_3 = 6 on a 1-5 item", _survey_extra(swemwbs_3="6"),
         Rejected("survey_baseline.csv", [(2, "swemwbs_3", "range")])),
    Case("survey_answer_not_a_number", "tyokyky 'hyvä'", _survey_extra(tyokyky="hyvä"),
         Rejected("survey_baseline.csv", [(2, "tyokyky", "type")])),
    Case("end_before_start", "a job ending before it starts", _jobs_extra(alkupvm="1.8.2023", loppupvm="31.7.2023"),
         Rejected("jobs.csv", [(3, "loppupvm", "end_before_start")])),
    Case("register_end_before_start", "a benefit spell ending before it starts",
         lambda d: _append(d / "register" / "benefits.csv", "P000001;tkel;2020-05-01;2020-04-30\n"),
         Rejected("register/benefits.csv", [(2, "loppupvm", "end_before_start")])),
    Case("conflicting_versions", "the same job twice, equal timestamps, different hours", _conflict,
         Rejected("jobs.csv", [(3, "paivitetty", "conflicting_versions"), (4, "paivitetty", "conflicting_versions")])),
    Case("orphan_job", "a job of a person not in clients.csv", _jobs_extra(person_id="NOBODY01"),
         Rejected("jobs.csv", [(3, "person_id", "orphan")])),
    Case("orphan_survey", "a survey answer of a person not in clients.csv", _survey_extra(asiakastunnus="NOBODY01"),
         Rejected("survey_baseline.csv", [(2, "person_id", "orphan")])),
    Case("missing_required_value", "a client without IPS start", _clients_extra(person_id="P000002", aloituspvm=""),
         Rejected("clients.csv", [(3, "aloituspvm", "required")])),
    Case("bad_pseudonym", "person_id 'x-1' (not 6-20 letters and digits)", _clients_extra(person_id="x-1"),
         Rejected("clients.csv", [(3, "person_id", "pseudonym")])),
    Case("identity_code_in_free_text", "an identity code typed into tiimi",
         _clients_extra(person_id="P000002", tiimi=f"asiakas {HETU}"), Refused("clients.csv", "identity code at line 3, column 'tiimi'")),
    Case("identity_code_in_header", "an identity code as a column name", _hetu_in_header,
         Refused("jobs.csv", "identity code at line 1, column 'field 9'")),
    Case("identity_code_in_register", "an identity code as the person_id of a register file",
         lambda d: _append(d / "register" / "earnings.csv", f"{HETU};2020-01;100.0\n"),
         Refused("register/earnings.csv", "identity code at line 2, column 'person_id'")),
    Case("identity_code_in_parquet", "an identity code inside a Parquet register file", _hetu_in_parquet,
         Refused("register/cohort.parquet", "identity code at line 3, column 'dg'")),
    Case("huge_single_line_file", "a 3 MB file with no line break", _huge_line,
         Refused("survey_midpoint.csv", "longer than 1 MiB")),
    Case("huge_cell", "a 2 MB value in one cell", _huge_cell, Rejected("jobs.csv", [(3, None, "line_too_long")])),
    Case("parquet_wrong_types", "register/employment.parquet with dates as integers", _parquet_wrong_types,
         Refused("register/employment.parquet", "alkupvm has Parquet type BIGINT")),
    Case("csv_and_parquet_of_one_extract", "register/earnings delivered twice", _csv_and_parquet,
         Refused("register/earnings.csv and register/earnings.parquet", "delivered twice")),
    Case("missing_project_file", "no jobs.csv", lambda d: (d / "jobs.csv").unlink(),
         Refused("jobs.csv", "missing from the delivery")),
    Case("cost_with_fractions_of_a_cent", "costs.csv euroa 1200,555 (more than two decimals)",
         _costs({}, {"kustannuslaji": "matkat", "euroa": "1200,555", "htv": ""}),
         Rejected("costs.csv", [(3, "euroa", "type")])),
    Case("coach_fte_on_travel_costs", "costs.csv htv given on a travel-cost row (htv is for staff costs only)",
         _costs({}, {"kustannuslaji": "matkat", "euroa": "800,00", "htv": "0,5"}),
         Rejected("costs.csv", [(3, "htv", "only_for")])),
    Case("no_register_folder", "no register/ at all (allowed: register outcomes are empty)", _no_register,
         Accepted("clients.csv", 1)),
    Case("stigma_answer_out_of_range", "stigma_1 = 5 on a 1-4 item (ISMI-10)", _survey_extra(stigma_1="5"),
         Rejected("survey_baseline.csv", [(2, "stigma_1", "range")])),
    Case("survey_without_later_items", "survey_final.csv without the later items' columns (an older delivery)",
         _final_survey_without_later_items, Accepted("survey_final.csv", 1)),
    Case("coach_item_out_of_range", "coach_survey.csv luottamus = 6 on a 1-5 item",
         _optional_export("coach_survey", vastauspvm="2.10.2023", luottamus="6"),
         Rejected("coach_survey.csv", [(3, "luottamus", "range")])),
    Case("employer_contact_after_response", "a first employer contact dated after the coach's response",
         _optional_export("coach_survey", vastauspvm="2.10.2023", ens_tyonantajakontakti="3.10.2023"),
         Rejected("coach_survey.csv", [(3, "ens_tyonantajakontakti", "not_after")])),
    Case("orphan_coach_response", "a coach response about a person not in clients.csv",
         _optional_export("coach_survey", asiakastunnus="P000099"),
         Rejected("coach_survey.csv", [(3, "person_id", "orphan")])),
    Case("unknown_staff_survey_round", "care_staff_survey.csv kierros 'puoli' (rounds: alku, vali, loppu)",
         _optional_export("care_staff_survey", vastaustunnus="R0002", kierros="puoli"),
         Rejected("care_staff_survey.csv", [(3, "kierros", "code")])),
    Case("unknown_size_class", "employer_survey.csv koko 5 (size classes 1-4)",
         _optional_export("employer_survey", vastaustunnus="E0002", koko="5"),
         Rejected("employer_survey.csv", [(3, "koko", "code")])),
    Case("unknown_industry", "employer_survey.csv toimiala 'X' (TOL 2008 sections A ... U)",
         _optional_export("employer_survey", vastaustunnus="E0002", toimiala="X"),
         Rejected("employer_survey.csv", [(3, "toimiala", "code")])),
    Case("identity_code_in_staff_survey", "an identity code typed into care_staff_survey.csv vastaustunnus",
         _optional_export("care_staff_survey", vastaustunnus=HETU),
         Refused("care_staff_survey.csv", "identity code at line 3, column 'vastaustunnus'")),
    Case("eos_on_a_yes_no_item", "care_staff_survey.csv ips_osaksi_hoitoa EOS: a missing answer, not an error",
         _optional_export("care_staff_survey", vastaustunnus="R0002", ips_osaksi_hoitoa="EOS"),
         Accepted("care_staff_survey.csv", 2)),
]


def build(case: Case, folder: Path) -> Path:
    delivery = minimal_delivery(folder)
    case.build(delivery)
    return delivery


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@lru_cache(maxsize=1)
def _minimal_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        return _files(minimal_delivery(Path(folder) / "delivery"))


def changed_exports(delivery: Path) -> set[str]:
    """The exports whose files differ from the minimal delivery's (changed, added or removed)."""
    ours, theirs = _files(delivery), _minimal_files()
    changed = {f for f in ours.keys() | theirs.keys() if ours.get(f) != theirs.get(f)}
    exports = {name for name, contract in load_contracts().items()
               if {p.relative_to(delivery).as_posix() for p in contract.candidate_paths(delivery)} & changed}
    assert exports or not changed, f"files of no export changed: {sorted(changed)}"
    return exports


def load_case(con, delivery: Path, engine: str | None = None) -> None:
    """A case's delivery as the run's ingest loads it: the unchanged minimal delivery whole; any
    other case in the exports whose files it changed, and clients.csv (loaded first: the others
    are checked against its persons). The files a case leaves alone are the minimal delivery's."""
    exports = changed_exports(delivery)
    if not exports:
        load_delivery(con, delivery, CUTOFF, engine=engine)
        return
    scan_delivery(delivery)
    prepare(con)  # once, as load_delivery and deliveries.load_exports do
    for name, contract in load_contracts().items():
        if name in exports | {"clients"}:
            ingest_export(con, delivery, contract, engine, prepared=True)


def clear(con) -> None:
    """A connection that ran `prepare` as if fresh after it: what a case loaded is dropped (the
    `ref` tables, which prepare leaves alone when they hold the same frames, stay), so that
    cases can share one connection and none sees another's rows."""
    import duckdb

    try:
        con.execute("ROLLBACK")  # a case refused in the middle of a transaction
    except duckdb.Error:
        pass
    for (schema,) in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
            " AND NOT internal AND schema_name NOT IN ('ref', 'main')").fetchall():
        con.execute(f"DROP SCHEMA {schema} CASCADE")
    left = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'ref'"
        " UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    assert not left, f"a case left tables behind: {left}"
