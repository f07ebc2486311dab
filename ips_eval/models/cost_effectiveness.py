"""Model 8: cost per employed month gained (term `cost_per_employed_month_gained`).

`load_cost_effectiveness(con)` is model 6's analysis frame with each IPS client's cost
(`sql/models/cost_effectiveness.sql`); `fit_cost_effectiveness(frame)` estimates the ratio of the
plan's "Costs" section. Choices a reviewer can check (docs/models.md says the same in words):
1. Estimand: total cost of the IPS clients in the effectiveness analysis (model 6's analysed
   clients) divided by the employed months IPS gained them, ATT(`employed_months_post12`)
   times their number; equivalently their mean cost over the ATT. A client's cost is their
   client-years (days in service from S to the service end or C, / 365.25) times their
   service county's cost per client-year over the whole period (`marts.costs`, 'ALL' years).
2. The ATT is model 6's IPW estimate, re-estimated with the same machinery (`estimate_att`).
3. Interval: the stratified bootstrap of `estimate_att` (clients and comparison persons
   resampled, the propensity model refitted and re-trimmed in each replicate), the clients'
   mean cost taken over each replicate's analysed clients from the same draws; the counties'
   costs per client-year are held fixed. Percentile 95 % interval of the replicate ratios.
4. Shown only when the ATT's bootstrap interval lies above 0: otherwise the ratio has no
   finite interval (a gain near 0 makes it unbounded) and the term is absent; the fit log
   says why, with the ATT and its interval.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.models import plots
from ips_eval.models.att import DEFAULT_BOOT, DEFAULT_SEED, MIN_PER_GROUP, estimate_att
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.data import read_query
from ips_eval.models.effectiveness import NEGATIVE_CONTROLS, PS_COVARIATES, load_effectiveness
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

QUERIES = MODEL_QUERIES_DIR
QUERY = QUERIES / "cost_effectiveness.sql"

MODEL = "cost_effectiveness"
TERM = "cost_per_employed_month_gained"
OUTCOME = "employed_months_post12"
#: Bootstrap replicates of the ratio's interval: model 6's bootstrap default, enough for the
#: 2.5th and 97.5th percentiles (fit_all's options change it: {"cost_effectiveness": {"n_boot": 2000}}).
N_BOOT = DEFAULT_BOOT
#: Threads computing the replicates: the study's research machine has two cores. The interval
#: does not depend on it (`estimate_att`'s draws are made in one sequence whatever the number).
N_WORKERS = 2


def load_cost_effectiveness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Model 6's analysis frame with `client_cost` (and its parts) for each IPS client.

    Examples
    --------
    >>> frame = load_cost_effectiveness(con)  # doctest: +SKIP
    >>> result = fit_cost_effectiveness(frame)  # doctest: +SKIP
    """
    frame = load_effectiveness(con)
    costs = read_query(con, QUERY, allow_empty=True)
    return frame.merge(costs, on="person_id", how="left", validate="one_to_one")


@model_fit(MODEL)
def fit_cost_effectiveness(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED, n_boot: int = N_BOOT,
                           workers: int = N_WORKERS) -> ModelResult:
    """Cost per employed month gained, with its bootstrap interval, when the gain's interval is above 0.

    Parameters
    ----------
    frame : `load_cost_effectiveness` (model 6's frame with `client_cost`, `service_alue`,
        `client_years` and `cost_per_client_year` for the IPS clients).
    seed, n_boot : the bootstrap's seed and replicates.
    workers : threads computing the replicates (the result does not depend on it).

    Returns
    -------
    ModelResult with the term `cost_per_employed_month_gained` (euros per employed month
    gained), or status 'not_fitted' with the reason when the gain's interval does not lie
    above 0 or a client's cost is unknown; its parts are in `diagnostics`.

    Examples
    --------
    >>> result = fit_cost_effectiveness(load_cost_effectiveness(con), n_boot=1000)  # doctest: +SKIP
    >>> result.estimates[["term", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    d = frame
    in_window = d[OUTCOME].notna() & (d["ips"] == 1)
    if int(in_window.sum()) < MIN_PER_GROUP:
        raise NotFitted(f"{int(in_window.sum())} IPS clients with a complete 12-month window"
                        f" (at least {MIN_PER_GROUP} needed)", n=int(in_window.sum()))
    _require_costs(d[in_window])
    att = estimate_att(d, "ips", [OUTCOME], list(PS_COVARIATES), seed=seed, n_boot=n_boot, variance="bootstrap",
                       negative_controls=NEGATIVE_CONTROLS, estimators=("ipw",), treated_means=("client_cost",),
                       workers=workers)
    gain = att.estimate(OUTCOME, "ipw")
    n = att.n_treated_analysed
    mean_cost = att.extra["treated_means"]["client_cost"]
    reps = att.extra["replicates"]
    above = bool(gain["ci_low"] > 0)
    diag = diagnostics_frame([
        {"model": MODEL, "diagnostic": "att_interval_above_zero", "value": float(gain["ci_low"]), "threshold": 0.0,
         "passed": above, "rule": "the ratio is shown only when the lower limit of the ATT's 95% interval is > 0",
         "detail": f"ATT {OUTCOME} {fmt(gain['estimate'])} (95% CI {fmt(gain['ci_low'])} to {fmt(gain['ci_high'])})"},
        {"model": MODEL, "diagnostic": "n_clients", "value": n, "threshold": None, "passed": None,
         "rule": "IPS clients in the effectiveness analysis", "detail": ""},
        {"model": MODEL, "diagnostic": "total_cost_eur", "value": mean_cost * n, "threshold": None, "passed": None,
         "rule": "sum of client-years x county cost per client-year over those clients", "detail": ""},
        {"model": MODEL, "diagnostic": "employed_months_gained", "value": float(gain["estimate"]) * n,
         "threshold": None, "passed": None, "rule": "ATT x number of those clients", "detail": ""},
        {"model": MODEL, "diagnostic": "bootstrap_replicates", "value": len(reps), "threshold": None,
         "passed": None, "rule": f"successful of {n_boot}, seed {seed}", "detail": ""},
    ])
    described = (f"{n} IPS clients in the effectiveness analysis, total cost {mean_cost * n:,.0f} EUR"
                 f" ({mean_cost:,.0f} per client); ATT {OUTCOME} {fmt(gain['estimate'])}"
                 f" (95% bootstrap CI {fmt(gain['ci_low'])} to {fmt(gain['ci_high'])}, {len(reps)} replicates,"
                 f" seed {seed})")
    if not above:
        reason = (f"not shown: the interval of the employed months gained does not lie above 0, so the cost per"
                  f" month gained has no finite interval; {described}")
        return ModelResult(model=MODEL, status="not_fitted", reason=reason, n=n, diagnostics=diag,
                           summary=f"**{MODEL}**: {reason}")
    ratios = reps["client_cost"].to_numpy() / reps[f"{OUTCOME}:ipw"].to_numpy()
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    estimate = mean_cost / float(gain["estimate"])
    est = estimates_frame([{"model": MODEL, "term": TERM, "estimate": estimate, "ci_low": lo, "ci_high": hi,
                            "p_value": np.nan, "n": n}], estimator="ipw")
    reason = "; ".join([described, f"costs per client-year held at county level; {att.reason}"])
    return ModelResult(
        model=MODEL, status="ok" if att.status == "ok" else "warning", reason=reason, n=n, converged=True,
        estimates=est, diagnostics=diag,
        summary=f"**{MODEL}**: cost per employed month gained, {reason}.\n\n" + estimates_markdown(est, "EUR", 0),
        extra={"replicate_ratios": ratios},
    )


def _require_costs(ips: pd.DataFrame) -> None:
    """Every IPS client who may enter the analysis needs a cost: name what is missing."""
    no_service = ips["client_years"].isna()
    if no_service.any():
        raise NotFitted(f"{int(no_service.sum())} IPS clients of the register cohort have no service record"
                        " (core.client_outcomes): their cost is unknown", n=len(ips))
    no_rate = ips["cost_per_client_year"].isna()
    if no_rate.all():
        raise NotFitted("no cost per client-year for any county (marts.costs has none: costs.csv not delivered,"
                        " or no county reported every year)", n=len(ips))
    if no_rate.any():
        counties = ", ".join(sorted(ips.loc[no_rate, "service_alue"].astype(str).unique()))
        raise NotFitted(f"no cost per client-year over the whole period for {counties} (a year without a cost row,"
                        f" or no cost rows: marts.costs); the cost of {int(no_rate.sum())} IPS clients is unknown",
                        n=len(ips))


def plot_cost_effectiveness(result: ModelResult, figures_dir: Path) -> list[Path]:
    """The bootstrap distribution of the ratio, with the estimate and its 95 % interval.

    Examples
    --------
    >>> plot_cost_effectiveness(result, Path("figures"))  # doctest: +SKIP
    """
    row = result.estimates.iloc[0]
    return [plots.bootstrap_histogram(
        result.extra["replicate_ratios"], float(row["estimate"]), (float(row["ci_low"]), float(row["ci_high"])),
        f"Cost per employed month gained: {len(result.extra['replicate_ratios'])} bootstrap replicates (n={result.n})",
        "EUR per employed month gained", Path(figures_dir) / f"{MODEL}_bootstrap.png")]


SPEC = ModelSpec(
    name=MODEL,
    description="Model 8: cost per employed month gained: the analysed IPS clients' mean cost over model 6's"
    " ATT on employed months, with a bootstrap interval, shown only when the gain's interval lies above 0.",
    queries=("effectiveness.sql", "cost_effectiveness.sql"),
    fit=fit_cost_effectiveness,
    load=load_cost_effectiveness,
    plot=plot_cost_effectiveness,
)
