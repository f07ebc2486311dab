"""The website's costs section: costs per county and year as they are, a per-client figure
only where the count of people it divides by is publishable, the counts themselves never.

The warehouse is the synthetic study's (read-only), copied without its models, with
marts.costs replaced by a small table whose figures are worked out by hand below.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.figures import AREA
from ips_eval.publish.disclosure import HIDDEN_LABEL, audit, protect
from ips_eval.publish.site.build import _column_kinds, build_site
from ips_eval.publish.site.scan import scan_site
from ips_eval.publish.site.tables import (
    COST_PER_PERSON, COSTS_TABLE, _costs_table, costs_links, costs_spec, person_ids, read_site_data,
)

from tests.publish.test_site import CUTOFF, PROVENANCE

# county, year, cost, coach FTE, client-years, started, employed, employed without pay subsidy,
# clients in service
COUNTY_YEARS = [
    ("X", 2023, 100_000.0, 2.0, 10.0, 20, 8, 3, 25),  # 3 < T: X 2023's cost per unsubsidised is hidden
    ("X", 2024, 120_000.0, 2.5, 15.0, 10, 6, 6, 4),  # 4 < T in service: its cost per client-year is hidden
    ("Y", 2023, 80_000.0, 1.5, 8.0, 16, 5, 5, 20),
    ("Y", 2024, 90_000.0, 1.5, 12.0, 12, 7, 6, 18),  # unsubsidised within employed
]


def _costs_frame() -> pd.DataFrame:
    """marts.costs for COUNTY_YEARS with every total (county x ALL, ALL x year, ALL x ALL)."""
    rows = []
    for alue in ("X", "Y", "ALL"):
        for vuosi in ("2023", "2024", "ALL"):
            parts = [r for r in COUNTY_YEARS if alue in (r[0], "ALL") and vuosi in (str(r[1]), "ALL")]
            cost, fte, cy, started, employed, unsub, served = (sum(r[i] for r in parts) for i in range(2, 9))
            rows.append({"alue": alue, "vuosi": vuosi, "cost_eur": cost, "coach_fte": fte, "client_years": cy,
                         "cost_per_client_year": cost / cy, "cost_per_client": cost / started,
                         "cost_per_employed": cost / employed, "cost_per_unsubsidised": cost / unsub,
                         "n_started": started, "n_employed": employed, "n_unsubsidised": unsub,
                         "n_in_service": served})  # over all years: a sum here, each client once in the mart
    return pd.DataFrame(rows)


def _warehouse(synthetic_study, path: Path, costs: pd.DataFrame) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(f"ATTACH '{synthetic_study['warehouse']}' AS src (READ_ONLY)")
        for schema, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'src' AND ("
            "schema_name IN ('ref', 'audit') OR (schema_name = 'marts' AND table_name NOT IN "
            "('state_sequences', 'costs')) OR (schema_name = 'staging' AND table_name IN ('clients', "
            "'register_population')))"
        ).fetchall():
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM src.{schema}.{table}")
        con.execute("DETACH src")
        con.register("costs_frame", costs)
        con.execute("CREATE TABLE marts.costs AS SELECT * FROM costs_frame")
    return path


@pytest.fixture(scope="module")
def costs_site(synthetic_study, tmp_path_factory):
    root = tmp_path_factory.mktemp("costs_site")
    db = _warehouse(synthetic_study, root / "costs.duckdb", _costs_frame())
    with duckdb.connect(str(db), read_only=True) as con:
        result = build_site(con, root / "site", CUTOFF, PROVENANCE, None)
        data = read_site_data(con)
        ids = person_ids(con)
    return {"result": result, "data": data, "ids": ids, "warehouse": db}


def _copy(costs_site, path: Path) -> Path:
    """A copy of the module's costs warehouse (the study's, with the costs worked out by hand)."""
    shutil.copyfile(costs_site["warehouse"], path)
    return path


def _download(result) -> pd.DataFrame:
    return pd.read_csv(result.snapshot_dir / "data" / "county_costs.csv", dtype=str, keep_default_na=False)


def test_costs_are_published_as_they_are(costs_site):
    costs = _download(costs_site["result"]).set_index(["alue", "vuosi"])
    # the service's own figures, per county, year and total: 100 000 + 120 000 = 220 000 for X
    assert costs.at[("X", "2023"), "cost_eur"] == "100000"
    assert costs.at[("X", "ALL"), "cost_eur"] == "220000"
    assert costs.at[("ALL", "ALL"), "cost_eur"] == "390000"
    assert costs.at[("X", "2024"), "coach_fte"] == "2.500"
    assert costs.at[("ALL", "ALL"), "coach_fte"] == "7.500"
    assert costs.at[("X", "2023"), "cost_per_client_year"] == "10000"  # 100 000 / 10
    assert costs.at[("ALL", "ALL"), "cost_per_client_year"] == "8667"  # 390 000 / 45


def test_per_client_figure_shown_only_with_a_publishable_denominator(costs_site):
    costs = _download(costs_site["result"]).set_index(["alue", "vuosi"])
    # 390 000 / 58 clients who started = 6 724.14; / 26 employed = 15 000
    assert costs.at[("ALL", "ALL"), "cost_per_client"] == "6724"
    assert costs.at[("ALL", "ALL"), "cost_per_employed"] == "15000"
    # ALL 2024: 12 of the 13 employed without pay subsidy, so the one with a subsidy would be read
    # off as 13 - 12 (the complement rule holds for every nesting of counts): hidden; ALL 2023's
    # 3 + 5 is hidden with X 2023's 3, and the all-years figure would give them away
    assert costs.at[("ALL", "2024"), "cost_per_unsubsidised"] == HIDDEN_LABEL
    assert costs.at[("ALL", "2023"), "cost_per_unsubsidised"] == HIDDEN_LABEL
    assert costs.at[("ALL", "ALL"), "cost_per_unsubsidised"] == HIDDEN_LABEL
    # X 2023: 3 clients employed without pay subsidy (< 5): its cost per such client is hidden
    assert costs.at[("X", "2023"), "cost_per_unsubsidised"] == HIDDEN_LABEL
    # X 2023's 20 clients who started are publishable: 100 000 / 20
    assert costs.at[("X", "2023"), "cost_per_client"] == "5000"
    # every figure shown divides by a count of at least T; a hidden one never shows a number
    denominators = {(a, str(y)): {"cost_per_client": s, "cost_per_employed": e, "cost_per_unsubsidised": u}
                    for a, y, *_, s, e, u, _ in COUNTY_YEARS}
    for (alue, vuosi), row in costs.iterrows():
        for figure in ("cost_per_client", "cost_per_employed", "cost_per_unsubsidised"):
            n = denominators.get((alue, vuosi), {}).get(figure)
            if n is not None and n < T:
                assert row[figure] == HIDDEN_LABEL, (alue, vuosi, figure)


def test_cost_per_client_year_shown_only_with_enough_clients_in_service(costs_site):
    costs = _download(costs_site["result"]).set_index(["alue", "vuosi"])
    # X 2024: 4 clients in service (< T): hidden, and so is one more county's 2024 figure (else
    # ALL 2024 minus Y 2024 would give X's client-years) and X's all-years figure
    assert costs.at[("X", "2024"), "cost_per_client_year"] == HIDDEN_LABEL
    assert costs.at[("Y", "2024"), "cost_per_client_year"] == HIDDEN_LABEL
    assert costs.at[("X", "ALL"), "cost_per_client_year"] == HIDDEN_LABEL
    assert costs.at[("Y", "2023"), "cost_per_client_year"] == "10000"  # 80 000 / 8, 20 in service
    assert costs.at[("ALL", "2024"), "cost_per_client_year"] == "7778"  # 210 000 / 27, 22 in service


def test_denominators_are_not_published(costs_site):
    costs = _download(costs_site["result"])
    assert not [c for c in costs.columns if c.startswith("n_")]
    assert "client_years" not in costs.columns


def test_costs_section_in_three_languages(costs_site):
    snap = costs_site["result"].snapshot_dir
    for page, title in (("index.html", "Kustannukset alueittain"), ("sv/index.html", "Kostnader per område"),
                        ("en/index.html", "Costs by county")):
        text = (snap / page).read_text(encoding="utf-8")
        assert 'id="costs"' in text and title in text
    en = (snap / "en" / "index.html").read_text(encoding="utf-8")
    section = en[en.index('id="costs"'):en.index('id="scores"')]
    assert "220,000" in section  # X, all years: 100 000 + 120 000
    assert "All years" in section and "€ per employed client" in section
    assert 'data-kind="money"' in section
    fi = (snap / "index.html").read_text(encoding="utf-8")
    assert "220\u00a0000" in fi[fi.index('id="costs"'):fi.index('id="scores"')]


def test_scan_passes_on_the_costs_site(costs_site):
    result, data = costs_site["result"], costs_site["data"]
    # the build refuses when its scan fails; scan the published site again, as the pipeline does
    report = scan_site(result.site_dir, known_ids=costs_site["ids"], specs=data.specs,
                       columns=_column_kinds(data))
    assert any(f.endswith("data/county_costs.csv") for f in report.scanned)
    kinds = _column_kinds(data)["county_costs"]
    assert {kinds[c] for c in ("cost_eur", "cost_per_client", "cost_per_employed", "cost_per_unsubsidised")} == {
        "money"}


def test_no_costs_reported_gives_a_sentence_and_no_download(synthetic_study, tmp_path):
    db = _warehouse(synthetic_study, tmp_path / "empty.duckdb", _costs_frame().iloc[0:0])
    with duckdb.connect(str(db), read_only=True) as con:
        result = build_site(con, tmp_path / "site", CUTOFF, PROVENANCE, None)
    assert not (result.snapshot_dir / "data" / "county_costs.csv").exists()
    assert "No costs were reported in this delivery." in (result.snapshot_dir / "en" / "index.html").read_text(
        encoding="utf-8")
    assert "Tässä aineistossa ei ilmoitettu kustannuksia." in (result.snapshot_dir / "index.html").read_text(
        encoding="utf-8")


def test_two_small_years_are_protected_by_hiding_the_neighbouring_county_years():
    """Z has 4 + 4 clients employed without pay subsidy, 8 in all. The page never shows the
    counts, only per-client figures ("..", whatever the count), so a reader knows a hidden
    count only as a whole number >= 0. Hiding Z's two years is not enough (each year's
    counties add up to ALL: W 2023 = 9 - Z 2023 would give it away), so W's two years go too
    (the cheapest cells of those lines); then with t = Z 2023: Z 2024 = 8 - t, W 2023 = 9 - t,
    W 2024 = 1 + t, every count >= 0 and at most its employed count (8 and 10): t in 0..8.
    Everything else is published, the per-year figures of ALL counties included."""
    rows = [  # county, year, cost, started, employed, unsubsidised
        ("W", "2023", 50_000.0, 20, 10, 5), ("W", "2024", 60_000.0, 20, 10, 5),
        ("Z", "2023", 40_000.0, 20, 8, 4), ("Z", "2024", 40_000.0, 20, 8, 4),
    ]
    frame = []
    for alue in ("W", "Z", "ALL"):
        for vuosi in ("2023", "2024", "ALL"):
            parts = [r for r in rows if alue in (r[0], "ALL") and vuosi in (r[1], "ALL")]
            cost, started, employed, unsub = (sum(r[i] for r in parts) for i in range(2, 6))
            frame.append({"alue": alue, "vuosi": vuosi, "cost_eur": cost, "coach_fte": 1.0,
                          "cost_per_client_year": cost / 10, "cost_per_client": cost / started,
                          "cost_per_employed": cost / employed, "cost_per_unsubsidised": cost / unsub,
                          "n_started": started, "n_employed": employed, "n_unsubsidised": unsub,
                          "n_in_service": started})  # every client in service: publishable everywhere
    pub = protect({COSTS_TABLE: pd.DataFrame(frame)}, [costs_spec()])
    shown = {(r["alue"], r["vuosi"]): r for r in _costs_table(pub.published(COSTS_TABLE)).rows}
    hidden = {(a, v, f) for (a, v), r in shown.items() for f in COST_PER_PERSON if r[f] == HIDDEN_LABEL}
    assert hidden == {(a, v, "cost_per_unsubsidised") for a in ("W", "Z") for v in ("2023", "2024")}
    assert shown[("Z", "ALL")]["cost_per_unsubsidised"] == "10000"  # 80 000 / 8
    assert shown[("ALL", "2024")]["cost_per_unsubsidised"] == "11111"  # 100 000 / 9
    assert shown[("ALL", "ALL")]["cost_per_unsubsidised"] == "10556"  # 190 000 / 18 = 10 555.6
    assert shown[("W", "ALL")]["cost_per_client"] == "2750"  # 110 000 / 40
    assert shown[("Z", "2023")]["cost_eur"] == "40000"  # costs themselves are published as they are
    assert shown[("Z", "2023")]["cost_per_employed"] == "5000"  # 40 000 / 8
    ranges = {(r.row, r.column): (r.low, r.high) for r in pub.ranges}
    assert ranges[("alue=Z, vuosi=2023", "n_unsubsidised")] == (0, 8)
    assert ranges[("alue=W, vuosi=2024", "n_unsubsidised")] == (1, 9)


def _with_model8(db: Path, status: str, estimate: tuple[float, float, float] | None) -> Path:
    """Model 8's fit-log row and, when given, its term (estimate, ci_low, ci_high) in models.*."""
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS models")
        con.execute("CREATE TABLE models.fit_log (model VARCHAR, status VARCHAR, reason VARCHAR, n BIGINT,"
                    " converged BOOLEAN)")
        con.execute("INSERT INTO models.fit_log VALUES ('cost_effectiveness', ?, 'test', 3609, TRUE)", [status])
        con.execute("CREATE TABLE models.estimates (model VARCHAR, term VARCHAR, estimate DOUBLE, ci_low DOUBLE,"
                    " ci_high DOUBLE, p_value DOUBLE, n BIGINT, estimator VARCHAR)")
        con.execute("CREATE TABLE models.diagnostics (model VARCHAR, diagnostic VARCHAR, value DOUBLE,"
                    " threshold DOUBLE, passed BOOLEAN, rule VARCHAR, detail VARCHAR)")
        if estimate:
            con.execute("INSERT INTO models.estimates VALUES ('cost_effectiveness', 'cost_per_employed_month_gained',"
                        " ?, ?, ?, NULL, 3609, 'ipw')", list(estimate))
    return db


def test_cost_per_employed_month_gained_is_shown_in_three_languages_when_fitted(costs_site, tmp_path):
    db = _with_model8(_copy(costs_site, tmp_path / "m8.duckdb"), "ok", (2236.4, 1990.2, 2519.8))
    with duckdb.connect(str(db), read_only=True) as con:
        result = build_site(con, tmp_path / "site", CUTOFF, PROVENANCE, None)
        data = read_site_data(con)
        ids = person_ids(con)
    got = pd.read_csv(result.snapshot_dir / "data" / "cost_effectiveness.csv", dtype=str, keep_default_na=False)
    assert got.to_dict("records") == [{"cost_per_employed_month_gained": "2236", "ci_low": "1990",
                                       "ci_high": "2520"}]
    snap = result.snapshot_dir
    for page, title in (("index.html", "Kustannus työssäolokuukautta kohden"),
                        ("sv/index.html", "Kostnad per vunnen sysselsatt månad"),
                        ("en/index.html", "Cost per employed month gained")):
        text = (snap / page).read_text(encoding="utf-8")
        section = text[text.index('id="costs"'):text.index('id="scores"')]
        assert title in section, page
    en = (snap / "en" / "index.html").read_text(encoding="utf-8")
    section = en[en.index('id="costs"'):en.index('id="scores"')]
    assert ">2236<" in section and ">1990<" in section and ">2520<" in section
    assert _column_kinds(data)["cost_effectiveness"]["cost_per_employed_month_gained"] == "money"
    report = scan_site(result.site_dir, known_ids=ids, specs=data.specs, columns=_column_kinds(data))
    assert any(f.endswith("data/cost_effectiveness.csv") for f in report.scanned)


@pytest.mark.parametrize("status, estimate", [("not_fitted", None), ("ok", (2236.4, -150.0, 2519.8)),
                                             ("ok", (2236.4, 1990.2, float("inf")))])
def test_cost_per_employed_month_gained_is_absent_unless_its_gain_is_above_zero(costs_site, tmp_path, status,
                                                                                estimate):
    db = _with_model8(_copy(costs_site, tmp_path / "m8.duckdb"), status, estimate)
    with duckdb.connect(str(db), read_only=True) as con:
        result = build_site(con, tmp_path / "site", CUTOFF, PROVENANCE, None)
    assert not (result.snapshot_dir / "data" / "cost_effectiveness.csv").exists()
    assert "Cost per employed month gained" not in (result.snapshot_dir / "en" / "index.html").read_text(
        encoding="utf-8")


def test_costs_counts_are_linked_to_the_headline_counts():
    """A county's costs counts over all years are its headline counts (every start year has
    costs): a per-year figure hidden in the costs table alone would be given away by the
    county table, so the one publication sees both."""
    costs = pd.DataFrame({"alue": ["A", "A", "ALL", "ALL"], "vuosi": ["2023", "ALL", "2023", "ALL"],
                          "n_started": [7, 7, 9, 9], "n_employed": [3, 3, 3, 3], "n_unsubsidised": [1, 1, 1, 1]})
    county = pd.DataFrame({"alue": ["A", "B", "ALL"], "n_clients": [7, 2, 9], "n_competitive": [3, 0, 3],
                           "n_unsubsidised": [1, 0, 1]})
    [link] = costs_links(costs, county)
    # the year rows of A and of ALL, summed per area
    assert link.sense == "==" and link.parts_rows[AREA] == frozenset({"A", "ALL"}) and link.by == (AREA,)
    assert link.parts_rows["vuosi"] == frozenset({"2023"})
    assert link.columns == {"n_started": "n_clients", "n_employed": "n_competitive",
                            "n_unsubsidised": "n_unsubsidised"}
    costs.loc[1, "n_started"] = 6  # a client who started in a year without reported costs
    assert costs_links(costs, county)[0].sense == "<="
    # an earlier snapshot's first-shown years: within its headline, whatever the all-years rows say
    assert costs_links(costs.iloc[:1], county, years=frozenset({"2023"}))[0].sense == "<="


def test_the_synthetic_study_publishes_per_year_costs(synthetic_study):
    """Pohjois-Savo has 4 + 4 clients employed without pay subsidy in its two years: those
    and their partners are hidden, but most per-year per-client figures are published, and
    the employment tables are protected in the same publication."""
    with duckdb.connect(str(synthetic_study["warehouse"]), read_only=True) as con:
        data = read_site_data(con)
    shown = {(r["alue"], r["vuosi"]): r for r in data.costs.rows}
    assert shown[("Pohjois-Savo", "2023")]["cost_per_unsubsidised"] == HIDDEN_LABEL
    per_year = [r[f] for (a, v), r in shown.items() if v != "ALL" for f in COST_PER_PERSON]
    assert sum(x != HIDDEN_LABEL for x in per_year) > len(per_year) / 3
    [pub] = [p for p in data.publications if COSTS_TABLE in p.model.tables]
    assert "employment_outcomes" in pub.model.tables
    # the site's audit reports exact ranges: the smallest and largest value of every hidden cell
    # (the shortcut of `exact=False` reports narrower ranges for some 50 of them here)
    exact = audit(replace(pub, ranges=None), exact=True)
    assert set(pub.ranges) == set(exact.ranges)


def test_a_withdrawal_in_a_completed_year_leaves_its_published_row_unchanged(costs_site, tmp_path):
    """Rule 8 for the costs section. The 2024Q4 snapshot (cut-off 2024-12-31) shows 2023 and
    2024; then a client of X who started in 2023 withdraws (X 2023: 19 started, cost per
    client 100 000 / 19 = 5 263 in the warehouse). The 2025Q1 snapshot repeats X 2023 as first
    shown (100 000 / 20 = 5 000), and its all-years rows, sums of the years shown, are
    unchanged too, so no difference tells that anyone left. A
    snapshot whose cut-off leaves a year running (2024-09-30) does not show that year."""
    # the 2024Q4 snapshot is the module's costs site, published on a copy of its warehouse
    q4 = costs_site["result"]
    site, db = tmp_path / "site", tmp_path / "q4.duckdb"
    shutil.copytree(q4.site_dir, site)
    shutil.copyfile(costs_site["warehouse"], db)
    with duckdb.connect(str(db), read_only=True) as con:
        q3 = build_site(con, tmp_path / "site_q3", dt.date(2024, 9, 30), PROVENANCE, None)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE marts.costs SET n_started = n_started - 1, cost_per_client = cost_eur / (n_started - 1)"
                    " WHERE alue IN ('X', 'ALL') AND vuosi IN ('2023', 'ALL')")
        assert round(con.execute("SELECT cost_per_client FROM marts.costs WHERE alue = 'X' AND vuosi = '2023'"
                                 ).fetchone()[0]) == 5263
        q1 = build_site(con, site, dt.date(2025, 3, 31), {**PROVENANCE, "run_id": "run-2025Q1"}, None)
    before, after = _download(q4).set_index(["alue", "vuosi"]), _download(q1).set_index(["alue", "vuosi"])
    assert before.at[("X", "2023"), "cost_per_client"] == "5000"
    # X 2024: 10 started, 6 employed, so 4 without a job (the complement rule of every nesting):
    # its per-client figures are hidden, and so is the all-years figure that sums them
    assert before.at[("X", "ALL"), "cost_per_client"] == HIDDEN_LABEL
    pd.testing.assert_frame_equal(after, before)
    assert set(_download(q3)["vuosi"]) == {"2023", "ALL"}
    assert _download(q3).set_index(["alue", "vuosi"]).at[("X", "ALL"), "cost_eur"] == "100000"  # 2023 alone
