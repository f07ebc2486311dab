"""`estimate_att`: the effect on the treated by propensity-score weighting, on any DataFrame.

The engine of model 6 (`effectiveness`), usable by an analyst on any frame with a 0/1
treatment column, e.g. for a subgroup the pipeline does not publish. Steps:
1. Eligible rows: treatment, every outcome and every negative control present. Rows with a
   missing covariate are left out next (counted).
2. Design: numeric covariates as they are; any other column dummy-coded, its most frequent
   level the reference. A level holding treated persons but no comparison persons makes the
   effect on those treated not estimable: refused, naming the level. Comparison persons in
   a level without treated persons are left out (they would get weight 0), counted.
3. Propensity score: logistic regression of the treatment on the design (Newton-Raphson,
   converged by gradient); perfect separation is tested first (Konis's linear program,
   on the distinct covariate patterns).
4. Trimming on the preference score (`propensity.TRIM_PREFERENCE_ABOVE`), a rule that does
   not change with the number of comparison persons drawn.
5. Estimates per outcome: `ipw` (ATT weights 1 and e/(1-e)), `aipw` (the same with a linear
   outcome regression among the comparison persons, doubly robust) and `overlap` (weights
   1-e and e, no trimming needed). Negative controls get `ipw` only.
6. Variance: M-estimation sandwich (`mestimation`) by default, normal 95 % intervals; or a
   stratified bootstrap (`variance="bootstrap"`) that refits the propensity model, re-trims
   and re-weights in each replicate, percentile intervals.
7. Diagnostics with thresholds: largest |SMD| after weighting, ESS of the weighted
   comparison group, equipoise, negative controls within their equivalence margins,
   E-values, and whom the estimate describes (`n_treated_eligible`, `n_treated_analysed`).
8. Optionally (`treated_means`), the mean of other columns over the treated analysed, in the
   fit and in every bootstrap replicate beside its estimates (`extra["replicates"]`), so that
   a ratio of such a mean to the effect gets an interval from the same draws (model 8).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor
from scipy.stats import norm

from ips_eval.models import mestimation as M
from ips_eval.models import propensity as P
from ips_eval.models.design import lp_separated
from ips_eval.models.result import NotFitted

DEFAULT_SEED = 20240601
DEFAULT_BOOT = 1000
MAX_SMD = 0.1
EQUIPOISE = (0.3, 0.7)
MIN_EQUIPOISE = 0.2
MIN_PER_GROUP = 20
MAX_BOOT_FAILURES = 0.05
VARIANCES = ("sandwich", "bootstrap")
EDGE_LOGIT = 25.0  # |logit| of a fitted probability at which a replicate is tested for separation
Z95 = float(norm.ppf(0.975))

ESTIMATE_COLUMNS = ["outcome", "estimator", "estimate", "ci_low", "ci_high", "se", "p_value", "n",
                    "n_treated", "role"]
DIAGNOSTIC_COLUMNS = ["diagnostic", "value", "threshold", "passed", "rule", "detail"]


@dataclass
class ATTResult:
    """What `estimate_att` returns: tidy estimates and diagnostics, and the pieces behind them.

    `estimates`: outcome, estimator, estimate, ci_low, ci_high, se, p_value, n, n_treated,
    role ('outcome' or 'negative_control'). `diagnostics`: diagnostic, value, threshold,
    passed, rule, detail. `status` is 'ok', or 'warning' when a diagnostic failed (named in
    `reason`). `weights` holds, per analysed row (index of the input frame), the treatment
    and the ATT weight; `balance` the SMDs before and after weighting.
    """

    estimates: pd.DataFrame
    diagnostics: pd.DataFrame
    status: str
    reason: str
    notes: list[str]
    balance: pd.DataFrame
    means: pd.DataFrame
    propensity_model: pd.DataFrame
    weights: pd.DataFrame
    n_treated_eligible: int
    n_treated_analysed: int
    n_comparison_analysed: int
    variance: str
    extra: dict = field(default_factory=dict)

    def estimate(self, outcome: str, estimator: str = "ipw") -> pd.Series:
        e = self.estimates
        return e[(e["outcome"] == outcome) & (e["estimator"] == estimator)].iloc[0]


def estimate_att(data: pd.DataFrame, treatment: str, outcomes: list[str], covariates: list[str], *,
                 seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT, variance: str = "sandwich",
                 negative_controls: dict[str, float] | None = None,
                 estimators: tuple[str, ...] = M.ESTIMATORS, treated_means: tuple[str, ...] = (),
                 workers: int = 1) -> ATTResult:
    """Average effect on the treated of `treatment` on each outcome, by propensity-score weighting.

    Parameters
    ----------
    data : DataFrame, one row per person.
    treatment : name of a 0/1 column (1 = treated).
    outcomes : names of numeric outcome columns.
    covariates : columns of the propensity model; numeric ones enter as they are, any other
        is dummy-coded (most frequent level the reference).
    seed, n_boot : the bootstrap's seed and replicates (used when `variance="bootstrap"`).
    variance : 'sandwich' (M-estimation, default) or 'bootstrap'.
    negative_controls : outcome column -> equivalence margin. Each is estimated like an
        outcome (IPW) and passes when its 95 % CI lies within [-margin, margin].
    estimators : which of 'ipw', 'aipw', 'overlap' to report for the outcomes.
    treated_means : numeric columns, known for every treated person, whose mean over the treated
        analysed is reported in `extra["treated_means"]`; with the bootstrap, also in each
        replicate (over that replicate's analysed treated) in `extra["replicates"]`, one row
        per successful replicate, beside the columns `<outcome>:<estimator>`.
    workers : threads computing the bootstrap replicates; the replicates (and so the interval)
        are the same whatever their number.

    Returns
    -------
    ATTResult with `.estimates`, `.diagnostics` and `.status`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=2000)
    >>> t = (rng.random(2000) < 1 / (1 + np.exp(1.5 - x))).astype(int)
    >>> y = x + 2.0 * t + rng.normal(size=2000)
    >>> res = estimate_att(pd.DataFrame({"t": t, "y": y, "x": x}), "t", ["y"], ["x"])
    >>> row = res.estimate("y", "ipw")
    >>> bool(row["ci_low"] < 2.0 < row["ci_high"]), res.status
    (True, 'ok')
    """
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, not {variance!r}")
    unknown = [e for e in estimators if e not in M.ESTIMATORS]
    if unknown or "ipw" not in estimators:
        raise ValueError(f"estimators must include 'ipw' and be among {M.ESTIMATORS}")
    if variance == "bootstrap" and n_boot < 2:
        raise ValueError("n_boot must be at least 2 for a bootstrap")
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    controls = dict(negative_controls or {})
    _check_columns(data, treatment, list(outcomes), list(covariates), list(controls))
    if [c for c in treated_means if c not in data.columns]:
        raise ValueError(f"columns not in the data: {', '.join(c for c in treated_means if c not in data.columns)}")
    notes: list[str] = []

    d = data[[treatment, *outcomes, *controls, *covariates]].copy()
    t_all = pd.to_numeric(d[treatment], errors="coerce")
    if not t_all.dropna().isin([0, 1]).all():
        raise ValueError(f"treatment column {treatment!r} must hold 0 and 1 only")
    ys = list(outcomes) + list(controls)
    eligible = t_all.notna() & d[ys].notna().all(axis=1)
    n_treated_eligible = int((t_all[eligible] == 1).sum())
    if (~eligible).any():
        notes.append(f"{int((~eligible).sum())} rows without the treatment or a complete outcome left out")
    d = d.loc[eligible]
    complete = d[list(covariates)].notna().all(axis=1)
    if (~complete).any():
        by = {c: int(d[c].isna().sum()) for c in covariates if d[c].isna().any()}
        notes.append(f"{int((~complete).sum())} rows with a missing covariate left out ("
                     + ", ".join(f"{c} {k}" for c, k in by.items()) + ")")
    d = d.loc[complete]
    d[treatment] = d[treatment].astype(int)
    d, n_outside = _restrict_support(d, treatment, covariates)
    if n_outside:
        notes.append(f"{n_outside} comparison persons in categories without treated persons left out")
    t = d[treatment].to_numpy(dtype=int)
    tm = {c: pd.to_numeric(data.loc[d.index, c], errors="coerce").to_numpy(dtype=float) for c in treated_means}
    unknown_tm = {c: int(np.isnan(v[t == 1]).sum()) for c, v in tm.items() if np.isnan(v[t == 1]).any()}
    if unknown_tm:
        raise ValueError("treated_means must be known for every treated person: "
                         + ", ".join(f"{c} missing for {k}" for c, k in unknown_tm.items()))
    if min(int(t.sum()), int((1 - t).sum())) < MIN_PER_GROUP:
        raise NotFitted(f"{int(t.sum())} treated and {int((1 - t).sum())} comparison persons with complete data"
                        f" (at least {MIN_PER_GROUP} in each group needed)", n=len(d))

    X, levels = _design(d, covariates)
    Z = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    # separation depends on the distinct (covariate values, treatment) rows only: find them on
    # the covariates themselves, a few columns, rather than on the wide dummy-coded design
    distinct = ~d[list(covariates) + [treatment]].duplicated().to_numpy()
    if _separated(Z[distinct, 1:], t[distinct]):
        raise NotFitted("the covariates separate the treated from the comparison persons perfectly (no overlap):"
                        " the propensity score is 0 or 1 and the groups cannot be compared", n=len(d))
    beta, ok = P.logistic_newton(Z, t.astype(float), ridge=0.0)
    if not ok:
        raise NotFitted("the propensity model did not converge", n=len(d))
    e = P.predict(Z, beta)
    share = float(t.mean())
    pref = P.preference_score(e, t)
    equipoise = float(np.mean((pref >= EQUIPOISE[0]) & (pref <= EQUIPOISE[1])))
    keep = P.keep_after_trim(pref)
    tk = t[keep]
    n_ta, n_ca = int((tk == 1).sum()), int((tk == 0).sum())
    if min(n_ta, n_ca) < MIN_PER_GROUP:
        raise NotFitted(f"after trimming (preference score above {P.TRIM_PREFERENCE_ABOVE}) too few remain"
                        f" ({n_ta} treated, {n_ca} comparison)", n=len(d))
    w = P.att_weights(e[keep], tk)
    ess = P.effective_sample_size(w[tk == 0])
    balance = _balance(X, levels, t, keep, w)
    max_smd = float(balance["smd_after"].abs().max())

    yv = {o: d[o].to_numpy(dtype=float) for o in ys}
    J_beta = M.jacobian_beta(Z, e)
    rows = []
    for o in ys:
        role = "negative_control" if o in controls else "outcome"
        for est in (estimators if role == "outcome" else ("ipw",)):
            kk = keep if est != "overlap" else np.ones(len(t), dtype=bool)
            eff = M.effect_with_sandwich(est, Z, t, yv[o], e, kk, J_beta)
            rows.append({"outcome": o, "estimator": est, "estimate": eff.estimate, "se": eff.se,
                         "ci_low": eff.estimate - Z95 * eff.se, "ci_high": eff.estimate + Z95 * eff.se,
                         "n": int(kk.sum()), "n_treated": int(t[kk].sum()), "role": role})
    est = pd.DataFrame(rows)
    n_fail = 0
    replicates = None
    if variance == "bootstrap":
        boot, (n_fail, n_sep) = _bootstrap(Z, t, yv, beta, share, seed, n_boot, est, tm, hessian=-J_beta,
                                            workers=workers)
        replicates = pd.DataFrame({(k if isinstance(k, str) else f"{k[0]}:{k[1]}"): v for k, v in boot.items()})
        if n_fail > MAX_BOOT_FAILURES * n_boot:
            raise NotFitted(f"the propensity model did not converge in {n_fail} of {n_boot} bootstrap replicates"
                            f" ({n_sep} of them perfectly separated): the weights are unstable", n=len(d))
        if n_fail:
            notes.append(f"{n_fail} of {n_boot} bootstrap replicates did not converge ({n_sep} of them perfectly"
                         " separated) and were left out")
        for i, r in est.iterrows():
            b = boot[(r["outcome"], r["estimator"])]
            est.loc[i, ["ci_low", "ci_high"]] = np.percentile(b, [2.5, 97.5])
            est.loc[i, "se"] = float(np.std(b, ddof=1))
    est["p_value"] = [float(2 * norm.sf(abs(r.estimate) / r.se)) if r.se > 0 else np.nan
                      for r in est.itertuples()]
    est = est[ESTIMATE_COLUMNS]

    wk = pd.DataFrame({"treated": tk, "weight": w}, index=d.index[keep])
    means = pd.DataFrame([{
        "outcome": o, "role": "negative_control" if o in controls else "outcome",
        "mean_treated": float(yv[o][keep][tk == 1].mean()),
        "mean_comparison": float(yv[o][t == 0].mean()),
        "mean_comparison_weighted": float(np.average(yv[o][keep][tk == 0], weights=w[tk == 0])),
    } for o in ys])
    diag = _diagnostics(est, controls, yv, t, keep, max_smd, balance, ess, equipoise, n_treated_eligible,
                        n_ta, n_ca, n_outside, variance, n_boot, n_fail, seed)
    failed = [r["diagnostic"] for r in diag if r["passed"] is False]
    described = (f"the estimate describes {n_ta} of {n_treated_eligible} eligible treated"
                 f" ({n_treated_eligible - n_ta} left out: missing covariates, no comparable persons, or"
                 f" preference score above {P.TRIM_PREFERENCE_ABOVE})")
    reason = "; ".join([described] + notes + (["diagnostics failed: " + ", ".join(failed)] if failed else []))
    ps_table = pd.DataFrame({"term": ["const", *X.columns], "coef": beta,
                             "se": np.sqrt(np.diag(np.linalg.pinv(-J_beta)))})
    return ATTResult(
        estimates=est, diagnostics=pd.DataFrame(diag, columns=DIAGNOSTIC_COLUMNS).astype({"passed": "object"}),
        status="warning" if failed or n_fail else "ok", reason=reason, notes=notes, balance=balance, means=means,
        propensity_model=ps_table, weights=wk, n_treated_eligible=n_treated_eligible, n_treated_analysed=n_ta,
        n_comparison_analysed=n_ca, variance=variance,
        extra={"ess": ess, "equipoise": equipoise, "max_smd": max_smd, "n_boot": n_boot if variance == "bootstrap" else 0,
               "n_fail": n_fail, "n_trimmed_treated": int(((~keep) & (t == 1)).sum()),
               "n_trimmed_comparison": int(((~keep) & (t == 0)).sum()),
               "treated_means": {c: float(v[keep & (t == 1)].mean()) for c, v in tm.items()},
               "replicates": replicates},
    )


# ---------------------------------------------------------------------------- pieces


def _check_columns(data, treatment, outcomes, covariates, controls) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    missing = [c for c in [treatment, *outcomes, *covariates, *controls] if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in the data: {', '.join(map(str, missing))}")
    if not outcomes:
        raise ValueError("at least one outcome is needed")
    not_numeric = [c for c in outcomes + controls if not pd.api.types.is_numeric_dtype(data[c])]
    if not_numeric:
        raise ValueError(f"outcomes must be numeric: {', '.join(not_numeric)}")


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _restrict_support(d: pd.DataFrame, treatment: str, covariates) -> tuple[pd.DataFrame, int]:
    """Refuse when treated persons have no comparison counterparts; drop comparisons without treated ones."""
    n_outside = 0
    for col in covariates:
        if _is_numeric(d[col]):
            continue
        tab = pd.crosstab(d[col].astype(str), d[treatment]).reindex(columns=[0, 1], fill_value=0)
        no_cmp = tab[(tab[1] > 0) & (tab[0] == 0)]
        if len(no_cmp):
            lv = ", ".join(f"{i} ({int(r[1])} treated)" for i, r in no_cmp.iterrows())
            raise NotFitted(
                f"no comparison persons in {col} {lv}: the effect on these treated cannot be estimated"
                " (the comparison group has no one like them)", n=len(d))
        drop = d[col].astype(str).isin(tab[(tab[1] == 0) & (tab[0] > 0)].index) & (d[treatment] == 0)
        n_outside += int(drop.sum())
        d = d[~drop]
    return d, n_outside


def _design(d: pd.DataFrame, covariates) -> tuple[pd.DataFrame, dict[str, tuple[str, list[str]]]]:
    """Design without intercept; `levels` maps a categorical covariate to (reference, its term columns)."""
    cols: dict[str, np.ndarray] = {}
    levels: dict[str, tuple[str, list[str]]] = {}
    for c in covariates:
        s = d[c]
        if _is_numeric(s):
            x = s.to_numpy(dtype=float)
            if np.ptp(x) > 0:
                cols[c] = x
            continue
        s = s.astype(str)
        counts = s.value_counts()
        ref = str(sorted(counts[counts == counts.max()].index)[0])
        terms = []
        for lv in sorted(counts.index):
            if lv == ref:
                continue
            name = f"{c}={lv}"
            cols[name] = (s == lv).to_numpy(dtype=float)
            terms.append(name)
        if terms:
            levels[c] = (ref, terms)
    return pd.DataFrame(cols, index=d.index), levels


def _separated(X: np.ndarray, t: np.ndarray) -> bool:
    """Konis's LP on the distinct (covariate pattern, treatment) rows: separation depends on those only."""
    rows = np.unique(np.column_stack([X, t]), axis=0)
    return lp_separated(rows[:, :-1], rows[:, -1])


def _balance(X: pd.DataFrame, levels, t, keep, w) -> pd.DataFrame:
    cols = {c: X[c].to_numpy(dtype=float) for c in X.columns}
    for name, (ref, terms) in levels.items():
        cols[f"{name}={ref}"] = (X[terms].to_numpy().sum(axis=1) == 0).astype(float)
    tk = t[keep]
    rows = []
    for name, x in cols.items():
        sd = P.pooled_sd(x, t)
        if not sd > 0:
            continue
        rows.append({
            "covariate": name,
            "smd_before": P.smd(x, t, sd=sd),
            "smd_after": P.smd(x[keep], tk, w, sd=sd),
            "mean_ips": float(x[keep][tk == 1].mean()),
            "mean_comparison": float(x[t == 0].mean()),
            "mean_comparison_weighted": float(np.average(x[keep][tk == 0], weights=w[tk == 0])),
        })
    return pd.DataFrame(rows, columns=["covariate", "smd_before", "smd_after", "mean_ips", "mean_comparison",
                                       "mean_comparison_weighted"])


def _bootstrap(Z, t, yv, beta0, share, seed, n_boot, est, tm=None, hessian=None, workers=1):
    """Stratified bootstrap: resample within each group, refit, re-trim, re-estimate.

    `tm` (column -> values) adds, per replicate, the mean over the replicate's analysed treated,
    keyed by the column name beside the (outcome, estimator) estimates.

    A replicate is computed on the whole design without copying it: its draws become frequency
    weights (how many times each row was drawn), and the weighted likelihood, trimming and
    estimating equations are those of the resampled rows. The refit starts at the full-sample
    fit `beta0` with the full-sample Hessian (`hessian`, -J_beta; formed here when not given),
    factorised once, as a fixed metric (`propensity.logistic_refit`).

    With `workers` > 1 the replicates are computed in that many threads (numpy releases the
    interpreter lock in the products that take the time). The draws are still made one
    replicate after the other from the one generator, in this thread, and a replicate depends
    on its draws only, so the replicates are the same, in the same order, whatever `workers` is.
    """
    rng = np.random.default_rng(seed)
    n = len(t)
    it, ic = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    keys = list(zip(est["outcome"], est["estimator"]))
    tm = tm or {}
    res: dict = {k: [] for k in [*keys, *tm]}
    tf = t.astype(float)
    tm = {col: np.where(t == 1, v, 0.0) for col, v in tm.items()}  # known for the treated only
    ridge = P.RIDGE
    H = P.weighted_gram(Z, P.predict(Z, beta0) * (1 - P.predict(Z, beta0))) if hessian is None else hessian
    try:
        metric = cho_factor(H + ridge * np.eye(len(H)))
    except np.linalg.LinAlgError:
        metric = None  # no fixed metric: every replicate by full Newton

    def draws():
        for _ in range(n_boot):
            idx = np.concatenate([rng.choice(it, len(it)), rng.choice(ic, len(ic))])
            yield np.bincount(idx, minlength=n).astype(float)

    def replicate(c):
        """('ok', estimates), ('failed', None) or ('separated', None)."""
        beta, ok = P.logistic_refit(Z, tf, beta0, metric, weights=c, ridge=ridge)
        eta = Z @ beta
        drawn = c > 0
        # A separated resample also drives the gradient to 0 (coefficients to infinity): when a
        # fitted probability reaches the edge, the LP test decides (on the rows drawn, once each:
        # separation depends on the distinct rows only).
        if not ok or (np.abs(eta[drawn]).max() >= EDGE_LOGIT and _separated(Z[drawn, 1:], t[drawn])):
            return ("separated" if ok or _separated(Z[drawn, 1:], t[drawn]) else "failed"), None
        e = P.predict(Z, beta)
        keep = P.keep_after_trim(P.preference_score(e, t, share))
        kc = keep * c
        if (kc * tf).sum() == 0 or (kc * (1 - tf)).sum() == 0:
            return "failed", None
        out = {(o, estimator): M.point_estimate(estimator, Z, tf, yv[o], e, drawn if estimator == "overlap" else keep,
                                                weights=c) for o, estimator in keys}
        out.update({col: float((kc * tf) @ v / (kc * tf).sum()) for col, v in tm.items()})
        return "ok", out

    fails = separated = 0
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        for status, out in (_in_order(pool, replicate, draws(), 4 * workers) if pool else map(replicate, draws())):
            if status != "ok":
                fails += 1
                separated += status == "separated"
                continue
            for k, v in out.items():
                res[k].append(v)
    return {k: np.asarray(v) for k, v in res.items()}, (fails, separated)


def _in_order(pool, fn, items, ahead):
    """fn over items in the pool, results in the items' order, at most `ahead` items drawn ahead."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _diagnostics(est, controls, yv, t, keep, max_smd, balance, ess, equipoise, n_treated_eligible, n_ta, n_ca,
                 n_outside, variance, n_boot, n_fail, seed) -> list[dict]:
    worst = balance.loc[balance["smd_after"].abs().idxmax(), "covariate"]
    n_trim_t, n_trim_c = int(((~keep) & (t == 1)).sum()), int(((~keep) & (t == 0)).sum())
    rows = [
        {"diagnostic": "max_abs_smd_after_weighting", "value": max_smd, "threshold": MAX_SMD,
         "passed": bool(max_smd <= MAX_SMD), "rule": "value <= threshold", "detail": f"largest for {worst}"},
        {"diagnostic": "ess_comparison", "value": ess, "threshold": None, "passed": None, "rule": None,
         "detail": f"effective sample size of {n_ca} weighted comparison persons (Kish)"},
        {"diagnostic": "equipoise", "value": equipoise, "threshold": MIN_EQUIPOISE,
         "passed": bool(equipoise >= MIN_EQUIPOISE), "rule": "value >= threshold",
         "detail": f"share of both groups with preference score in [{EQUIPOISE[0]}, {EQUIPOISE[1]}], before trimming"},
        {"diagnostic": "n_treated_eligible", "value": n_treated_eligible, "threshold": None, "passed": None,
         "rule": None, "detail": "treated with the treatment and every outcome observed (a complete outcome window)"},
        {"diagnostic": "n_treated_analysed", "value": n_ta, "threshold": None, "passed": None, "rule": None,
         "detail": "treated the ipw and aipw estimates describe (after missing covariates and trimming)"},
        {"diagnostic": "n_trimmed", "value": n_trim_t + n_trim_c, "threshold": None, "passed": None,
         "rule": f"preference score above {P.TRIM_PREFERENCE_ABOVE} dropped",
         "detail": f"{n_trim_t} treated, {n_trim_c} comparison persons"},
        {"diagnostic": "n_comparison_outside_support", "value": n_outside, "threshold": None, "passed": None,
         "rule": "comparison persons in a category with no treated dropped", "detail": None},
    ]
    ipw = est[est["estimator"] == "ipw"].set_index("outcome")
    for o, margin in controls.items():
        r = ipw.loc[o]
        rows.append({"diagnostic": f"negative_control_{o}", "value": float(r["estimate"]), "threshold": float(margin),
                     "passed": bool(-margin <= r["ci_low"] and r["ci_high"] <= margin),
                     "rule": "95% CI within [-threshold, threshold] (equivalence)",
                     "detail": f"weighted difference {r['estimate']:.3f}, 95% CI {r['ci_low']:.3f} to {r['ci_high']:.3f}"})
    for o in ipw.index:
        if o in controls:
            continue
        r = ipw.loc[o]
        sd = P.pooled_sd(yv[o][keep], t[keep])
        e, e_ci = P.e_value_continuous(float(r["estimate"]), sd, (float(r["ci_low"]), float(r["ci_high"])))
        rows.append({"diagnostic": f"e_value_{o}", "value": e, "threshold": None, "passed": None, "rule": None,
                     "detail": f"difference standardised by the pooled SD {sd:.3g}; RR = exp(0.91 d)"})
        rows.append({"diagnostic": f"e_value_ci_{o}", "value": e_ci, "threshold": None, "passed": None, "rule": None,
                     "detail": "E-value of the CI limit nearest the null (1 = CI covers 0)"})
    if variance == "bootstrap":
        rows.append({"diagnostic": "bootstrap_replicates", "value": n_boot - n_fail, "threshold": None,
                     "passed": None, "rule": None, "detail": f"seed {seed}; {n_fail} replicates did not converge"})
    return rows
