"""Small deliveries written by the tests themselves, in exactly the docs/exports.md formats.

A test names only the rows and values it cares about; every other column gets a valid
default, so each test reads as the rule it pins.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from ips_eval.ingest.contracts import Contract, load_contracts

PROJECT_DEFAULTS: dict[str, dict[str, str]] = {
    "clients": {
        "person_id": "P000001", "alue": "Kainuu", "aalto": "2", "tiimi": "Psykoosityöryhmä", "valmentaja": "V01",
        "lahetepvm": "1.3.2023", "aloituspvm": "3.4.2023", "lopetuspvm": "", "lopetussyy": "",
        "syntymavuosi": "1985", "sukupuoli": "2", "koulutus": "3", "tyohistoria": "2", "dg": "F20.0",
        "tutkimussuostumus": "3.4.2023", "rekisterisuostumus": "K", "suostumus_peruttu": "",
        # exported after the quarter of the tests' usual cut-off 2024-12-31, as a real delivery is, so
        # the release guard finds data in the cut-off's quarter (docs/release.md)
        "paivitetty": "2.1.2025 10:00",
    },
    "jobs": {
        "person_id": "P000001", "tyyppi": "tyo", "tyonantaja": "T001", "avoimet_markkinat": "K", "palkkatuki": "E",
        "alkupvm": "1.6.2023", "loppupvm": "", "tunnit_viikossa": "20,5", "ammatti": "5223",
        "paivitetty": "2.6.2023 9:00",
    },
    "fidelity_reviews": {"alue": "Kainuu", "arviointipvm": "15.3.2024", "arvioija": "A1",
                         **{f"k{i:02d}": "4" for i in range(1, 26)}},
}
SURVEY_DEFAULTS = {"asiakastunnus": "P000001", "vastauspvm": "10.4.2023", "tyokyky": "5",
                   **{f"swemwbs_{i}": "3" for i in range(1, 8)}, **{f"eurohis_{i}": "3" for i in range(1, 9)},
                   **{f"osallisuus_{i}": "3" for i in range(1, 9)}, **{f"pystyvyys_{i}": "3" for i in range(1, 11)},
                   "tyohonpaluu": "3"}
#: The later items (optional columns): answered in the default rows, so a test can blank one.
STIGMA_DEFAULTS = {f"stigma_{i}": "2" for i in range(1, 11)}
FINAL_LATER_DEFAULTS = {"tyytyvaisyys": "4", "tuki_oikea_aikainen": "4", "tuki_kesto": "3",
                        "luottamus_valmentaja": "5", **{f"koettu_{i}": "4" for i in range(1, 9)}}
PROJECT_DEFAULTS["survey_baseline"] = {**SURVEY_DEFAULTS, **STIGMA_DEFAULTS}
PROJECT_DEFAULTS["survey_midpoint"] = SURVEY_DEFAULTS
PROJECT_DEFAULTS["survey_final"] = {**SURVEY_DEFAULTS, **STIGMA_DEFAULTS, **FINAL_LATER_DEFAULTS}

REGISTER_DEFAULTS: dict[str, dict[str, Any]] = {
    "register_cohort": {"person_id": "P000001", "ips": "1", "alue": "Kainuu", "syntymavuosi": "1985",
                        "sukupuoli": "2", "koulutus": "3", "dg": "F20.0", "indeksipvm": "2023-04-03"},
    "register_employment": {"person_id": "P000001", "tyonantaja": "T001", "alkupvm": "2020-01-01", "loppupvm": "2020-06-30"},
    "register_earnings": {"person_id": "P000001", "kuukausi": "2020-01", "ansiot_eur": "1500.50"},
    "register_pay_subsidy": {"person_id": "P000001", "tyonantaja": "T001", "alkupvm": "2020-01-01", "loppupvm": "2020-03-31"},
    "register_benefits": {"person_id": "P000001", "etuus": "kuntoutustuki", "alkupvm": "2019-01-01", "loppupvm": "2019-12-31"},
    "register_psychiatric_care": {"person_id": "P000001", "hoitomuoto": "osasto", "alkupvm": "2019-02-01",
                                  "loppupvm": "2019-02-20", "dg": "F20.0"},
}
#: Optional project exports: written only when a test gives rows for them.
OPTIONAL_DEFAULTS: dict[str, dict[str, str]] = {
    "costs": {"alue": "Kainuu", "vuosi": "2023", "kustannuslaji": "henkilosto", "euroa": "55000,00",
              "htv": "1", "paivitetty": "15.1.2024 10:00"},
    "coach_survey": {"asiakastunnus": "P000001", "vastauspvm": "3.7.2023", "valmentaja": "V01", "luottamus": "4",
                     "yhteistyo_hoitotaho": "4", "ens_tyonantajakontakti": "20.4.2023", "tyonantajakontaktit": "6",
                     "tapaamiset": "9", "tyopaikkatuki": "K", "etuusneuvonta": "E",
                     **{f"hyoty_{i}": "4" for i in range(1, 9)}, "paivitetty": "3.7.2023 14:00"},
    "care_staff_survey": {"vastaustunnus": "R0001", "alue": "Kainuu", "kierros": "alku", "vastauspvm": "1.3.2023",
                          "ammattiryhma": "hoitaja", **{f"toipumis_{i}": "4" for i in range(1, 9)},
                          "tyo_1": "4", "tyo_2": "3", "tyo_3": "2", "tyo_4": "2", "yhteistyo_valmentaja": "4",
                          "ips_osaksi_hoitoa": "K", "paivitetty": "1.3.2023 9:00"},
    "employer_survey": {"vastaustunnus": "E0001", "alue": "Kainuu", "vastauspvm": "1.10.2023", "toimiala": "G",
                        "koko": "2", "sektori": "yksityinen", "tyytyvaisyys": "5", "tuki_tyoyhteisolle": "4",
                        "tyontekija": "4", "palkkaisi_uudelleen": "K", "paivitetty": "1.10.2023 12:00"},
}
DEFAULTS = {**PROJECT_DEFAULTS, **OPTIONAL_DEFAULTS, **REGISTER_DEFAULTS}


def contract(export: str) -> Contract:
    return load_contracts()[export]


def row(export: str, **values: Any) -> dict[str, str]:
    """A valid row of `export` with the given values (by export header) changed."""
    r = dict(DEFAULTS[export])
    for k, v in values.items():
        if k not in r:
            raise KeyError(f"{export} has no column {k}")
        r[k] = "" if v is None else str(v)
    return r


def csv_text(export: str, rows: Iterable[dict[str, str]], headers: list[str] | None = None,
             line_end: str = "\n") -> str:
    headers = headers or [c.header for c in contract(export).columns]
    lines = [";".join(headers)]
    for r in rows:
        lines.append(";".join(str(r.get(h.strip().lower(), r.get(h, ""))) for h in headers))
    return line_end.join(lines) + line_end


def write_csv(folder: Path, export: str, rows: Iterable[dict[str, str]], encoding: str = "utf-8",
              headers: list[str] | None = None, line_end: str = "\n") -> Path:
    c = contract(export)
    path = Path(folder) / (f"{c.file}.csv" if c.is_register else c.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(export, rows, headers, line_end).encode(encoding))
    return path


def write_parquet(folder: Path, export: str, rows: Iterable[dict[str, str]]) -> Path:
    """A register extract as Parquet with natural types (dates as DATE, numbers as numbers)."""
    c = contract(export)
    rows = list(rows)
    arrays = {}
    for col in c.columns:
        values = [r.get(col.header) or None for r in rows]
        if col.type == "date":
            arrays[col.header] = pa.array([dt.date.fromisoformat(v) if v else None for v in values], pa.date32())
        elif col.type == "integer":
            arrays[col.header] = pa.array([int(v) if v else None for v in values], pa.int32())
        elif col.type == "decimal":
            arrays[col.header] = pa.array([float(v) if v else None for v in values], pa.float64())
        else:
            arrays[col.header] = pa.array(values, pa.string())
    path = Path(folder) / f"{c.file}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path)
    return path


def write_delivery(folder: Path, rows: dict[str, list[dict[str, str]]] | None = None,
                   register: bool = True) -> Path:
    """A complete delivery: every project export (header only unless rows are given) and,
    with `register`, every register extract as CSV."""
    rows = rows or {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for export in PROJECT_DEFAULTS:
        write_csv(folder, export, rows.get(export, []))
    for export in OPTIONAL_DEFAULTS:
        if export in rows:
            write_csv(folder, export, rows[export])
    if register:
        for export in REGISTER_DEFAULTS:
            write_csv(folder, export, rows.get(export, []))
    return folder


def minimal_delivery(folder: Path, **extra: list[dict[str, str]]) -> Path:
    """One consenting client with one competitive job, plus whatever rows a test adds."""
    rows = {"clients": [row("clients")], "jobs": [row("jobs")]}
    for export, more in extra.items():
        rows[export] = rows.get(export, []) + list(more)
    return write_delivery(folder, rows)


def load_exports(con, delivery: Path, *exports: str) -> None:
    """Only the named exports of a delivery into `con`, as their ingest assets do (after the
    identity-code guard, clients first when an export refers to clients): a test of one file
    skips the ~15 exports it does not touch. `load_delivery` loads them all."""
    from ips_eval.ingest.contracts import load_contracts
    from ips_eval.ingest.guard import scan_delivery
    from ips_eval.ingest.load import ingest_export, prepare

    scan_delivery(Path(delivery))
    prepare(con)
    contracts = load_contracts()
    wanted = set(exports) | {"clients" for e in exports if contracts[e].references}
    for name, c in contracts.items():
        if name in wanted:
            ingest_export(con, Path(delivery), c, prepared=True)
