"""Model 4: client-reported scores over the survey waves, by employment (`scores_<score>`).

Linear mixed model per score with a random intercept per client:
    score ~ wave + employed_by_then + wave:employed_by_then,
where `wave` is the wave's order (baseline 0, midpoint 1, final 2: a linear trend per
wave, which keeps the model identified even when almost nobody is employed at baseline -
with wave as a three-level factor the employment main effect would rest on the few
employed at baseline, and on none at all would not exist) and `employed_by_then` is 1
when the client's first competitive job started on or before the survey response date.
Estimates are differences in score points (REML). Beside it, the paired change from
baseline to final among clients who answered both (t-based 95% CI).
"""

from __future__ import annotations

import functools
import warnings
import duckdb
import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.mixed_linear_model import MixedLM

from ips_eval.definitions import CLIENT_SCORES, SURVEY_WAVES
from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown, fmt, warning_texts
from ips_eval.models.data import QUERIES, read_query
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

SCORE_NAMES: tuple[str, ...] = CLIENT_SCORES
WAVE_INDEX = {w: i for i, w in enumerate(SURVEY_WAVES)}
MIN_CLIENTS = 10
TERMS = ("wave", "employed_by_then", "wave:employed_by_then")
#: The input queries; the second gives the response dates when the mart lacks them.
QUERY_NAMES = ("scores.sql", "scores_response_dates.sql")
QUERY_FILES = tuple(QUERIES / q for q in QUERY_NAMES)
#: `reml_start` leaves an optimum with sqrt(between-client / residual variance) below this to MixedLM's own start.
NEAR_BOUNDARY = 0.01


def load_scores(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Client x wave: every score, the response date, the wave's order and employed-by-then.

    The response date is `marts.client_scores.vastauspvm` when that column exists, otherwise
    taken from `staging.survey_responses` (same grain: client x wave).

    Examples
    --------
    >>> result = fit_scores(load_scores(con), "swemwbs")  # doctest: +SKIP
    """
    s = read_query(con, QUERY_FILES[0])
    if "vastauspvm" not in s.columns:
        r = read_query(con, QUERY_FILES[1])
        s = s.merge(r, on=["person_id", "wave"], how="left")
    s = s[s["wave"].isin(WAVE_INDEX) & s["vastauspvm"].notna()].copy()
    s["wave_index"] = s["wave"].map(WAVE_INDEX)
    fj = pd.to_datetime(s["first_job_start"])
    s["employed_by_then"] = (fj.notna() & (fj <= pd.to_datetime(s["vastauspvm"]))).astype(int)
    return s


def fit_scores(frame: pd.DataFrame, score: str) -> ModelResult:
    """Fit `scores_<score>` on the frame of `load_scores`; `score` is one of `ips_eval.definitions.CLIENT_SCORES`.

    Examples
    --------
    >>> fit_scores(load_scores(con), "swemwbs").estimates  # doctest: +SKIP
    """
    if score not in SCORE_NAMES:
        raise ValueError(f"unknown score {score!r}; known: {SCORE_NAMES}")
    return _fit_scores(frame, score, _model_name=f"scores_{score}")


@model_fit("scores")
def _fit_scores(frame: pd.DataFrame, score: str) -> ModelResult:
    model = f"scores_{score}"
    if score not in frame.columns:
        raise NotFitted(f"input table marts.client_scores lacks column(s) {score}")
    d = frame
    d = d.dropna(subset=[score])
    if d.empty:
        raise NotFitted(f"no {score} values in marts.client_scores", n=0)
    n_clients = d["person_id"].nunique()

    change = _paired_change(d, score)
    means = _means(d, score)

    if n_clients < MIN_CLIENTS:
        raise NotFitted(f"only {n_clients} clients with a {score} score (at least {MIN_CLIENTS} needed)", n=n_clients)
    if d["wave_index"].nunique() < 2:
        raise NotFitted(f"{score} is available from one survey wave only: no change to model", n=n_clients)
    if d["employed_by_then"].nunique() < 2:
        state = "employed" if d["employed_by_then"].iloc[0] else "not employed"
        raise NotFitted(f"every {score} response is from a client {state} by then: the employment terms cannot be estimated", n=n_clients)
    exog = pd.DataFrame(
        {"const": 1.0, "wave": d["wave_index"].astype(float), "employed_by_then": d["employed_by_then"].astype(float)}
    )
    exog["wave:employed_by_then"] = exog["wave"] * exog["employed_by_then"]
    if np.linalg.matrix_rank(exog.to_numpy()) < exog.shape[1]:
        waves = sorted(d.loc[d["employed_by_then"] == 1, "wave"].unique())
        raise NotFitted(
            f"employed clients answered in one wave only ({', '.join(waves)}): employed_by_then and its interaction"
            " with wave cannot be separated",
            n=n_clients,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y, groups = d[score].astype(float).to_numpy(), d["person_id"].to_numpy()
        res = MixedLM(y, exog, groups=groups).fit(reml=True, start_params=reml_start(y, exog.to_numpy(), groups))
    notes = warning_texts(caught)
    if not res.converged:
        raise NotFitted(f"the mixed model did not converge ({len(d)} responses of {n_clients} clients)", n=n_clients)
    ci = res.conf_int()
    rows = [
        {"model": model, "term": t, "estimate": res.params[t], "ci_low": ci.loc[t, 0], "ci_high": ci.loc[t, 1],
         "p_value": res.pvalues[t], "n": n_clients}
        for t in TERMS
    ]
    if not np.all(np.isfinite([r["estimate"] for r in rows] + [r["ci_low"] for r in rows])):
        raise NotFitted("the mixed model gave non-finite estimates or standard errors", n=n_clients)
    c = change.iloc[0]
    if c["n_pairs"] >= 2:
        rows.append({"model": model, "term": "change_baseline_to_final", "estimate": c["mean_change"],
                     "ci_low": c["ci_low"], "ci_high": c["ci_high"], "p_value": c["p_value"], "n": int(c["n_pairs"])})
    for r in rows:
        r["estimator"] = "paired_t" if r["term"] == "change_baseline_to_final" else "mixed_model"
    est = estimates_frame(rows)
    re_var = float(res.cov_re.iloc[0, 0])
    resid_var = float(res.scale)
    diag = diagnostics_frame(
        [
            {"model": model, "diagnostic": "intraclass_correlation", "value": re_var / (re_var + resid_var),
             "threshold": None, "passed": None, "rule": None,
             "detail": f"between-client variance {re_var:.3g}, residual variance {resid_var:.3g}"},
            {"model": model, "diagnostic": "n_responses", "value": len(d), "threshold": None, "passed": None,
             "rule": None, "detail": f"{n_clients} clients"},
        ]
    )
    if re_var <= 1e-8:
        notes.append("random-intercept variance estimated at 0 (boundary): equivalent to ordinary regression")
    fig = plots.later(lambda folder: plots.score_trajectories(
        means, f"{score}: mean by survey wave and employment\n(95% CI; n = {n_clients} clients)",
        folder / f"{model}_trajectories.png", score,
    ))
    md = (
        f"**{model}**: linear mixed model (random intercept per client), {len(d)} responses of {n_clients} clients;"
        f" converged: yes. Paired change baseline to final: {fmt(c['mean_change'])} (n = {int(c['n_pairs'])}).\n\n"
        + estimates_markdown(est, "difference")
    )
    return ModelResult(
        model=model, status="warning" if notes else "ok",
        reason="; ".join([f"{len(d)} responses of {n_clients} clients"] + notes), n=n_clients, converged=True,
        estimates=est, tables={"score_change": change, "score_means": means}, diagnostics=diag,
        summary=md, extra={"figures": [fig]},
    )


def reml_start(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> np.ndarray | None:
    """The REML optimum of the random-intercept model, as `MixedLM.fit`'s packed `start_params`.

    With one random intercept MixedLM's REML likelihood, profiled over the fixed effects and the
    residual variance, has one parameter: the square root of r = (between-client variance) /
    (residual variance). Per client it only needs group sums (V = I + r J), so it is found here
    in a few vectorised evaluations; MixedLM then starts at the optimum and its gradient
    optimiser stops at once, where it would otherwise loop over every client at every step.
    The estimates, Hessian and intervals are still MixedLM's own. None (MixedLM's own start)
    when the profile cannot be evaluated, or when its optimum lies at or near the boundary
    (no between-client variance), where MixedLM started on a singular covariance goes astray.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(200), 3); X = np.column_stack([np.ones(600), np.tile([0.0, 1, 2], 200)])
    >>> y = X @ [1.0, 0.5] + rng.normal(size=200)[g] + rng.normal(size=600)
    >>> start = reml_start(y, X, g)
    >>> res = MixedLM(y, X, groups=g).fit(reml=True, start_params=start)
    >>> bool(np.isclose(res.cov_re[0, 0] / res.scale, start[0] ** 2))
    True
    """
    try:
        _, inv = np.unique(groups, return_inverse=True)
    except TypeError:  # ids np.unique cannot order (e.g. a missing one): MixedLM's own start
        return None
    n_obs, p = X.shape
    n = np.bincount(inv).astype(float)
    sum_x = np.zeros((len(n), p))
    np.add.at(sum_x, inv, X)
    sum_y = np.bincount(inv, weights=y, minlength=len(n))
    xtx, xty, yty = X.T @ X, X.T @ y, y @ y

    def minus_2_loglike(t: float) -> float:  # t = sqrt(r); constants dropped
        c = t * t / (1 + t * t * n)  # V_i^-1 = I - c_i J
        a = xtx - (sum_x * c[:, None]).T @ sum_x
        beta = np.linalg.solve(a, xty - sum_x.T @ (c * sum_y))
        e = sum_y - sum_x @ beta
        q = yty - 2 * beta @ xty + beta @ xtx @ beta - (c * e * e).sum()
        return (n_obs - p) * np.log(q / (n_obs - p)) + np.log1p(t * t * n).sum() + np.linalg.slogdet(a)[1]

    try:
        with np.errstate(all="raise"):
            found = optimize.minimize_scalar(minus_2_loglike, bounds=(0.0, 1e3), method="bounded",
                                             options={"xatol": 1e-10})
    except (np.linalg.LinAlgError, FloatingPointError):
        return None
    if not (found.success and np.isfinite(found.x)) or found.x < NEAR_BOUNDARY:
        return None
    return np.array([found.x])


def _paired_change(d: pd.DataFrame, score: str) -> pd.DataFrame:
    w = d.pivot_table(index="person_id", columns="wave", values=score, aggfunc="first")
    pairs = w[["baseline", "final"]].dropna() if {"baseline", "final"} <= set(w.columns) else pd.DataFrame()
    n = len(pairs)
    row = {"score": score, "n_pairs": n, "mean_baseline": np.nan, "mean_final": np.nan, "mean_change": np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if n >= 2:
        diff = pairs["final"] - pairs["baseline"]
        se = diff.std(ddof=1) / np.sqrt(n)
        t = stats.t.ppf(0.975, n - 1)
        row.update(mean_baseline=pairs["baseline"].mean(), mean_final=pairs["final"].mean(), mean_change=diff.mean(),
                   ci_low=diff.mean() - t * se, ci_high=diff.mean() + t * se,
                   p_value=stats.ttest_1samp(diff, 0.0).pvalue if se > 0 else np.nan)
    return pd.DataFrame([row])


def _means(d: pd.DataFrame, score: str) -> pd.DataFrame:
    g = d.groupby(["wave_index", "wave", "employed_by_then"])[score]
    m = g.agg(["count", "mean", "std"]).reset_index().rename(columns={"count": "n", "employed_by_then": "employed"})
    half = stats.t.ppf(0.975, np.maximum(m["n"] - 1, 1)) * m["std"] / np.sqrt(m["n"])
    m["ci_low"], m["ci_high"] = m["mean"] - half, m["mean"] + half
    m.insert(0, "score", score)
    return m[["score", "wave", "wave_index", "employed", "n", "mean", "ci_low", "ci_high"]]


#: One model per score (`scores_<score>`), all on the frame of `load_scores`.
SPECS: tuple[ModelSpec, ...] = tuple(
    ModelSpec(
        name=f"scores_{score}",
        description=f"Model 4: the client-reported score {score} over the survey waves by employment: a linear"
        " mixed model with a random intercept per client, and the paired change from baseline to final.",
        queries=QUERY_NAMES,
        fit=functools.partial(fit_scores, score=score),
        load=load_scores,
    )
    for score in SCORE_NAMES
)
