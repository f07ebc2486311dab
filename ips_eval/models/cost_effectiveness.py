"""Model 8: cost per employed month gained (term `cost_per_employed_month_gained`), on matched horizons.

`load_cost_effectiveness(con)` is model 6's analysis frame with each IPS client's cost over the
effect's windows (`sql/models/cost_effectiveness.sql`); `fit_cost_effectiveness(frame)`
estimates the ratio of the plan's "Costs" section. Choices a reviewer can check
(docs/models.md says the same in words):
1. Estimand: for the IPS clients in the effectiveness analysis (model 6's analysed clients),
   their mean cost over the outcome's window (`cost_per_client_window`: each client's
   client-years within the month of I and the 11 months after it, to the service end or C,
   times their service county's cost per client-year over the whole period) divided by the
   employed months IPS gained them per client (`employed_months_gained`, the ATT of
   `employed_months_post12`). Cost and effect cover the same months, so a refresh that adds
   no data to the window does not move the ratio. The 24-month ratio (`_post24` terms) is
   beside it, over the 24-month window and its own fit, where that window is observed.
2. The ATT is model 6's IPW estimate, re-estimated with the same machinery (`estimate_att`).
3. Interval: Fieller's, from the stacked estimating equations of the gain and the mean cost
   (their sandwich covariance), reported whatever the gain's interval: bounded, or
   unbounded above when the gain's interval reaches 0 (a negative gain is "no gain at any
   cost", ranked above every price), or the whole line; the diagnostic
   `ratio_interval` says which. As an option (`interval="bootstrap"`) the stratified
   bootstrap of `estimate_att`, its replicates ranked by quadrant (a replicate with no gain
   counts as +infinity). The counties' costs per client-year are held fixed.
4. Beside the ratio, the net monetary benefit per client at willingness-to-pay values
   `WTP_EUR` per employed month (WTP x gain - cost) and the probability that IPS is
   cost-effective at each (P(NMB > 0): from the normal approximation of the NMB with the
   sandwich variance, or the share of bootstrap replicates with the bootstrap).
5. A county without a cost per client-year over the whole period: its clients are left out,
   the gain is re-estimated on the clients of the counties with costs, and the status is
   'warning' naming the county.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import norm

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.models import plots
from ips_eval.models.att import DEFAULT_BOOT, DEFAULT_SEED, MIN_PER_GROUP, ATTResult, estimate_att
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.data import read_query
from ips_eval.models.effectiveness import NEGATIVE_CONTROLS, PS_COVARIATES, load_effectiveness, propensity_frame
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

QUERIES = MODEL_QUERIES_DIR
QUERY = QUERIES / "cost_effectiveness.sql"

MODEL = "cost_effectiveness"
TERM = "cost_per_employed_month_gained"
COST_TERM = "cost_per_client_window"
GAIN_TERM = "employed_months_gained"
OUTCOME = "employed_months_post12"
OUTCOME_POST24 = "employed_months_post24"
#: The horizons: outcome, the cost over its window (a column of the query), the terms' suffix.
HORIZONS = ((OUTCOME, "cost_post12", ""), (OUTCOME_POST24, "cost_post24", "_post24"))
#: Willingness to pay per employed month gained (EUR) at which the net monetary benefit and the
#: probability of cost-effectiveness are reported (terms `..._wtp_<value>`).
WTP_EUR = (1000, 2000, 3000, 5000)
#: The WTP grid of the acceptability curve (figure and `extra["acceptability"]`).
WTP_GRID = np.arange(0, 10001, 250)
INTERVALS = ("fieller", "bootstrap")
ALPHA = 0.05
#: Bootstrap replicates when `interval="bootstrap"`: model 6's bootstrap default, enough for
#: the 2.5th and 97.5th percentiles.
N_BOOT = DEFAULT_BOOT
#: Threads computing the replicates: the study's research machine has two cores. The interval
#: does not depend on it (`estimate_att`'s draws are made in one sequence whatever the number).
N_WORKERS = 2


def load_cost_effectiveness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Model 6's analysis frame with `cost_post12`, `cost_post24` (and their parts) for each IPS client.

    Examples
    --------
    >>> frame = load_cost_effectiveness(con)  # doctest: +SKIP
    >>> result = fit_cost_effectiveness(frame)  # doctest: +SKIP
    """
    frame = load_effectiveness(con)
    costs = read_query(con, QUERY, allow_empty=True)
    return frame.merge(costs, on="person_id", how="left", validate="one_to_one")


@dataclass(frozen=True)
class RatioInterval:
    """A ratio's confidence set in cost-per-gain order: [low, high], either may be infinite.

    `kind`: 'bounded'; 'unbounded above' (the gain's interval reaches 0: from `low` up, and
    no gain at any cost); 'negative gain' (the gain's interval lies below 0: IPS is dominated,
    the ratio is no price); 'whole line' (neither cost nor gain is told from 0).
    """

    low: float
    high: float
    kind: str


def fieller(num: float, den: float, v_num: float, v_den: float, cov: float, z: float = float(norm.ppf(0.975))
            ) -> RatioInterval:
    """Fieller's confidence set for num/den from their variances and covariance, read by quadrant.

    The set of R with (num - R den)^2 <= z^2 (v_num - 2 R cov + R^2 v_den): the roots of
    a R^2 - 2 b R + c = 0, a = den^2 - z^2 v_den, b = num den - z^2 cov, c = num^2 - z^2 v_num.
    a > 0 (the gain's interval excludes 0): [(b - sqrt(D))/a, (b + sqrt(D))/a], D = b^2 - ac;
    negative when the gain is. a < 0 and D > 0: two rays; with a positive cost the negative
    one is the negative gains, which in cost-per-gain order lie above every price, so the set
    is [positive root, infinity). Otherwise the whole line.

    Examples
    --------
    >>> r = fieller(10.0, 2.0, 1.0, 0.25, 0.0, z=2.0)
    >>> round(r.low, 4), round(r.high, 4), r.kind
    (3.139, 10.1943, 'bounded')
    >>> fieller(10.0, 0.5, 1.0, 0.25, 0.0, z=2.0).kind
    'unbounded above'
    """
    a = den**2 - z**2 * v_den
    b = num * den - z**2 * cov
    c = num**2 - z**2 * v_num
    disc = b**2 - a * c
    if a > 0:
        lo, hi = (b - np.sqrt(disc)) / a, (b + np.sqrt(disc)) / a
        return RatioInterval(float(lo), float(hi), "bounded" if den > 0 else "negative gain")
    if a < 0 and disc > 0:
        r1, r2 = sorted(((b + np.sqrt(disc)) / a, (b - np.sqrt(disc)) / a))
        if r1 < 0 < r2:
            return RatioInterval(float(r2), np.inf, "unbounded above")
    return RatioInterval(-np.inf, np.inf, "whole line")


def bootstrap_ratio_interval(cost: np.ndarray, gain: np.ndarray, alpha: float = ALPHA) -> RatioInterval:
    """Percentile interval of replicate ratios ranked by quadrant: a replicate whose gain is not
    above 0 buys no employed month at any cost and ranks above every finite ratio (+infinity).

    Examples
    --------
    >>> r = bootstrap_ratio_interval(np.full(5, 10.0), np.array([1.0, 2.0, 4.0, 5.0, -1.0]), alpha=0.2)
    >>> r.low, r.high, r.kind
    (2.0, inf, 'unbounded above')
    """
    ranked = np.where(gain > 0, cost / np.where(gain > 0, gain, 1.0), np.inf)
    lo, hi = np.percentile(ranked, [100 * alpha / 2, 100 * (1 - alpha / 2)], method="inverted_cdf")
    return RatioInterval(float(lo), float(hi), "bounded" if np.isfinite(hi) else "unbounded above")


@model_fit(MODEL)
def fit_cost_effectiveness(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED, n_boot: int = N_BOOT,
                           workers: int = N_WORKERS, interval: str = "fieller") -> ModelResult:
    """Cost per employed month gained over the outcome's window, with its parts, interval, NMB
    and probability of cost-effectiveness.

    Parameters
    ----------
    frame : `load_cost_effectiveness` (model 6's frame with `cost_post12`, `cost_post24`,
        `service_alue`, `client_years` and `cost_per_client_year` for the IPS clients).
    seed, n_boot, workers : the bootstrap's seed, replicates and threads (`interval="bootstrap"`).
    interval : 'fieller' (default, from the stacked estimating equations) or 'bootstrap'.

    Returns
    -------
    ModelResult with the terms `cost_per_employed_month_gained`, `cost_per_client_window`,
    `employed_months_gained` (and `_post24` where the 24-month window is observed),
    `net_monetary_benefit_wtp_<v>` and `probability_cost_effective_wtp_<v>`.

    Examples
    --------
    >>> result = fit_cost_effectiveness(load_cost_effectiveness(con))  # doctest: +SKIP
    >>> result.estimates[["term", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, not {interval!r}")
    d = propensity_frame(frame)
    in_window = d[OUTCOME].notna() & (d["ips"] == 1)
    if int(in_window.sum()) < MIN_PER_GROUP:
        raise NotFitted(f"{int(in_window.sum())} IPS clients with a complete 12-month window"
                        f" (at least {MIN_PER_GROUP} needed)", n=int(in_window.sum()))
    d, left_out = _clients_with_costs(d, in_window)
    rows: list[dict] = []
    diags: list[dict] = []
    texts: list[str] = []
    caveats: list[str] = []  # why the status is a warning: the fit log's status_reason
    extra: dict = {}
    status = "ok"
    main: ATTResult | None = None
    for outcome, cost, suffix in HORIZONS:
        part = d[d[outcome].notna()] if suffix else d
        if suffix:
            n_ips, n_cmp = int((part["ips"] == 1).sum()), int((part["ips"] == 0).sum())
            if min(n_ips, n_cmp) < MIN_PER_GROUP:
                texts.append(f"24-month ratio not estimated: {n_ips} IPS clients and {n_cmp} comparison persons with a"
                             f" complete 24-month window (at least {MIN_PER_GROUP} in each group needed)")
                continue
        try:
            att = estimate_att(part, "ips", [outcome], list(PS_COVARIATES), seed=seed, n_boot=n_boot,
                               variance="sandwich" if interval == "fieller" else "bootstrap",
                               negative_controls=NEGATIVE_CONTROLS, estimators=("ipw",), treated_means=(cost,),
                               workers=workers)
        except NotFitted as e:
            if not suffix:
                raise
            texts.append(f"24-month ratio not estimated: {e.reason}")
            continue
        r, dg, text, ex = _horizon(att, outcome, cost, suffix, interval, seed)
        rows += r
        diags += dg
        texts.append(text)
        extra.update(ex)
        if att.status != "ok":
            status = "warning"
            texts.append(f"{'24' if suffix else '12'}-month fit: diagnostics failed: "
                         + (", ".join(att.extra["failed"]) or "bootstrap replicates left out"))
            caveats.append(texts[-1])
        if not suffix:
            main = att
    if left_out:
        status = "warning"
        caveats.insert(0, f"counties without costs left out: {', '.join(left_out)}")
    diags.append({"model": MODEL, "diagnostic": "counties_without_costs", "value": len(left_out), "threshold": 0,
                  "passed": not left_out, "rule": "counties whose clients were left out for want of a cost per"
                  " client-year over the whole period (marts.costs: a year without a cost row)",
                  "detail": ", ".join(f"{c} ({k} IPS clients)" for c, k in left_out.items()) or None})
    est = estimates_frame(rows, estimator="ipw")
    n = main.n_treated_analysed
    reason = "; ".join(
        ([f"counties without a cost per client-year over the whole period left out: "
          + ", ".join(f"{c} ({k} IPS clients)" for c, k in left_out.items())
          + "; the ratio describes the clients of the other counties, the gain re-estimated on them"]
         if left_out else []) + texts + [f"costs per client-year held at county level; {main.reason}"])
    shown = est[est["term"].isin([TERM, COST_TERM, GAIN_TERM, f"{TERM}_post24"])]
    return ModelResult(
        model=MODEL, status=status, reason=reason, n=n, converged=True, estimates=est,
        diagnostics=diagnostics_frame(diags), status_reason="; ".join(caveats),
        summary=f"**{MODEL}**: cost per employed month gained over the outcome's window; {reason}.\n\n"
        + estimates_markdown(shown, "EUR or months"),
        extra=extra,
    )


def _horizon(att: ATTResult, outcome: str, cost: str, suffix: str, interval: str, seed: int):
    """Estimates, diagnostics, a sentence and extras of one horizon's ratio."""
    gain = att.estimate(outcome, "ipw")
    key = f"{outcome}:ipw"
    n = att.n_treated_analysed
    mean_cost = att.extra["treated_means"][cost]
    delta = float(gain["estimate"])
    z = float(norm.ppf(1 - ALPHA / 2))
    if interval == "fieller":
        V = att.vcov([cost, key])
        ci = fieller(mean_cost, delta, V[0, 0], V[1, 1], V[0, 1], z)
        cost_ci = (mean_cost - z * np.sqrt(V[0, 0]), mean_cost + z * np.sqrt(V[0, 0]))
        method = "Fieller, from the stacked estimating equations (sandwich covariance of mean cost and gain)"
    else:
        reps = att.extra["replicates"]
        cb, gb = reps[cost].to_numpy(), reps[key].to_numpy()
        ci = bootstrap_ratio_interval(cb, gb)
        cost_ci = tuple(np.percentile(cb, [2.5, 97.5]))
        method = (f"stratified bootstrap, {len(reps)} replicates, seed {seed}, percentiles of the replicate ratios"
                  " ranked by quadrant (no gain ranks above every price)")
    rows = [
        {"model": MODEL, "term": TERM + suffix, "estimate": mean_cost / delta if delta else np.inf,
         "ci_low": ci.low, "ci_high": ci.high, "p_value": np.nan, "n": n},
        {"model": MODEL, "term": COST_TERM + suffix, "estimate": mean_cost, "ci_low": cost_ci[0],
         "ci_high": cost_ci[1], "p_value": np.nan, "n": n},
        {"model": MODEL, "term": GAIN_TERM + suffix, "estimate": delta, "ci_low": float(gain["ci_low"]),
         "ci_high": float(gain["ci_high"]), "p_value": float(gain["p_value"]), "n": n},
    ]
    extra: dict = {}
    if not suffix:
        nmb_rows, curve = _net_benefit(att, cost, key, interval)
        rows += nmb_rows
        extra["acceptability"] = curve
        if interval == "bootstrap":
            extra["replicate_ratios"] = np.where(gb > 0, cb / np.where(gb > 0, gb, 1.0), np.inf)
    diags = [
        {"model": MODEL, "diagnostic": f"ratio_interval{suffix}", "value": float(np.isfinite(ci.high)),
         "threshold": None, "passed": None, "rule": method, "detail": ci.kind},
        {"model": MODEL, "diagnostic": f"n_clients{suffix}", "value": n, "threshold": None, "passed": None,
         "rule": "IPS clients in the effectiveness analysis (with a county cost)", "detail": None},
        {"model": MODEL, "diagnostic": f"total_cost_eur{suffix}", "value": mean_cost * n, "threshold": None,
         "passed": None, "rule": "sum over those clients of client-years in the window x county cost per"
         " client-year", "detail": None},
        {"model": MODEL, "diagnostic": f"gain_interval_above_zero{suffix}", "value": float(gain["ci_low"]),
         "threshold": 0.0, "passed": bool(gain["ci_low"] > 0),
         "rule": "the lower limit of the gain's 95% interval > 0 (else the ratio's interval is unbounded)",
         "detail": f"ATT {outcome} {fmt(delta)} (95% CI {fmt(gain['ci_low'])} to {fmt(gain['ci_high'])})"},
    ]
    if interval == "bootstrap":
        diags.append({"model": MODEL, "diagnostic": f"bootstrap_replicates{suffix}",
                      "value": len(att.extra["replicates"]), "threshold": None, "passed": None,
                      "rule": f"successful of {att.extra['n_boot']}, seed {seed}", "detail": None})
    horizon = "24-month" if suffix else "12-month"
    text = (f"{horizon} window: {n} IPS clients, mean cost over the window {mean_cost:,.0f} EUR, ATT {outcome}"
            f" {fmt(delta)} (95% CI {fmt(gain['ci_low'])} to {fmt(gain['ci_high'])}); ratio {rows[0]['estimate']:,.0f}"
            f" EUR per employed month gained, interval ({ci.kind}) {ci.low:,.0f} to {ci.high:,.0f} by {method}")
    return rows, diags, text, extra


def _net_benefit(att: ATTResult, cost: str, key: str, interval: str) -> tuple[list[dict], pd.DataFrame]:
    """NMB per client = WTP x gain - cost, at each `WTP_EUR`, and P(NMB > 0) over `WTP_GRID`."""
    mean_cost = att.extra["treated_means"][cost]
    delta = float(att.estimate(key.split(":")[0], "ipw")["estimate"])
    n = att.n_treated_analysed
    z = float(norm.ppf(1 - ALPHA / 2))
    if interval == "fieller":
        V = att.vcov([cost, key])

        def dist(lam):
            nmb = lam * delta - mean_cost
            se = float(np.sqrt(max(lam**2 * V[1, 1] - 2 * lam * V[0, 1] + V[0, 0], 0.0)))
            prob = float(norm.cdf(nmb / se)) if se > 0 else float(nmb > 0)
            return nmb, (nmb - z * se, nmb + z * se), prob
    else:
        reps = att.extra["replicates"]
        cb, gb = reps[cost].to_numpy(), reps[key].to_numpy()

        def dist(lam):
            b = lam * gb - cb
            return lam * delta - mean_cost, tuple(np.percentile(b, [2.5, 97.5])), float(np.mean(b > 0))
    rows = []
    for lam in WTP_EUR:
        nmb, (lo, hi), prob = dist(lam)
        rows.append({"model": MODEL, "term": f"net_monetary_benefit_wtp_{lam}", "estimate": nmb, "ci_low": lo,
                     "ci_high": hi, "p_value": np.nan, "n": n})
        rows.append({"model": MODEL, "term": f"probability_cost_effective_wtp_{lam}", "estimate": prob,
                     "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "n": n})
    curve = pd.DataFrame({"wtp_eur": WTP_GRID, "probability_cost_effective": [dist(lam)[2] for lam in WTP_GRID]})
    return rows, curve


def _clients_with_costs(d: pd.DataFrame, in_window: pd.Series) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every IPS client who may enter the analysis needs a cost: without a service record the
    model is not fitted; the clients of a county without a cost per client-year over the whole
    period are left out (returned by county), and the model describes the others."""
    ips = d[in_window]
    no_service = ips["client_years"].isna()
    if no_service.any():
        raise NotFitted(f"{int(no_service.sum())} IPS clients of the register cohort have no service record"
                        " (core.client_outcomes): their cost is unknown", n=len(ips))
    no_rate = ips["cost_per_client_year"].isna()
    if no_rate.all():
        raise NotFitted("no cost per client-year for any county (marts.costs has none: costs.csv not delivered,"
                        " or no county reported every year)", n=len(ips))
    if not no_rate.any():
        return d, {}
    left_out = ips.loc[no_rate, "service_alue"].astype(str).value_counts().sort_index()
    drop = (d["ips"] == 1) & d["cost_per_client_year"].isna()
    return d[~drop], {str(k): int(v) for k, v in left_out.items()}


def plot_cost_effectiveness(result: ModelResult, figures_dir: Path) -> list[Path]:
    """The acceptability curve (probability cost-effective by willingness to pay); with the
    bootstrap, also the distribution of the replicate ratios with the estimate and interval.

    Examples
    --------
    >>> plot_cost_effectiveness(result, Path("figures"))  # doctest: +SKIP
    """
    figures = [plots.acceptability_curve(
        result.extra["acceptability"], [float(v) for v in WTP_EUR],
        f"Probability that IPS is cost-effective (n={result.n})", Path(figures_dir) / f"{MODEL}_acceptability.png")]
    if "replicate_ratios" in result.extra:
        row = result.estimates.set_index("term").loc[TERM]
        ratios = result.extra["replicate_ratios"]
        figures.append(plots.bootstrap_histogram(
            ratios[np.isfinite(ratios)], float(row["estimate"]), (float(row["ci_low"]), float(row["ci_high"])),
            f"Cost per employed month gained: {len(ratios)} bootstrap replicates (n={result.n})",
            "EUR per employed month gained", Path(figures_dir) / f"{MODEL}_bootstrap.png"))
    return figures



SPEC = ModelSpec(
    name=MODEL,
    description="Model 8: cost per employed month gained: the analysed IPS clients' mean cost over the outcome's"
    " window divided by model 6's ATT on employed months over the same window, with Fieller's interval, the net"
    " monetary benefit and the probability of cost-effectiveness at stated willingness-to-pay values.",
    queries=("effectiveness.sql", "cost_effectiveness.sql"),
    fit=fit_cost_effectiveness,
    load=load_cost_effectiveness,
    plot=plot_cost_effectiveness,
)
