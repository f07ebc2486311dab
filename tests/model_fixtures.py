"""Simulated warehouse tables with planted effects, for the model tests.

Each builder returns DataFrames shaped like the `core`/`marts`/`staging` tables of
docs/warehouse.md; `load(con, tables)` writes them into a DuckDB connection. Everything
is drawn from a seeded numpy generator, so a test sees the same data on every run.

Planted truths (what the tests check the models recover):
- `competitive`: logistic, odds ratio of SMI = `or_smi` (default 2.0), no county random
  effect, so the marginal (GEE) and conditional odds ratios coincide;
- time to first job: proportional hazards, hazard ratio of SMI = `hr_smi` (default 1.5),
  drawn independently of `competitive` (the two models read different columns);
- scores: +`score_employed` points when employed by the response date, +0.5 per wave;
- register: employed months post12 = Y0 + `effect` for IPS clients, Y0 ~ Binomial(10, .)
  so Y0 + 2 stays within 0..12; IPS assignment depends on the covariates only, so the
  placebo (employed months 24-13 before the index month) has no effect after weighting.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from ips_eval.definitions import reference_tables

COUNTIES = ["Etelä-Karjala", "Helsinki", "Kainuu", "Lappi", "Pirkanmaa", "Pohjois-Savo",
            "Satakunta", "Vantaa-Kerava", "Varsinais-Suomi", "Keski-Suomi", "Kymenlaakso", "Pohjanmaa"]
CUTOFF = dt.date(2025, 6, 30)
AGE_GROUPS = ["<30", "30-39", "40-49", "50+"]


def expit(x):
    return 1 / (1 + np.exp(-x))


def load(con: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    for qualified, df in tables.items():
        schema = qualified.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.register("_fixture", df)
        con.execute(f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _fixture")
        con.unregister("_fixture")
    return con


def clients(n: int = 3000, n_counties: int = 12, seed: int = 1, or_smi: float = 2.0, hr_smi: float = 1.5,
            score_employed: float = 2.0) -> dict[str, pd.DataFrame]:
    """core.client_outcomes, core.competitive_jobs, marts.client_scores, marts.employment_outcomes,
    marts.fidelity_current for `n` simulated clients."""
    rng = np.random.default_rng(seed)
    counties = COUNTIES[:n_counties]
    fidelity = dict(zip(counties, rng.integers(70, 121, n_counties)))
    alue = rng.choice(counties, n)
    age_group = rng.choice(AGE_GROUPS, n, p=[0.3, 0.3, 0.25, 0.15])
    gender = rng.choice(["1", "2", "9"], n, p=[0.49, 0.49, 0.02])
    education = rng.choice(["1", "2", "3", "4"], n, p=[0.2, 0.4, 0.25, 0.15]).astype(object)
    education[rng.random(n) < 0.02] = None
    work_history = rng.choice(["0", "1", "2", "3"], n, p=[0.25, 0.3, 0.3, 0.15])
    smi = rng.random(n) < 0.5
    fid = np.array([fidelity[a] for a in alue], dtype=float)
    edu_num = pd.to_numeric(pd.Series(education), errors="coerce").fillna(2).to_numpy()
    lin = (-1.1 + np.log(or_smi) * smi + 0.15 * (edu_num - 2) + 0.2 * work_history.astype(int)
           - 0.2 * (age_group == "50+") + 0.1 * (fid - 95) / 10)
    competitive = rng.random(n) < expit(lin)
    unsubsidised = competitive & (rng.random(n) < 0.6)

    ips_start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    follow = (pd.Timestamp(CUTOFF) - ips_start).days.to_numpy()
    t_job = rng.exponential(400 / np.exp(np.log(hr_smi) * smi + 0.15 * work_history.astype(int)))
    t_end = rng.exponential(900, n)
    t = np.minimum.reduce([t_job, t_end, follow]).astype(int)
    ttf_event = (t_job <= t_end) & (t_job <= follow)
    ttf_competing = ~ttf_event & (t_end <= follow)
    service_end = pd.Series(ips_start + pd.to_timedelta(np.where(ttf_competing, t, 0), unit="D")).where(ttf_competing)
    first_job_start = pd.Series(ips_start + pd.to_timedelta(t, unit="D")).where(ttf_event)

    co = pd.DataFrame({
        "person_id": [f"P{i:05d}" for i in range(n)], "alue": alue, "aalto": "1", "ips_start": ips_start.date,
        "service_end": service_end.dt.date, "age": 0, "age_group": age_group, "gender": gender,
        "education": education, "work_history": work_history, "smi": smi, "competitive": competitive,
        "unsubsidised": unsubsidised, "first_job_start": first_job_start.dt.date, "ttf_days": t,
        "ttf_event": ttf_event, "ttf_competing": ttf_competing, "fidelity_total": fid,
    })

    # First jobs: latent length ~ exponential, censored by the follow-up left at C.
    has = co[co["first_job_start"].notna()]
    left = (pd.Timestamp(CUTOFF) - pd.to_datetime(has["first_job_start"])).dt.days.to_numpy() + 1
    latent = np.ceil(rng.exponential(300, len(has))).astype(int)
    jobs = pd.DataFrame({
        "person_id": has["person_id"].to_numpy(), "alue": has["alue"].to_numpy(),
        "ips_start": has["ips_start"].to_numpy(), "job_start": has["first_job_start"].to_numpy(),
        "job_days": np.minimum(latent, left), "ongoing": latent > left, "subsidised": False, "is_first": True,
    })

    # Surveys at S (baseline), S + 180 (midpoint), S + 365 (final), when on or before C.
    u = rng.normal(0, 3, n)
    rows = []
    for wi, (wave, lag) in enumerate([("baseline", 10), ("midpoint", 180), ("final", 365)]):
        date = ips_start + pd.to_timedelta(lag, unit="D")
        ok = (date <= pd.Timestamp(CUTOFF)) & (rng.random(n) < 0.85)
        emp = (first_job_start.notna() & (first_job_start <= pd.Series(date))).to_numpy()
        base = u + 0.5 * wi + score_employed * emp + rng.normal(0, 2, n)
        rows.append(pd.DataFrame({
            "person_id": co["person_id"], "wave": wave, "vastauspvm": date.date,
            "work_ability": np.clip(np.round(5 + base / 2), 0, 10), "swemwbs": np.clip(22 + base, 7, 35),
            "eurohis": np.clip(3 + base / 5, 1, 5), "inclusion": np.clip(24 + base, 8, 40),
            "self_efficacy": np.clip(28 + base, 10, 40), "rtw_readiness": np.clip(np.round(3 + base / 4), 1, 5),
            # ISMI-10 is asked at baseline and final only (data_contracts/scales.yaml)
            "stigma": np.clip(2.5 - base / 8, 1, 4) if wave != "midpoint" else np.nan,
        })[ok])
    scores = pd.concat(rows, ignore_index=True)

    g = co.groupby("alue").agg(n_clients=("person_id", "size"), n_competitive=("competitive", "sum"))
    eo = g.reset_index()
    eo = pd.concat([eo, pd.DataFrame([{"alue": "ALL", "n_clients": len(co), "n_competitive": int(competitive.sum())}])])
    eo["rate_competitive"] = eo["n_competitive"] / eo["n_clients"]
    fc = pd.DataFrame({"alue": list(fidelity), "arviointipvm": dt.date(2024, 6, 1),
                       "total": [int(v) for v in fidelity.values()], "category": "fair"})
    return {"core.client_outcomes": co, "core.competitive_jobs": jobs, "marts.client_scores": scores,
            "marts.employment_outcomes": eo.reset_index(drop=True), "marts.fidelity_current": fc,
            "core.coaching_clients": coaching(co, None)}


#: Ratings 1-5 of the coach's trust and care cooperation among clients without a job (coaching()).
RATING_SHARES = np.array([0.05, 0.12, 0.30, 0.33, 0.20])


def coaching(co: pd.DataFrame, or_trust: float | None = 1.8, or_cooperation: float = 1.4, outcome: str = "competitive",
             share_missing: float = 0.25, seed: int = 11) -> pd.DataFrame:
    """core.coaching_clients for the clients of `co`: without coach responses when `or_trust` is
    None; otherwise a first coach response 45-89 days after the start (a share `share_missing`
    of clients have their first one later, 100-200 days, so model 1 reads no rating), its
    ratings drawn given `outcome` as P(r | employed) ~ RATING_SHARES x OR^(r x employed): the
    logistic regression of `outcome` on them and on anything independent of them given the
    outcome has exactly these odds ratios per point. Its own generator: the other tables stay as
    they were."""
    n = len(co)
    empty = pd.DataFrame({"person_id": co["person_id"], "alue": co["alue"], "ips_start": co["ips_start"],
                          "n_coach_responses": np.zeros(n, dtype="int64"),
                          "first_response_date": pd.Series([None] * n, dtype="object"),
                          "first_trust": pd.array([None] * n, dtype="Int64"),
                          "first_cooperation": pd.array([None] * n, dtype="Int64"),
                          "followed_to": pd.Series(pd.to_datetime(co["service_end"]).fillna(pd.Timestamp(CUTOFF))).dt.date,
                          "first_employer_contact": pd.Series([None] * n, dtype="object")})
    if or_trust is None:
        return empty
    rng = np.random.default_rng(seed)
    employed = co[outcome].to_numpy(dtype=bool)

    def ratings(odds_ratio: float) -> np.ndarray:
        out = np.empty(n, dtype="int64")
        for value in (False, True):
            w = RATING_SHARES * odds_ratio ** (np.arange(1, 6) * value)
            sel = employed == value
            out[sel] = rng.choice(np.arange(1, 6), int(sel.sum()), p=w / w.sum())
        return out

    trust, cooperation = ratings(or_trust), ratings(or_cooperation)
    late = rng.random(n) < share_missing
    lag = np.where(late, rng.integers(100, 200, n), rng.integers(45, 90, n))
    first = pd.to_datetime(co["ips_start"]) + pd.to_timedelta(lag, unit="D")
    # a first employer contact 2-120 days after the start for four clients of five
    contact = (pd.to_datetime(co["ips_start"]) + pd.to_timedelta(rng.integers(2, 120, n), unit="D")).dt.date
    contact = contact.where(rng.random(n) < 0.8, None)
    return empty.assign(n_coach_responses=np.ones(n, dtype="int64"), first_response_date=first.dt.date,
                        first_trust=trust, first_cooperation=cooperation, first_employer_contact=contact)


def register(n_ips: int = 600, n_cmp: int = 1800, effect: float = 2.0, earnings_effect: float = 3000.0,
             seed: int = 2, n_counties: int = 6, effect_post24: float | None = None) -> dict[str, pd.DataFrame]:
    """staging.register_population, marts.register_outcomes (with the covariates and the three
    negative controls, none affected by IPS) and marts.state_sequences.

    The 24-month outcomes are missing (no window ended) unless `effect_post24` is given: then
    persons whose index month is at most 24 months before CUTOFF's month have
    employed_months_post24 = Y0 + effect_post24 for IPS clients, Y0 ~ Binomial(18, .), and
    earnings_post24 = 1800 per employed month + noise."""
    rng = np.random.default_rng(seed)
    n = n_ips + n_cmp
    counties = COUNTIES[:n_counties]
    alue = rng.choice(counties, n)
    age = rng.integers(20, 60, n)
    gender = rng.choice(["1", "2"], n)
    education = rng.choice(["1", "2", "3", "4"], n).astype(object)
    education[rng.random(n) < 0.05] = None
    dg = rng.choice(["F20.0", "F25", "F31.1", "F32.2", "F33.1", "F41.1", "F60.3", None], n)
    placebo = rng.binomial(12, expit(-0.5 + 0.02 * (40 - age)))
    pre12 = rng.binomial(12, expit(-1.5 + 0.25 * placebo))
    benefit = rng.binomial(12, expit(0.5 - 0.3 * pre12 + 0.5 * np.isin(dg, ["F20.0", "F25"])))
    benefit_pre24 = rng.binomial(12, expit(0.3 - 0.2 * placebo + 0.5 * np.isin(dg, ["F20.0", "F25"])))
    inpatient = rng.poisson(2 + 3 * np.isin(dg, ["F20.0", "F25"]))
    county_eff = dict(zip(counties, np.linspace(-0.4, 0.4, n_counties)))
    lin = (-0.4 - 0.12 * pre12 + 0.08 * benefit + 0.3 * (gender == "2") - 0.01 * (age - 40)
           + np.array([county_eff[a] for a in alue]) + 0.3 * np.isin(dg, ["F20.0", "F25"]))
    # Exactly n_ips treated: the n_ips persons with the highest latent propensity + logistic noise.
    latent = lin + rng.logistic(size=n)
    ips = np.zeros(n, dtype=int)
    ips[np.argsort(-latent)[:n_ips]] = 1
    y0 = rng.binomial(10, expit(-1.2 + 0.2 * pre12 - 0.1 * benefit + 0.2 * (education == "4")))
    months = y0 + effect * ips
    earnings = months * 1800 + rng.gamma(2, 500, n) + earnings_effect * ips
    index_date = pd.Timestamp("2022-06-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    pid = [f"R{i:05d}" for i in range(n)]
    pop = pd.DataFrame({"person_id": pid, "ips": ips, "alue": alue, "birth_year": index_date.year - age,
                        "gender": gender, "education": education, "dg": dg, "smi": np.isin(dg, ["F20.0", "F25", "F31.1"]),
                        "index_date": index_date.date})
    out = pd.DataFrame({"person_id": pid, "ips": ips, "employed_months_pre12": pre12,
                        "employed_months_post12": months.astype(float), "earnings_post12": earnings,
                        "benefit_months_post12": rng.binomial(12, 0.3, n), "benefit_months_pre12": benefit,
                        "employed_months_pre24_13": placebo, "benefit_months_pre24_13": benefit_pre24,
                        "psych_inpatient_days_pre24_13": inpatient})
    for c in ("alue", "birth_year", "gender", "education", "dg", "smi", "index_date"):
        out[c] = pop[c]
    out["employed_months_post24"] = np.nan
    out["earnings_post24"] = np.nan
    if effect_post24 is not None:
        ended = (index_date.year * 12 + index_date.month) + 23 <= CUTOFF.year * 12 + CUTOFF.month
        y24 = rng.binomial(18, expit(-1.2 + 0.2 * pre12 - 0.1 * benefit)) + effect_post24 * ips
        out.loc[ended, "employed_months_post24"] = y24[ended]
        out.loc[ended, "earnings_post24"] = (y24 * 1800 + rng.gamma(2, 500, n))[ended]
    rel = np.arange(-24, 25)
    share = np.where(rel[None, :] < -12, placebo[:, None] / 12, np.where(rel[None, :] < 0, pre12[:, None] / 12,
                                                                         months[:, None] / 12))
    draw = rng.random((n, len(rel)))
    ben = rng.random((n, len(rel))) < 0.5
    state = np.where(draw < share, "employed", np.where(ben, "disability_benefit", "other"))
    seq = pd.DataFrame({"person_id": np.repeat(pid, len(rel)), "ips": np.repeat(ips, len(rel)),
                        "rel_month": np.tile(rel, n), "state": state.ravel()})
    # the next month's state, as the view gives it (none after the window's last month)
    seq["next_state"] = seq.groupby("person_id")["state"].shift(-1).where(lambda s: s.notna(), None)
    return {"staging.register_population": pop, "marts.register_outcomes": out, "marts.state_sequences": seq,
            "ref.states": reference_tables()["states"]}  # the states' kinds, read by model 7


def transition_persons(n: int = 3000, or_ips: float = 2.0, seed: int = 5, n_counties: int = 4,
                       or_benefit_pre12: float = 0.75, leave_work: float = 0.25) -> pd.DataFrame:
    """Model 7's person-level frame with a planted odds ratio of IPS on the monthly hazard, with re-entry.

    Each person is in a benefit state from the index month and observed for 3..36 months;
    in each month on benefits, logit P(employed next month) = -2.5 + log(or_ips) * ips + 0.4 *
    (education 3 or 4) - 0.5 * (months since index >= 6) + 0.6 * (employed months pre12 > 6)
    + log(or_benefit_pre12) * (benefit months pre12 > 6). A person in work goes back onto a
    benefit the next month with probability `leave_work`, and is then at risk again (re-entry):
    the hazard does not depend on earlier moves, so the recurrent and the first-move fits share
    the planted odds ratios. Columns as `load_transition_to_work`: `at_risk_<g>`, `moves_<g>`
    count every spell, `at_risk_first_<g>`, `moves_first_<g>` the months up to the first move.
    """
    from ips_eval.models.transition_to_work import MONTH_GROUPS

    rng = np.random.default_rng(seed)
    ips = rng.random(n) < 0.4
    frame = pd.DataFrame({
        "person_id": [f"P{i:06d}" for i in range(n)],
        "ips": ips.astype(int),
        "age": rng.integers(20, 60, n),
        "gender": rng.choice(["1", "2"], n).astype(object),
        "education": rng.choice(["1", "2", "3", "4", "unknown"], n).astype(object),
        "diagnosis_group": rng.choice(["psychosis", "bipolar", "other_or_unknown"], n).astype(object),
        "county": rng.choice(COUNTIES[:n_counties], n).astype(object),
        "employed_months_pre12": rng.integers(0, 13, n),
        "benefit_months_pre12": rng.integers(0, 13, n),
    })
    observed = rng.integers(3, 37, n)
    lp = (-2.5 + np.log(or_ips) * ips + 0.4 * frame["education"].isin(["3", "4"]).to_numpy()
          + 0.6 * (frame["employed_months_pre12"].to_numpy() > 6)
          + np.log(or_benefit_pre12) * (frame["benefit_months_pre12"].to_numpy() > 6))
    in_work = np.zeros(n, dtype=bool)
    moved_before = np.zeros(n, dtype=bool)
    names = ("at_risk", "moves", "at_risk_first", "moves_first")
    counts = {g: {c: np.zeros(n, dtype=int) for c in names} for g in MONTH_GROUPS}
    for m in range(36):
        group = next(g for g, (a, b) in MONTH_GROUPS.items() if a <= m <= b)
        risk = ~in_work & (m < observed)
        move = risk & (rng.random(n) < expit(lp - 0.5 * (m >= 6)))
        first = risk & ~moved_before
        for c, v in zip(names, (risk, move, first, move & first)):
            counts[group][c][v] += 1
        moved_before |= move
        leave = in_work & (rng.random(n) < leave_work)
        in_work = (in_work & ~leave) | move
    for g, cols in counts.items():
        for c, v in cols.items():
            frame[f"{c}_{g}"] = v
    return frame


def person_months(frame: pd.DataFrame, at: str = "at_risk", moves: str = "moves") -> pd.DataFrame:
    """The frame of `transition_persons` expanded to one row per person-month at risk (tests only).

    `at` and `moves` name the counts (`at_risk_first`, `moves_first` for the first-move fit)."""
    from ips_eval.models.transition_to_work import MONTH_GROUPS

    rows = []
    for g in MONTH_GROUPS:
        n_at, n_ev = frame[f"{at}_{g}"].to_numpy(), frame[f"{moves}_{g}"].to_numpy()
        idx = np.repeat(np.arange(len(frame)), n_at)
        first = np.repeat(np.cumsum(n_at) - n_at, n_at)
        k = np.arange(len(idx)) - first  # 0.. within the person's months of the group
        moved = k < np.repeat(n_ev, n_at)
        rows.append(pd.DataFrame({"row": idx, "month_group": g, "moved": moved.astype(float)}))
    return pd.concat(rows, ignore_index=True)
