"""Every encoding and format variant docs/exports.md allows reads to the same typed rows."""

import datetime as dt

import pytest

from deliveries import contract, load_exports, row, write_csv, write_delivery, write_parquet
from ips_eval.ingest.delivery import DeliveryRefused
from ips_eval.ingest.load import load_delivery, load_export

C = dt.date(2024, 12, 31)


def _clients(con):
    return con.execute(
        "SELECT person_id, tiimi, aloituspvm, rekisterisuostumus, paivitetty, _line FROM raw.clients ORDER BY _line"
    ).fetchall()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_read_to_the_same_text(tmp_path, con, encoding):
    write_delivery(tmp_path)
    path = write_csv(tmp_path, "clients", [row("clients", tiimi="Mielenterveyspalvelut – Ääneseutu")], encoding=encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    if encoding == "cp1252":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    result = load_export(con, tmp_path, contract("clients"))
    assert result.rows_accepted == 1
    assert _clients(con)[0][1] == "Mielenterveyspalvelut – Ääneseutu"
    expected = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252"}[encoding]
    assert con.execute("SELECT encoding FROM audit.loads").fetchall() == [(expected,)]


def test_date_forms_decimal_comma_and_yes_no(tmp_path, con):
    write_delivery(tmp_path)
    write_csv(tmp_path, "clients", [
        row("clients", person_id="P000001", aloituspvm="3.4.2023", rekisterisuostumus="K", paivitetty="5.4.2023 9:05"),
        row("clients", person_id="P000002", aloituspvm="03.04.2023", rekisterisuostumus="E", paivitetty="05.04.2023 09:05"),
    ])
    write_csv(tmp_path, "jobs", [row("jobs", tunnit_viikossa="37,5"), row("jobs", alkupvm="2.6.2023", tunnit_viikossa="20")])
    load_exports(con, tmp_path, "jobs")  # and clients, which jobs refer to
    got = _clients(con)
    assert got[0][2] == got[1][2] == dt.date(2023, 4, 3)
    assert got[0][3] is True and got[1][3] is False
    assert got[0][4] == got[1][4] == dt.datetime(2023, 4, 5, 9, 5)
    assert sorted(r[0] for r in con.execute("SELECT tunnit_viikossa FROM raw.jobs").fetchall()) == [20.0, 37.5]


def test_headers_in_any_case_with_stray_spaces(tmp_path, con):
    write_delivery(tmp_path)
    headers = [f"  {c.header.upper()} " if i % 2 else c.header.title() for i, c in enumerate(contract("clients").columns)]
    write_csv(tmp_path, "clients", [row("clients")], headers=headers)
    assert load_export(con, tmp_path, contract("clients")).rows_accepted == 1


def test_eos_and_blank_are_missing_other_values_out_of_range_are_rejected(tmp_path, con):
    write_delivery(tmp_path, {"clients": [row("clients")]})
    write_csv(tmp_path, "survey_baseline", [
        row("survey_baseline", swemwbs_1="EOS", tyokyky=""),
        row("survey_baseline", vastauspvm="11.4.2023", swemwbs_1="6"),
        row("survey_baseline", vastauspvm="12.4.2023", swemwbs_1="eos"),
    ])
    load_exports(con, tmp_path, "survey_baseline")  # and clients, which the survey refers to
    assert con.execute("SELECT swemwbs_1, tyokyky FROM raw.survey_baseline").fetchall() == [(None, None)]
    rejected = con.execute('SELECT line, "column", rule FROM audit.rejected_rows ORDER BY line').fetchall()
    assert rejected == [(3, "swemwbs_1", "range"), (4, "swemwbs_1", "type")]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_line_endings(tmp_path, con, line_end):
    write_delivery(tmp_path)
    write_csv(tmp_path, "clients", [row("clients"), row("clients", person_id="P000002")], line_end=line_end)
    load_export(con, tmp_path, contract("clients"))
    assert [r[0] for r in _clients(con)] == ["P000001", "P000002"]
    assert con.execute("SELECT max(length(paivitetty::VARCHAR)) FROM raw.clients").fetchall()[0][0] == 19


def test_register_extracts_as_csv_or_parquet_give_identical_rows(tmp_path, con):
    rows = [row("register_employment", person_id=f"R{i:06d}", alkupvm="2019-01-01", loppupvm=None if i % 2 else "2019-05-31")
            for i in range(1, 6)]
    earnings = [row("register_earnings", person_id="R000001", kuukausi="2019-02", ansiot_eur="2100.25")]
    csv_dir, pq_dir = tmp_path / "csv", tmp_path / "parquet"
    for folder in (csv_dir, pq_dir):
        write_delivery(folder, register=False)
    write_csv(csv_dir, "register_employment", rows)
    write_csv(csv_dir, "register_earnings", earnings)
    write_parquet(pq_dir, "register_employment", rows)
    write_parquet(pq_dir, "register_earnings", earnings)
    tables = []
    for folder in (csv_dir, pq_dir):
        for export in ("register_employment", "register_earnings"):
            load_export(con, folder, contract(export))
        tables.append((
            con.execute("SELECT * EXCLUDE (_file) FROM raw.register_employment ORDER BY _line").fetchall(),
            con.execute("SELECT * EXCLUDE (_file) FROM raw.register_earnings").fetchall(),
        ))
    assert tables[0] == tables[1]
    assert tables[0][1] == [("R000001", dt.date(2019, 2, 1), 2100.25, 2)]
    assert len(tables[0][0]) == 5


def test_no_register_folder_gives_empty_register_tables(tmp_path, con):
    write_delivery(tmp_path, {"clients": [row("clients")]}, register=False)
    results = load_delivery(con, tmp_path, C)
    assert results["register_cohort"].file is None
    assert con.execute("SELECT count(*) FROM raw.register_cohort").fetchall() == [(0,)]


def test_the_same_extract_as_csv_and_parquet_is_refused(tmp_path, con):
    write_delivery(tmp_path)
    write_parquet(tmp_path, "register_cohort", [row("register_cohort")])
    with pytest.raises(DeliveryRefused, match="register/cohort.csv and register/cohort.parquet"):
        load_export(con, tmp_path, contract("register_cohort"))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"person_id,alue,aalto\nP1,Kainuu,2\n", "wrong delimiter"),
        (b"person_id;alue\nP000001;Kainuu\n", "required column"),
        (b"\xff\xfe\x00p\x00e\x00r", "NUL bytes"),
        (b"person_id;alue;alue\n", "twice"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused_with_file_and_reason(tmp_path, con, content, reason):
    write_delivery(tmp_path)
    (tmp_path / "clients.csv").write_bytes(content)
    with pytest.raises(DeliveryRefused, match=reason) as e:
        load_export(con, tmp_path, contract("clients"))
    assert str(e.value).startswith("clients.csv:")


def test_register_lines_after_broken_records_keep_their_numbers(tmp_path, con):
    """A line break inside a register record splits it in two broken lines; the good records
    around them keep their own line numbers (found by fuzzing)."""
    write_delivery(tmp_path)
    path = tmp_path / "register" / "employment.csv"
    path.write_text("person_id;tyonantaja;alkupvm;loppupvm\n"
                    "R0000001;T1;2019-01-01;2019-02-01\n"
                    "R0000002;T1;2019-\n01-01;2019-02-01\n"
                    "R0000003;T1;2019-03-01;\n", encoding="utf-8")
    result = load_export(con, tmp_path, contract("register_employment"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (4, 2, 2)
    assert con.execute("SELECT person_id, _line FROM raw.register_employment ORDER BY _line").fetchall() == [
        ("R0000001", 2), ("R0000003", 5)]
    assert [r[0] for r in con.execute("SELECT line FROM audit.rejected_rows ORDER BY line").fetchall()] == [3, 4]


@pytest.mark.parametrize("engine", ["sql", "pandera"])
def test_a_file_whose_every_line_is_broken_keeps_each_line_with_its_reason(tmp_path, con, engine):
    """No record reaches the rules (each line has a field too many): nothing is accepted, and the
    lines are still read, rejected and accounted for, as in a file with good lines beside them."""
    write_delivery(tmp_path)
    load_export(con, tmp_path, contract("clients"), engine=engine)
    path = write_csv(tmp_path, "jobs", [row("jobs"), row("jobs", person_id="P000002")])
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *(line + ";x" for line in lines)]) + "\n", encoding="utf-8")
    result = load_export(con, tmp_path, contract("jobs"), known_persons={"P000001"}, engine=engine)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (2, 0, 2)
    assert con.execute("SELECT count(*) FROM raw.jobs").fetchall() == [(0,)]
    assert con.execute("SELECT rows_read, rows_accepted, rows_rejected FROM audit.loads WHERE export = 'jobs'"
                       ).fetchall() == [(2, 0, 2)]
    assert con.execute("SELECT line, rule FROM audit.rejected_rows WHERE export = 'jobs' ORDER BY line"
                       ).fetchall() == [(2, "structure"), (3, "structure")]
