"""Model 9: for whom does IPS work? Model 6's effect within subgroups (`effect_by_subgroup`).

The programme's realist question "what works, for whom, in what circumstances": the average
effect on the treated (ATT) of IPS on `employed_months_post12`, estimated by `estimate_att`
exactly as model 6 estimates it (IPW with ATT weights, preference-score trimming, M-estimation
sandwich), separately within each level of
- `age_group` (age at the index year in the groups of `ips_eval.definitions.AGE_GROUPS`),
- `gender` ('1', '2'; an unknown gender is in no level of this subgroup),
- `smi` ('true', 'false': the diagnosis of marts.register_outcomes; unknown in no level),
- `fidelity_category` (the county's current fidelity category: the circumstances).
Each level has **its own propensity model** (model 6's covariates less the one defining the
subgroup, which is constant within a level), so the comparison persons are reweighted to the
level's IPS clients, and its own diagnostics (largest |SMD| after weighting, equipoise, the
share of its treated trimmed), which go to `models.diagnostics` under the level's term; a level
failing one is flagged (status `warning`), not dropped.

A level with fewer than `MIN_TREATED` IPS clients with a complete 12-month window is not
estimated (status `not_estimated`, with the reason), nor one whose propensity model cannot be
fitted (a category with IPS clients and no comparison persons, separation): its row says why.

**Heterogeneity.** Per subgroup, a Wald test that its estimated levels' effects are equal:
the levels are disjoint sets of persons, each with its own fit, so their estimates are
independent and `Q = sum w_l (b_l - b_w)^2`, `w_l = 1/SE_l^2`, `b_w` the inverse-variance
weighted mean, is chi-square with (levels - 1) degrees of freedom under equal effects
(Cochran's Q). Its p-value is on every row of the subgroup (`p_heterogeneity`) and the term
`<subgroup>:heterogeneity` of `models.estimates` (estimate = Q). The four subgroups are four
tests, unadjusted: they describe, they do not confirm (docs/models.md, multiplicity).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.definitions import AGE_GROUPS, FIDELITY_CATEGORIES
from ips_eval.models import plots
from ips_eval.models.att import estimate_att
from ips_eval.models.common import estimates_markdown
from ips_eval.models.effectiveness import PS_COVARIATES, load_effectiveness, propensity_frame
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec

MODEL = "effect_by_subgroup"
OUTCOME = "employed_months_post12"
#: Fewer IPS clients with a complete window than this in a level: not estimated (ANALYSIS_PLAN model 9).
MIN_TREATED = 30
#: The subgroups, their levels in the order shown, and the propensity covariate each one replaces
#: (constant within a level) or None.
SUBGROUPS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "age_group": (tuple(a[0] for a in AGE_GROUPS), None),
    "gender": (("1", "2"), "gender"),
    "smi": (("true", "false"), None),
    "fidelity_category": (tuple(c[0] for c in FIDELITY_CATEGORIES), None),
}
#: The diagnostics of estimate_att carried into models.diagnostics for each level.
LEVEL_DIAGNOSTICS = ("max_abs_smd_after_weighting", "equipoise", "share_treated_trimmed", "ess_comparison",
                     "n_treated_eligible", "n_treated_analysed")
TABLE_COLUMNS = ["subgroup", "level", "term", "n_treated", "n_comparison", "estimate", "se", "ci_low", "ci_high",
                 "p_value", "p_heterogeneity", "q_heterogeneity", "df_heterogeneity", "max_abs_smd", "equipoise",
                 "share_treated_trimmed", "ess_comparison", "status", "status_reason"]
#: DDL of models.effect_by_subgroup (created empty when the model is not fitted: the site reads it).
TABLE_DDL = (
    "model VARCHAR, subgroup VARCHAR, level VARCHAR, term VARCHAR, n_treated BIGINT, n_comparison BIGINT,"
    " estimate DOUBLE, se DOUBLE, ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE, p_heterogeneity DOUBLE,"
    " q_heterogeneity DOUBLE, df_heterogeneity BIGINT, max_abs_smd DOUBLE, equipoise DOUBLE,"
    " share_treated_trimmed DOUBLE, ess_comparison DOUBLE, status VARCHAR, status_reason VARCHAR"
)


def age_group(age: pd.Series) -> pd.Series:
    """The age group of `ips_eval.definitions.AGE_GROUPS` (None for a missing age).

    Examples
    --------
    >>> age_group(pd.Series([29, 30, 49, 50, None])).tolist()
    ['<30', '30-39', '40-49', '50+', None]
    """
    out = pd.Series([None] * len(age), index=age.index, dtype="object")
    for label, lo, hi in AGE_GROUPS:
        out[(age >= lo) & (age <= hi)] = label
    return out


def load_effect_by_subgroup(con) -> pd.DataFrame:
    """Model 6's frame (`load_effectiveness`) with the subgroup columns.

    Examples
    --------
    >>> frame = load_effect_by_subgroup(con)  # doctest: +SKIP
    """
    d = load_effectiveness(con, MODEL_QUERIES_DIR / "effect_by_subgroup.sql")
    return with_subgroups(d)


def with_subgroups(d: pd.DataFrame) -> pd.DataFrame:
    """The subgroup columns as codes: age_group, gender ('1'/'2' or None), smi ('true'/'false' or
    None) and fidelity_category (as given)."""
    d = d.copy()
    d["age_group"] = age_group(d["age"])
    d["smi"] = d["smi"].map({True: "true", False: "false"}).astype(object)
    if "fidelity_category" not in d.columns:
        d["fidelity_category"] = None
    return d


def heterogeneity(estimates: np.ndarray, ses: np.ndarray) -> tuple[float, int, float]:
    """Cochran's Q of independent estimates, its degrees of freedom and p-value (NaN under 2).

    Examples
    --------
    >>> q, df, p = heterogeneity(np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    >>> q, df, round(p, 4)  # Q = (1-2)^2 + (3-2)^2
    (2.0, 1, 0.1573)
    """
    b, se = np.asarray(estimates, dtype=float), np.asarray(ses, dtype=float)
    if len(b) < 2:
        return np.nan, 0, np.nan
    w = 1 / se ** 2
    mean = np.sum(w * b) / np.sum(w)
    q = float(np.sum(w * (b - mean) ** 2))
    return q, len(b) - 1, float(chi2.sf(q, len(b) - 1))


@model_fit(MODEL)
def fit_effect_by_subgroup(frame: pd.DataFrame, *, min_treated: int = MIN_TREATED) -> ModelResult:
    """The ATT of IPS on employed months within each subgroup level, with a heterogeneity test.

    Examples
    --------
    >>> result = fit_effect_by_subgroup(load_effect_by_subgroup(con))  # doctest: +SKIP
    >>> result.tables["effect_by_subgroup"][["term", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    if "age_group" not in frame.columns:
        frame = with_subgroups(frame)
    d = propensity_frame(frame.assign(gender_code=frame["gender"]))
    d = d[d[OUTCOME].notna()]
    if int((d["ips"] == 1).sum()) == 0 or int((d["ips"] == 0).sum()) == 0:
        raise NotFitted("no IPS clients or no comparison persons with a complete 12-month window", n=len(d))
    rows, diag, est_rows = [], [], []
    for subgroup, (levels, replaced) in SUBGROUPS.items():
        column = "gender_code" if subgroup == "gender" else subgroup
        covariates = [c for c in PS_COVARIATES if c != replaced]
        present = [lv for lv in levels if (d[column] == lv).any()]
        sub_rows = [_level(d[d[column] == lv], subgroup, lv, covariates, min_treated, diag) for lv in present]
        fitted = [r for r in sub_rows if r["status"] != "not_estimated"]
        q, df, p = heterogeneity(np.array([r["estimate"] for r in fitted]), np.array([r["se"] for r in fitted]))
        for r in sub_rows:
            r.update(p_heterogeneity=p, q_heterogeneity=q, df_heterogeneity=df)
        rows += sub_rows
        est_rows += [{"model": MODEL, "term": r["term"], "estimate": r["estimate"], "ci_low": r["ci_low"],
                      "ci_high": r["ci_high"], "p_value": r["p_value"], "n": r["n_treated"] + r["n_comparison"],
                      "estimator": "ipw"} for r in fitted]
        if df >= 1:
            est_rows.append({"model": MODEL, "term": f"{subgroup}:heterogeneity", "estimate": q, "ci_low": None,
                             "ci_high": None, "p_value": p, "n": sum(r["n_treated"] + r["n_comparison"] for r in fitted),
                             "estimator": "cochran_q"})
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table = table.astype({"n_treated": "int64", "n_comparison": "int64", "df_heterogeneity": "int64",
                          "status": "string", "status_reason": "string"})
    if (table["status"] == "not_estimated").all():
        raise NotFitted("no subgroup level could be estimated: " + "; ".join(
            f"{r.term}: {r.status_reason}" for r in table.itertuples()), n=len(d))
    est = estimates_frame(est_rows)
    flagged = table[table["status"] != "ok"]
    notes = [f"{r.term} {r.status.replace('_', ' ')}: {r.status_reason}" for r in flagged.itertuples()]
    n = len(d)
    fig = plots.later(lambda folder: plots.forest_plot(
        est[est["estimator"] == "ipw"], f"{MODEL}: effect of IPS on employed months (of 12) by subgroup\n"
        f"(ATT, IPW with a propensity model per level, 95% CI)", folder / f"{MODEL}_forest.png",
        "Employed months gained (95% CI)", null=0.0, log=False))
    ok = table[table["status"] != "not_estimated"]
    summary = (f"**{MODEL}**: the ATT on `{OUTCOME}` within {len(ok)} subgroup levels (each its own propensity"
               f" model), Cochran's Q per subgroup.\n\n" + estimates_markdown(est, "estimate"))
    reason = "; ".join([f"{len(ok)} of {len(table)} levels estimated"] + notes)
    return ModelResult(model=MODEL, status="warning" if notes else "ok", reason=reason, n=n, converged=True,
                       estimates=est, diagnostics=diagnostics_frame(diag), tables={MODEL: table}, summary=summary,
                       extra={"figures": [fig]})


def _level(g: pd.DataFrame, subgroup: str, level: str, covariates: list[str], min_treated: int,
           diag: list[dict]) -> dict:
    term = f"{subgroup}={level}"
    n_t, n_c = int((g["ips"] == 1).sum()), int((g["ips"] == 0).sum())
    row = {"subgroup": subgroup, "level": level, "term": term, "n_treated": n_t, "n_comparison": n_c}
    if n_t < min_treated:
        return row | {"status": "not_estimated",
                      "status_reason": f"{n_t} IPS clients with a complete 12-month window (at least {min_treated})"}
    # a covariate constant within the level (the diagnosis group of the SMI levels may be) confounds nothing there
    covariates = [c for c in covariates if g[c].nunique(dropna=True) > 1]
    try:
        att = estimate_att(g, "ips", OUTCOME, covariates, estimators=("ipw",))
    except (NotFitted, ValueError, np.linalg.LinAlgError) as e:
        return row | {"status": "not_estimated", "status_reason": f"propensity model not fitted: {e}"}
    r = att.estimate(OUTCOME, "ipw")
    dg = att.diagnostics.set_index("diagnostic")
    failed = [k for k in ("max_abs_smd_after_weighting", "equipoise", "share_treated_trimmed")
              if not pd.isna(dg.loc[k, "passed"]) and not bool(dg.loc[k, "passed"])]
    for k in LEVEL_DIAGNOSTICS:
        x = dg.loc[k]
        diag.append({"model": MODEL, "diagnostic": f"{term}:{k}", "value": x["value"], "threshold": x["threshold"],
                     "passed": x["passed"], "rule": x["rule"], "detail": x["detail"]})
    return row | {
        "n_treated": att.n_treated_analysed, "n_comparison": att.n_comparison_analysed,
        "estimate": float(r["estimate"]), "se": float(r["se"]), "ci_low": float(r["ci_low"]),
        "ci_high": float(r["ci_high"]), "p_value": float(r["p_value"]),
        "max_abs_smd": float(dg.loc["max_abs_smd_after_weighting", "value"]),
        "equipoise": float(dg.loc["equipoise", "value"]),
        "share_treated_trimmed": float(dg.loc["share_treated_trimmed", "value"]),
        "ess_comparison": float(dg.loc["ess_comparison", "value"]),
        "status": "warning" if failed else "ok",
        "status_reason": f"failed: {', '.join(failed)}" if failed else None,
    }


SPEC = ModelSpec(
    name=MODEL,
    description="Model 9: for whom IPS works: model 6's average effect on the treated (employed months of 12)"
    " within age group, gender, SMI and county fidelity category, each level with its own propensity model and"
    " diagnostics, and a heterogeneity test (Cochran's Q) per subgroup.",
    queries=("effect_by_subgroup.sql",),
    fit=fit_effect_by_subgroup,
    load=load_effect_by_subgroup,
    writes={MODEL: TABLE_DDL},
)
