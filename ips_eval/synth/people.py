"""The IPS clients: who they are, who counts, and who gets a job.

One row per client with the *true* values (before any export mess). Outcome flags are
decided here, per county, so the published counts hold by construction; the job and
activity records that realise them are built in `project_exports`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .config import (WAVE1_FIDELITY, WAVE1_TARGETS, WAVE2_FIDELITY, WAVE2_OTHER_ACTIVITY, WAVE2_SMI,
                     WAVE2_TARGETS, WAVE2_UNSUBSIDISED, WAVE_START_WINDOWS, SynthConfig)
from .ids import Pseudonymiser
from .sampling import add_months, largest_remainder, random_date, weighted_choice_without_replacement

SMI_DG = ("F20.0", "F20.1", "F20.5", "F21", "F22.0", "F25.0", "F25.1", "F29", "F31.1", "F31.3",
          "F31.4", "F31.6", "F32.2", "F32.3", "F33.2", "F33.3")
NON_SMI_DG = ("F32.0", "F32.1", "F33.0", "F33.1", "F41.0", "F41.1", "F43.1", "F60.3", "F90.0",
              "F84.5", "F40.1", "F42.2")

#: Clients who must not count, per wave: (role, how many).
NON_COUNTING = {
    2: (("no_consent", 7), ("withdrawn", 5), ("start_after_cutoff", 6), ("consent_after_cutoff", 3)),
    1: (("no_consent", 5), ("withdrawn", 4)),
}

TEAMS = {
    "Varsinais-Suomi": ("Psykiatrian poliklinikka Turku", "Mielenterveystiimi Salo"),
    "Keski-Suomi": ("Mielenterveyspalvelut Jyväskylä", "Psykiatrian poliklinikka Äänekoski"),
    "Keski-Pohjanmaa": ("Psykiatrian poliklinikka Kokkola",),
    "Kainuu": ("Mielenterveystiimi Kajaani", "Psykiatrian avohoito Kuhmo"),
    "Pohjanmaa": ("Psykiatrian poliklinikka Vaasa", "Mielenterveystiimi Pietarsaari"),
    "Pohjois-Savo": ("Psykiatrian poliklinikka Kuopio", "Mielenterveystiimi Iisalmi"),
    "Helsinki": ("Psykiatriakeskus Helsinki", "Mielenterveystiimi Itä-Helsinki"),
    "Pirkanmaa": ("Psykiatrian poliklinikka Tampere", "Mielenterveystiimi Nokia"),
    "Pohjois-Pohjanmaa": ("Psykiatrian poliklinikka Oulu",),
    "Lappi": ("Mielenterveystiimi Rovaniemi", "Psykiatrian avohoito Kemi"),
    "Etelä-Pohjanmaa": ("Psykiatrian poliklinikka Seinäjoki",),
}


def county_fidelity() -> dict[str, int]:
    return {**WAVE2_FIDELITY, **WAVE1_FIDELITY}


def linear_predictor(cfg: SynthConfig, df: pd.DataFrame) -> np.ndarray:
    """Log-odds of competitive employment without the intercept (the planted effects)."""
    fid = df["alue"].map(county_fidelity()).to_numpy(float)
    return (np.log(cfg.or_female) * (df["sukupuoli"] == "2")
            + np.log(cfg.or_work_history_per_level) * df["tyohistoria"].astype(int)
            + np.log(cfg.or_smi) * df["smi"]
            + np.log(cfg.or_age_40_49) * df["age"].between(40, 49)
            + np.log(cfg.or_higher_education) * (df["koulutus"] == "4")
            + np.log(cfg.or_fidelity_per_10_points) * (fid - 105.0) / 10.0).to_numpy(float)


def _targets(cfg: SynthConfig, wave: int) -> list[tuple[str, int, int]]:
    """(county, clients, employed) for a wave; scaled populations when not calibrating."""
    table = WAVE2_TARGETS if wave == 2 else WAVE1_TARGETS
    n_scaled = cfg.n_clients_wave2 if wave == 2 else cfg.n_clients_wave1
    if n_scaled is None:
        return list(table)
    sizes = largest_remainder(n_scaled, np.array([t[1] for t in table]))
    return [(c, int(n), -1) for (c, _, _), n in zip(table, sizes)]


def _draw_covariates(rng: np.random.Generator, n: int, wave: int, cfg: SynthConfig) -> dict[str, np.ndarray]:
    lo, hi = WAVE_START_WINDOWS[wave]
    if wave == 2:
        hi = min(hi, add_months(cfg.cutoff, -2))
    starts = np.array([random_date(rng, lo, hi) for _ in range(n)], dtype=object)
    age = 18 + np.round(rng.beta(1.6, 2.6, n) * 46).astype(int)
    return {
        "aloituspvm": starts,
        "age": age,
        "syntymavuosi": np.array([s.year for s in starts]) - age,
        "sukupuoli": rng.choice(["1", "2", "9"], n, p=[0.49, 0.49, 0.02]),
        "koulutus": rng.choice(["1", "2", "3", "4"], n, p=[0.25, 0.15, 0.44, 0.16]),
        "tyohistoria": rng.choice(["0", "1", "2", "3"], n, p=[0.17, 0.25, 0.33, 0.25]),
    }


def _smi_flags(rng: np.random.Generator, county: str, n: int, wave: int) -> np.ndarray:
    if wave == 2 and county in WAVE2_SMI and n == dict((c, t) for c, t, _ in WAVE2_TARGETS)[county]:
        k = WAVE2_SMI[county][0]
        flags = np.zeros(n, bool)
        flags[rng.choice(n, k, replace=False)] = True
        return flags
    return rng.random(n) < (0.5 if wave == 2 else 0.55)


def _diagnoses(rng: np.random.Generator, smi: np.ndarray) -> np.ndarray:
    dg = np.where(smi, rng.choice(SMI_DG, len(smi)), rng.choice(NON_SMI_DG, len(smi)))
    blank = (~smi) & (rng.random(len(smi)) < 0.05)  # blank dg = not SMI
    return np.where(blank, "", dg)


def _choose_employed(rng, cfg: SynthConfig, part: pd.DataFrame, county: str, k: int, wave: int) -> np.ndarray:
    """Exactly k employed in the county (strata where the published figures fix them)."""
    w = np.exp(linear_predictor(cfg, part))
    out = np.zeros(len(part), bool)
    if wave == 2 and county in WAVE2_SMI and WAVE2_SMI[county][1] is not None:
        _, k_smi, k_non = WAVE2_SMI[county]
        for mask, kk in ((part["smi"].to_numpy(), k_smi), (~part["smi"].to_numpy(), k_non)):
            idx = np.flatnonzero(mask)
            out[idx[weighted_choice_without_replacement(rng, w[idx], kk)]] = True
        assert out.sum() == k
        return out
    out[weighted_choice_without_replacement(rng, w, k)] = True
    return out


def _intercept(lp: np.ndarray, rate: float) -> float:
    """Intercept giving a mean predicted probability of `rate` (bisection: deterministic)."""
    lo, hi = -15.0, 15.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + lp)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _assign_flags(rng, cfg: SynthConfig, pop: pd.DataFrame, wave: int, targets) -> pd.DataFrame:
    """employed / unsubsidised / other_activity for study-population clients of one wave."""
    pop = pop.copy()
    emp = np.zeros(len(pop), bool)
    if cfg.calibrate:
        for county, _, k in targets:
            m = (pop["alue"] == county).to_numpy()
            emp[np.flatnonzero(m)] = _choose_employed(rng, cfg, pop[m], county, k, wave)
    else:
        lp = linear_predictor(cfg, pop)
        b0 = _intercept(lp, cfg.baseline_rate)
        emp = rng.random(len(pop)) < 1 / (1 + np.exp(-(b0 + lp)))
        pop.attrs["intercept"] = b0
    pop["employed"] = emp
    counties = [t[0] for t in targets]
    unsub = np.zeros(len(pop), bool)
    other = np.zeros(len(pop), bool)
    if cfg.calibrate:
        n_emp = np.array([emp[(pop["alue"] == c).to_numpy()].sum() for c in counties])
        n_non = np.array([(~emp[(pop["alue"] == c).to_numpy()]).sum() for c in counties])
        tot_unsub = WAVE2_UNSUBSIDISED if wave == 2 else round(cfg.unsubsidised_share * n_emp.sum())
        tot_other = WAVE2_OTHER_ACTIVITY if wave == 2 else round(cfg.other_activity_share * n_non.sum())
        q_unsub = largest_remainder(tot_unsub, n_emp, caps=n_emp)
        q_other = largest_remainder(tot_other, n_non, caps=n_non)
        for c, qu, qo in zip(counties, q_unsub, q_other):
            m = (pop["alue"] == c).to_numpy()
            e_idx = np.flatnonzero(m & emp)
            unsub[rng.choice(e_idx, qu, replace=False)] = True
            n_idx = np.flatnonzero(m & ~emp)
            other[rng.choice(n_idx, qo, replace=False)] = True
    else:
        unsub = emp & (rng.random(len(pop)) < cfg.unsubsidised_share)
        other = ~emp & (rng.random(len(pop)) < cfg.other_activity_share)
    pop["unsubsidised"] = unsub
    pop["other_activity"] = other
    return pop


def _wave(rng, cfg: SynthConfig, wave: int) -> pd.DataFrame:
    targets = _targets(cfg, wave)
    parts = []
    for county, n, _ in targets:
        cov = _draw_covariates(rng, n, wave, cfg)
        part = pd.DataFrame(cov)
        part["alue"] = county
        part["smi"] = _smi_flags(rng, county, n, wave)
        parts.append(part)
    pop = pd.concat(parts, ignore_index=True)
    pop["aalto"] = str(wave)
    pop["role"] = "population"
    pop = _assign_flags(rng, cfg, pop, wave, targets)

    # Clients who must not count, spread over the wave's counties.
    extras = []
    for role, k in NON_COUNTING[wave]:
        cov = pd.DataFrame(_draw_covariates(rng, k, wave, cfg))
        cov["alue"] = rng.choice([t[0] for t in targets], k)
        cov["smi"] = rng.random(k) < 0.5
        cov["aalto"] = str(wave)
        cov["role"] = role
        cov["employed"] = rng.random(k) < 0.6  # they do get jobs: counting them would show
        cov["unsubsidised"] = cov["employed"] & (rng.random(k) < 0.6)
        cov["other_activity"] = ~cov["employed"] & (rng.random(k) < 0.6)
        extras.append(cov)
    return pd.concat([pop] + extras, ignore_index=True)


def _consent_dates(rng, cfg: SynthConfig, df: pd.DataFrame) -> None:
    """Research consent, register consent, withdrawals, start after C, service end, referral."""
    C, export = cfg.cutoff, cfg.export_date
    n = len(df)
    consent, withdrawn, referral, end, reason = [], [], [], [], []
    for i, r in enumerate(df.itertuples()):
        S = r.aloituspvm
        if r.role == "start_after_cutoff":
            S = random_date(rng, C + dt.timedelta(days=1), export - dt.timedelta(days=3))
            df.at[i, "aloituspvm"] = S
            df.at[i, "syntymavuosi"] = S.year - r.age
        referral.append(S - dt.timedelta(days=int(rng.integers(7, 90))) if rng.random() < 0.85 else None)
        c = S - dt.timedelta(days=int(rng.integers(0, 15)))
        if r.role == "no_consent":
            c = None
        elif r.role == "consent_after_cutoff":
            c = random_date(rng, C + dt.timedelta(days=1), export - dt.timedelta(days=2))
        consent.append(c)
        if r.role == "withdrawn":
            withdrawn.append(random_date(rng, max(S, c) + dt.timedelta(days=30), C)
                             if (C - max(S, c)).days > 40 else C)
        else:
            withdrawn.append(None)
        # service end: most first-wave clients have ended; a third of the second wave.
        p_end = 0.9 if r.aalto == "1" else 0.3
        if r.role != "start_after_cutoff" and rng.random() < p_end and (C - S).days > 60:
            e = random_date(rng, S + dt.timedelta(days=45), min(C, add_months(S, 30)))
            end.append(e)
            reason.append(str(rng.choice(["tyollistyi", "muutto", "keskeytti", "ei_yhteytta", "muu"],
                                         p=[0.35, 0.1, 0.3, 0.15, 0.1])) if r.employed else
                          str(rng.choice(["muutto", "keskeytti", "ei_yhteytta", "muu"], p=[0.15, 0.45, 0.25, 0.15])))
        else:
            end.append(None)
            reason.append("")
    df["lahetepvm"] = referral
    df["tutkimussuostumus"] = consent
    df["suostumus_peruttu"] = withdrawn
    df["lopetuspvm"] = end
    df["lopetussyy"] = reason
    df["rekisterisuostumus"] = rng.choice(["K", "E", ""], n, p=[0.88, 0.1, 0.02])


def build_clients(cfg: SynthConfig, rng: np.random.Generator, pseudo: Pseudonymiser,
                  coach_pseudo: Pseudonymiser) -> pd.DataFrame:
    """All clients of both waves with their true attributes and outcome flags."""
    df = pd.concat([_wave(rng, cfg, 2), _wave(rng, cfg, 1)], ignore_index=True)
    # shuffle so that running numbers (hence pseudonyms) say nothing about county or role
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df["person_id"] = pseudo(np.arange(len(df)))
    df["number"] = np.arange(len(df))
    df["dg"] = _diagnoses(rng, df["smi"].to_numpy())
    df["tiimi"] = [str(rng.choice(TEAMS[a])) for a in df["alue"]]
    coaches = {a: coach_pseudo(np.arange(5) + 10 * j) for j, a in enumerate(TEAMS)}
    df["valmentaja"] = [str(rng.choice(coaches[a])) for a in df["alue"]]
    _consent_dates(rng, cfg, df)
    df["in_population"] = df["role"] == "population"
    return df
