"""Job and activity records of the coaches' tracking (jobs.csv), true current versions.

Each client's records realise the flags decided in `people`: competitive jobs in [S, C]
for the employed (with or without pay subsidy), another activity (`muu` among them) for the
`other_activity` clients, and records that must NOT count (a job before S, a job after C,
activities outside [S, C], `muu` before S) so that only a pipeline that applies the rules
gets the published figures. Record versions and duplicates are added in `project_exports`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .config import SynthConfig
from .sampling import random_date, timestamp

HOURS = (37.5, 37.5, 30.0, 25.0, 24.0, 20.0, 20.0, 18.5, 16.0, 15.0, 12.5, 10.0, 7.5, 32.5)
ISCO = ("5223", "9112", "4110", "9412", "7411", "5120", "9621", "2512", "8322", "3341", "5322",
        "9329", "4321", "7522", "5131", "9313")
OTHER_TYPES = ("tyokokeilu", "opiskelu", "vapaaehtoistyo", "muu", "tyo_e")
OTHER_P = (0.34, 0.22, 0.13, 0.10, 0.21)


@dataclass
class Record:
    """One version of a jobs.csv record (dates as dates; formatted when written)."""

    person_id: str
    tyyppi: str
    tyonantaja: str
    avoimet_markkinat: str
    palkkatuki: str
    alkupvm: dt.date | None
    loppupvm: dt.date | None
    tunnit: float | None
    ammatti: str
    paivitetty: dt.datetime
    purpose: str = ""  # why it is there (manifest / debugging), not written
    raw: dict = field(default_factory=dict)  # raw string overrides for planted invalid values

    def key(self) -> tuple:
        return (self.person_id, self.tyonantaja, self.alkupvm)


class JobMaker:
    """Builds records for one client at a time; owns the employer name pool."""

    def __init__(self, cfg: SynthConfig, rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.rng = rng
        self.C = cfg.cutoff
        self.export = cfg.export_date
        self._employer_numbers = itertools.chain(rng.permutation(np.arange(1000, 100000)).tolist(),
                                                 itertools.count(100000))

    def employer(self, kind: str = "tyo") -> str:
        n = next(self._employer_numbers)
        return f"Työkeskus {n}" if kind == "tyo_e" else f"Työnantaja {n}"

    def _ts(self, d: dt.date) -> dt.datetime:
        d = min(max(d, dt.date(2019, 1, 1)), self.export - dt.timedelta(days=1))
        return timestamp(self.rng, d)

    def _stamp(self, start: dt.date, end: dt.date | None) -> dt.datetime:
        """Current version's update time: when the end (or the start) was recorded."""
        base = end if end is not None and end < self.export else start
        return self._ts(base + dt.timedelta(days=int(self.rng.integers(0, 12))))

    def job(self, pid: str, start: dt.date, *, market: str = "K", subsidy: str = "E",
            purpose: str = "", kind: str = "tyo") -> Record:
        rng = self.rng
        dur = int(np.clip(rng.lognormal(np.log(170), 0.9), 14, 1600))
        end: dt.date | None = start + dt.timedelta(days=dur - 1)
        if end > self.C and rng.random() < 0.6:
            end = None  # ongoing: blank end (others keep a planned end after C)
        hours = float(rng.choice(HOURS)) if rng.random() < 0.93 else None
        return Record(pid, "tyo", self.employer(kind), market, subsidy, start, end, hours,
                      str(rng.choice(ISCO)) if rng.random() < 0.8 else "",
                      self._stamp(start, end), purpose)

    def activity(self, pid: str, start: dt.date, kind: str, purpose: str = "") -> Record:
        """A non-competitive activity: work trial, studies, volunteering, `muu`, or a job off the open market."""
        rng = self.rng
        if kind == "tyo_e":
            r = self.job(pid, start, market="E", subsidy=str(rng.choice(["K", "E"], p=[0.7, 0.3])),
                         purpose=purpose, kind="tyo_e")
            return r
        days = {"tyokokeilu": (30, 120), "opiskelu": (90, 400), "vapaaehtoistyo": (30, 500),
                "muu": (14, 200)}[kind]
        end: dt.date | None = start + dt.timedelta(days=int(rng.integers(*days)))
        if end > self.C or (kind in ("opiskelu", "vapaaehtoistyo") and rng.random() < 0.25):
            end = None if rng.random() < 0.7 else end
        hours = float(rng.choice((10.0, 12.5, 15.0, 20.0, 25.0))) if kind == "tyokokeilu" else None
        return Record(pid, kind, "", "", "", start, end, hours, "", self._stamp(start, end), purpose)

    # ---- per client ---------------------------------------------------------------------

    def for_client(self, c) -> list[Record]:
        rng, C = self.rng, self.C
        pid, S = c.person_id, c.aloituspvm
        recs: list[Record] = []
        if S > C:  # starts after the cut-off: at most a job after S, never counted
            if c.employed:
                recs.append(self.job(pid, random_date(rng, S, self.export - dt.timedelta(days=1)),
                                     purpose="after_cutoff_start"))
            return recs
        last = min(C, c.lopetuspvm) if c.lopetuspvm is not None else C
        if c.employed:
            recs += self._competitive(c, S, last)
            if rng.random() < 0.3:
                recs.append(self.activity(pid, random_date(rng, S, C), self._other_kind(), "other_activity_also_employed"))
        elif c.other_activity:
            for _ in range(1 + int(rng.random() < 0.3)):
                recs.append(self.activity(pid, random_date(rng, S, last), self._other_kind(), "other_activity"))
        elif rng.random() < 0.3:  # other activity before the IPS start: counts nowhere
            st = S - dt.timedelta(days=int(rng.integers(30, 400)))
            recs.append(self.activity(pid, st, "muu", "trap_muu_before_start"))
        # records that must not count
        if rng.random() < 0.07:
            st = S - dt.timedelta(days=int(rng.integers(10, 400)))
            recs.append(self.job(pid, st, subsidy=str(rng.choice(["K", "E"])), purpose="trap_job_before_start"))
        if rng.random() < 0.035:
            st = random_date(rng, C + dt.timedelta(days=1), self.export - dt.timedelta(days=1))
            recs.append(self.job(pid, st, purpose="trap_job_after_cutoff"))
        if not c.employed and not c.other_activity and rng.random() < 0.12:
            if rng.random() < 0.7:
                st = S - dt.timedelta(days=int(rng.integers(5, 300)))
            else:
                st = random_date(rng, C + dt.timedelta(days=1), self.export - dt.timedelta(days=1))
            recs.append(self.activity(pid, st, self._other_kind(), "trap_activity_outside_window"))
        return self._unique_keys(recs)

    def _other_kind(self) -> str:
        return str(self.rng.choice(OTHER_TYPES, p=OTHER_P))

    def _competitive(self, c, S: dt.date, last: dt.date) -> list[Record]:
        rng, C = self.rng, self.C
        n_jobs = 1 + int(rng.random() < 0.3) + int(rng.random() < 0.08)
        delay = int(rng.gamma(1.5, 60))
        start = S + dt.timedelta(days=delay)
        if start > last:
            start = random_date(rng, S, last)
        jobs: list[Record] = []
        for j in range(n_jobs):
            jobs.append(self.job(c.person_id, start, purpose="competitive"))
            end = jobs[-1].loppupvm
            if end is None:
                break
            start = end + dt.timedelta(days=int(rng.integers(7, 120)))
            if start > C:
                break
        if c.unsubsidised:
            subs = ["E" if rng.random() < 0.75 else "K" for _ in jobs]
            if "E" not in subs:
                subs[-1] = "E"
        else:
            subs = ["K"] * len(jobs)
        for r, s in zip(jobs, subs):
            r.palkkatuki = s
        return jobs

    def _unique_keys(self, recs: list[Record]) -> list[Record]:
        """Distinct records of a person never share (person, employer, start)."""
        seen = set()
        out = []
        for r in recs:
            step = dt.timedelta(days=-1 if r.alkupvm == self.C else 1)  # never across C
            while r.key() in seen:
                r = replace(r, alkupvm=r.alkupvm + step)
            seen.add(r.key())
            out.append(r)
        return out


def build_jobs(cfg: SynthConfig, rng: np.random.Generator, clients: pd.DataFrame) -> tuple[list[Record], JobMaker]:
    maker = JobMaker(cfg, rng)
    recs: list[Record] = []
    for c in clients.itertuples(index=False):
        recs += maker.for_client(c)
    return recs, maker
