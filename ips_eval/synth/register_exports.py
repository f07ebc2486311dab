"""Register extracts (register/): the comparison cohort and ten years of history, in chunks.

Designed for national scale: persons are generated and written a chunk at a time with
vectorised numpy (no Python loop per row), so 200 000 persons with tens of millions of
rows never sit in memory at once.

Employment is a monthly two-state Markov chain per person whose long-run employed share
depends only on covariates that the propensity model sees (age, gender, education, SMI)
and on a latent employability drawn from the same distribution in both groups. So, given
the covariates, IPS clients and comparison persons have the same untreated outcomes: the
only difference planted is the IPS effect, added as extra employment (an "IPS job") in the
12 months from the index month. Months 24..13 before the index get nothing (a placebo).
Comparison persons differ from clients in covariates (older, less SMI, more education),
so weighting matters, but the distributions overlap.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ips_eval.definitions import AGE_GROUPS

from .config import SynthConfig
from .contracts import REGISTER_EXPORTS, contract
from .ids import Pseudonymiser
from .people import NON_SMI_DG, SMI_DG
from .writers import RegisterWriter

T_MONTHS = 120  # ten years of history up to the cut-off month
COMPARISON_BASE = 10_000_000  # running numbers of comparison persons (pseudonyms never collide)
STRAY_BASE = 20_000_000  # register persons who are not in the cohort file
N_STRAY = 25
N_NO_CONSENT_IN_COHORT = 4
TWICE_MONTHLY_SHARE = 0.5  # persons whose regular pay comes in two payments a month

_ARROW_TYPES = {"pseudonym": pa.string(), "text": pa.string(), "code": pa.string(), "icd10": pa.string(),
                "integer": pa.int32(), "decimal": pa.float64(), "date": pa.date32(), "month": pa.string()}


def schema(export: str) -> pa.Schema:
    """Arrow schema of a register extract, names and types from its contract."""
    cols = contract(f"register_{export}")["columns"]
    return pa.schema([pa.field(c.get("header", c["name"]), _ARROW_TYPES[c["type"]]) for c in cols])


def _month_ord(d: dt.date) -> int:
    return (d.year - 1970) * 12 + d.month - 1


def _month_start_days(month_ord: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the first day of each month ordinal."""
    return (np.datetime64("1970-01", "M") + month_ord.astype("timedelta64[M]")).astype("datetime64[D]").astype(np.int64)


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Persons:
    """Covariates of one chunk of register persons (arrays, one element per person)."""

    def __init__(self, number, ips, in_cohort, alue, birth, gender, edu, dg, index_days) -> None:
        self.number = np.asarray(number, np.int64)
        self.ips = np.asarray(ips, np.int8)
        self.in_cohort = np.asarray(in_cohort, bool)
        self.alue = np.asarray(alue, object)
        self.birth = np.asarray(birth, np.int32)
        self.gender = np.asarray(gender, object)
        self.edu = np.asarray(edu, object)
        self.dg = np.asarray(dg, object)
        self.index_days = np.asarray(index_days, np.int64)
        self.smi = np.array([str(d).replace(".", "").startswith(("F2", "F30", "F31", "F322", "F323", "F332", "F333"))
                             for d in self.dg], bool)

    def __len__(self) -> int:
        return len(self.number)


def _comparison_persons(rng: np.random.Generator, numbers: np.ndarray, counties: list[str],
                        county_w: np.ndarray, index_pool: np.ndarray, cutoff: dt.date) -> Persons:
    n = len(numbers)
    idx_days = rng.choice(index_pool, n) + rng.integers(-20, 21, n)
    late = rng.random(n) < 0.003  # a few index dates after the cut-off (not usable yet)
    idx_days = np.where(late, _days(cutoff) + rng.integers(1, 91, n), np.minimum(idx_days, _days(cutoff)))
    idx_year = (np.datetime64("1970-01-01") + idx_days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
    age = 18 + np.round(rng.beta(2.0, 2.2, n) * 46).astype(int)
    smi = rng.random(n) < 0.33
    dg = np.where(smi, rng.choice(SMI_DG, n), rng.choice(NON_SMI_DG, n))
    dg = np.where(rng.random(n) < 0.02, "", dg)
    return Persons(numbers, np.zeros(n), np.ones(n, bool), rng.choice(counties, n, p=county_w), idx_year - age,
                   rng.choice(["1", "2", "9"], n, p=[0.52, 0.46, 0.02]),
                   rng.choice(["1", "2", "3", "4"], n, p=[0.19, 0.15, 0.42, 0.24]), dg, idx_days)


class HistoryGenerator:
    """Generates and writes the six extracts for chunks of persons."""

    def __init__(self, out: Path, cfg: SynthConfig, pseudo: Pseudonymiser) -> None:
        self.cfg = cfg
        self.pseudo = pseudo
        self.C = cfg.cutoff
        self.c_days = _days(cfg.cutoff)
        self.m0 = _month_ord(cfg.cutoff) - (T_MONTHS - 1)
        self.month_start = _month_start_days(np.arange(self.m0, self.m0 + T_MONTHS + 1))  # + one past the end
        self.grid_start = int(self.month_start[0])
        labels = (np.datetime64("1970-01", "M") + np.arange(self.m0, self.m0 + T_MONTHS).astype("timedelta64[M]"))
        self.month_labels = pa.array(labels.astype(str).tolist(), pa.string())
        self.employers = pa.array([f"Y{n:07d}" for n in range(1, 60_001)], pa.string())
        formats = cfg.register_formats()
        (out / "register").mkdir(parents=True, exist_ok=True)
        self.writers = {name: RegisterWriter(out / "register" / name, schema(name), formats[name])
                        for name in REGISTER_EXPORTS}
        self.effect: dict[str, Any] = {}
        self._chunks = 0  # chunks written so far (seeds the pay-split draws, see _write_earnings)

    # ---- employment -----------------------------------------------------------------------

    def _monthly_states(self, rng: np.random.Generator, p: Persons) -> tuple[np.ndarray, np.ndarray]:
        """Untreated employment per person and month (Markov chain), and the monthly wage level."""
        n = len(p)
        idx_year = (np.datetime64("1970-01-01") + p.index_days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(int) + 1970
        age = idx_year - p.birth
        edu = p.edu.astype(str)
        u = rng.normal(0.0, 1.3, n)
        lin = (0.15 + 0.55 * (edu == "4") + 0.25 * (edu == "3") - 0.35 * (edu == "1") - 1.0 * p.smi
               - 0.002 * (age - 38.0) ** 2 - 0.2 * (p.gender.astype(str) == "9") + u)
        share = np.clip(_sigmoid(lin), 0.01, 0.97)
        out_rate = 0.05 + 0.04 * p.smi
        in_rate = np.clip(out_rate * share / (1 - share), 0.002, 0.95)
        states = np.empty((n, T_MONTHS), bool)
        s = rng.random(n) < share
        draws = rng.random((n, T_MONTHS))
        for t in range(T_MONTHS):
            if t:
                s = np.where(s, draws[:, t] >= out_rate, draws[:, t] < in_rate)
            states[:, t] = s
        year_of_month = (self.m0 + np.arange(T_MONTHS)) // 12 + 1970
        states &= (year_of_month[None, :] - p.birth[:, None]) >= 17  # nobody works before 17
        wage = rng.lognormal(np.log(2400), 0.35, n) * np.where(p.smi, 0.7, 1.0)
        return states, wage

    @staticmethod
    def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, first month, last month) of every run of True along the month axis."""
        pad = np.zeros((mask.shape[0], 1), bool)
        m = np.concatenate([pad, mask, pad], axis=1).astype(np.int8)
        d = np.diff(m, axis=1)
        r1, c1 = np.nonzero(d == 1)
        r2, c2 = np.nonzero(d == -1)
        return r1, c1, c2 - 1

    def _day_in(self, rng, months: np.ndarray, lo_frac=0.0, hi_frac=1.0) -> np.ndarray:
        start = self.month_start[months]
        dim = self.month_start[months + 1] - start
        return start + np.floor(rng.uniform(lo_frac, hi_frac, len(months)) * dim).astype(np.int64)

    def _employment_spells(self, rng, states: np.ndarray) -> dict[str, np.ndarray]:
        """Spells (row, start, end or -1, employer, first/last month) realising the monthly states.

        Every month a run covers has at least one spell day in it, and no other month has,
        so the employed months of the analysis plan equal the simulated states. Runs are
        split into touching or overlapping spells, get side jobs, and some rows repeat.
        """
        row, ms, me = self._runs(states)
        k = len(row)
        start = self._day_in(rng, ms)
        end = self._day_in(rng, me)
        same = ms == me
        a, b = self._day_in(rng, ms), self._day_in(rng, ms)
        start = np.where(same, np.minimum(a, b), start)
        end = np.where(same, np.maximum(a, b), end)
        left = ms == 0  # began before the history window
        start = np.where(left, self.grid_start - rng.integers(1, 2500, k), start)
        right = me == T_MONTHS - 1  # still going at the cut-off month
        end = np.where(right, np.where(rng.random(k) < 0.7, -1, self.c_days + rng.integers(1, 300, k)), end)

        split = (me > ms) & (rng.random(k) < 0.3)
        kk = np.where(split, rng.integers(ms + 1, np.maximum(me, ms + 1) + 1), ms)  # first month of 2nd part
        cut = self.month_start[kk]
        overlap = np.where(rng.random(k) < 0.5, 0, rng.integers(1, 25, k))
        parts_row = [row, row[split]]
        parts_start = [start, cut[split] - overlap[split]]
        parts_end = [np.where(split, cut - 1, end), end[split]]
        parts_m1 = [ms, kk[split] - (overlap[split] > 0)]
        parts_m2 = [np.where(split, kk - 1, me), me[split]]
        # side jobs inside a run (never reaching a month the run does not cover)
        side = (me - ms >= 2) & (rng.random(k) < 0.05)
        sm = rng.integers(ms[side], me[side])
        s0 = self._day_in(rng, sm)
        s1 = np.minimum(s0 + rng.integers(5, 60, side.sum()), self.month_start[me[side] + 1] - 1)
        parts_row.append(row[side])
        parts_start.append(s0)
        parts_end.append(s1)
        parts_m1.append(sm)
        parts_m2.append(np.searchsorted(self.month_start, s1, "right") - 1)
        out = {"row": np.concatenate(parts_row), "start": np.concatenate(parts_start),
               "end": np.concatenate(parts_end), "m1": np.concatenate(parts_m1), "m2": np.concatenate(parts_m2)}
        out["employer"] = rng.integers(0, len(self.employers) - 1000, len(out["row"]))
        return out

    def _ips_jobs(self, rng, p: Persons, states: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
        """Extra employment for IPS clients in the 12 months from the index month (the planted effect).

        Each client gets a candidate job starting in a month without other work; exactly enough
        clients (in random order) get theirs for the target population's mean gain to equal
        the configured effect. Clients outside the target get one at the same rate.
        The manifest records, per target client, the untreated employed months of the 12 and the
        months the IPS job adds, so a test can take any subgroup's realised effect (the mean of
        its clients' gains: the ATT that model 6 and model 9 estimate) and check the warehouse's
        employed_months_post12 against untreated + gained.
        """
        cfg = self.cfg
        ti = np.searchsorted(self.month_start, p.index_days, "right") - 1  # index month column
        n = len(p)
        c0 = np.full(n, -1)
        c1 = np.full(n, -1)
        gain = np.zeros(n, int)
        for i in np.flatnonzero(p.ips == 1):
            if ti[i] < 0 or ti[i] >= T_MONTHS:
                continue
            first = ti[i] + int(rng.integers(0, 7))
            free = np.flatnonzero(~states[i, first:min(ti[i] + 12, T_MONTHS)])
            if len(free) == 0:
                continue
            a = first + free[0]
            busy = np.flatnonzero(states[i, a:])
            stop = a + (busy[0] if len(busy) else T_MONTHS - a) - 1
            b = min(a + int(rng.integers(3, 19)) - 1, stop, T_MONTHS - 1)
            c0[i], c1[i] = a, b
            gain[i] = max(0, min(b, ti[i] + 11) - a + 1)
        eligible = target & (ti + 11 <= T_MONTHS - 1) & (ti >= 0)
        idx = np.flatnonzero(eligible)
        chosen = np.zeros(n, bool)
        if cfg.effect_extra_40_49 == 0:
            order = idx[rng.permutation(len(idx))]
            goal = cfg.effect_months * len(idx)
            cum = np.concatenate([[0], np.cumsum(gain[order])])
            take = int(np.argmin(np.abs(cum - goal))) if goal > 0 else 0
            chosen[order[:take]] = True
            gained = float(cum[take])
        else:  # each age group (ANALYSIS_PLAN's groups) to its own mean gain, so that every
            # age group's realised effect is its planted one (model 9 estimates them one by one)
            year = (np.datetime64("1970-01-01") + p.index_days.astype("timedelta64[D]")).astype("datetime64[Y]")
            age = year.astype(int) + 1970 - p.birth
            in_40s = (age >= 40) & (age <= 49)
            take, gained, self.effect_by_age = 0, 0.0, {}
            for label, lo, hi in AGE_GROUPS:
                months = cfg.effect_months + (cfg.effect_extra_40_49 if label == "40-49" else 0.0)
                g = idx[((age >= lo) & (age <= hi))[idx]]
                order = g[rng.permutation(len(g))]
                cum = np.concatenate([[0], np.cumsum(gain[order])])
                k = int(np.argmin(np.abs(cum - months * len(g)))) if months > 0 else 0
                chosen[order[:k]] = True
                take, gained = take + k, gained + float(cum[k])
                self.effect_by_age[label] = {"target_persons": int(len(g)), "planted_employed_months_effect": months,
                                             "realised_employed_months_effect": float(cum[k] / max(len(g), 1))}
            others = idx[~in_40s[idx]]
            self.effect_by_age["other"] = {
                "target_persons": int(len(others)), "planted_employed_months_effect": cfg.effect_months,
                "realised_employed_months_effect": float(sum(self.effect_by_age[a[0]]["realised_employed_months_effect"]
                                                             * self.effect_by_age[a[0]]["target_persons"]
                                                             for a in AGE_GROUPS if a[0] != "40-49")
                                                         / max(len(others), 1))}
        # The planted truth per target person, on the warehouse's rule (ANALYSIS_PLAN: a month is
        # employed when a spell covers a day of it; the spells realise `states` month for month and
        # an IPS job lies in months without other work): employed_months_post12 = untreated + gained.
        ids = self.pseudo(p.number[idx]).tolist()
        untreated = [int(states[i, ti[i]:ti[i] + 12].sum()) for i in idx]
        gain_of = np.where(chosen[idx] & (c0[idx] >= 0), gain[idx], 0).astype(int).tolist()
        rate = take / max(len(idx), 1)
        others = (p.ips == 1) & ~eligible & (c0 >= 0)
        chosen |= others & (rng.random(n) < rate)
        chosen &= c0 >= 0
        rows = np.flatnonzero(chosen)
        w = cfg.effect_eur / cfg.effect_months if cfg.effect_months > 0 else 0.0
        self.effect = {
            "target_persons": int(len(idx)),
            # a client drawn without a month free of work in the window gets no job: not counted
            "clients_given_ips_job": int(np.count_nonzero(gain_of)),
            "planted_employed_months_effect": cfg.effect_months,
            "realised_employed_months_effect": gained / max(len(idx), 1),
            "planted_earnings_effect_eur": cfg.effect_eur,
            "ips_job_monthly_earnings_eur": w,
            "untreated_employed_months_post12": dict(zip(ids, untreated)),
            "gained_employed_months_post12": dict(zip(ids, gain_of)),
        }
        if cfg.effect_extra_40_49:
            self.effect["by_age_group"] = self.effect_by_age
        start = self._day_in(rng, c0[rows], 0.0, 0.5)
        end = self._day_in(rng, c1[rows], 0.5, 1.0)
        end = np.where(c1[rows] == T_MONTHS - 1, -1, end)
        return {"row": rows, "start": start, "end": end, "m1": c0[rows], "m2": c1[rows],
                "employer": rng.integers(len(self.employers) - 1000, len(self.employers), len(rows))}

    # ---- one chunk ------------------------------------------------------------------------------

    def chunk(self, rng: np.random.Generator, p: Persons, target: np.ndarray | None = None) -> None:
        n = len(p)
        pid = pa.array(self.pseudo(p.number).tolist(), pa.string())
        states, wage = self._monthly_states(rng, p)
        emp = self._employment_spells(rng, states)
        ips = self._ips_jobs(rng, p, states, target) if target is not None else None
        if ips is not None:
            self._write_ips_earnings(rng, pid, ips)
            emp = {k: np.concatenate([emp[k], ips[k]]) for k in emp}
        self._write_earnings(rng, pid, emp, wage, n_ips=0 if ips is None else len(ips["row"]))
        self._write_pay_subsidy(rng, pid, p, emp, n_ips=0 if ips is None else len(ips["row"]))
        dup = rng.random(len(emp["row"])) < 0.01  # repeated rows
        order = np.lexsort((emp["start"], emp["row"]))
        order = np.concatenate([order, np.flatnonzero(dup)])
        self._write("employment", pid, emp["row"][order], emp["start"][order], emp["end"][order],
                    tyonantaja=self.employers.take(pa.array(emp["employer"][order])))
        self._write_benefits(rng, pid, p, states)
        self._write_care(rng, pid, p)
        if p.in_cohort.any():
            self._write_cohort(pid, p)

    def _write(self, name: str, pid: pa.Array, row, start, end, **cols) -> None:
        start = np.asarray(start, np.int64)
        end = np.asarray(end, np.int64)
        data = {"person_id": pid.take(pa.array(row)), **cols,
                "alkupvm": pa.array(start.astype(np.int32), pa.date32()),
                "loppupvm": pa.array(end.astype(np.int32), pa.date32(), mask=end < 0)}
        self.writers[name].write(pa.table(data))

    def _expand_months(self, spells: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(spell index, month column) for every month a spell covers inside the history."""
        m1 = np.clip(spells["m1"], 0, T_MONTHS - 1)
        m2 = np.clip(spells["m2"], 0, T_MONTHS - 1)
        count = np.maximum(m2 - m1 + 1, 0)
        sp = np.repeat(np.arange(len(m1)), count)
        offs = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        return sp, m1[sp] + offs

    def _write_earnings(self, rng, pid, emp, wage, n_ips: int) -> None:
        k = len(emp["row"]) - n_ips
        spells = {key: v[:k] for key, v in emp.items()}
        sp, month = self._expand_months(spells)
        ms, me = self.month_start[month], self.month_start[month + 1] - 1
        s = spells["start"][sp]
        e = np.where(spells["end"][sp] < 0, self.c_days + 10_000, spells["end"][sp])
        covered = np.minimum(e, me) - np.maximum(s, ms) + 1
        frac = np.clip(covered / (me - ms + 1), 0.05, 1.0)
        row = spells["row"][sp]
        amount = np.round(wage[row] * frac * rng.lognormal(0, 0.15, len(sp)), 2)
        extra = rng.random(len(sp)) < 0.3  # a second payment in the month (holiday pay, overtime)
        # Hourly-paid persons (half of them: part-time, shift and care work) are paid twice a
        # month, so their regular pay is two Incomes Register rows that sum to the month's pay.
        # Drawn from a generator of its own so that every other extract keeps its bytes.
        srng = np.random.default_rng([self.cfg.seed, 4244, self._chunks])
        self._chunks += 1
        twice = (srng.random(len(wage)) < TWICE_MONTHLY_SHARE)[row]
        first = np.round(amount[twice] * srng.uniform(0.35, 0.65, int(twice.sum())), 2)
        second = np.round(amount[twice] - first, 2)
        tie = first == second  # two equal rows would be one row after exact duplicates collapse
        first, second = np.where(tie, first + 0.01, first), np.where(tie, second - 0.01, second)
        amount = amount.copy()
        amount[twice] = first
        rows = np.concatenate([row, row[twice], row[extra]])
        months = np.concatenate([month, month[twice], month[extra]])
        amounts = np.concatenate([amount, second,
                                  np.round(wage[row[extra]] * rng.uniform(0.05, 0.5, extra.sum()), 2)])
        order = np.lexsort((months, rows))
        self.writers["earnings"].write(pa.table({
            "person_id": pid.take(pa.array(rows[order])),
            "kuukausi": self.month_labels.take(pa.array(months[order])),
            "ansiot_eur": pa.array(amounts[order], pa.float64())}))

    def _write_ips_earnings(self, rng, pid, ips) -> None:
        sp, month = self._expand_months(ips)
        w = self.effect["ips_job_monthly_earnings_eur"]
        amount = np.round(w * rng.uniform(0.9, 1.1, len(sp)), 2)
        self.writers["earnings"].write(pa.table({
            "person_id": pid.take(pa.array(ips["row"][sp])),
            "kuukausi": self.month_labels.take(pa.array(month)),
            "ansiot_eur": pa.array(amount, pa.float64())}))

    def _write_pay_subsidy(self, rng, pid, p: Persons, emp, n_ips: int) -> None:
        k = len(emp["row"])
        prob = np.where(p.smi[emp["row"]], 0.1, 0.03)
        prob[k - n_ips:] = 0.35
        pick = np.flatnonzero(rng.random(k) < prob)
        start = emp["start"][pick] + rng.integers(0, 20, len(pick))
        end = start + rng.integers(180, 731, len(pick))
        spell_end = emp["end"][pick]
        end = np.where(spell_end >= 0, np.minimum(end, np.maximum(spell_end, start)), end)
        self._write("pay_subsidy", pid, emp["row"][pick], start, end,
                    tyonantaja=self.employers.take(pa.array(emp["employer"][pick])))

    def _write_benefits(self, rng, pid, p: Persons, states: np.ndarray) -> None:
        n = len(p)
        parts = []  # (row, code, start, end)
        # unemployment benefit during spells without work
        row, ms, me = self._runs(~states)
        take = rng.random(len(row)) < 0.55
        row, ms, me = row[take], ms[take], me[take]
        s = self._day_in(rng, ms, 0.0, 0.5)
        e = self._day_in(rng, me, 0.5, 1.0)
        e = np.where((me == T_MONTHS - 1) & (rng.random(len(row)) < 0.5), -1, e)
        parts.append((row, "tyottomyysturva", s, e))
        # social assistance, month by month, for some persons without work
        flag = rng.random(n) < (0.25 + 0.15 * p.smi)
        r, c = np.nonzero(~states & flag[:, None] & (rng.random(states.shape) < 0.3))
        parts.append((r, "toimeentulotuki", self.month_start[c], self.month_start[c + 1] - 1))
        span = self.c_days - self.grid_start
        # sickness allowance: short spells
        cnt = rng.poisson(1.0 + 1.0 * p.smi)
        r = np.repeat(np.arange(n), cnt)
        s = self.grid_start + rng.integers(0, span, len(r))
        parts.append((r, "sairauspaivaraha", s, s + rng.integers(9, 300, len(r))))
        for code, prob, lo, hi in (("kuntoutustuki", 0.12 + 0.15 * p.smi, 180, 900),
                                   ("kuntoutusraha", np.full(n, 0.1), 30, 365)):
            r = np.flatnonzero(rng.random(n) < prob)
            s = self.grid_start + rng.integers(0, span, len(r))
            parts.append((r, code, s, s + rng.integers(lo, hi, len(r))))
        r = np.flatnonzero(rng.random(n) < 0.04 + 0.06 * p.smi)
        parts.append((r, "tkel", self.grid_start + rng.integers(0, span, len(r)), np.full(len(r), -1)))
        row = np.concatenate([x[0] for x in parts])
        code = np.concatenate([np.full(len(x[0]), i, np.int8) for i, x in enumerate(parts)])
        start = np.concatenate([x[2] for x in parts]).astype(np.int64)
        end = np.concatenate([x[3] for x in parts]).astype(np.int64)
        late = (end > self.c_days) & (rng.random(len(end)) < 0.5)
        end = np.where(late, -1, end)  # some still running at extraction: blank end
        codes = pa.array([x[1] for x in parts], pa.string())
        order = np.lexsort((start, row))
        self._write("benefits", pid, row[order], start[order], end[order],
                    etuus=codes.take(pa.array(code[order])))

    def _write_care(self, rng, pid, p: Persons) -> None:
        n = len(p)
        span = self.c_days - self.grid_start
        rate = rng.gamma(1.5, 2.0, n) * (1 + 0.8 * p.smi)
        cnt = np.minimum(rng.poisson(rate * 10), 150)
        r_avo = np.repeat(np.arange(n), cnt)
        s_avo = self.grid_start + rng.integers(0, span + 1, len(r_avo))
        cnt_o = np.minimum(rng.poisson(0.1 * (1 + 3 * p.smi) * 10), 15)
        r_os = np.repeat(np.arange(n), cnt_o)
        s_os = self.grid_start + rng.integers(0, span, len(r_os))
        e_os = s_os + rng.integers(3, 90, len(r_os))
        e_os = np.where(e_os > self.c_days, -1, e_os)
        row = np.concatenate([r_avo, r_os])
        start = np.concatenate([s_avo, s_os])
        end = np.concatenate([np.full(len(r_avo), -1), e_os])
        kind = np.concatenate([np.zeros(len(r_avo), np.int8), np.ones(len(r_os), np.int8)])
        dg_person = pa.array([str(d) if d else None for d in p.dg], pa.string())
        order = np.lexsort((start, row))
        self._write("psychiatric_care", pid, row[order], start[order], end[order],
                    hoitomuoto=pa.array(["avo", "osasto"], pa.string()).take(pa.array(kind[order])),
                    dg=dg_person.take(pa.array(row[order])))

    def _write_cohort(self, pid, p: Persons) -> None:
        keep = np.flatnonzero(p.in_cohort)
        self.writers["cohort"].write(pa.table({
            "person_id": pid.take(pa.array(keep)),
            "ips": pa.array(p.ips[keep].astype(str).tolist(), pa.string()),
            "alue": pa.array(p.alue[keep].tolist(), pa.string()),
            "syntymavuosi": pa.array(p.birth[keep], pa.int32()),
            "sukupuoli": pa.array(p.gender[keep].astype(str).tolist(), pa.string()),
            "koulutus": pa.array([str(x) if x else None for x in p.edu[keep]], pa.string()),
            "dg": pa.array([str(x) if x else None for x in p.dg[keep]], pa.string()),
            "indeksipvm": pa.array(p.index_days[keep].astype(np.int32), pa.date32())}))

    def close(self) -> dict[str, Any]:
        return {f"register/{w.path.name}": w.close() for w in self.writers.values()}


def write_register(out: Path, cfg: SynthConfig, clients: pd.DataFrame, pseudo: Pseudonymiser) -> dict[str, Any]:
    """The register/ folder; returns its part of the manifest."""
    gen = HistoryGenerator(out, cfg, pseudo)
    rng = np.random.default_rng([cfg.seed, 4242])
    C = cfg.cutoff
    # chunk 0: IPS clients in the cohort file (register consent K, plus a few without), and strays
    k = clients["rekisterisuostumus"] == "K"
    no = clients.index[clients["rekisterisuostumus"] != "K"]
    trap = clients.loc[no[rng.permutation(len(no))[:N_NO_CONSENT_IN_COHORT]]]
    ips = pd.concat([clients[k], trap])
    strays = _comparison_persons(rng, STRAY_BASE + np.arange(N_STRAY), ["Kainuu"], np.array([1.0]),
                                 np.array([_days(dt.date(2023, 6, 1))]), C)
    p0 = Persons(
        np.concatenate([ips["number"].to_numpy(), strays.number]),
        np.concatenate([np.ones(len(ips)), np.zeros(N_STRAY)]),
        np.concatenate([np.ones(len(ips), bool), np.zeros(N_STRAY, bool)]),
        np.concatenate([ips["alue"].to_numpy(object), strays.alue]),
        np.concatenate([ips["syntymavuosi"].to_numpy(int), strays.birth]),
        np.concatenate([ips["sukupuoli"].to_numpy(object), strays.gender]),
        np.concatenate([ips["koulutus"].to_numpy(object), strays.edu]),
        np.concatenate([ips["dg"].to_numpy(object), strays.dg]),
        np.concatenate([[_days(d) for d in ips["aloituspvm"]], strays.index_days]),
    )
    target = np.concatenate([(ips["in_population"] & (ips["rekisterisuostumus"] == "K")).to_numpy(),
                             np.zeros(N_STRAY, bool)])
    gen.chunk(rng, p0, target=target)

    pop = clients[clients["in_population"]]
    counties = sorted(pop["alue"].unique())
    w = pop["alue"].value_counts().reindex(counties).to_numpy(float) ** 0.6
    index_pool = np.array([_days(d) for d in pop["aloituspvm"]])
    late = 0
    for j, lo in enumerate(range(0, cfg.cohort, cfg.chunk_persons)):
        hi = min(cfg.cohort, lo + cfg.chunk_persons)
        crng = np.random.default_rng([cfg.seed, 4243, j])
        comp = _comparison_persons(crng, COMPARISON_BASE + np.arange(lo, hi), counties, w / w.sum(), index_pool, C)
        late += int((comp.index_days > _days(C)).sum())
        gen.chunk(crng, comp)
    files = gen.close()
    return {
        "files": files,
        "persons": {
            "ips_in_cohort": int(len(ips)),
            "ips_in_cohort_without_register_consent": sorted(trap["person_id"].tolist()),
            "ips_in_cohort_not_in_study_population": sorted(ips.loc[~ips["in_population"], "person_id"].tolist()),
            "comparison": int(cfg.cohort),
            "comparison_index_after_cutoff": late,
            "register_persons_not_in_cohort": sorted(pseudo(STRAY_BASE + np.arange(N_STRAY)).tolist()),
        },
        "effect": gen.effect,
        "formats": cfg.register_formats(),
    }
