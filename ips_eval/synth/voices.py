"""The voices of the evaluation: the client surveys' later items, the coaches' per-client survey,
the care staff's and the employers' anonymous surveys (docs/exports.md), with planted effects.

Every draw here comes from random streams of their own (seed, 44xx), never from the stream
the other project exports use, so adding these leaves every other file byte for byte as it
was, and the client surveys' existing columns too (they gain the later items' columns).

What is planted (the manifest's `voices`):
- the coach's trust (`luottamus`) and care cooperation (`yhteistyo_hoitotaho`) of a client's
  first coach response are drawn given the client's competitive employment so that
  P(T, K | employed) = P(T) P(K) exp(b_T T + b_K K) / Z: the logistic regression of employment
  on the two (and on anything independent of them given employment) has exactly the odds
  ratios `OR_TRUST` and `OR_COOPERATION` per point;
- a first face-to-face employer meeting within 30 days of the start for about half the clients
  (`SHARE_CONTACT30`), later for a third, never for the rest; a few later forms state a later
  date (the first stays the first) and a few a date before the start (which does not count);
- the professionals wanting IPS as a fixed part of care: `SHARE_IPS_PART_OF_CARE` per round,
  about 94 % at the end;
- every multi-item scale from one common factor per respondent, with item noise that gives a
  Cronbach's alpha of about 0.8-0.9; clients' and coaches' views of change share the client's
  change in each domain, so they agree beyond chance.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import SynthConfig
from .contracts import headers
from .jobs import Record
from .sampling import add_months, random_date, timestamp
from .writers import fi_date, fi_timestamp, write_fi_csv

COACH_FILE, STAFF_FILE, EMPLOYER_FILE = "coach_survey.csv", "care_staff_survey.csv", "employer_survey.csv"
FILES = (COACH_FILE, STAFF_FILE, EMPLOYER_FILE)

OR_TRUST = 1.8  #: odds ratio of competitive employment per point of the coach's trust rating
OR_COOPERATION = 1.4  #: ... per point of the care cooperation rating
RATING_SHARES = np.array([0.05, 0.12, 0.30, 0.33, 0.20])  #: ratings 1..5 among the never employed
SHARE_CONTACT30 = 0.5  #: clients meeting a first employer within 30 days of the start
SHARE_CONTACT_LATER = 0.35  #: ... later (the rest: not by the cut-off)
SHARE_IPS_PART_OF_CARE = {"alku": 0.78, "vali": 0.87, "loppu": 0.94}
COACH_ROUNDS = (3, 6, 12)  #: months from the start of the coach's three responses
STIGMA_REVERSED = ("stigma_9", "stigma_10")
STAFF_REVERSED = ("tyo_3", "tyo_4")
PROFESSIONS = (("hoitaja", 0.45), ("laakari", 0.12), ("psykologi", 0.12), ("sosiaalityo", 0.14),
               ("toimintaterapia", 0.07), ("muu", 0.10))
INDUSTRIES = (("G", 0.2), ("I", 0.12), ("N", 0.12), ("Q", 0.16), ("C", 0.1), ("S", 0.08), ("H", 0.07),
              ("F", 0.06), ("M", 0.05), ("A", 0.04))


def _day(v: Any) -> dt.date | None:
    """A date, or None for a missing one (pandas may hold it as None, NaN or NaT)."""
    return v if isinstance(v, dt.date) and not pd.isna(v) else None


def _stream(cfg: SynthConfig, k: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, 4400 + k])


def _items(rng: np.random.Generator, factor: float, n: int, lo: int, hi: int, centre: float, spread: float,
           noise: float, reversed_at: tuple[int, ...] = ()) -> list[int]:
    """n answers of one scale: centre + spread x (factor + noise x e), rounded into lo..hi;
    the items at `reversed_at` are worded the other way (answered lo + hi - x)."""
    v = np.clip(np.rint(centre + spread * (factor + noise * rng.normal(0, 1, n))), lo, hi).astype(int)
    for i in reversed_at:
        v[i] = lo + hi - v[i]
    return v.tolist()


def _rating(rng: np.random.Generator, log_or: float, employed: bool) -> int:
    """A 1-5 rating from RATING_SHARES, tilted by exp(log_or x rating) for the employed."""
    w = RATING_SHARES * np.exp(log_or * np.arange(1, 6) * employed)
    return int(rng.choice(np.arange(1, 6), p=w / w.sum()))


def client_process(cfg: SynthConfig, clients: pd.DataFrame, jobs: list[Record]) -> pd.DataFrame:
    """Per client (started by C): the first job, the trust and cooperation ratings, the first
    employer contact, the change in each of the eight domains and the stigma factor."""
    rng = _stream(cfg, 0)
    first_job: dict[str, dt.date] = {}
    for r in jobs:
        if r.purpose == "competitive":
            first_job[r.person_id] = min(first_job.get(r.person_id, r.alkupvm), r.alkupvm)
    rows = []
    for c in clients.itertuples():
        S = c.aloituspvm
        if S > cfg.cutoff:
            continue
        employed = bool(c.employed)
        trust = _rating(rng, np.log(OR_TRUST), employed)
        cooperation = _rating(rng, np.log(OR_COOPERATION), employed)
        u = rng.random()
        if u < SHARE_CONTACT30:
            contact: dt.date | None = S + dt.timedelta(days=int(rng.integers(2, 31)))
        elif u < SHARE_CONTACT30 + SHARE_CONTACT_LATER:
            contact = S + dt.timedelta(days=int(rng.integers(31, 240)))
        else:
            contact = None
        job = first_job.get(c.person_id)
        if job is not None and (contact is None or contact > job):  # the coach met the employer first
            contact = max(S, job - dt.timedelta(days=int(rng.integers(3, 30))))
        change = 0.5 * employed + 0.25 * (trust - 3) + rng.normal(0, 0.6)
        rows.append({"person_id": c.person_id, "S": S, "end": c.lopetuspvm, "employed": employed,
                     "first_job": job, "trust": trust, "cooperation": cooperation, "contact": contact,
                     "domains": (change + rng.normal(0, 0.45, 8)).tolist(), "stigma": rng.normal(0, 1),
                     "coach": c.valmentaja})
    return pd.DataFrame(rows)


def add_later_items(cfg: SynthConfig, process: pd.DataFrame, files: dict[str, list[dict]]) -> dict[str, int]:
    """Fill the later items into the survey entries (stigma at baseline and final; satisfaction,
    timeliness, length, trust and perceived change at final). Returns counts of EOS and blanks."""
    rng = _stream(cfg, 1)
    by_person = process.set_index("person_id")
    counts = {"eos": 0, "blank_items": 0}
    for wave in ("baseline", "final"):
        for e in files[f"survey_{wave}"]:
            if e["person_id"] not in by_person.index:
                continue
            p = by_person.loc[e["person_id"]]
            job = _day(p["first_job"])
            employed_by_then = job is not None and job <= e["vastauspvm"]
            f = p["stigma"] - (0.4 * employed_by_then if wave == "final" else 0.0)
            items = dict(zip([f"stigma_{i}" for i in range(1, 11)],
                             _items(rng, f, 10, 1, 4, 2.3, 0.55, 1.1, reversed_at=(8, 9))))
            if wave == "final":
                g = 0.4 * (p["trust"] - 3) + 0.3 * p["employed"]
                items |= dict(zip(("tyytyvaisyys", "tuki_oikea_aikainen", "tuki_kesto"),
                                  _items(rng, g, 3, 1, 5, 3.8, 0.9, 0.9)))
                items["luottamus_valmentaja"] = int(np.clip(p["trust"] + rng.choice([-1, 0, 0, 0, 1]), 1, 5))
                items |= {f"koettu_{d + 1}": int(np.clip(np.rint(3.3 + 0.9 * (x + rng.normal(0, 0.55))), 1, 5))
                          for d, x in enumerate(p["domains"])}
            for col, v in items.items():
                u = rng.random()
                if u < 0.02:
                    e["_raw"] = {**e.get("_raw", {}), col: "EOS"}
                    counts["eos"] += 1
                elif u < 0.03:
                    v = None
                    counts["blank_items"] += 1
                e[col] = v
    return counts


def _coach_rows(cfg: SynthConfig, process: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rng = _stream(cfg, 2)
    C = cfg.cutoff
    rows: list[dict[str, Any]] = []
    traps = {"later_form_later_contact": 0, "contact_before_start": 0, "older_versions": 0}
    for p in process.itertuples():
        end, contact, first_job = _day(p.end), _day(p.contact), _day(p.first_job)
        previous = p.S
        for k, months in enumerate(COACH_ROUNDS):
            due = add_months(p.S, months)
            # the first response within 3 months of the start; later ones around their month
            day = (p.S + dt.timedelta(days=int(rng.integers(45, 90))) if k == 0
                   else due + dt.timedelta(days=int(rng.integers(-14, 15))))
            if day > C or (end is not None and day > end + dt.timedelta(days=20)) or rng.random() > 0.82:
                continue
            jitter = 0 if k == 0 or rng.random() < 0.8 else int(rng.choice([-1, 1]))
            stated = contact if contact is not None and contact <= day else None
            if stated is not None and k > 0 and rng.random() < 0.04:  # a later form states a later date
                stated = min(day, stated + dt.timedelta(days=int(rng.integers(5, 40))))
                traps["later_form_later_contact"] += 1
            if stated is None and k == 0 and rng.random() < 0.03:  # met an employer before the start
                stated = p.S - dt.timedelta(days=int(rng.integers(3, 60)))
                traps["contact_before_start"] += 1
            months_since = max((day - previous).days / 30.4, 0.5)
            working = first_job is not None and first_job <= day
            row = {"person_id": p.person_id, "vastauspvm": day, "valmentaja": p.coach,
                   "luottamus": int(np.clip(p.trust + jitter, 1, 5)),
                   "yhteistyo_hoitotaho": int(np.clip(p.cooperation + (0 if k == 0 or rng.random() < 0.8
                                                                         else int(rng.choice([-1, 1]))), 1, 5)),
                   "ens_tyonantajakontakti": stated,
                   "tyonantajakontaktit": int(rng.poisson(1.6 * months_since)),
                   "tapaamiset": int(rng.poisson(2.6 * months_since)),
                   "tyopaikkatuki": ("K" if rng.random() < 0.6 else "E") if working else "",
                   "etuusneuvonta": "K" if rng.random() < 0.4 else "E",
                   **{f"hyoty_{d + 1}": int(np.clip(np.rint(3.3 + 0.9 * (x * min(1.0, (k + 1) / 3)
                                                                        + rng.normal(0, 0.55))), 1, 5))
                      for d, x in enumerate(p.domains)},
                   "paivitetty": timestamp(rng, min(day + dt.timedelta(days=int(rng.integers(0, 4))), C))}
            for col in ("luottamus", "yhteistyo_hoitotaho", *[f"hyoty_{d}" for d in range(1, 9)]):
                if rng.random() < 0.02:
                    row[col] = "EOS"
            if rng.random() < 0.05:  # an earlier version of the response, corrected later
                older = dict(row, luottamus=int(np.clip(p.trust - 1, 1, 5)),
                             paivitetty=timestamp(rng, day - dt.timedelta(days=1)))
                rows.append(older)
                traps["older_versions"] += 1
            rows.append(row)
            previous = day
    rows.sort(key=lambda r: (r["paivitetty"], r["person_id"]))
    return rows, traps


def _county_rounds(cfg: SynthConfig, clients: pd.DataFrame) -> list[tuple[str, str, dt.date]]:
    """The care-staff survey's three rounds per county: before its first start, midway, at its
    last start (each only when on or before the cut-off)."""
    out = []
    for alue, g in clients.groupby("alue", sort=True):
        starts = sorted(d for d in g["aloituspvm"] if d <= cfg.cutoff)
        if not starts:
            continue
        first, last = starts[0], starts[-1]
        for kierros, day in (("alku", first - dt.timedelta(days=30)),
                             ("vali", first + (last - first) / 2), ("loppu", last)):
            if day <= cfg.cutoff:
                out.append((alue, kierros, day))
    return out


def _staff_rows(cfg: SynthConfig, clients: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rng = _stream(cfg, 3)
    rows: list[dict[str, Any]] = []
    number = 0
    facts = {"exported_twice": 0, "updated": 0}
    for alue, kierros, day in _county_rounds(cfg, clients):
        for _ in range(int(rng.integers(8, 26))):
            number += 1
            recovery, expectations = rng.normal(0, 1, 2)
            shift = {"alku": 0.0, "vali": 0.2, "loppu": 0.35}[kierros]
            d = random_date(rng, day, min(day + dt.timedelta(days=21), cfg.cutoff))
            row = {"vastaustunnus": f"VT{cfg.seed % 1000:03d}{number:05d}", "alue": alue, "kierros": kierros,
                   "vastauspvm": d,
                   "ammattiryhma": str(rng.choice([p for p, _ in PROFESSIONS], p=[w for _, w in PROFESSIONS]))
                   if rng.random() < 0.95 else "",
                   **dict(zip([f"toipumis_{i}" for i in range(1, 9)],
                              _items(rng, recovery + shift, 8, 1, 5, 3.6, 0.7, 1.0))),
                   **dict(zip([f"tyo_{i}" for i in range(1, 5)],
                              _items(rng, expectations + shift, 4, 1, 5, 3.3, 0.8, 0.75, reversed_at=(2, 3)))),
                   "yhteistyo_valmentaja": int(np.clip(np.rint(3.6 + shift + rng.normal(0, 0.9)), 1, 5)),
                   "ips_osaksi_hoitoa": "EOS" if rng.random() < 0.03 else
                   ("K" if rng.random() < SHARE_IPS_PART_OF_CARE[kierros] else "E"),
                   "paivitetty": timestamp(rng, d)}
            for col in [f"toipumis_{i}" for i in range(1, 9)] + [f"tyo_{i}" for i in range(1, 5)]:
                if rng.random() < 0.02:
                    row[col] = "EOS"
            rows.append(row)
            if rng.random() < 0.04:  # the same response in two exports
                rows.append(dict(row))
                facts["exported_twice"] += 1
            elif rng.random() < 0.02:  # the respondent came back and changed an answer
                rows.append(dict(row, toipumis_1=int(np.clip(int(row["toipumis_1"]) + 1, 1, 5))
                                 if row["toipumis_1"] != "EOS" else 3,
                                 paivitetty=row["paivitetty"] + dt.timedelta(hours=2)))
                facts["updated"] += 1
    rows.sort(key=lambda r: (r["paivitetty"], r["vastaustunnus"]))
    return rows, facts


def _employer_rows(cfg: SynthConfig, clients: pd.DataFrame, jobs: list[Record]) -> list[dict[str, Any]]:
    rng = _stream(cfg, 4)
    county = dict(zip(clients["person_id"], clients["alue"]))
    rows: list[dict[str, Any]] = []
    for r in sorted((r for r in jobs if r.purpose == "competitive"), key=lambda r: (r.alkupvm, r.person_id)):
        due = add_months(r.alkupvm, 3)
        lasted = r.loppupvm is None or r.loppupvm >= due
        if not lasted or due > cfg.cutoff or rng.random() > 0.45:
            continue
        day = min(due + dt.timedelta(days=int(rng.integers(0, 30))), cfg.cutoff)
        f = rng.normal(0, 1)
        rows.append({"vastaustunnus": f"TA{cfg.seed % 1000:03d}{len(rows) + 1:05d}", "alue": county[r.person_id],
                     "vastauspvm": day,
                     "toimiala": str(rng.choice([i for i, _ in INDUSTRIES], p=np.array([w for _, w in INDUSTRIES])
                                                / sum(w for _, w in INDUSTRIES))) if rng.random() < 0.96 else "",
                     "koko": str(rng.choice(["1", "2", "3", "4"], p=[0.35, 0.3, 0.2, 0.15])),
                     "sektori": str(rng.choice(["yksityinen", "julkinen", "kolmas"], p=[0.6, 0.28, 0.12])),
                     **dict(zip(("tyytyvaisyys", "tuki_tyoyhteisolle", "tyontekija"),
                                _items(rng, f, 3, 1, 5, 4.0, 0.7, 0.8))),
                     "palkkaisi_uudelleen": "EOS" if rng.random() < 0.04 else ("K" if rng.random() < 0.85 else "E"),
                     "paivitetty": timestamp(rng, day)})
    rows.sort(key=lambda r: (r["vastauspvm"], r["vastaustunnus"]))
    return rows


def _text(export: str, row: dict[str, Any]) -> list[str]:
    out = []
    for h in headers(export):
        key = "person_id" if h == "asiakastunnus" else h
        v = row.get(key)
        if v is None:
            out.append("")
        elif isinstance(v, dt.datetime):
            out.append(fi_timestamp(v))
        elif isinstance(v, dt.date):
            out.append(fi_date(v))
        else:
            out.append(str(v))
    return out


def write_voices(out: Path, cfg: SynthConfig, clients: pd.DataFrame, jobs: list[Record],
                 process: pd.DataFrame) -> dict[str, Any]:
    """Write coach_survey.csv, care_staff_survey.csv and employer_survey.csv; return their file
    facts and what was planted."""
    coach, traps = _coach_rows(cfg, process)
    staff, staff_facts = _staff_rows(cfg, clients)
    employers = _employer_rows(cfg, clients, jobs)
    files = {
        COACH_FILE: write_fi_csv(Path(out) / COACH_FILE, headers("coach_survey"), [_text("coach_survey", r) for r in coach]),
        STAFF_FILE: write_fi_csv(Path(out) / STAFF_FILE, headers("care_staff_survey"),
                                 [_text("care_staff_survey", r) for r in staff]),
        EMPLOYER_FILE: write_fi_csv(Path(out) / EMPLOYER_FILE, headers("employer_survey"),
                                    [_text("employer_survey", r) for r in employers]),
    }
    eligible = [r for r in process.itertuples() if r.S + dt.timedelta(days=30) <= cfg.cutoff]
    within = sum(1 for r in eligible if _day(r.contact) is not None and r.contact <= r.S + dt.timedelta(days=30))
    planted = {
        "or_trust_per_point": OR_TRUST, "or_care_cooperation_per_point": OR_COOPERATION,
        "share_contact_within_30_days_planted": SHARE_CONTACT30,
        "share_contact_within_30_days_drawn": within / max(len(eligible), 1),
        "share_ips_part_of_care_planted": SHARE_IPS_PART_OF_CARE,
        "coach_traps": traps, "care_staff": staff_facts,
    }
    return {"files": files, **planted}
