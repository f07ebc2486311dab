"""A simulated analysis frame of the effectiveness model, with a planted effect on the treated.

Shaped like `ips_eval.models.effectiveness.load_effectiveness` output (one row per register
cohort person: `ips`, the propensity covariates, the outcomes and the negative controls), so
that `fit_effectiveness` and `estimate_att` run on it at any size without building a
warehouse: the coverage simulation and the benchmark use it.

Planted truths: treatment depends on the covariates (confounding); `employed_months_post12`
= baseline + `effect` for the treated, so the effect on the treated is exactly `effect`;
`earnings_post12` = 1 800 EUR per employed month + noise (effect 1 800 x `effect`); the
negative controls depend on the covariates but not on the treatment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNTIES = ("Helsinki", "Kainuu", "Lappi", "Pirkanmaa", "Satakunta", "Vantaa-Kerava")
DIAGNOSIS_GROUPS = ("psychosis", "bipolar", "severe_depression", "other_mood", "anxiety_stress", "other_or_unknown")
#: The diagnosis groups counted as a severe mental illness in this simulated frame.
SMI_GROUPS = ("psychosis", "bipolar", "severe_depression")


def _expit(x):
    return 1 / (1 + np.exp(-x))


def att_frame(n_treated: int = 2000, n_comparison: int = 20_000, effect: float = 1.5, seed: int = 1) -> pd.DataFrame:
    """A frame of `n_treated` IPS clients and `n_comparison` comparison persons.

    Examples
    --------
    >>> f = att_frame(100, 400, seed=2)
    >>> int(f["ips"].sum()), len(f)
    (100, 500)
    """
    rng = np.random.default_rng(seed)
    n = n_treated + n_comparison
    county = rng.choice(COUNTIES, n)
    age = rng.integers(20, 60, n)
    gender = rng.choice(["1", "2"], n)
    education = rng.choice(["1", "2", "3", "4", "unknown"], n, p=[0.2, 0.35, 0.25, 0.15, 0.05])
    dg = rng.choice(DIAGNOSIS_GROUPS, n, p=[0.25, 0.1, 0.15, 0.2, 0.2, 0.1])
    psychosis = dg == "psychosis"
    pre24 = rng.binomial(12, _expit(-0.5 + 0.02 * (40 - age)))
    pre12 = rng.binomial(12, _expit(-1.5 + 0.25 * pre24))
    benefit12 = rng.binomial(12, _expit(0.5 - 0.3 * pre12 + 0.5 * psychosis))
    benefit24 = rng.binomial(12, _expit(0.3 - 0.2 * pre24 + 0.5 * psychosis))
    inpatient = rng.poisson(2 + 4 * psychosis)
    county_eff = dict(zip(COUNTIES, np.linspace(-0.4, 0.4, len(COUNTIES))))
    lin = (-0.12 * pre12 + 0.08 * benefit12 + 0.3 * (gender == "2") - 0.01 * (age - 40)
           + np.array([county_eff[c] for c in county]) + 0.3 * psychosis)
    # Exactly n_treated treated: the highest latent propensity (linear predictor + logistic noise).
    latent = lin + rng.logistic(size=n)
    ips = np.zeros(n, dtype=int)
    ips[np.argsort(-latent)[:n_treated]] = 1
    y0 = rng.binomial(10, _expit(-1.2 + 0.2 * pre12 - 0.1 * benefit12 + 0.2 * (education == "4")))
    months = y0 + effect * ips
    earnings = months * 1800 + rng.gamma(2, 500, n)
    return pd.DataFrame({
        "person_id": [f"S{i:07d}" for i in range(n)], "ips": ips, "county": county, "age": age, "gender": gender,
        "education": education, "diagnosis_group": dg, "employed_months_pre12": pre12,
        "benefit_months_pre12": benefit12, "employed_months_post12": months.astype(float),
        "earnings_post12": earnings, "employed_months_pre24_13": pre24, "benefit_months_pre24_13": benefit24,
        "psych_inpatient_days_pre24_13": inpatient, "smi": np.isin(dg, SMI_GROUPS),
    })
