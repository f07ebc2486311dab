"""`estimate_att`: the effect on the treated by propensity-score weighting, on any DataFrame.

The engine of model 6 (`effectiveness`), usable by an analyst on any frame with a 0/1
treatment column, e.g. for a subgroup the pipeline does not publish. Steps:
1. Input checked first, each refusal naming the column and the values: a treatment that is
   not 0/1 (or True/False), the treatment or an outcome among the covariates, a column listed
   twice, infinite values. `outcomes` and `covariates` take one name or a list.
2. Eligible rows: treatment, every outcome and every negative control present. Rows with a
   missing covariate are left out next (counted).
3. Design: numeric covariates as they are; any other column dummy-coded, its most frequent
   level the reference. A level holding treated persons but no comparison persons makes the
   effect on those treated not estimable: refused, naming the level. Comparison persons in
   a level without treated persons are left out (they would get weight 0), counted; a numeric
   column with two values (0/1) is checked the same way, so 0/1 and yes/no give one result.
   A constant covariate, or one that is a linear combination of others, is refused by name.
   The design is centred and scaled inside, so that nothing but a covariate's own coefficient
   depends on its units.
4. Propensity score: logistic regression of the treatment on the design (Newton-Raphson,
   converged by gradient; sampling `weights` multiply each person's equations); perfect
   separation is tested first (Konis's linear program, on the distinct covariate patterns).
5. Trimming on the preference score (`trim`, default `propensity.TRIM_PREFERENCE_ABOVE`), a
   rule that does not change with the number of comparison persons drawn; the untrimmed IPW
   estimate (`ipw_untrimmed`) beside the trimmed ones, who was trimmed in `trimmed_profile`,
   and status 'warning' when more than `MAX_SHARE_TRIMMED` of the treated are trimmed.
6. Estimates per outcome: `ipw` (ATT weights 1 and e/(1-e)), `aipw` (the same with a linear
   outcome regression among the comparison persons, doubly robust) and `overlap` (weights
   1-e and e, no trimming: another estimand, the effect in the overlap population).
   Negative controls get `ipw` only.
7. Variance: M-estimation sandwich (`mestimation`) by default, normal intervals at level
   1 - `alpha` (t with clusters - 1 degrees of freedom when `cluster` is given); or a
   stratified bootstrap (`variance="bootstrap"`) that refits the propensity model, re-trims
   and re-weights in each replicate, percentile intervals.
8. Diagnostics with thresholds: largest |SMD| after weighting, ESS of the weighted
   comparison group, equipoise, the share of the treated trimmed, negative controls within
   their equivalence margins (95 % CI), E-values, and whom the estimate describes
   (`n_treated_eligible`, `n_treated_analysed`).
9. Optionally (`treated_means`), the mean of other columns over the treated analysed, with
   its influence values (sandwich) or in every bootstrap replicate beside its estimates
   (`extra["replicates"]`), so that a ratio of such a mean to the effect gets an interval
   from the same equations or draws (model 8).
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
from scipy.stats import t as student_t

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
DEFAULT_ALPHA = 0.05
#: Share of the treated whose trimming makes the status 'warning' (the estimate then describes
#: a population noticeably smaller than the treated; `ipw_untrimmed` is beside it).
MAX_SHARE_TRIMMED = 0.05

ESTIMATE_COLUMNS = ["outcome", "estimator", "estimate", "ci_low", "ci_high", "se", "p_value", "n",
                    "n_treated", "role"]
DIAGNOSTIC_COLUMNS = ["diagnostic", "value", "threshold", "passed", "rule", "detail"]


@dataclass
class ATTResult:
    """What `estimate_att` returns: tidy estimates and diagnostics, and the pieces behind them.

    `estimates`: outcome, estimator, estimate, ci_low, ci_high, se, p_value, n, n_treated,
    role ('outcome' or 'negative_control'); the intervals at level 1 - `alpha`. `diagnostics`:
    diagnostic, value, threshold, passed, rule, detail. `status` is 'ok', or 'warning' when a
    diagnostic failed (named in `reason`). `weights` holds, per analysed row (index of the
    input frame), the treatment and the ATT weight; `balance` the SMDs before and after
    weighting; `trimmed_profile` the covariate means of the trimmed and the kept, per group.
    `influence` (sandwich only) holds per person of the fit (index of the input frame) the
    influence value of each estimate (`<outcome>:<estimator>`) and treated mean, from which
    `vcov` gives their covariances (clustered when `cluster` was given).
    Like a statsmodels result: `summary()` and `conf_int(alpha)`.
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
    trimmed_profile: pd.DataFrame | None = None
    influence: pd.DataFrame | None = None
    alpha: float = DEFAULT_ALPHA
    #: degrees of freedom of the t distribution of the intervals (clusters - 1), None: normal
    df: int | None = None
    treatment: str = ""

    def estimate(self, outcome: str, estimator: str = "ipw") -> pd.Series:
        e = self.estimates
        return e[(e["outcome"] == outcome) & (e["estimator"] == estimator)].iloc[0]

    def vcov(self, columns: list[str]) -> np.ndarray:
        """Covariance matrix of the estimates named `columns` (`<outcome>:<estimator>` or a
        treated mean's column), from the sandwich's influence values; clustered by the
        `cluster` given (sums within clusters, times G/(G-1)).

        Examples
        --------
        >>> res.vcov(["y:ipw", "cost"])  # doctest: +SKIP
        """
        if self.influence is None:
            raise ValueError("vcov needs the sandwich variance (variance='sandwich')")
        return _covariance(self.influence[list(columns)].to_numpy(dtype=float), self.extra.get("cluster_codes"))

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Intervals at level 1 - alpha (default the fit's), columns 0 and 1 as in statsmodels,
        indexed by (outcome, estimator): estimate ± quantile x SE (normal, or t with clusters - 1
        degrees of freedom) for the sandwich, replicate percentiles for the bootstrap.

        Examples
        --------
        >>> res.conf_int(0.1)  # doctest: +SKIP
        """
        a = self.alpha if alpha is None else _check_alpha(alpha)
        e = self.estimates.set_index(["outcome", "estimator"])
        if self.variance == "bootstrap":
            reps = self.extra["replicates"]
            lims = np.array([np.percentile(reps[f"{o}:{m}"], [100 * a / 2, 100 * (1 - a / 2)]) for o, m in e.index])
            return pd.DataFrame({0: lims[:, 0], 1: lims[:, 1]}, index=e.index)
        q = _quantile(1 - a / 2, self.df)
        return pd.DataFrame({0: e["estimate"] - q * e["se"], 1: e["estimate"] + q * e["se"]}, index=e.index)

    def summary(self) -> str:
        """The fit as text, like a statsmodels summary: whom it describes, how, and the estimates.

        Examples
        --------
        >>> print(res.summary())  # doctest: +SKIP
        """
        x = self.extra
        lo, hi = f"[{self.alpha / 2:g}", f"{1 - self.alpha / 2:g}]"
        stat = "t" if self.df else "z"
        table = self.estimates.assign(**{stat: self.estimates["estimate"] / self.estimates["se"]})[
            ["outcome", "estimator", "estimate", "se", stat, "p_value", "ci_low", "ci_high", "n_treated", "n"]
        ].rename(columns={"se": "std err", "p_value": f"P>|{stat}|", "ci_low": lo, "ci_high": hi})
        variance = {"sandwich": "M-estimation sandwich (estimated propensity score included)",
                    "bootstrap": f"stratified bootstrap, {x.get('n_boot', 0)} replicates, percentile intervals"}[
            self.variance]
        if self.df:
            variance += f", clustered ({self.df + 1} clusters, t with {self.df} degrees of freedom)"
        trim = ("none" if x.get("trim") is None else
                f"preference score above {x['trim']} ({x['n_trimmed_treated']} treated, "
                f"{x['n_trimmed_comparison']} comparison; {x['share_treated_trimmed']:.1%} of the treated)")
        lines = [
            f"Average effect on the treated of {self.treatment!r} by propensity-score weighting",
            f"Treated analysed: {self.n_treated_analysed} of {self.n_treated_eligible} eligible;"
            f" comparison persons: {self.n_comparison_analysed} (ESS {x['ess']:.0f})",
            f"Trimming: {trim}",
            f"Variance: {variance}",
            f"Largest |SMD| after weighting: {x['max_smd']:.3f}; equipoise {x['equipoise']:.2f}",
            f"Status: {self.status}" + (f" ({', '.join(x['failed'])} failed)" if x.get("failed") else ""),
            "",
            table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        return "\n".join(lines)


def estimate_att(data: pd.DataFrame, treatment: str, outcomes: str | list[str], covariates: str | list[str], *,
                 seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT, variance: str = "sandwich",
                 negative_controls: dict[str, float] | None = None,
                 estimators: tuple[str, ...] = M.ESTIMATORS, treated_means: tuple[str, ...] = (),
                 workers: int = 1, trim: float | None = P.TRIM_PREFERENCE_ABOVE, alpha: float = DEFAULT_ALPHA,
                 weights=None, cluster=None) -> ATTResult:
    """Average effect on the treated of `treatment` on each outcome, by propensity-score weighting.

    Parameters
    ----------
    data : DataFrame, one row per person.
    treatment : name of a 0/1 (or True/False) column (1 = treated).
    outcomes : a numeric outcome column, or a list of them.
    covariates : a column or a list of columns of the propensity model; numeric ones enter as
        they are (a numeric column with two values is checked for support like a category),
        any other is dummy-coded (most frequent level the reference). Inside, the design is
        centred and scaled, so no estimate but a covariate's own coefficient depends on its
        units; a constant or collinear covariate is refused by name.
    seed, n_boot : the bootstrap's seed and replicates (used when `variance="bootstrap"`).
    variance : 'sandwich' (M-estimation, default) or 'bootstrap'.
    negative_controls : outcome column -> equivalence margin. Each is estimated like an
        outcome (IPW) and passes when its 95 % CI (whatever `alpha`) lies within [-margin, margin].
    estimators : which of 'ipw', 'aipw', 'overlap' to report for the outcomes; with trimming,
        `ipw_untrimmed` (IPW over every treated) is reported beside them.
    treated_means : numeric columns, known for every treated person, whose mean over the treated
        analysed is reported in `extra["treated_means"]` (with its influence values in
        `influence` for the sandwich); with the bootstrap, also in each replicate (over that
        replicate's analysed treated) in `extra["replicates"]`, one row per successful
        replicate, beside the columns `<outcome>:<estimator>`.
    workers : threads computing the bootstrap replicates; the replicates (and so the interval)
        are the same whatever their number.
    trim : persons whose preference score is above it are left out (default
        `propensity.TRIM_PREFERENCE_ABOVE`); None: no trimming. When more than
        `MAX_SHARE_TRIMMED` of the treated are trimmed the status is 'warning'.
    alpha : the intervals' level is 1 - alpha (default 0.05).
    weights : sampling weights, a column name or one positive number per row: every person's
        estimating equations (propensity model, outcome regression, means) are multiplied by it.
    cluster : a column name or one label per row: the sandwich sums the influence values within
        clusters (times G/(G-1)) and the intervals use t with G - 1 degrees of freedom.
        Sandwich variance only.

    Returns
    -------
    ATTResult with `.estimates`, `.diagnostics`, `.status`, `.summary()` and `.conf_int()`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=2000)
    >>> t = (rng.random(2000) < 1 / (1 + np.exp(1.5 - x))).astype(int)
    >>> y = x + 2.0 * t + rng.normal(size=2000)
    >>> res = estimate_att(pd.DataFrame({"t": t, "y": y, "x": x}), "t", "y", ["x"])
    >>> row = res.estimate("y", "ipw")
    >>> bool(row["ci_low"] < 2.0 < row["ci_high"]), res.status
    (True, 'ok')
    >>> res.conf_int().columns.tolist()
    [0, 1]
    """
    outcomes, covariates = _as_list(outcomes, "outcomes"), _as_list(covariates, "covariates")
    treated_means = tuple(_as_list(treated_means, "treated_means"))
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, not {variance!r}")
    unknown = [e for e in estimators if e not in M.ESTIMATORS]
    if unknown or "ipw" not in estimators:
        raise ValueError(f"estimators must include 'ipw' and be among {M.ESTIMATORS}")
    if variance == "bootstrap" and n_boot < 2:
        raise ValueError("n_boot must be at least 2 for a bootstrap")
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if trim is not None and not (isinstance(trim, (int, float)) and 0.5 < trim <= 1):
        raise ValueError(f"trim must be a preference score in (0.5, 1], or None for no trimming, not {trim!r}")
    alpha = _check_alpha(alpha)
    if cluster is not None and variance == "bootstrap":
        raise ValueError("cluster= works with the sandwich variance; the bootstrap resamples persons, not clusters")
    controls = dict(negative_controls or {})
    _check_columns(data, treatment, outcomes, covariates, list(controls))
    if [c for c in treated_means if c not in data.columns]:
        raise ValueError(f"columns not in the data: {', '.join(c for c in treated_means if c not in data.columns)}")
    s_all = _per_row(data, weights, "weights")
    cl_all = _per_row(data, cluster, "cluster")
    if s_all is not None:
        s_all = pd.to_numeric(s_all, errors="coerce")
        bad = s_all.isna() | ~np.isfinite(s_all.fillna(0)) | (s_all <= 0)
        if bad.any():
            raise ValueError(f"weights must be positive finite numbers: {int(bad.sum())} rows are not"
                             f" (first at index {list(data.index[bad.to_numpy()][:3])})")
    if cl_all is not None and cl_all.isna().any():
        raise ValueError(f"cluster is missing in {int(cl_all.isna().sum())} rows"
                         f" (first at index {list(data.index[cl_all.isna().to_numpy()][:3])})")
    notes: list[str] = []

    d = data[[treatment, *outcomes, *controls, *covariates]].copy()
    t_all = _treatment_values(d[treatment], treatment)
    ys = list(outcomes) + list(controls)
    eligible = t_all.notna() & d[ys].notna().all(axis=1)
    n_treated_eligible = int((t_all[eligible] == 1).sum())
    if (~eligible).any():
        notes.append(f"{int((~eligible).sum())} rows without the treatment or a complete outcome left out")
    d = d.loc[eligible]
    d[treatment] = t_all[eligible].astype(int)
    complete = d[list(covariates)].notna().all(axis=1)
    if (~complete).any():
        by = {c: int(d[c].isna().sum()) for c in covariates if d[c].isna().any()}
        notes.append(f"{int((~complete).sum())} rows with a missing covariate left out ("
                     + ", ".join(f"{c} {k}" for c, k in by.items()) + ")")
    d = d.loc[complete]
    _refuse_constant(d, covariates)
    d, n_outside = _restrict_support(d, treatment, covariates)
    if n_outside:
        notes.append(f"{n_outside} comparison persons in categories without treated persons left out")
    t = d[treatment].to_numpy(dtype=int)
    s = np.ones(len(d)) if s_all is None else s_all.loc[d.index].to_numpy(dtype=float)
    tm = {c: pd.to_numeric(data.loc[d.index, c], errors="coerce").to_numpy(dtype=float) for c in treated_means}
    unknown_tm = {c: int(np.isnan(v[t == 1]).sum()) for c, v in tm.items() if np.isnan(v[t == 1]).any()}
    if unknown_tm:
        raise ValueError("treated_means must be known for every treated person: "
                         + ", ".join(f"{c} missing for {k}" for c, k in unknown_tm.items()))
    if min(int(t.sum()), int((1 - t).sum())) < MIN_PER_GROUP:
        raise NotFitted(f"{int(t.sum())} treated and {int((1 - t).sum())} comparison persons with complete data"
                        f" (at least {MIN_PER_GROUP} in each group needed)", n=len(d))

    X, levels = _design(d, covariates)
    Z, centre, scale = _standardised(X)
    _check_rank(Z, ["the intercept", *X.columns])
    # The fit comes first: where it proves overlap (`overlap_proven`), the test's linear
    # programme, whose size grows with the cohort, would find none and is not solved.
    beta, ok = P.logistic_newton(Z, t.astype(float), ridge=0.0, weights=None if s_all is None else s)
    if not (ok and P.overlap_proven(Z, t.astype(float), beta, None if s_all is None else s)):
        # separation depends on the distinct (covariate values, treatment) rows only: find them
        # on the covariates themselves, a few columns, rather than on the wide dummy-coded design
        # (and test the design as built: `lp_separated` scales the columns itself, and
        # uncentred dummies keep its sparse matrix sparse)
        distinct = ~d[list(covariates) + [treatment]].duplicated().to_numpy()
        if lp_separated(X.to_numpy(dtype=float)[distinct], t[distinct]):
            raise NotFitted("the covariates separate the treated from the comparison persons perfectly (no overlap):"
                            " the propensity score is 0 or 1 and the groups cannot be compared", n=len(d))
    if not ok:
        raise NotFitted("the propensity model did not converge", n=len(d))
    e = P.predict(Z, beta)
    share = float(s @ t / s.sum())
    pref = P.preference_score(e, t, share)
    equipoise = float(np.mean((pref >= EQUIPOISE[0]) & (pref <= EQUIPOISE[1])))
    keep = P.keep_after_trim(pref, trim)
    tk = t[keep]
    n_ta, n_ca = int((tk == 1).sum()), int((tk == 0).sum())
    if min(n_ta, n_ca) < MIN_PER_GROUP:
        raise NotFitted(f"after trimming (preference score above {trim}) too few remain"
                        f" ({n_ta} treated, {n_ca} comparison)", n=len(d))
    w = np.where(tk == 1, 1.0, e[keep] / (1 - e[keep])) * s[keep]
    w[tk == 0] *= w[tk == 1].sum() / w[tk == 0].sum()
    ess = P.effective_sample_size(w[tk == 0])
    balance = _balance(X, levels, t, keep, w)
    max_smd = float(balance["smd_after"].abs().max())

    codes = df = None
    if cl_all is not None:
        codes = pd.factorize(cl_all.loc[d.index])[0]
        n_clusters = int(codes.max()) + 1
        if n_clusters < 2:
            raise NotFitted(f"the analysed persons are in {n_clusters} cluster: a clustered variance needs at least 2",
                            n=len(d))
        df = n_clusters - 1
    yv = {o: d[o].to_numpy(dtype=float) for o in ys}
    J_beta = M.jacobian_beta(Z, e, s)
    everyone = np.ones(len(t), dtype=bool)
    rows, influence = [], {}
    for o, est_name, role in _plan(outcomes, controls, estimators, trim):
        base, kk = _base(est_name), (keep if est_name in ("ipw", "aipw") else everyone)
        eff = M.effect_with_sandwich(base, Z, t, yv[o], e, kk, J_beta, weights=s)
        influence[f"{o}:{est_name}"] = eff.influence
        rows.append({"outcome": o, "estimator": est_name, "estimate": eff.estimate, "se": eff.se,
                     "n": int(kk.sum()), "n_treated": int(t[kk].sum()), "role": role})
    tm_means = {}
    for c, v in tm.items():
        tm_means[c], influence[c] = M.mean_influence(v, keep * s * t)
    infl = pd.DataFrame(influence, index=d.index)
    est = pd.DataFrame(rows)
    if codes is not None:  # clustered: the SEs from the cluster sums
        keys = [f"{o}:{m}" for o, m in zip(est["outcome"], est["estimator"])]
        est["se"] = np.sqrt(np.diag(_covariance(infl[keys].to_numpy(dtype=float), codes)))
    q = _quantile(1 - alpha / 2, df)
    est["ci_low"], est["ci_high"] = est["estimate"] - q * est["se"], est["estimate"] + q * est["se"]
    q95 = _quantile(0.975, df)
    ci95 = {o: (r.estimate - q95 * r.se, r.estimate + q95 * r.se)
            for r in est.itertuples() for o in [r.outcome] if r.role == "negative_control"}
    n_fail = 0
    replicates = None
    if variance == "bootstrap":
        boot, (n_fail, n_sep) = _bootstrap(Z, t, yv, beta, share, seed, n_boot, est, tm, hessian=-J_beta,
                                            workers=workers, trim=trim, s=None if s_all is None else s)
        replicates = pd.DataFrame({(k if isinstance(k, str) else f"{k[0]}:{k[1]}"): v for k, v in boot.items()})
        if n_fail > MAX_BOOT_FAILURES * n_boot:
            raise NotFitted(f"the propensity model did not converge in {n_fail} of {n_boot} bootstrap replicates"
                            f" ({n_sep} of them perfectly separated): the weights are unstable", n=len(d))
        if n_fail:
            notes.append(f"{n_fail} of {n_boot} bootstrap replicates did not converge ({n_sep} of them perfectly"
                         " separated) and were left out")
        for i, r in est.iterrows():
            b = boot[(r["outcome"], r["estimator"])]
            est.loc[i, ["ci_low", "ci_high"]] = np.percentile(b, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            est.loc[i, "se"] = float(np.std(b, ddof=1))
            if r["role"] == "negative_control":
                ci95[r["outcome"]] = tuple(np.percentile(b, [2.5, 97.5]))
        infl = None
    est["p_value"] = [float(2 * _sf(abs(r.estimate) / r.se, df)) if r.se > 0 else np.nan for r in est.itertuples()]
    est = est[ESTIMATE_COLUMNS]

    wk = pd.DataFrame({"treated": tk, "weight": w}, index=d.index[keep])
    means = pd.DataFrame([{
        "outcome": o, "role": "negative_control" if o in controls else "outcome",
        "mean_treated": float(np.average(yv[o][keep][tk == 1], weights=s[keep][tk == 1])),
        "mean_comparison": float(np.average(yv[o][t == 0], weights=s[t == 0])),
        "mean_comparison_weighted": float(np.average(yv[o][keep][tk == 0], weights=w[tk == 0])),
    } for o in ys])
    n_trim_t = int(((~keep) & (t == 1)).sum())
    share_trimmed = n_trim_t / int(t.sum())
    diag = _diagnostics(est, controls, ci95, yv, t, keep, max_smd, balance, ess, equipoise, n_treated_eligible,
                        n_ta, n_ca, n_outside, variance, n_boot, n_fail, seed, trim, alpha, df)
    failed = [r["diagnostic"] for r in diag if r["passed"] is False]
    trimmed = "not trimmed" if trim is None else f"preference score above {trim}"
    described = (f"the estimate describes {n_ta} of {n_treated_eligible} eligible treated"
                 f" ({n_treated_eligible - n_ta} left out: missing covariates, no comparable persons, or"
                 f" {trimmed})")
    if share_trimmed > MAX_SHARE_TRIMMED:
        untrimmed = est[(est["estimator"] == "ipw_untrimmed")]
        described += (f"; {n_trim_t} treated ({share_trimmed:.1%}) trimmed: the trimmed estimate describes another"
                      " population than all the treated; untrimmed IPW " + ", ".join(
                          f"{r.outcome} {r.estimate:.4g}" for r in untrimmed.itertuples()))
    reason = "; ".join([described] + notes + (["diagnostics failed: " + ", ".join(failed)] if failed else []))
    ps_table = _propensity_table(X, beta, J_beta, centre, scale)
    return ATTResult(
        estimates=est, diagnostics=pd.DataFrame(diag, columns=DIAGNOSTIC_COLUMNS).astype({"passed": "object"}),
        status="warning" if failed or n_fail else "ok", reason=reason, notes=notes, balance=balance, means=means,
        propensity_model=ps_table, weights=wk, n_treated_eligible=n_treated_eligible, n_treated_analysed=n_ta,
        n_comparison_analysed=n_ca, variance=variance,
        extra={"cluster_codes": codes, "ess": ess, "equipoise": equipoise, "max_smd": max_smd,
               "n_boot": n_boot if variance == "bootstrap" else 0, "n_fail": n_fail, "trim": trim,
               "n_trimmed_treated": n_trim_t, "n_trimmed_comparison": int(((~keep) & (t == 0)).sum()),
               "share_treated_trimmed": share_trimmed, "failed": failed,
               "treated_means": tm_means, "replicates": replicates},
        trimmed_profile=_trimmed_profile(X, levels, t, keep), influence=infl, alpha=alpha, df=df,
        treatment=treatment,
    )


# ---------------------------------------------------------------------------- pieces


def _covariance(U: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Sandwich covariance from influence values (one row per person): U'U, or with cluster codes
    the cross-products of the cluster sums times G/(G-1)."""
    if codes is None:
        return U.T @ U
    g = int(codes.max()) + 1
    Ug = np.zeros((g, U.shape[1]))
    np.add.at(Ug, codes, U)
    return Ug.T @ Ug * g / (g - 1)


def _as_list(value, name: str) -> list:
    """A column name or a list of them (a string is one name, never its letters)."""
    if isinstance(value, str):
        return [value]
    try:
        out = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a column name or a list of column names, not {value!r}") from None
    return out


def _check_alpha(alpha) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for 95 % intervals), not {alpha!r}")
    return float(alpha)


def _quantile(p: float, df: int | None) -> float:
    return float(norm.ppf(p) if df is None else student_t.ppf(p, df))


def _sf(x: float, df: int | None) -> float:
    return float(norm.sf(x) if df is None else student_t.sf(x, df))


def _per_row(data: pd.DataFrame, value, name: str) -> pd.Series | None:
    """`weights=` / `cluster=`: a column name, or one value per row of `data`."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise ValueError(f"{name}: column {value!r} is not in the data")
        return data[value]
    values = np.asarray(value)
    if values.ndim != 1 or len(values) != len(data):
        raise ValueError(f"{name} must be a column name or one value per row ({len(data)}), not {values.shape}")
    return pd.Series(values, index=data.index)


def _treatment_values(s: pd.Series, name: str) -> pd.Series:
    """The treatment as 0.0/1.0 (NaN where missing); text or other numbers refused with the values."""
    if pd.api.types.is_bool_dtype(s) or (s.dtype == object and s.dropna().map(type).eq(bool).all()
                                          and s.notna().any()):
        return s.map({True: 1.0, False: 0.0}).astype(float)
    num = pd.to_numeric(s, errors="coerce")
    text = s.notna() & num.isna()
    if text.any():
        vals = sorted(map(str, s[text].unique()))
        raise ValueError(f"treatment column {name!r} must hold 0 and 1 (1 = treated), not text: it holds "
                         f"{', '.join(map(repr, vals[:5]))}{' ...' if len(vals) > 5 else ''}; recode it, e.g."
                         f" data[{name!r}].map({{{vals[0]!r}: 0, ...: 1}})")
    other = num.dropna()[~num.dropna().isin([0, 1])]
    if len(other):
        vals = sorted(other.unique())
        raise ValueError(f"treatment column {name!r} must hold 0 and 1 only (1 = treated); it also holds "
                         f"{', '.join(f'{v:g}' for v in vals[:5])}{' ...' if len(vals) > 5 else ''}")
    return num.astype(float)


def _check_columns(data, treatment, outcomes, covariates, controls) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if not isinstance(treatment, str):
        raise TypeError(f"treatment must be a column name, not {treatment!r}")
    missing = [c for c in [treatment, *outcomes, *covariates, *controls] if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in the data: {', '.join(map(str, missing))}")
    if data.columns.duplicated().any():
        dup = sorted(set(data.columns[data.columns.duplicated()]))
        raise ValueError(f"the data has more than one column named {', '.join(map(repr, dup))}")
    if not outcomes:
        raise ValueError("at least one outcome is needed")
    for name, cols in (("covariate", covariates), ("outcome", outcomes), ("negative control", controls)):
        seen = pd.Series(cols)
        if seen.duplicated().any():
            raise ValueError(f"{name} {seen[seen.duplicated()].iloc[0]!r} is listed twice")
    if treatment in covariates:
        raise ValueError(f"the treatment {treatment!r} is among the covariates: the propensity model predicts it"
                         " from the covariates, so it cannot be one of them")
    if treatment in outcomes or treatment in controls:
        raise ValueError(f"the treatment {treatment!r} is among the outcomes")
    for o in [*outcomes, *controls]:
        if o in covariates:
            raise ValueError(f"the outcome {o!r} is among the covariates: the propensity model must not see the"
                             " outcome (it would be balanced away)")
    both = sorted(set(outcomes) & set(controls))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))} is both an outcome and a negative control")
    not_numeric = [c for c in outcomes + controls if not pd.api.types.is_numeric_dtype(data[c])]
    if not_numeric:
        raise ValueError(f"outcomes must be numeric: {', '.join(not_numeric)}")
    for c in [*outcomes, *controls, *covariates]:
        if _is_numeric(data[c]):
            inf = np.isinf(data[c].to_numpy(dtype=float))
            if inf.any():
                raise ValueError(f"column {c!r} holds infinite values in {int(inf.sum())} rows (first at index"
                                 f" {list(data.index[inf][:3])}); make them missing (NaN) or give a value")


def _refuse_constant(d: pd.DataFrame, covariates) -> None:
    """A covariate with one value among the persons with complete data cannot enter the model:
    refused by name, not dropped, so the model fitted is the one asked for."""
    for c in covariates:
        if d[c].nunique() < 2 and len(d):
            v = d[c].iloc[0]
            shown = f"{v:g}" if _is_numeric(d[c]) else repr(str(v))
            raise NotFitted(f"covariate {c!r} has the same value ({shown}) for all {len(d)} persons with complete data:"
                            " it cannot enter the propensity model; leave it out", n=len(d))


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _is_categorical(s: pd.Series) -> bool:
    """Checked for support level by level: text, booleans, and numeric columns with two values
    (a 0/1 covariate is the same information as a yes/no one, so it is handled alike)."""
    return not _is_numeric(s) or s.nunique(dropna=True) == 2


def _plan(outcomes, controls, estimators, trim):
    """(outcome, estimator, role) in the order of the estimates table."""
    for o in outcomes:
        for est in estimators:
            yield o, est, "outcome"
        if trim is not None:
            yield o, "ipw_untrimmed", "outcome"
    for o in controls:
        yield o, "ipw", "negative_control"


def _base(estimator: str) -> str:
    """The estimating equations of a reported estimator (`ipw_untrimmed` is IPW over everyone)."""
    return "ipw" if estimator == "ipw_untrimmed" else estimator


def _standardised(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[1, (X - mean) / sd]: the propensity and outcome designs, whatever the covariates' units.

    A covariate in euros and its square (values to 1e9) beside dummies makes a design whose
    condition number exceeds what double precision solves; centred and scaled, every column
    has mean 0 and SD 1, and the fit, the weights, AIPW and the sandwich are the same for a
    covariate in euros or in thousands (only its coefficient changes, `_propensity_table`).
    """
    Xv = X.to_numpy(dtype=float)
    centre = Xv.mean(axis=0)
    scale = Xv.std(axis=0)
    return np.column_stack([np.ones(len(Xv)), (Xv - centre) / scale]), centre, scale


def _check_rank(Z: np.ndarray, names: list[str]) -> None:
    """Refuse a design whose columns are linearly dependent, naming each dependent column and
    the columns it is a combination of (on the standardised design, so units play no part)."""
    G = P.weighted_gram(Z, np.full(len(Z), 1.0 / len(Z)))
    ind = M.independent_columns(G)
    if len(ind) == len(G):
        return
    parts = []
    for j in sorted(set(range(len(G))) - set(ind)):
        coef = np.linalg.solve(G[np.ix_(ind, ind)], G[ind, j])
        others = [names[i] for i, c in zip(ind, coef) if abs(c) > 1e-6]
        parts.append(f"{names[j]} is a linear combination of {', '.join(others) or 'nothing'}")
    raise NotFitted(f"the covariates are collinear ({'; '.join(parts)}): the propensity model cannot tell them"
                    " apart; leave one of them out", n=len(Z))


def _propensity_table(X: pd.DataFrame, beta, J_beta, centre, scale) -> pd.DataFrame:
    """The propensity model's coefficients and model-based SEs on the covariates' own scale.

    The fit is on the standardised design; b_j / sd_j per covariate, and the intercept
    b_0 - sum b_j mean_j / sd_j, with the covariance carried through the same linear map.
    """
    p = len(beta)
    A = np.eye(p)
    A[0, 1:] = -centre / scale
    A[1:, 1:] = np.diag(1 / scale)
    cov = A @ np.linalg.solve(-J_beta, A.T)
    return pd.DataFrame({"term": ["const", *X.columns], "coef": A @ beta, "se": np.sqrt(np.diag(cov))})


def _levels(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A covariate's levels as their text (as `astype(str)` writes them), sorted, and each row's
    level as an index into them: one pass over the rows, where comparing every row's text with
    each level would take one pass per level."""
    codes, uniques = pd.factorize(s)
    missing = codes < 0  # None, NaN and NA are one to factorize, three texts to `astype(str)`
    text = [str(u) for u in uniques]
    missing_text = [str(v) for v in s[missing]]
    labels = sorted(set(text) | set(missing_text))
    position = {lv: i for i, lv in enumerate(labels)}
    out = np.zeros(len(codes), dtype=np.intp)
    out[~missing] = np.array([position[t] for t in text], dtype=np.intp)[codes[~missing]]
    out[missing] = [position[t] for t in missing_text]
    return out, labels


def _restrict_support(d: pd.DataFrame, treatment: str, covariates) -> tuple[pd.DataFrame, int]:
    """Refuse when treated persons have no comparison counterparts; drop comparisons without treated ones."""
    n_outside = 0
    for col in covariates:
        if not _is_categorical(d[col]):
            continue
        codes, labels = _levels(d[col])
        treated = (d[treatment] == 1).to_numpy()
        compared = (d[treatment] == 0).to_numpy()
        n_treated = np.bincount(codes[treated], minlength=len(labels))
        n_compared = np.bincount(codes[compared], minlength=len(labels))
        no_cmp = np.flatnonzero((n_treated > 0) & (n_compared == 0))
        if len(no_cmp):
            lv = ", ".join(f"{labels[i]} ({int(n_treated[i])} treated)" for i in no_cmp)
            raise NotFitted(
                f"no comparison persons in {col} {lv}: the effect on these treated cannot be estimated"
                " (the comparison group has no one like them)", n=len(d))
        drop = np.isin(codes, np.flatnonzero((n_treated == 0) & (n_compared > 0))) & compared
        n_outside += int(drop.sum())
        d = d[~drop]
    return d, n_outside


def _design(d: pd.DataFrame, covariates) -> tuple[pd.DataFrame, dict[str, tuple[str, list[str]]]]:
    """Design without intercept; `levels` maps a categorical covariate to (reference, its term columns).

    A covariate left with one value by `_restrict_support` (its other values held comparison
    persons only, now left out) carries no information and gets no column; one constant in the
    data given is refused before (`_refuse_constant`)."""
    cols: dict[str, np.ndarray] = {}
    levels: dict[str, tuple[str, list[str]]] = {}
    for c in covariates:
        s = d[c]
        if s.nunique() < 2:  # constant once the comparison persons outside support are left out
            continue
        if _is_numeric(s):
            cols[c] = s.to_numpy(dtype=float)
            continue
        codes, labels = _levels(s)
        counts = np.bincount(codes, minlength=len(labels))
        ref = labels[int(np.argmax(counts))]  # the most frequent; of equals, the first in order
        terms = []
        for i, lv in enumerate(labels):
            if lv == ref:
                continue
            name = f"{c}={lv}"
            cols[name] = (codes == i).astype(float)
            terms.append(name)
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


def _trimmed_profile(X: pd.DataFrame, levels, t, keep) -> pd.DataFrame:
    """Whom trimming left out: each covariate's mean (a level's share) among the trimmed and the
    kept, treated and comparison persons apart, with their numbers (NaN where none)."""
    cols = {c: X[c].to_numpy(dtype=float) for c in X.columns}
    for name, (ref, terms) in levels.items():
        cols[f"{name}={ref}"] = (X[terms].to_numpy().sum(axis=1) == 0).astype(float)
    groups = {"treated_trimmed": (t == 1) & ~keep, "treated_kept": (t == 1) & keep,
              "comparison_trimmed": (t == 0) & ~keep, "comparison_kept": (t == 0) & keep}
    rows = [{"covariate": "n", **{g: float(m.sum()) for g, m in groups.items()}}]
    rows += [{"covariate": name, **{g: float(x[m].mean()) if m.any() else np.nan for g, m in groups.items()}}
             for name, x in cols.items()]
    return pd.DataFrame(rows, columns=["covariate", *groups])


def _bootstrap(Z, t, yv, beta0, share, seed, n_boot, est, tm=None, hessian=None, workers=1,
               trim=P.TRIM_PREFERENCE_ABOVE, s=None):
    """Stratified bootstrap: resample within each group, refit, re-trim, re-estimate.

    `trim` is the trimming rule (None: none); `s` sampling weights, multiplying the draw counts.
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
            c = np.bincount(idx, minlength=n).astype(float)
            yield c if s is None else c * s

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
        keep = P.keep_after_trim(P.preference_score(e, t, share if s is None else float(c @ tf / c.sum())), trim)
        kc = keep * c
        if (kc * tf).sum() == 0 or (kc * (1 - tf)).sum() == 0:
            return "failed", None
        try:
            out = {(o, estimator): M.point_estimate(_base(estimator), Z, tf, yv[o], e,
                                                    keep if estimator in ("ipw", "aipw") else drawn, weights=c)
                   for o, estimator in keys}
        except np.linalg.LinAlgError:  # the outcome regression not solvable on this resample
            return "failed", None
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


def _diagnostics(est, controls, ci95, yv, t, keep, max_smd, balance, ess, equipoise, n_treated_eligible, n_ta, n_ca,
                 n_outside, variance, n_boot, n_fail, seed, trim, alpha, df) -> list[dict]:
    worst = balance.loc[balance["smd_after"].abs().idxmax(), "covariate"]
    n_trim_t, n_trim_c = int(((~keep) & (t == 1)).sum()), int(((~keep) & (t == 0)).sum())
    share_trimmed = n_trim_t / int((t == 1).sum())
    untrimmed = est[est["estimator"] == "ipw_untrimmed"]
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
         "rule": "no trimming" if trim is None else f"preference score above {trim} dropped",
         "detail": f"{n_trim_t} treated, {n_trim_c} comparison persons"},
        {"diagnostic": "share_treated_trimmed", "value": share_trimmed, "threshold": MAX_SHARE_TRIMMED,
         "passed": bool(share_trimmed <= MAX_SHARE_TRIMMED), "rule": "value <= threshold",
         "detail": "treated left out by trimming, of the treated with complete data: above the threshold the"
                   " trimmed estimate describes another population; untrimmed IPW "
                   + (", ".join(f"{r.outcome} {r.estimate:.4g} ({1 - alpha:.0%} CI {r.ci_low:.4g} to {r.ci_high:.4g})"
                                for r in untrimmed.itertuples()) or "not computed (no trimming)")},
        {"diagnostic": "n_comparison_outside_support", "value": n_outside, "threshold": None, "passed": None,
         "rule": "comparison persons in a category with no treated dropped", "detail": None},
    ]
    if df is not None:
        rows.append({"diagnostic": "t_degrees_of_freedom", "value": df, "threshold": None, "passed": None,
                     "rule": None, "detail": "clusters - 1: the intervals and p-values use t with these"})
    ipw = est[est["estimator"] == "ipw"].set_index("outcome")
    for o, margin in controls.items():
        r = ipw.loc[o]
        lo, hi = ci95[o]
        rows.append({"diagnostic": f"negative_control_{o}", "value": float(r["estimate"]), "threshold": float(margin),
                     "passed": bool(-margin <= lo and hi <= margin),
                     "rule": "95% CI within [-threshold, threshold] (equivalence)",
                     "detail": f"weighted difference {r['estimate']:.3f}, 95% CI {lo:.3f} to {hi:.3f}"})
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
