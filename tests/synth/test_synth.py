"""The synthetic delivery: formats, determinism, planted errors, and the published figures.

The figures are recomputed here with a small, independent implementation of the analysis
plan's rules (pandas over the written files), not with the generator's own flags, so a
generator that wrote something other than it meant fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from ips_eval import CONTRACTS_DIR, YAML_LOADER
from ips_eval.ingest.identity import find_identity_codes, make_identity_code
from ips_eval.definitions import AGE_GROUPS
from ips_eval.synth import SynthConfig, write_delivery

C = dt.date(2024, 12, 31)
PROJECT = ("clients", "jobs", "survey_baseline", "survey_midpoint", "survey_final", "fidelity_reviews")
VOICES = ("coach_survey", "care_staff_survey", "employer_survey")
REGISTER = ("cohort", "employment", "earnings", "pay_subsidy", "benefits", "psychiatric_care")
SMALL = dict(cohort=1500)

WAVE2 = {  # county: (clients, competitive)
    "Varsinais-Suomi": (124, 48), "Keski-Suomi": (75, 22), "Keski-Pohjanmaa": (73, 25),
    "Kainuu": (66, 36), "Pohjanmaa": (46, 14), "Pohjois-Savo": (44, 14),
}
FIDELITY = {"Varsinais-Suomi": 111, "Keski-Suomi": 102, "Keski-Pohjanmaa": 108, "Kainuu": 103,
            "Pohjanmaa": 101, "Pohjois-Savo": 98}


# ---- an independent reader and validator of the project exports -----------------------------

SCALES = yaml.load((CONTRACTS_DIR / "scales.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)["scales"]


def contract(export: str) -> dict:
    """The contract as YAML, an item's range taken from the scale it names."""
    spec = yaml.load((CONTRACTS_DIR / f"{export}.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)
    for col in spec["columns"]:
        if "scale" in col:
            col["min"], col["max"] = SCALES[col["scale"]]["min"], SCALES[col["scale"]]["max"]
    return spec


CODES = yaml.load((CONTRACTS_DIR / "codes.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)


def decode(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_fi(path: Path, export: str) -> pd.DataFrame:
    """All rows as strings, canonical column names, plus `line` (header = 1)."""
    lines = decode(path).splitlines()
    cols = contract(export)["columns"]
    by_header = {c.get("header", c["name"]).lower(): c["name"] for c in cols}
    header = [by_header[h.strip().lower()] for h in lines[0].split(";")]
    rows = [ln.split(";") for ln in lines[1:]]
    assert all(len(r) == len(header) for r in rows)
    df = pd.DataFrame(rows, columns=header)
    df["line"] = np.arange(2, len(df) + 2)
    return df


def parse_date(s: str) -> dt.date | None:
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", s)
    if not m:
        raise ValueError(s)
    return dt.date(int(m[3]), int(m[2]), int(m[1]))


def parse_ts(s: str) -> dt.datetime:
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})", s)
    if not m:
        raise ValueError(s)
    return dt.datetime(int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]))


def violations(df: pd.DataFrame, export: str, known_persons: set[str] | None) -> dict[int, set[tuple[str, str]]]:
    """line -> {(column, rule)} for every rule a row breaks (contract-driven)."""
    spec = contract(export)
    out: dict[int, set[tuple[str, str]]] = {}
    for rec in df.to_dict("records"):
        bad: set[tuple[str, str]] = set()
        parsed = {}
        for col in spec["columns"]:
            name, v = col["name"], rec[col["name"]]
            if v == "" or v in col.get("missing_values", []):
                if col.get("required"):
                    bad.add((name, "required"))
                continue
            t = col["type"]
            try:
                if t == "pseudonym":
                    if not re.fullmatch(r"[A-Za-z0-9]{6,20}", v):
                        bad.add((name, "pseudonym"))
                elif t == "code":
                    if v not in [str(x) for x in CODES[col["codes"]]["values"]]:
                        bad.add((name, "code"))
                elif t == "yes_no":
                    if v not in ("K", "E"):
                        bad.add((name, "type"))
                elif t in ("integer", "decimal"):
                    if not re.fullmatch(r"-?\d+" if t == "integer" else r"-?\d+(,\d+)?", v):
                        raise ValueError(v)
                    x = float(v.replace(",", "."))
                    if ("min" in col and x < col["min"]) or ("max" in col and x > col["max"]):
                        bad.add((name, "range"))
                elif t == "date":
                    parsed[name] = parse_date(v)
                elif t == "timestamp":
                    parse_ts(v)
                elif t == "icd10":
                    if not re.fullmatch(r"[A-Z]\d{2}(\.\d{1,2})?", v):
                        bad.add((name, "type"))
            except ValueError:
                bad.add((name, "type"))
        for rule in spec.get("row_rules", []):
            if rule["rule"] == "not_after":
                x, limit = parsed.get(rule["column"]), parsed.get(rule["limit"])
                if x and limit and x > limit:
                    bad.add((rule["column"], "not_after"))
                continue
            s, e = parsed.get(rule["start"]), parsed.get(rule["end"])
            if s and e and e < s:
                bad.add((rule["end"], "end_before_start"))
        if known_persons is not None and not any(r == "pseudonym" for _, r in bad):
            if rec["person_id"] not in known_persons:
                bad.add(("person_id", "orphan"))
        if bad:
            out[int(rec["line"])] = bad
    return out


def load_valid(root: Path, exports: tuple[str, ...] = PROJECT) -> dict[str, pd.DataFrame]:
    """Every project export with invalid rows dropped; and the lines found invalid."""
    out, bad = {}, {}
    clients = read_fi(root / "clients.csv", "clients")
    b = violations(clients, "clients", None)
    out["clients"] = clients[~clients.line.isin(b)]
    bad["clients.csv"] = b
    persons = set(out["clients"].person_id)
    for export in exports[1:]:
        df = read_fi(root / f"{export}.csv", export)
        b = violations(df, export, persons if export != "fidelity_reviews" else None)
        out[export] = df[~df.line.isin(b)]
        bad[f"{export}.csv"] = b
    out["_bad"] = bad
    return out


def current(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Latest `paivitetty` per key; keys compared as values (a date may be written 3.4. or 03.04.)."""
    df = df.drop(columns="line").drop_duplicates()
    df = df.assign(_ts=df.paivitetty.map(parse_ts)).sort_values("_ts")
    key = [k if k != "alkupvm" else "_start" for k in key]
    df = df.assign(_start=df.alkupvm.map(parse_date)) if "_start" in key else df
    assert not df.duplicated(key + ["_ts"]).any(), "two versions with the same update time"
    return df.groupby(key, sort=False, dropna=False).tail(1)


def figures(root: Path, cutoff: dt.date = C, exports: tuple[str, ...] = PROJECT) -> dict:
    """Headline figures per the analysis plan, computed from the files."""
    v = load_valid(root, exports)
    cl = current(v["clients"], ["person_id"])
    d = lambda s: s.map(lambda x: parse_date(x) if x else None)  # noqa: E731
    cl = cl.assign(S=d(cl.aloituspvm), consent=d(cl.tutkimussuostumus), withdrawn=d(cl.suostumus_peruttu))
    pop = cl[cl.consent.notna() & (cl.consent <= cutoff) & (cl.S <= cutoff)
             & ~(cl.withdrawn.notna() & (cl.withdrawn <= cutoff))]
    pop = pop.assign(smi=pop.dg.str.replace(".", "", regex=False).str.match(
        r"^(F2\d|F30|F31|F322|F323|F332|F333)"))
    jobs = current(v["jobs"], ["person_id", "tyonantaja", "alkupvm"])
    jobs = jobs.assign(start=d(jobs.alkupvm)).merge(pop[["person_id", "S"]], on="person_id")
    in_window = (jobs.start >= jobs.S) & (jobs.start <= cutoff)
    comp = jobs[in_window & (jobs.tyyppi == "tyo") & (jobs.avoimet_markkinat == "K")]
    other = jobs[in_window & (jobs.tyyppi.isin(["tyokokeilu", "opiskelu", "vapaaehtoistyo", "muu"])
                              | ((jobs.tyyppi == "tyo") & (jobs.avoimet_markkinat == "E")))]
    pop = pop.assign(competitive=pop.person_id.isin(comp.person_id),
                     unsubsidised=pop.person_id.isin(comp[comp.palkkatuki == "E"].person_id))
    pop = pop.assign(other=~pop.competitive & pop.person_id.isin(other.person_id))
    fid = v["fidelity_reviews"].copy()
    fid = fid.assign(day=d(fid.arviointipvm), total=fid[[f"k{i:02d}" for i in range(1, 26)]].astype(int).sum(axis=1))
    fid = fid[fid.day <= cutoff].sort_values("day").groupby("alue").tail(1)
    return {"pop": pop, "fidelity": dict(zip(fid.alue, fid.total)), "bad": v["_bad"], "valid": v}


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth")
    return root, write_delivery(root, SynthConfig(**SMALL))


@pytest.fixture(scope="module")
def figs(delivery) -> dict:
    return figures(delivery[0])


def sha_all(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---- tests ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_same_config_same_bytes_other_seed_other_bytes(tmp_path, delivery):
    root, manifest = delivery
    again = write_delivery(tmp_path / "a", SynthConfig(**SMALL))
    first = sha_all(root)
    assert sha_all(tmp_path / "a") == first
    assert len(first) == 16  # the 12 exports of docs/exports.md and the four optional ones
    assert {k: v["sha256"] for k, v in again["files"].items()} == first
    other = sha_all(tmp_path / "b") if write_delivery(tmp_path / "b", SynthConfig(seed=7, **SMALL)) else {}
    assert set(other) == set(first)
    assert all(other[k] != first[k] for k in first)


def test_manifest_is_json_and_register_size_does_not_touch_project_files(tmp_path, delivery):
    _, manifest = delivery
    json.dumps(manifest)
    m2 = write_delivery(tmp_path, SynthConfig(cohort=300))
    for name in ("clients.csv", "jobs.csv", "survey_final.csv", "fidelity_reviews.csv"):
        assert m2["files"][name]["sha256"] == manifest["files"][name]["sha256"]


def test_headers_match_contracts(delivery):
    root, _ = delivery
    for export in PROJECT:
        spec = contract(export)
        first = decode(root / spec["file"]).splitlines()[0].split(";")
        assert [h.strip().lower() for h in first] == [c.get("header", c["name"]) for c in spec["columns"]]
    styles = {e: decode(root / f"{e}.csv").splitlines()[0].split(";")[0] for e in PROJECT}
    assert styles["jobs"] == " Person_ID " and styles["survey_midpoint"] == "ASIAKASTUNNUS"
    for name in REGISTER:
        spec = contract(f"register_{name}")
        expected = [c.get("header", c["name"]) for c in spec["columns"]]
        files = list((root / "register").glob(f"{name}.*"))
        assert len(files) == 1
        f = files[0]
        if f.suffix == ".csv":
            assert f.read_bytes().split(b"\n", 1)[0].decode() == ";".join(expected)
        else:
            sch = pq.read_schema(f)
            assert sch.names == expected
            for c in spec["columns"]:
                t = str(sch.field(c.get("header", c["name"])).type)
                assert t == {"date": "date32[day]", "month": "string", "decimal": "double", "integer": "int32"}.get(
                    c["type"], "string"), (name, c["name"], t)
    assert {f.name for f in (root / "register").iterdir()} == {
        "cohort.csv", "benefits.csv", "employment.parquet", "earnings.parquet", "pay_subsidy.parquet",
        "psychiatric_care.parquet"}


def test_encodings_as_planned(delivery):
    root, manifest = delivery
    raw = {e: (root / f"{e}.csv").read_bytes() for e in PROJECT}
    assert raw["clients"].startswith(b"\xef\xbb\xbf")
    raw["clients"][3:].decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        raw["jobs"].decode("utf-8")
    assert "Työnantaja" in raw["jobs"].decode("cp1252") and b"\r\n" in raw["jobs"]
    for w in ("baseline", "midpoint", "final"):
        assert not raw[f"survey_{w}"].startswith(b"\xef\xbb\xbf")
        raw[f"survey_{w}"].decode("utf-8")
    assert not (root / "register" / "cohort.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert manifest["files"]["jobs.csv"]["encoding"] == "cp1252"
    # Finnish formats: both date styles, decimal comma, timestamps, EOS
    jobs = raw["jobs"].decode("cp1252")
    assert re.search(r";\d\.\d{1,2}\.20\d\d;", jobs) and re.search(r";0\d\.\d\d\.20\d\d;", jobs)
    assert re.search(r";\d+,5;", jobs) and re.search(r";\d{1,2}\.\d{1,2}\.20\d\d \d{1,2}:\d\d\r\n", jobs)
    assert ";EOS;" in raw["survey_baseline"].decode()


def test_published_second_wave_figures(figs):
    pop = figs["pop"]
    w2 = pop[pop.aalto == "2"]
    assert len(w2) == 428 and w2.competitive.sum() == 159
    assert w2.unsubsidised.sum() == 90 and w2.other.sum() == 152
    got = {a: (len(g), int(g.competitive.sum())) for a, g in w2.groupby("alue")}
    assert got == WAVE2
    kp = w2[w2.alue == "Keski-Pohjanmaa"]
    assert kp.smi.sum() == 28
    ka = w2[w2.alue == "Kainuu"]
    assert ka.smi.sum() == 60 and ka[ka.smi].competitive.sum() == 30 and ka[~ka.smi].competitive.sum() == 6
    s = w2.S
    assert s.min() >= dt.date(2023, 3, 1) and s.max() <= dt.date(2024, 10, 31)
    w1 = pop[pop.aalto == "1"]
    assert len(w1) == 700 and w1.competitive.sum() == 322
    assert set(w1.alue) == {"Helsinki", "Pirkanmaa", "Pohjois-Pohjanmaa", "Lappi", "Etelä-Pohjanmaa"}
    assert w1.S.min() >= dt.date(2020, 9, 1) and w1.S.max() <= dt.date(2023, 6, 30)
    for a, total in FIDELITY.items():
        assert figs["fidelity"][a] == total


def test_expected_figures_in_manifest_agree(delivery, figs):
    _, manifest = delivery
    pop = figs["pop"]
    for wave in ("1", "2"):
        tot = manifest["expected"][f"wave{wave}"]["total"]
        w = pop[pop.aalto == wave]
        assert (tot["n_clients"], tot["n_competitive"], tot["n_unsubsidised"], tot["n_other_activity"]) == (
            len(w), w.competitive.sum(), w.unsubsidised.sum(), w.other.sum())


def test_rules_matter(figs, delivery):
    """Skipping a rule changes the figures: the traps are live."""
    _, manifest = delivery
    v = figs["valid"]
    pop2 = figs["pop"][figs["pop"].aalto == "2"]
    # without the cut-off/consent rules there are more clients
    cl = current(v["clients"], ["person_id"])
    assert (cl.aalto == "2").sum() > 428
    ex = manifest["excluded_clients"]
    assert all(len(ex[k]) >= 3 for k in ex)
    assert not set(sum(ex.values(), [])) & set(figs["pop"].person_id)
    # a job before S or after C exists for clients the plan counts as not employed
    jobs = current(v["jobs"], ["person_id", "tyonantaja", "alkupvm"])
    open_jobs = jobs[(jobs.tyyppi == "tyo") & (jobs.avoimet_markkinat == "K")]
    idle = set(pop2[~pop2.competitive].person_id)
    assert len(idle & set(open_jobs.person_id)) >= 5
    assert set(manifest["traps"]["trap_job_after_cutoff"]) & idle
    # older versions that would count if read as current
    allj = v["jobs"]
    assert (allj.duplicated(["person_id", "tyonantaja", "alkupvm"], keep=False)).sum() > 100
    assert manifest["traps"]["job_versions_open_market_corrected"]
    # the latest fidelity review overall is after C and is not the current one
    fid = v["fidelity_reviews"]
    ks = fid[fid.alue == "Keski-Suomi"].arviointipvm.map(parse_date)
    assert ks.max() > C


def test_planted_invalid_rows_are_exactly_the_invalid_rows(delivery, figs):
    _, manifest = delivery
    planted = {(r["file"], r["line"]): (r["column"], r["rule"]) for r in manifest["invalid_rows"]}
    found = {(f, line): rules for f, b in figs["bad"].items() for line, rules in b.items()}
    assert set(found) == set(planted)
    for k, (col, rule) in planted.items():
        assert (col, rule) in found[k], (k, found[k])
    rules = {r["rule"] for r in manifest["invalid_rows"]}
    assert rules == {"type", "required", "code", "range", "end_before_start", "orphan", "pseudonym"}
    root = delivery[0]
    for r in manifest["invalid_rows"]:  # the line holds the value the manifest names
        line = decode(root / r["file"]).splitlines()[r["line"] - 1]
        assert r["value"] in line.split(";")


def test_no_identity_codes_anywhere(delivery):
    root, _ = delivery
    assert next(find_identity_codes(f"x;{make_identity_code(dt.date(1985, 3, 4), 123)};y"), None)  # guard works
    for p in sorted(root.rglob("*")):
        if p.suffix == ".csv":
            assert next(find_identity_codes(decode(p)), None) is None, p
        elif p.suffix == ".parquet":
            t = pq.read_table(p)
            for name in t.column_names:
                if str(t.schema.field(name).type) == "string":
                    text = "\n".join(x for x in t.column(name).unique().to_pylist() if x)
                    assert next(find_identity_codes(text), None) is None, (p, name)


def test_pseudonyms_are_opaque(delivery, figs):
    root, _ = delivery
    ids = set(figs["valid"]["clients"].person_id)
    cohort = pd.read_csv(root / "register" / "cohort.csv", sep=";", dtype=str)
    ids |= set(cohort.person_id)
    assert all(re.fullmatch(r"[A-Za-z0-9]{6,20}", i) for i in ids)
    assert len(cohort) == cohort.person_id.nunique()


def test_register_population_and_rules(delivery, figs):
    root, manifest = delivery
    con = duckdb.connect()
    reg = root / "register"
    cohort = con.execute(f"select * from read_csv('{reg}/cohort.csv', delim=';', header=true, all_varchar=true)").df()
    pop = figs["pop"]
    with_k = set(pop[pop.rekisterisuostumus == "K"].person_id)
    ips = set(cohort[cohort.ips == "1"].person_id)
    assert with_k <= ips and len(with_k) > 0.8 * len(pop)
    without = set(pop[pop.rekisterisuostumus != "K"].person_id)
    persons = manifest["register"]["persons"]
    no_consent = set(persons["ips_in_cohort_without_register_consent"])
    assert without and no_consent and no_consent <= ips and (ips & without) <= no_consent
    assert (cohort.ips == "0").sum() == SMALL["cohort"]
    assert (pd.to_datetime(cohort.indeksipvm).dt.date > C).sum() >= 1
    in_files = set(con.execute(f"select distinct person_id from '{reg}/employment.parquet'").df().person_id)
    strays = in_files - set(cohort.person_id)
    assert strays and strays <= set(persons["register_persons_not_in_cohort"])
    ben = con.execute(f"select * from read_csv('{reg}/benefits.csv', delim=';', header=true, "
                  "types={'alkupvm':'DATE','loppupvm':'DATE'})").df()
    assert set(ben.etuus) == set(CODES["benefit_types"]["values"])
    care = con.execute(f"select hoitomuoto, count(loppupvm) n_end, count(*) n from '{reg}/psychiatric_care.parquet' "
                   "group by 1 order by 1").fetchall()
    assert care[0][0] == "avo" and care[0][1] == 0 and care[1][0] == "osasto" and care[1][1] > 0
    for f in ("employment", "pay_subsidy", "psychiatric_care"):
        assert con.execute(f"select count(*) from '{reg}/{f}.parquet' where loppupvm < alkupvm").fetchone()[0] == 0
    assert (ben.loppupvm < ben.alkupvm).sum() == 0
    # overlapping, touching, repeated and open spells
    spells = con.execute(f"""
        select count(*) filter (where loppupvm is null) open,
               count(*) - count(distinct (person_id, tyonantaja, alkupvm, loppupvm)) repeated
        from '{reg}/employment.parquet'""").fetchone()
    assert spells[0] > 0 and spells[1] > 0
    touch = con.execute(f"""
        select count(*) filter (where a.loppupvm + 1 = b.alkupvm), count(*) filter (where b.alkupvm <= a.loppupvm
               and b.alkupvm > a.alkupvm)
        from '{reg}/employment.parquet' a join '{reg}/employment.parquet' b using (person_id)
        where a.tyonantaja <> b.tyonantaja""").fetchone()
    assert touch[0] > 0 and touch[1] > 0
    # earnings only in months with employment (or an IPS job), never negative
    orphan_months = con.execute(f"""
        with m as (select distinct person_id, kuukausi from '{reg}/earnings.parquet'),
        e as (select person_id, alkupvm, coalesce(loppupvm, DATE '2099-01-01') loppupvm from '{reg}/employment.parquet')
        select count(*) from m where not exists (
            select 1 from e where e.person_id = m.person_id
              and e.alkupvm <= last_day(strptime(m.kuukausi || '-01', '%Y-%m-%d')::DATE)
              and e.loppupvm >= strptime(m.kuukausi || '-01', '%Y-%m-%d')::DATE)""").fetchone()[0]
    assert orphan_months == 0
    assert con.execute(f"select min(ansiot_eur) from '{reg}/earnings.parquet'").fetchone()[0] > 0


def test_calibrated_covariates_push_in_their_direction(figs):
    pop = figs["pop"]
    pop = pop[pop.tyohistoria != ""]
    by_wh = pop.groupby("tyohistoria").competitive.mean()
    assert by_wh["3"] > by_wh["2"] > by_wh["0"]
    assert pop[pop.koulutus == "4"].competitive.mean() > pop[pop.koulutus.isin(["1", "2", "3"])].competitive.mean()


def test_scores_improve_more_for_employed(figs):
    v, pop = figs["valid"], figs["pop"]

    def swemwbs(df):
        items = df[[f"swemwbs_{i}" for i in range(1, 8)]].replace({"EOS": ""})
        ok = (items != "").all(axis=1)
        df = df[ok].assign(score=items[ok].astype(int).sum(axis=1), day=df[ok].vastauspvm.map(parse_date))
        return df.sort_values("day").groupby("person_id").tail(1).set_index("person_id").score

    change = (swemwbs(v["survey_final"]) - swemwbs(v["survey_baseline"])).dropna()
    emp = pop.set_index("person_id").competitive.reindex(change.index)
    assert change[emp == True].mean() > change[emp == False].mean() + 0.5  # noqa: E712


@pytest.mark.slow
def test_or_recovery_without_calibration(tmp_path):
    import statsmodels.api as sm
    cfg = SynthConfig(calibrate=False, n_clients_wave2=4000, n_clients_wave1=4000, register=False, messy=False)
    write_delivery(tmp_path, cfg)
    pop = figures(tmp_path, exports=("clients", "jobs", "fidelity_reviews"))["pop"]
    fid = {**FIDELITY, "Helsinki": 97, "Pirkanmaa": 108, "Pohjois-Pohjanmaa": 113, "Lappi": 92,
           "Etelä-Pohjanmaa": 104}
    age = pop.S.map(lambda s: s.year) - pop.syntymavuosi.astype(int)
    X = pd.DataFrame({
        "female": (pop.sukupuoli == "2").astype(float),
        "work_history": pop.tyohistoria.astype(float),
        "smi": pop.smi.astype(float),
        "age_40_49": age.between(40, 49).astype(float),
        "higher_education": (pop.koulutus == "4").astype(float),
        "fidelity_10": (pop.alue.map(fid) - 105) / 10,
    })
    X["wave2"] = (pop.aalto == "2").astype(float)
    fit = sm.Logit(pop.competitive.astype(float), sm.add_constant(X)).fit(disp=0)
    planted = {"female": cfg.or_female, "work_history": cfg.or_work_history_per_level, "smi": cfg.or_smi,
               "age_40_49": cfg.or_age_40_49, "higher_education": cfg.or_higher_education,
               "fidelity_10": cfg.or_fidelity_per_10_points}
    for term, or_ in planted.items():
        assert abs(fit.params[term] - np.log(or_)) < 3.5 * fit.bse[term] + 0.02, (term, np.exp(fit.params[term]))


EMPLOYED_MONTHS_SQL = """
with cohort as (
  select person_id, ips::INT ips, indeksipvm::DATE idx, alue, sukupuoli, koulutus, dg,
         year(indeksipvm::DATE) - syntymavuosi::INT age
  from read_csv('{reg}/cohort.csv', delim=';', header=true, all_varchar=true)
  where date_trunc('month', indeksipvm::DATE) + INTERVAL 11 MONTH <= date_trunc('month', DATE '{c}')
    and indeksipvm::DATE >= DATE '2017-01-01'),
months as (
  select c.person_id, k, date_trunc('month', c.idx) + to_months(k::INTEGER) m from cohort c, range(-24, 12) t(k)),
emp as (
  select distinct mo.person_id, mo.k from months mo join '{reg}/employment.parquet' e
    on e.person_id = mo.person_id and e.alkupvm <= last_day(mo.m)
   and coalesce(e.loppupvm, DATE '{c}') >= mo.m)
select c.*, count(*) filter (where emp.k between 0 and 11) post12,
       count(*) filter (where emp.k between -12 and -1) pre12,
       count(*) filter (where emp.k between -24 and -13) placebo
from cohort c left join emp using (person_id) group by all
"""


def _ipw_att(root: Path, pop_ids: set[str]) -> tuple[float, float]:
    import statsmodels.api as sm
    df = duckdb.sql(EMPLOYED_MONTHS_SQL.format(reg=root / "register", c=C)).df()
    df = df[(df.ips == 0) | df.person_id.isin(pop_ids)]
    X = pd.DataFrame({"age": df.age, "age2": df.age ** 2, "female": (df.sukupuoli == "2") * 1.0,
                      "g9": (df.sukupuoli == "9") * 1.0, "pre12": df.pre12,
                      "smi": df.dg.fillna("").str.replace(".", "", regex=False).str.match(
                          r"^(F2\d|F30|F31|F322|F323|F332|F333)") * 1.0})
    for e in ("1", "3", "4"):
        X[f"edu{e}"] = (df.koulutus == e) * 1.0
    ps = sm.Logit(df.ips, sm.add_constant(X.astype(float))).fit(disp=0).predict()
    w = np.where(df.ips == 1, 1.0, ps / (1 - ps))
    t = df.ips == 1

    def diff(y):
        return y[t].mean() - np.average(y[~t], weights=w[~t])
    return diff(df.post12), diff(df.placebo)


@pytest.mark.slow
def test_register_ips_effect_is_recoverable_and_placebo_null(tmp_path, figs):
    import statsmodels.api  # noqa: F401
    ids = set(figs["pop"][figs["pop"].rekisterisuostumus == "K"].person_id)
    m = write_delivery(tmp_path / "e", SynthConfig(cohort=6000, ips_effect_extra_months_age_40_49=0.0))
    eff = m["register"]["effect"]
    assert abs(eff["realised_employed_months_effect"] - 1.5) < 0.05 and eff["target_persons"] > 500
    att, placebo = _ipw_att(tmp_path / "e", ids)
    assert 0.8 < att < 2.2 and abs(placebo) < 0.7, (att, placebo)
    write_delivery(tmp_path / "n", SynthConfig(cohort=6000, null_effect=True))
    att0, placebo0 = _ipw_att(tmp_path / "n", ids)
    assert abs(att0) < 0.7 and abs(placebo0) < 0.7, (att0, placebo0)
    assert att - att0 > 0.8


def test_register_formats():
    assert set(SynthConfig(cohort=60_000).register_formats().values()) == {"parquet"}
    assert SynthConfig(register_format="csv").register_formats()["earnings"] == "csv"
    with pytest.raises(ValueError):
        SynthConfig(register_format="xlsx")


def test_clean_delivery_has_no_mess(tmp_path):
    m = write_delivery(tmp_path, SynthConfig(messy=False, cohort=200, register_format="csv"))
    assert m["invalid_rows"] == []
    for export in PROJECT:
        data = (tmp_path / f"{export}.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")
    f = figures(tmp_path)
    w2 = f["pop"][f["pop"].aalto == "2"]
    assert (len(w2), w2.competitive.sum(), w2.unsubsidised.sum(), w2.other.sum()) == (428, 159, 90, 152)
    assert all(not b for b in f["bad"].values())
    assert {p.suffix for p in (tmp_path / "register").iterdir()} == {".csv"}


# ---- the voices: client surveys' later items, coach, care-staff and employer surveys ----------

def cronbach_alpha(items: pd.DataFrame) -> float:
    """k / (k - 1) x (1 - sum of item variances / variance of the sum), complete rows only."""
    x = items.dropna().to_numpy(float)
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def numbers(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[cols].replace({"": np.nan, "EOS": np.nan}).astype(float)


def test_voices_files_are_valid(delivery, figs):
    root, manifest = delivery
    persons = set(figs["valid"]["clients"].person_id)
    for export in VOICES:
        df = read_fi(root / f"{export}.csv", export)
        assert len(df) > 50, export
        assert violations(df, export, persons if export == "coach_survey" else None) == {}, export
        assert manifest["files"][f"{export}.csv"]["rows"] == len(df)


def test_the_voices_draw_from_streams_of_their_own(tmp_path, delivery, monkeypatch):
    # Without the voices the other exports are byte for byte the same, and the client surveys the
    # same in every column they had before the later items.
    import ips_eval.synth as synth
    import ips_eval.synth.project_exports as project_exports

    root, _ = delivery
    monkeypatch.setattr(project_exports, "add_later_items", lambda cfg, process, files: {})
    monkeypatch.setattr(synth, "write_voices", lambda out, cfg, clients, jobs, process: {"files": {}})
    write_delivery(tmp_path, SynthConfig(**SMALL))
    without, with_voices = sha_all(tmp_path), sha_all(root)
    assert set(with_voices) - set(without) == {f"{e}.csv" for e in VOICES}
    changed = {k for k in without if without[k] != with_voices[k]}
    assert changed == {"survey_baseline.csv", "survey_final.csv"}
    n = len(contract("survey_midpoint")["columns"])  # the columns every wave had before the later items
    for name in sorted(changed):
        before = decode(tmp_path / name).splitlines()
        after = decode(root / name).splitlines()
        assert len(after) == len(before) and len(after[0].split(";")) > n
        assert all(set(line.split(";")[n:]) == {""} for line in before[1:])  # the later items blank
        assert [";".join(line.split(";")[:n]) for line in after] == [";".join(line.split(";")[:n]) for line in before]


def test_the_voices_plant_what_they_say(delivery, figs):
    root, manifest = delivery
    pop = figs["pop"]
    # the professionals for IPS as a fixed part of care: about 94 % at the end round
    staff = current(read_fi(root / "care_staff_survey.csv", "care_staff_survey"), ["vastaustunnus"])
    yes = staff[staff.ips_osaksi_hoitoa.isin(["K", "E"])].groupby("kierros").ips_osaksi_hoitoa.apply(
        lambda s: (s == "K").mean())
    assert 0.88 <= yes["loppu"] <= 0.99 and yes["alku"] < yes["loppu"]
    # scale reliabilities from a common factor: about 0.8-0.9
    toip = numbers(staff, [f"toipumis_{i}" for i in range(1, 9)])
    tyo = numbers(staff, [f"tyo_{i}" for i in range(1, 5)])
    tyo[["tyo_3", "tyo_4"]] = 6 - tyo[["tyo_3", "tyo_4"]]
    base = read_fi(root / "survey_baseline.csv", "survey_baseline")
    stig = numbers(base, [f"stigma_{i}" for i in range(1, 11)])
    stig[["stigma_9", "stigma_10"]] = 5 - stig[["stigma_9", "stigma_10"]]
    for items in (toip, tyo, stig):
        assert 0.75 <= cronbach_alpha(items) <= 0.93
    # the first employer contact within 30 days of the start: about half of the clients
    coach = current(read_fi(root / "coach_survey.csv", "coach_survey"), ["person_id", "vastauspvm"])
    coach = coach.assign(day=coach.vastauspvm.map(parse_date),
                         contact=coach.ens_tyonantajakontakti.map(lambda s: parse_date(s) if s else None))
    p = pop.assign(S=pop.S.astype(object))
    first = coach.merge(p[["person_id", "S", "competitive"]], on="person_id")
    contact = first[first.contact.notna() & (first.contact >= first.S)].groupby("person_id").contact.min()
    eligible = p[p.S.map(lambda s: s + dt.timedelta(days=30) <= C)].set_index("person_id")
    within = sum(1 for pid, s in eligible.S.items() if pid in contact.index and contact[pid] <= s + dt.timedelta(days=30))
    assert 0.4 <= within / len(eligible) <= 0.65
    # trust and care cooperation of the first coach response (within 3 months of the start):
    # the odds ratios of competitive employment per point are the planted ones
    import statsmodels.api as sm

    firsts = first.sort_values("day").groupby("person_id").head(1)
    firsts = firsts[firsts.day <= firsts.S.map(lambda s: s + dt.timedelta(days=92))]
    x = numbers(firsts, ["luottamus", "yhteistyo_hoitotaho"]).assign(y=firsts.competitive.astype(float)).dropna()
    fit = sm.Logit(x.y, sm.add_constant(x[["luottamus", "yhteistyo_hoitotaho"]])).fit(disp=0)
    ci = np.exp(fit.conf_int())
    assert ci.loc["luottamus", 0] <= manifest["voices"]["or_trust_per_point"] <= ci.loc["luottamus", 1]
    assert ci.loc["luottamus", 0] > 1
    assert ci.loc["yhteistyo_hoitotaho", 0] <= manifest["voices"]["or_care_cooperation_per_point"] <= \
        ci.loc["yhteistyo_hoitotaho", 1]


def test_register_effect_can_be_larger_for_clients_aged_40_49(tmp_path):
    m = write_delivery(tmp_path, SynthConfig(cohort=1500, ips_effect_extra_months_age_40_49=2.0))
    by_age = m["register"]["effect"]["by_age_group"]
    assert by_age["40-49"]["planted_employed_months_effect"] == 3.5
    assert by_age["40-49"]["target_persons"] > 50 and by_age["other"]["target_persons"] > 200
    assert abs(by_age["40-49"]["realised_employed_months_effect"] - 3.5) < 0.1
    assert abs(by_age["other"]["realised_employed_months_effect"] - 1.5) < 0.1
    for group in ("<30", "30-39", "50+"):  # each age group meets its own planted effect (model 9 reads them)
        assert by_age[group]["planted_employed_months_effect"] == 1.5
        assert abs(by_age[group]["realised_employed_months_effect"] - 1.5) < 0.2, (group, by_age[group])


def test_the_manifest_gives_each_target_clients_untreated_and_gained_months(delivery):
    # The per-person truth the model tests compare with: one entry per target client, the gains
    # averaging to the realised effect overall and in each age group, within the 12 months.
    root, manifest = delivery
    effect = manifest["register"]["effect"]
    untreated, gained = effect["untreated_employed_months_post12"], effect["gained_employed_months_post12"]
    assert set(untreated) == set(gained) and len(gained) == effect["target_persons"]
    g = pd.Series(gained)
    assert g.mean() == pytest.approx(effect["realised_employed_months_effect"])
    assert g.min() == 0 and 0 < g.max() <= 12 and (g > 0).sum() == effect["clients_given_ips_job"]
    assert all(0 <= untreated[p] + gained[p] <= 12 for p in gained)
    cohort = pd.read_csv(root / "register" / "cohort.csv", sep=";", dtype=str)
    cohort = cohort.set_index("person_id").loc[list(gained)]
    age = pd.to_datetime(cohort["indeksipvm"]).dt.year - cohort["syntymavuosi"].astype(int)
    for label, lo, hi in AGE_GROUPS:
        in_group = age.between(lo, hi).to_numpy()
        assert g[in_group].mean() == pytest.approx(effect["by_age_group"][label]["realised_employed_months_effect"])
