"""The six project exports: rows with their versions, duplicates, mess and planted errors.

Generators hand over true values; here they become export rows as the projects send
them: older record versions, exact duplicates, `EOS` and blanks, a second answer in a
wave, and a few rows that break a contract rule. Every planted error is recorded with
its file, line (header = 1), column and rule, so tests and the pipeline's rejected-rows
table can be compared one to one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import SynthConfig
from .contracts import columns, contract, headers
from .fidelity import build_reviews
from .ids import Pseudonymiser
from .jobs import Record, build_jobs
from .sampling import random_date, timestamp
from .surveys import WAVES, build_surveys, item_columns
from .voices import add_later_items, client_process
from .writers import fi_date, fi_decimal, fi_timestamp, styled_headers, write_fi_csv

#: How each file arrives when messy: (encoding, byte-order mark, header style, line ending).
FILE_STYLE = {
    "clients": ("utf-8", True, "plain", "\n"),
    "jobs": ("cp1252", False, "title_spaced", "\r\n"),
    "survey_baseline": ("utf-8", False, "plain", "\n"),
    "survey_midpoint": ("utf-8", False, "upper", "\n"),
    "survey_final": ("utf-8", False, "mixed", "\n"),
    "fidelity_reviews": ("utf-8", True, "mixed", "\n"),
}
CLEAN_STYLE = ("utf-8", False, "plain", "\n")


class Entry(dict):
    """One row to write: canonical column -> value; `_raw` overrides, `_invalid` what is planted."""


def _fmt(export: str, e: dict, rng: np.random.Generator) -> list[str]:
    out = []
    raw = e.get("_raw", {})
    for col in contract(export)["columns"]:
        name = col["name"]
        if name in raw:
            out.append(raw[name])
            continue
        v = e.get(name)
        t = col["type"]
        if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
            out.append("")
        elif t == "date":
            out.append(fi_date(v, padded=bool(rng.random() < 0.4)))
        elif t == "timestamp":
            out.append(fi_timestamp(v))
        elif t == "decimal":
            out.append(fi_decimal(v))
        else:
            out.append(str(v))
    return out


def _earlier_stamp(rng: np.random.Generator, current: dt.datetime) -> dt.datetime:
    """An office-hours update time on an earlier day than `current` (so versions never tie)."""
    return timestamp(rng, current.date() - dt.timedelta(days=int(rng.integers(1, 45))))


# ---- clients ----------------------------------------------------------------------------

def _client_entry(c: Any, cfg: SynthConfig, rng: np.random.Generator) -> Entry:
    last = max(d for d in (c.aloituspvm, c.lopetuspvm, c.tutkimussuostumus, c.suostumus_peruttu)
               if d is not None)
    ts = timestamp(rng, min(last + dt.timedelta(days=int(rng.integers(0, 6))), cfg.export_date - dt.timedelta(days=1)))
    return Entry(person_id=c.person_id, alue=c.alue, aalto=c.aalto, tiimi=c.tiimi, valmentaja=c.valmentaja,
                 lahetepvm=c.lahetepvm, aloituspvm=c.aloituspvm, lopetuspvm=c.lopetuspvm,
                 lopetussyy=c.lopetussyy, syntymavuosi=int(c.syntymavuosi), sukupuoli=c.sukupuoli,
                 koulutus=c.koulutus, tyohistoria=c.tyohistoria, dg=c.dg,
                 tutkimussuostumus=c.tutkimussuostumus, rekisterisuostumus=c.rekisterisuostumus,
                 suostumus_peruttu=c.suostumus_peruttu, paivitetty=ts, _purpose="current")


def _older_client_version(cur: Entry, c: Any, rng: np.random.Generator) -> Entry | None:
    """An earlier version that differs the way real updates do."""
    old = Entry(cur)
    if c.suostumus_peruttu is not None:
        old["suostumus_peruttu"] = None  # the withdrawal was recorded later
        old["_purpose"] = "older_version_before_withdrawal"
    elif c.lopetuspvm is not None and rng.random() < 0.4:
        old["lopetuspvm"], old["lopetussyy"] = None, ""
        old["_purpose"] = "older_version_before_service_end"
    elif c.tutkimussuostumus is not None and rng.random() < 0.15:
        old["tutkimussuostumus"] = None  # consent recorded after the first entry
        old["_purpose"] = "older_version_before_consent_recorded"
    elif rng.random() < 0.25:
        old["tiimi"] = cur["tiimi"] + " (vanha)"
        old["_purpose"] = "older_version_other_team"
    elif rng.random() < 0.3:
        old["koulutus"], old["tyohistoria"] = "", ""
        old["_purpose"] = "older_version_missing_background"
    else:
        return None
    old["paivitetty"] = _earlier_stamp(rng, cur["paivitetty"])
    return old


def client_entries(cfg: SynthConfig, rng: np.random.Generator, clients: pd.DataFrame) -> list[Entry]:
    entries: list[Entry] = []
    for c in clients.itertuples():
        cur = _client_entry(c, cfg, rng)
        if cfg.messy:
            # optional background sometimes left blank (true value kept for the register)
            if rng.random() < 0.04:
                cur["koulutus"] = ""
            if rng.random() < 0.03:
                cur["tyohistoria"] = ""
            must = c.suostumus_peruttu is not None
            if must or rng.random() < 0.12:
                old = _older_client_version(cur, c, rng)
                if old is not None:
                    entries.append(old)
        entries.append(cur)
    entries.sort(key=lambda e: (e["paivitetty"], e["person_id"]))
    return entries


# ---- jobs -------------------------------------------------------------------------------

def _job_entry(r: Record) -> Entry:
    return Entry(person_id=r.person_id, tyyppi=r.tyyppi, tyonantaja=r.tyonantaja,
                 avoimet_markkinat=r.avoimet_markkinat, palkkatuki=r.palkkatuki, alkupvm=r.alkupvm,
                 loppupvm=r.loppupvm, tunnit_viikossa=r.tunnit, ammatti=r.ammatti,
                 paivitetty=r.paivitetty, _purpose=r.purpose, _raw=dict(r.raw))


def job_entries(cfg: SynthConfig, rng: np.random.Generator, recs: list[Record],
                traps: dict[str, list[str]]) -> list[Entry]:
    entries: list[Entry] = []
    for r in recs:
        cur = _job_entry(r)
        if cfg.messy:
            old = None
            if r.purpose == "other_activity" and r.tyyppi == "tyo" and rng.random() < 0.5:
                old = Entry(cur, avoimet_markkinat="K", _purpose="older_version_open_market")
                traps["job_versions_open_market_corrected"].append(r.person_id)
            elif r.purpose == "competitive" and r.palkkatuki == "K" and rng.random() < 0.15:
                old = Entry(cur, palkkatuki="E", _purpose="older_version_unsubsidised")
                traps["job_versions_subsidy_corrected"].append(r.person_id)
            elif r.loppupvm is not None and rng.random() < 0.25:
                old = Entry(cur, loppupvm=None, _purpose="older_version_end_filled_later")
            elif r.tunnit is not None and rng.random() < 0.1:
                old = Entry(cur, tunnit_viikossa=float(rng.choice((10.0, 20.0, 30.0, 37.5))),
                            _purpose="older_version_hours_changed")
            if old is not None:
                old["paivitetty"] = _earlier_stamp(rng, cur["paivitetty"])
                entries.append(old)
        entries.append(cur)
    entries.sort(key=lambda e: (e["paivitetty"], e["person_id"]))
    return entries


# ---- surveys and fidelity ---------------------------------------------------------------

def survey_entries(cfg: SynthConfig, rng: np.random.Generator, responses: list[dict],
                   counters: dict[str, int]) -> list[Entry]:
    items = item_columns()
    entries: list[Entry] = []
    for resp in responses:
        e = Entry({k: v for k, v in resp.items() if k != "purpose"}, _purpose=resp["purpose"])
        if cfg.messy:
            for col in items:
                u = rng.random()
                if u < 0.02:
                    e["_raw"] = {**e.get("_raw", {}), col: "EOS"}
                    counters["eos"] += 1
                elif u < 0.035:
                    e[col] = None
                    counters["blank_items"] += 1
            if rng.random() < 0.03:  # answered the same wave twice: the later one counts
                gap = dt.timedelta(days=int(rng.integers(1, 12)))
                first = Entry(e, _purpose="earlier_answer_same_wave")
                first["_raw"] = dict(e.get("_raw", {}))
                for col in items[:5]:
                    if first.get(col) is not None and col not in first["_raw"]:
                        first[col] = max(1, int(first[col]) - 1)
                first["vastauspvm"] = e["vastauspvm"] - gap
                e["_purpose"] = "later_answer_same_wave"
                entries.append(first)
                counters["double_answers"] += 1
        entries.append(e)
    entries.sort(key=lambda e: (e["vastauspvm"], e["person_id"]))
    return entries


def fidelity_entries(reviews: list[dict]) -> list[Entry]:
    out = []
    for r in reviews:
        e = Entry(alue=r["alue"], arviointipvm=r["arviointipvm"], arvioija=r["arvioija"], _purpose=r["purpose"])
        for i, v in enumerate(r["items"]):
            e[f"k{i + 1:02d}"] = v
        out.append(e)
    return out


# ---- planted invalid rows ---------------------------------------------------------------

def plant_invalid(cfg: SynthConfig, rng: np.random.Generator, files: dict[str, list[Entry]],
                  clients: pd.DataFrame, pseudo: Pseudonymiser, maker) -> None:
    """Add rows that break one contract rule each, in addition to the valid rows."""
    C = cfg.cutoff
    base = len(clients)
    newcomers = iter(pseudo(np.arange(base + 1000, base + 1100)))
    pop2 = clients[(clients.role == "population") & (clients.aalto == "2")]
    idle = pop2[~pop2.employed & ~pop2.other_activity]
    idle_ids = list(idle.person_id.iloc[rng.permutation(len(idle))])

    def client_row(rule: str, column: str, raw: dict[str, str] | None = None, **over: Any) -> None:
        S = random_date(rng, dt.date(2023, 4, 1), dt.date(2024, 9, 30))
        e = Entry(person_id=str(next(newcomers)), alue="Kainuu", aalto="2", tiimi="Mielenterveystiimi Kajaani",
                  valmentaja="", lahetepvm=None, aloituspvm=S, lopetuspvm=None, lopetussyy="",
                  syntymavuosi=1990, sukupuoli="2", koulutus="3", tyohistoria="1", dg="F32.1",
                  tutkimussuostumus=S, rekisterisuostumus="K", suostumus_peruttu=None,
                  paivitetty=timestamp(rng, S + dt.timedelta(days=3)), _purpose="invalid")
        e.update(over)
        e["_raw"] = raw or {}
        e["_invalid"] = {"column": column, "rule": rule}
        files["clients"].append(e)

    client_row("type", "aloituspvm", {"aloituspvm": "31.2.2024"})
    client_row("code", "alue", alue="Keski-Savo")
    client_row("end_before_start", "lopetuspvm", {"lopetuspvm": "14.3.2023", "aloituspvm": "2.5.2023",
                                                  "tutkimussuostumus": "2.5.2023"}, lopetussyy="keskeytti")
    client_row("range", "syntymavuosi", syntymavuosi=1931)
    client_row("required", "sukupuoli", sukupuoli="")
    client_row("pseudonym", "person_id", person_id="AB-1234")

    def job_row(rule: str, column: str, pid: str, raw: dict[str, str] | None = None, **over: Any) -> None:
        c = clients.set_index("person_id").loc[pid] if pid in set(clients.person_id) else None
        S = c.aloituspvm if c is not None else dt.date(2024, 1, 8)
        start = random_date(rng, S, C - dt.timedelta(days=30))
        e = _job_entry(Record(pid, "tyo", maker.employer(), "K", "E", start, None, 20.0, "9112",
                              timestamp(rng, min(start + dt.timedelta(days=5), C)), "invalid"))
        e.update(over)
        e["_raw"] = raw or {}
        e["_invalid"] = {"column": column, "rule": rule}
        files["jobs"].append(e)

    job_row("orphan", "person_id", str(next(newcomers)))
    pid = idle_ids.pop()
    S = clients.set_index("person_id").loc[pid].aloituspvm
    job_row("end_before_start", "loppupvm", pid, alkupvm=S + dt.timedelta(days=40), loppupvm=S + dt.timedelta(days=10))
    job_row("type", "alkupvm", idle_ids.pop(), {"alkupvm": "29.2.2023"})
    job_row("code", "tyyppi", idle_ids.pop(), tyyppi="harjoittelu", tyonantaja="", avoimet_markkinat="", palkkatuki="")
    job_row("range", "tunnit_viikossa", idle_ids.pop(), {"tunnit_viikossa": "95"})
    job_row("required", "alkupvm", idle_ids.pop(), alkupvm=None)
    job_row("type", "avoimet_markkinat", idle_ids.pop(), avoimet_markkinat="X")

    def survey_row(wave: str, rule: str, column: str, raw: dict[str, str] | None = None, pid: str | None = None) -> None:
        entries = files[f"survey_{wave}"]
        if pid is None:
            donor = entries[int(rng.integers(0, len(entries)))]
            e = Entry({k: v for k, v in donor.items() if not k.startswith("_")})
            e["vastauspvm"] = min(donor["vastauspvm"] + dt.timedelta(days=2), C)
        else:
            donor = entries[0]
            e = Entry({k: v for k, v in donor.items() if not k.startswith("_")}, person_id=pid)
        e["_raw"] = raw or {}
        e["_purpose"] = "invalid"
        e["_invalid"] = {"column": column, "rule": rule}
        entries.append(e)

    survey_row("baseline", "range", "swemwbs_3", {"swemwbs_3": "6"})
    survey_row("baseline", "required", "vastauspvm", {"vastauspvm": ""})
    survey_row("midpoint", "orphan", "person_id", pid=str(next(newcomers)))
    survey_row("midpoint", "type", "vastauspvm", {"vastauspvm": "31.4.2024"})
    survey_row("final", "range", "tyokyky", {"tyokyky": "11"})
    survey_row("final", "type", "pystyvyys_2", {"pystyvyys_2": "2,5"})

    kainuu_latest = max(e["arviointipvm"] for e in files["fidelity_reviews"]
                        if e["alue"] == "Kainuu" and e["arviointipvm"] <= C)
    bad = Entry(alue="Kainuu", arviointipvm=min(kainuu_latest + dt.timedelta(days=14), C), arvioija="ARV9K2",
                **{f"k{i:02d}": 4 for i in range(1, 26)}, _purpose="invalid")
    bad["_raw"] = {"k07": "6"}
    bad["_invalid"] = {"column": "k07", "rule": "range"}
    files["fidelity_reviews"].append(bad)
    bad2 = Entry(bad, alue="Uusimaa", _purpose="invalid")
    bad2["_raw"] = {}
    bad2["_invalid"] = {"column": "alue", "rule": "code"}
    files["fidelity_reviews"].append(bad2)


def _scatter(rng: np.random.Generator, entries: list[Entry]) -> list[Entry]:
    """Move planted rows (appended last) and exact duplicates to random places in the file."""
    normal = [e for e in entries if "_invalid" not in e]
    planted = [e for e in entries if "_invalid" in e]
    for e in planted:
        normal.insert(int(rng.integers(1, len(normal) + 1)), e)
    return normal


def add_duplicates(rng: np.random.Generator, entries: list[Entry], share: float) -> int:
    """Exact duplicates of some rows (rows repeat across exports); returns how many."""
    k = int(round(share * len(entries)))
    picks = rng.choice(len(entries), k, replace=False)
    for i in sorted(picks.tolist(), reverse=True):
        dup = Entry(entries[i], _purpose="exact_duplicate", _same_as=entries[i])
        entries.insert(int(rng.integers(i + 1, len(entries) + 1)), dup)
    return k


# ---- the whole project delivery -----------------------------------------------------------

def write_project_exports(out: Path, cfg: SynthConfig, rng: np.random.Generator, clients: pd.DataFrame,
                          pseudo: Pseudonymiser, reviewer_ids: list[str]) -> dict[str, Any]:
    recs, maker = build_jobs(cfg, rng, clients)
    traps: dict[str, list[str]] = {"job_versions_open_market_corrected": [], "job_versions_subsidy_corrected": []}
    counters = {"eos": 0, "blank_items": 0, "double_answers": 0}
    responses = build_surveys(cfg, rng, clients, recs)
    files: dict[str, list[Entry]] = {
        "clients": client_entries(cfg, rng, clients),
        "jobs": job_entries(cfg, rng, recs, traps),
        **{f"survey_{w}": survey_entries(cfg, rng, responses[w], counters) for w in WAVES},
        "fidelity_reviews": fidelity_entries(build_reviews(cfg, rng, reviewer_ids)),
    }
    process = client_process(cfg, clients, recs)  # streams of their own: `rng` draws as before
    later = add_later_items(cfg, process, files)
    duplicates = {}
    if cfg.messy:
        duplicates["clients"] = add_duplicates(rng, files["clients"], 0.015)
        duplicates["jobs"] = add_duplicates(rng, files["jobs"], 0.02)
        plant_invalid(cfg, rng, files, clients, pseudo, maker)
    manifest_files, invalid = {}, []
    for export, entries in files.items():
        entries = _scatter(rng, entries)
        enc, bom, style, nl = FILE_STYLE[export] if cfg.messy else CLEAN_STYLE
        header = styled_headers(headers(export), style)
        formatted: dict[int, list[str]] = {}
        rows = []
        for e in entries:  # an exact duplicate repeats its original byte for byte
            row = formatted[id(e["_same_as"])] if "_same_as" in e else _fmt(export, e, rng)
            formatted[id(e)] = row
            rows.append(row)
        name = contract(export)["file"]
        for i, e in enumerate(entries):
            if "_invalid" in e:
                col = e["_invalid"]["column"]
                invalid.append({"file": name, "line": i + 2, "column": col,
                                "header": header[columns(export).index(col)], "rule": e["_invalid"]["rule"],
                                "value": rows[i][columns(export).index(col)]})
        manifest_files[name] = write_fi_csv(out / name, header, rows, encoding=enc, bom=bom, newline=nl)
        manifest_files[name]["purposes"] = _count(e.get("_purpose", "") for e in entries)
    return {"files": manifest_files, "invalid_rows": invalid, "job_records": recs,
            "traps": {k: sorted(set(v)) for k, v in traps.items()},
            "messiness": {**counters, "exact_duplicates": duplicates, "later_items": later},
            "process": process}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
