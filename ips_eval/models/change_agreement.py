"""Model 10: do clients and coaches agree on what changed? (`change_agreement`)

Per change domain d (1-8), the client's perceived change `koettu_d` (final survey) against the
coach's `hyoty_d` (latest coach response), both on 1-5, over the clients with both answers:
- Cohen's kappa with **quadratic weights** (Fleiss & Cohen 1973): a disagreement of k points
  costs k^2 / 16 of a full one, so 4 against 5 is nearly agreement and 1 against 5 none; with
  quadratic weights kappa equals the intraclass correlation of the two raters' answers under
  a common mean, which suits two ratings of one change on an ordinal scale;
- its 95 % interval from the large-sample variance (Fleiss, Cohen & Everitt 1969, as
  statsmodels' `cohens_kappa` computes it for weighted kappa), `kappa ± 1.96 SE`, and the
  p-value of kappa = 0 from the variance under independence;
- beside it the share of clients where both are positive (4-5) and the raw agreement.
The table is always 5 x 5 (answers 1-5), so an answer nobody gave still weighs as it should.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.inter_rater import cohens_kappa

from ips_eval.models import plots
from ips_eval.models.common import estimates_markdown
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

MODEL = "change_agreement"
DOMAINS = tuple(range(1, 9))
ANSWERS = np.arange(1, 6)
#: Fewer clients with both answers than this in a domain: its kappa is not estimated (status
#: 'not_estimated' in the table), its large-sample interval would not hold.
MIN_PAIRS = 20
TABLE_COLUMNS = ["domain", "term", "n", "kappa", "se", "ci_low", "ci_high", "p_value", "share_agree",
                 "share_both_positive", "status", "status_reason"]


def weighted_kappa(client: np.ndarray, coach: np.ndarray) -> dict[str, float]:
    """Quadratic-weighted kappa of two 1-5 ratings with its large-sample SE, 95 % CI and p-value.

    Examples
    --------
    >>> k = weighted_kappa(np.array([1, 2, 3, 4, 5, 5]), np.array([1, 2, 3, 4, 5, 4]))
    >>> round(k["kappa"], 4)  # 1 - (1/16 / 6) / (E[(X - Y)^2] / 16) with X, Y independent: 1 - 0.0104 / 0.2535
    0.9589
    """
    table = pd.crosstab(pd.Categorical(client, ANSWERS), pd.Categorical(coach, ANSWERS), dropna=False).to_numpy()
    r = cohens_kappa(table, weights=ANSWERS, wt="quadratic")
    se = float(np.sqrt(r["var_kappa"]))
    z = norm.ppf(0.975)
    se0 = float(np.sqrt(r["var_kappa0"]))
    p = float(2 * norm.sf(abs(r["kappa"]) / se0)) if se0 > 0 else np.nan
    return {"kappa": float(r["kappa"]), "se": se, "ci_low": float(r["kappa"]) - z * se,
            "ci_high": float(r["kappa"]) + z * se, "p_value": p}


@model_fit(MODEL)
def fit_change_agreement(frame: pd.DataFrame) -> ModelResult:
    """Quadratic-weighted kappa per domain on the rows of `sql/models/change_agreement.sql`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.integers(1, 6, 200)
    >>> f = pd.DataFrame({"person_id": range(200), "domain": 1, "client_answer": x,
    ...                   "coach_answer": np.clip(x + rng.integers(-1, 2, 200), 1, 5)})
    >>> r = fit_change_agreement(f)
    >>> r.estimates["term"].tolist(), bool(r.estimates["estimate"].iloc[0] > 0.5)
    (['domain_1'], True)
    """
    d = frame.dropna(subset=["domain", "client_answer", "coach_answer"])
    if d.empty:
        raise NotFitted("no client has both a perceived-change answer (koettu_d) and the coach's (hyoty_d)", n=0)
    bad = ~(d["client_answer"].isin(ANSWERS) & d["coach_answer"].isin(ANSWERS))
    if bad.any():
        raise NotFitted(f"{int(bad.sum())} answers outside 1-5 in the change domains: fix core.survey_answers first")
    rows = []
    for dom in DOMAINS:
        g = d[d["domain"] == dom]
        a, b = g["client_answer"].to_numpy(dtype=int), g["coach_answer"].to_numpy(dtype=int)
        row = {"domain": dom, "term": f"domain_{dom}", "n": len(g),
               "share_agree": float(np.mean(a == b)) if len(g) else np.nan,
               "share_both_positive": float(np.mean((a >= 4) & (b >= 4))) if len(g) else np.nan}
        if len(g) < MIN_PAIRS:
            row |= {"status": "not_estimated", "status_reason": f"{len(g)} clients with both answers"
                    f" (at least {MIN_PAIRS} needed)"}
        elif len(np.unique(a)) < 2 and len(np.unique(b)) < 2:
            row |= {"status": "not_estimated", "status_reason": "every client and every coach gave the same answer:"
                    " agreement beyond chance is undefined"}
        else:
            row |= weighted_kappa(a, b) | {"status": "ok", "status_reason": None}
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    table = table.astype({"n": "int64", "status": "string", "status_reason": "string"})
    ok = table[table["status"] == "ok"]
    if ok.empty:
        raise NotFitted("no domain has enough clients with both answers: "
                        + "; ".join(f"domain {r.domain}: {r.status_reason}" for r in table.itertuples()),
                        n=int(d["person_id"].nunique()))
    est = estimates_frame([{"model": MODEL, "term": r.term, "estimate": r.kappa, "ci_low": r.ci_low,
                            "ci_high": r.ci_high, "p_value": r.p_value, "n": r.n} for r in ok.itertuples()],
                          estimator="quadratic_weighted_kappa")
    skipped = table[table["status"] != "ok"]
    notes = [f"domain {r.domain} not estimated: {r.status_reason}" for r in skipped.itertuples()]
    n = int(d["person_id"].nunique())
    diag = diagnostics_frame(
        [{"model": MODEL, "diagnostic": f"pairs_domain_{r.domain}", "value": r.n, "threshold": MIN_PAIRS,
          "passed": r.n >= MIN_PAIRS, "rule": "value >= threshold (clients with both answers)", "detail": None}
         for r in table.itertuples()])
    fig = plots.later(lambda folder: plots.forest_plot(
        est, f"{MODEL}: quadratic-weighted kappa, client vs coach, per change domain\n(95% CI; n={n} clients)",
        folder / f"{MODEL}_forest.png", "Quadratic-weighted kappa (95% CI)", null=0.0, log=False))
    reason = "; ".join([f"{n} clients with a client and a coach answer in at least one domain"] + notes)
    summary = (f"**{MODEL}**: quadratic-weighted kappa of the client's (koettu_d) and the coach's (hyoty_d)"
               f" perceived change per domain, {n} clients.\n\n" + estimates_markdown(est, "kappa"))
    return ModelResult(model=MODEL, status="warning" if notes else "ok", reason=reason, n=n, converged=True,
                       estimates=est, diagnostics=diag, tables={MODEL: table}, summary=summary,
                       extra={"figures": [fig]})


SPEC = ModelSpec(
    name=MODEL,
    description="Model 10: agreement of clients and coaches on the perceived change in eight domains: the"
    " quadratic-weighted kappa per domain with its large-sample 95 % interval.",
    queries=("change_agreement.sql",),
    fit=fit_change_agreement,
)
