"""Every contract accepts its good rows and rejects each kind of bad row with the rule and
column it breaks; the contracts themselves hold what docs/exports.md says."""

import datetime as dt

import duckdb
import pytest

from deliveries import DEFAULTS, contract, row, write_csv, write_delivery
from ips_eval.definitions import SCALES
from ips_eval.ingest.contracts import code_lists, load_contracts
from ips_eval.ingest.load import load_delivery

C = dt.date(2024, 12, 31)

BAD_TYPE = {
    ("fi", "date"): "31.2.2024", ("iso", "date"): "2024-02-30", ("fi", "timestamp"): "5.4.2023 25:99",
    ("fi", "integer"): "kolme", ("iso", "integer"): "1985.5", ("fi", "decimal"): "20.5.1",
    ("iso", "decimal"): "12,5", ("fi", "yes_no"): "kyllä", ("iso", "month"): "2020-13",
}


def bad_cases(export: str) -> list[tuple[dict, str, str]]:
    """(row, column, rule) for every rule a column of the contract carries."""
    c = contract(export)
    cases = []
    for col in c.columns:
        if col.required:
            cases.append((row(export, **{col.header: ""}), col.name, "required"))
        if (c.dialect, col.type) in BAD_TYPE:
            cases.append((row(export, **{col.header: BAD_TYPE[(c.dialect, col.type)]}), col.name, "type"))
        if col.codes:
            cases.append((row(export, **{col.header: "Tuntematon"}), col.name, "code"))
        if col.type == "icd10":
            cases.append((row(export, **{col.header: "skitsofrenia"}), col.name, "code"))
        if col.max is not None and col.type == "integer":
            cases.append((row(export, **{col.header: str(int(col.max) + 1)}), col.name, "range"))
        if col.min is not None and col.type == "decimal":
            cases.append((row(export, **{col.header: "-1"}), col.name, "range"))
        if col.type == "decimal":  # exact to the cent: a third decimal is not of the type
            sep = "," if c.dialect == "fi" else "."
            cases.append((row(export, **{col.header: f"1{sep}555"}), col.name, "type"))
        if col.type == "pseudonym":
            cases.append((row(export, **{col.header: "ab-1"}), col.name, "pseudonym"))
    for rule in c.row_rules:
        if rule["rule"] == "only_for":  # a value where the rule says blank: another `when` value
            column, when = c.column(rule["column"]), c.column(rule["when"])
            other = next(v for v in code_lists()[when.codes] if v != rule["equals"])
            cases.append((row(export, **{when.header: other, column.header: DEFAULTS[export][column.header]}),
                          column.name, "only_for"))
            continue
        if rule["rule"] == "not_after":  # the date a day after the one it may not pass
            column, limit = c.column(rule["column"]), c.column(rule["limit"])
            d, m, y = (int(x) for x in DEFAULTS[export][limit.header].split("."))
            later = dt.date(y, m, d) + dt.timedelta(days=1)
            cases.append((row(export, **{column.header: f"{later.day}.{later.month}.{later.year}"}),
                          column.name, "not_after"))
            continue
        start, end = c.column(rule["start"]), c.column(rule["end"])
        before = "1.1.2000" if c.dialect == "fi" else "2000-01-01"
        r = row(export, **{end.header: before})
        cases.append((r, end.name, "end_before_start"))
    if c.references:
        cases.append((row(export, **{c.column("person_id").header: "NOBODY99"}), "person_id", "orphan"))
    return cases


@pytest.fixture(scope="module")
def every_contract_loaded(tmp_path_factory):
    """One delivery holding, for every export, its good row followed by its bad rows
    (`bad_cases`), loaded once: the tests below only read it. The exports that refer to
    clients find their good row's person among the clients (the clients' good row, the only
    one accepted)."""
    folder = tmp_path_factory.mktemp("every_contract")
    write_delivery(folder, {export: [row(export)] + [r for r, _, _ in bad_cases(export)] for export in load_contracts()})
    con = duckdb.connect()
    results = load_delivery(con, folder, C)
    yield con, results
    con.close()


@pytest.mark.parametrize("export", list(load_contracts()))
def test_contract_accepts_good_rows_and_rejects_each_bad_row(every_contract_loaded, export):
    con, results = every_contract_loaded
    cases = bad_cases(export)
    assert cases, f"{export}: the contract has no rules to test"
    loaded = results[export]
    assert loaded.rows_read == 1 + len(cases)
    assert loaded.rows_accepted == 1
    assert loaded.rows_rejected == len(cases)
    rejected = {
        line: (column, rule)
        for line, column, rule in con.execute(
            'SELECT line, "column", rule FROM audit.rejected_rows WHERE export = ?', [export]
        ).fetchall()
    }
    for i, (_, column, rule) in enumerate(cases):
        line = 3 + i  # header = 1, the good row = 2
        assert rejected.get(line) == (column, rule), f"{export} line {line}: expected {column}/{rule}"
    # the accepted row is the good one, typed
    assert con.execute(f"SELECT _line FROM raw.{export}").fetchall() == [(2,)]


def test_every_export_of_exports_md_has_a_contract():
    names = set(load_contracts())
    assert names == {
        "clients", "jobs", "survey_baseline", "survey_midpoint", "survey_final", "fidelity_reviews", "costs",
        "coach_survey", "care_staff_survey", "employer_survey", "register_cohort", "register_employment",
        "register_earnings", "register_pay_subsidy", "register_benefits", "register_psychiatric_care",
    }
    for c in load_contracts().values():
        assert c.key or c.is_register or c.export == "fidelity_reviews", c.export
        assert all(col.header for col in c.columns)


def test_county_code_list_is_the_21_wellbeing_services_counties_plus_helsinki():
    counties = code_lists()["counties"]
    assert len(counties) == 22 and len(set(counties)) == 22
    assert "Helsinki" in counties and "Varsinais-Suomi" in counties and "Kainuu" in counties


def test_contract_headers_and_record_keys_match_exports_md():
    assert contract("survey_final").column("person_id").header == "asiakastunnus"
    assert contract("jobs").key == ("person_id", "tyonantaja", "alkupvm")
    assert contract("jobs").version == "paivitetty"
    assert contract("clients").version == "paivitetty"
    assert contract("costs").key == ("alue", "vuosi", "kustannuslaji") and contract("costs").version == "paivitetty"
    assert contract("costs").optional and contract("costs").column("euroa").duckdb_type == "DECIMAL(18,2)"
    assert [c.header for c in contract("fidelity_reviews").columns][3:] == [f"k{i:02d}" for i in range(1, 26)]
    assert all(c.required and c.min == 1 and c.max == 5 for c in contract("fidelity_reviews").columns[3:])
    for export, key in (("coach_survey", ("person_id", "vastauspvm")), ("care_staff_survey", ("vastaustunnus",)),
                        ("employer_survey", ("vastaustunnus",))):
        c = contract(export)
        assert c.optional and c.key == key and c.version == "paivitetty", export
    assert contract("coach_survey").column("person_id").header == "asiakastunnus"
    assert contract("coach_survey").references == {"person_id": "clients"}
    assert not contract("care_staff_survey").person_column and not contract("employer_survey").person_column


def test_item_ranges_come_from_the_scales():
    # Each scale item's range is its scale's, wherever the item is delivered; stigma items are 1-4.
    for c in load_contracts().values():
        for col in c.columns:
            for scale in SCALES.values():
                if col.name in scale.items and scale.source in ("client", "coach", "care_staff"):
                    assert (col.min, col.max) == (scale.min, scale.max), (c.export, col.name)
    assert (contract("survey_final").column("stigma_10").min, contract("survey_final").column("stigma_10").max) == (1, 4)
    # the later items are optional columns of the client surveys they are asked in
    assert "stigma_1" in {c.name for c in contract("survey_baseline").columns}
    assert "stigma_1" not in {c.name for c in contract("survey_midpoint").columns}
    assert not any(contract("survey_final").column(n).required for n in ("stigma_1", "koettu_8", "tyytyvaisyys"))


def test_defaults_cover_every_column():
    for export, defaults in DEFAULTS.items():
        assert set(defaults) == {c.header for c in contract(export).columns}, export


def test_declared_scales_and_survey_items_are_columns_of_their_exports():
    from ips_eval.definitions import SURVEY_ITEMS, SURVEY_WAVES

    exports = {"coach": ["coach_survey"], "care_staff": ["care_staff_survey"], "employer": ["employer_survey"]}
    for scale in SCALES.values():
        where = ([SURVEY_WAVES[w] for w in scale.waves] if scale.source == "client" else exports[scale.source])
        for export in where:
            names = {c.name for c in contract(export).columns}
            assert set(scale.items) <= names, (scale.name, export, set(scale.items) - names)
    for source, items in SURVEY_ITEMS.items():
        c = contract("survey_final" if source == "client" else exports[source][0])
        for item, kind in items:
            col = c.column(item)
            assert (col.type == "yes_no") == (kind == "yes_no"), (source, item)
            assert kind == "yes_no" or (col.min, col.max) == (1, 5), (source, item)
