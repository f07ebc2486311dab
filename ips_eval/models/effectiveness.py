"""Model 6: effectiveness of IPS against the register comparison cohort (ATT by IPW).

`load_effectiveness(con)` reads the analysis frame (`sql/models/effectiveness.sql`);
`fit_effectiveness(frame)` fits it with `estimate_att` (module `att`, usable on any
DataFrame) and returns a `ModelResult`; `chronogram_effectiveness` and
`plot_effectiveness` add the monthly state shares and the figures. Choices a reviewer can
check (docs/models.md says the same in words):
1. Estimand: the average effect on the treated (ATT) over the IPS clients analysed: those
   with a complete 12-month outcome window, known covariates and a preference score of at
   most `propensity.TRIM_PREFERENCE_ABOVE`. The fit log and `models.diagnostics`
   (`n_treated_eligible`, `n_treated_analysed`) say how many of the eligible that is.
2. Support: a category (county, diagnosis group, education, gender) holding IPS clients but
   no comparison persons is refused, naming it; comparison persons in a category without
   IPS clients are left out (counted).
3. Propensity score: logistic regression of IPS on age, gender, education (unknown as its
   own category), diagnosis group, county, employed months and benefit months in the 12
   months before the index month; unknown gender and education as categories of their own.
4. Estimates (`estimator` column): `ipw` (the main one), `aipw` (sensitivity) and `overlap`
   (another estimand: the effect in the overlap population); the untrimmed IPW estimate in
   `models.diagnostics` (`ipw_untrimmed_<outcome>`), who was trimmed in `trimming_profile`.
5. Variance: M-estimation sandwich by default, a stratified bootstrap as an option.
6. Diagnostics as in the analysis plan (OHDSI CohortMethod's): largest |SMD| after
   weighting <= 0.1, ESS of the weighted comparison group, equipoise >= 0.2, negative-control
   outcomes within their equivalence margins (`NEGATIVE_CONTROLS`), E-values.
A failed diagnostic does not hide the estimate: status becomes 'warning', the reason
names the failed checks, and `models.diagnostics` carries pass/fail for publish to act on.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ips_eval import MODEL_QUERIES_DIR
from ips_eval.definitions import STATES
from ips_eval.models import plots
from ips_eval.models import propensity as P
from ips_eval.models.att import DEFAULT_BOOT, DEFAULT_SEED, MAX_SMD, MIN_PER_GROUP, ATTResult, estimate_att
from ips_eval.models.common import estimates_markdown, fmt
from ips_eval.models.data import has_table
from ips_eval.models.result import ModelResult, NotFitted, diagnostics_frame, estimates_frame, model_fit
from ips_eval.models.spec import ModelSpec
from ips_eval.warehouse.database import query_sql

QUERIES = MODEL_QUERIES_DIR
QUERY = QUERIES / "effectiveness.sql"

MODEL = "effectiveness"
#: The model-specific tables this model writes that other parts of the warehouse read, with
#: their columns: marts.transition_rates reads models.person_weights (the 12-month fit's), the
#: trajectory types read models.person_weights_post24 (the 24-month fit's own weights), and the
#: site's disclosure check of the model table (sql/site/effectiveness_categories.sql) reads
#: models.effectiveness_categories, so the tables exist (without rows of this model) also when
#: the model was not fitted.
WRITES: dict[str, str] = {
    "person_weights": "model VARCHAR, person_id VARCHAR, ips BOOLEAN, weight DOUBLE",
    "person_weights_post24": "model VARCHAR, person_id VARCHAR, ips BOOLEAN, weight DOUBLE",
    "effectiveness_categories": "model VARCHAR, term VARCHAR, category VARCHAR, n BIGINT",
}
OUTCOMES = ("employed_months_post12", "earnings_post12")
#: The longer follow-up (ANALYSIS_PLAN model 6, "and _post24 where observed"): estimated apart,
#: on the persons whose 24-month window has ended by the cut-off, with their own propensity
#: model, since they are another population (earlier index dates) than the 12-month one.
OUTCOMES_POST24 = ("employed_months_post24", "earnings_post24")
#: Prefix of the 24-month fit's rows in models.diagnostics (its own balance, ESS, controls).
POST24_DIAGNOSTIC = "post24_"
#: Prefix of the 24-month population's rows in models.effectiveness_categories.
POST24_TERM = "post24 "
#: Negative-control outcomes the programme cannot have changed (they precede the months the
#: propensity model sees), each with its equivalence margin: the control passes when the 95 %
#: CI of its weighted difference lies within [-margin, margin]. A third of the smallest
#: effect worth finding on employed months (1.5 months of 12) for the month counts; a week
#: for psychiatric inpatient days.
NEGATIVE_CONTROLS: dict[str, float] = {
    "employed_months_pre24_13": 0.5,
    "benefit_months_pre24_13": 0.5,
    "psych_inpatient_days_pre24_13": 7.0,
}

#: Diagnosis groups by ICD-10 (code without its dot), first match wins. Candidates for
#: ips_eval.definitions once other parts of the pipeline need them.
DIAGNOSIS_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("psychosis", tuple(f"F2{i}" for i in range(10))),
    ("bipolar", ("F30", "F31")),
    ("severe_depression", ("F322", "F323", "F332", "F333")),
    ("other_mood", ("F32", "F33", "F34", "F38", "F39")),
    ("anxiety_stress", tuple(f"F4{i}" for i in range(9))),
)
OTHER_DG = "other_or_unknown"

#: The category of a gender that is unknown ('9' in the code list, or missing).
GENDER_UNKNOWN = "unknown"

#: Columns of the analysis frame that enter the propensity model (non-numeric ones dummy-coded).
PS_COVARIATES = ("age", "gender", "education", "diagnosis_group", "county", "employed_months_pre12",
                 "benefit_months_pre12")


#: Columns of the analysis frame held as categoricals (`load_effectiveness`).
CATEGORICAL_COLUMNS = ("alue", "county", "dg", "diagnosis_group", "education")


def diagnosis_group(dg: pd.Series) -> pd.Series:
    """The diagnosis group of each ICD-10 code (`DIAGNOSIS_GROUPS`; a missing or unlisted code
    is `OTHER_DG`).

    Examples
    --------
    >>> diagnosis_group(pd.Series(["F20.0", "f32.2", "F41", None])).tolist()
    ['psychosis', 'severe_depression', 'anxiety_stress', 'other_or_unknown']
    """
    # a national cohort repeats a few hundred codes: each distinct code is classified once
    at, distinct = pd.factorize(dg.astype("string"), use_na_sentinel=True)
    code = pd.Series(distinct, dtype="string").str.upper().str.replace(".", "", regex=False).str.strip()
    groups = np.full(len(code), OTHER_DG, dtype=object)
    for group, prefixes in reversed(DIAGNOSIS_GROUPS):  # reversed: the first listed group wins
        groups[code.str.startswith(prefixes).fillna(False).to_numpy(dtype=bool)] = group
    out = np.full(len(at), OTHER_DG, dtype=object)  # a missing code (-1) stays OTHER_DG
    out[at >= 0] = groups[at[at >= 0]]
    return pd.Series(out, index=dg.index, dtype="object")


def load_effectiveness(con: duckdb.DuckDBPyConnection, query: Path = QUERY) -> pd.DataFrame:
    """The analysis frame of model 6: one row per register cohort person (`query`: another query
    with model 6's columns, such as model 9's with its subgroups).

    Adds the derived covariates (`age` at the index year, `diagnosis_group`, `county`,
    education 'unknown' as its own category, gender '9' as missing; `propensity_frame` makes
    unknown gender a category for the propensity model).

    Examples
    --------
    >>> frame = load_effectiveness(con)  # doctest: +SKIP
    >>> result = fit_effectiveness(frame, n_boot=1000)  # doctest: +SKIP
    """
    if not has_table(con, "marts.register_outcomes"):
        raise NotFitted("input table marts.register_outcomes is missing from the warehouse")
    d = query_sql(con, query)
    if d.empty:
        raise NotFitted("input table marts.register_outcomes has no rows", n=0)
    d["ips"] = d["ips"].astype(int)
    d["age"] = pd.to_datetime(d["index_date"]).dt.year - d["birth_year"]
    d["education"] = d["education"].astype("string").fillna("unknown").astype(object)
    d["gender"] = d["gender"].astype("string").where(d["gender"].astype("string").isin(["1", "2"])).astype(object)
    d["diagnosis_group"] = diagnosis_group(d["dg"])
    d["county"] = d["alue"].astype(str)
    # A handful of values each, repeated over a national cohort: as categoricals (integer codes and
    # one copy of each text) the frame is a fraction of its size with a Python string per cell.
    # Every reader turns them into text before comparing or counting (`astype(str)`, `astype("string")`).
    for column in CATEGORICAL_COLUMNS:
        d[column] = d[column].astype("category")
    return d


def propensity_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the propensity model sees it: unknown gender ('9', or none) a category of its
    own (`GENDER_UNKNOWN`), as unknown education is, so those persons stay in the analysis,
    balanced on being unknown, rather than left out. (Model 7 reads `load_effectiveness`'s frame
    with its own rule.)

    Examples
    --------
    >>> propensity_frame(pd.DataFrame({"gender": ["1", None]}))["gender"].tolist()
    ['1', 'unknown']
    """
    g = frame["gender"].astype("string")
    return frame.assign(gender=g.where(g.isin(["1", "2"]), GENDER_UNKNOWN).astype(object))


@model_fit(MODEL)
def fit_effectiveness(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED, n_boot: int = DEFAULT_BOOT,
                      variance: str = "sandwich") -> ModelResult:
    """Fit model 6 on the frame of `load_effectiveness`.

    Parameters
    ----------
    frame : the analysis frame (`load_effectiveness`).
    seed, n_boot : bootstrap seed and replicates, used when `variance="bootstrap"`.
    variance : 'sandwich' (M-estimation, default) or 'bootstrap'.

    Examples
    --------
    >>> result = fit_effectiveness(load_effectiveness(con))  # doctest: +SKIP
    >>> result.estimates[["term", "estimator", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    d = propensity_frame(frame)
    no_window = d["employed_months_post12"].isna()
    n_ips, n_cmp = int(((d["ips"] == 1) & ~no_window).sum()), int(((d["ips"] == 0) & ~no_window).sum())
    if min(n_ips, n_cmp) < MIN_PER_GROUP:
        raise NotFitted(
            f"{n_ips} IPS clients and {n_cmp} comparison persons with a complete 12-month window"
            f" (at least {MIN_PER_GROUP} in each group needed)", n=int((~no_window).sum()))
    notes = []
    if no_window.any():
        notes.append(f"{int(no_window.sum())} persons whose 12-month window ends after the cut-off left out")
    att = estimate_att(d, "ips", list(OUTCOMES), list(PS_COVARIATES), seed=seed, n_boot=n_boot,
                       variance=variance, negative_controls=NEGATIVE_CONTROLS)
    result = _model_result(att, notes, seed)
    if result.fitted:
        result.tables["person_weights"] = person_weights(d, att.weights)
        result.tables["effectiveness_categories"] = category_counts(d[~no_window])
        _add_post24(result, d, seed=seed, n_boot=n_boot, variance=variance)
    return result


def _add_post24(result: ModelResult, d: pd.DataFrame, *, seed: int, n_boot: int, variance: str) -> None:
    """Add the 24-month outcomes to `result` when at least MIN_PER_GROUP persons in each group
    have a complete 24-month window; otherwise say in the reason why they are missing.

    The persons with a complete 24-month window get their own propensity model and weights
    (their covariates differ from the 12-month population's); the person weights of the other
    register analyses stay the 12-month ones."""
    if not set(OUTCOMES_POST24) <= set(d.columns):
        result.reason += "; 24-month outcome not estimated: the frame has no 24-month outcome columns"
        return
    window = d["employed_months_post24"].notna()
    n_ips, n_cmp = int(((d["ips"] == 1) & window).sum()), int(((d["ips"] == 0) & window).sum())
    if min(n_ips, n_cmp) < MIN_PER_GROUP:
        result.reason += (f"; 24-month outcome not estimated: {n_ips} IPS clients and {n_cmp} comparison persons"
                          f" with a complete 24-month window (at least {MIN_PER_GROUP} in each group needed)")
        return
    try:
        att = estimate_att(d[window], "ips", list(OUTCOMES_POST24), list(PS_COVARIATES), seed=seed, n_boot=n_boot,
                           variance=variance, negative_controls=NEGATIVE_CONTROLS)
    except NotFitted as e:
        result.reason += f"; 24-month outcome not estimated: {e.reason}"
        return
    e = att.estimates[(att.estimates["role"] == "outcome") & (att.estimates["estimator"] != "ipw_untrimmed")]
    rows = estimates_frame([
        {"model": MODEL, "term": r.outcome, "estimator": r.estimator, "estimate": r.estimate, "ci_low": r.ci_low,
         "ci_high": r.ci_high, "p_value": r.p_value, "n": r.n} for r in e.itertuples()])
    result.estimates = pd.concat([result.estimates, rows], ignore_index=True)
    diag = att.diagnostics.assign(diagnostic=POST24_DIAGNOSTIC + att.diagnostics["diagnostic"])
    result.diagnostics = pd.concat([result.diagnostics, diagnostics_frame(
        [{"model": MODEL, **r} for r in diag.to_dict("records")] + _untrimmed_rows(att, POST24_DIAGNOSTIC))],
        ignore_index=True)
    ipw = e[e["estimator"] == "ipw"].set_index("outcome")
    means = att.means[att.means["outcome"].isin(OUTCOMES_POST24)].rename(columns={"mean_treated": "mean_ips"}).join(
        ipw[["estimate", "ci_low", "ci_high", "p_value"]], on="outcome").rename(columns={"estimate": "difference"})
    result.tables["effectiveness_means"] = pd.concat([result.tables["effectiveness_means"], means],
                                                     ignore_index=True)
    result.tables["effectiveness_categories"] = pd.concat(
        [result.tables["effectiveness_categories"], category_counts(d[window], POST24_TERM)], ignore_index=True)
    result.tables["person_weights_post24"] = person_weights(d, att.weights)
    result.reason += (f"; 24-month outcome: a separate fit with its own propensity model on the {n_ips} IPS clients"
                      f" and {n_cmp} comparison persons whose 24-month window has ended (another population than"
                      f" the 12-month one), describing {att.n_treated_analysed} IPS clients against"
                      f" {att.n_comparison_analysed} comparison persons (ESS {att.extra['ess']:.0f})")
    if att.status != "ok":
        failed = att.diagnostics[att.diagnostics["passed"].eq(False).fillna(False)]["diagnostic"].tolist()
        if result.status == "ok":  # the 12-month effects' own caveat, when they have one, comes first
            result.status_reason = "24-month effects: " + (
                ("failed diagnostic: " if len(failed) == 1 else "failed diagnostics: ") + ", ".join(
                    POST24_DIAGNOSTIC + f for f in failed) if failed else att.reason.split("; ", 1)[0])
        result.status = "warning"
        result.reason += f"; 24-month fit: {att.reason}"
    result.summary += "\n\n24-month outcome (separate fit):\n\n" + estimates_markdown(
        rows[rows["estimator"] == "ipw"], "difference")


def person_weights(frame: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """`models.person_weights`: each analysed person's ATT weight (IPS clients 1).

    The weighted comparison group of the other register analyses (transition rates,
    trajectory types) is this one, so that every comparison the study shows is against the
    same weighted comparison cohort. Persons left out of the analysis (no complete window,
    trimmed, outside common support) have no row.

    Examples
    --------
    >>> w = person_weights(frame, result.extra["weights"])  # doctest: +SKIP
    >>> w.columns.tolist()  # doctest: +SKIP
    ['person_id', 'ips', 'weight']
    """
    return pd.DataFrame({
        "person_id": frame.loc[weights.index, "person_id"].to_numpy(),
        "ips": weights["treated"].to_numpy().astype(bool),
        "weight": weights["weight"].to_numpy(dtype=float),
    })


def category_counts(frame: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """`models.effectiveness_categories`: persons per group (IPS / comparison) in each category
    of the categorical covariates, in the population the model analysed before its
    propensity trimming (the persons with a complete outcome window).

    What the site's disclosure check of the model table needs (docs/models.md), written by
    the model so that the site reads the model's population instead of restating it. Terms:
    'ips', 'county x ips', 'gender x ips' (genders '1' and '2'), 'education x ips' ('unknown'
    for a missing one), 'smi x ips' ('true', 'false', 'unknown'); the category of a crossed
    term is '<value> / <ips>'. `prefix` marks another population ('post24 ').

    Examples
    --------
    >>> f = pd.DataFrame({"ips": [1, 0, 0], "county": ["A", "A", "B"], "gender": ["1", None, "2"],
    ...                   "education": ["3", "unknown", "3"], "smi": [True, None, False]})
    >>> category_counts(f).query("term == 'county x ips'").values.tolist()
    [['county x ips', 'A / 0', 1], ['county x ips', 'A / 1', 1], ['county x ips', 'B / 0', 1]]
    """
    ips = frame["ips"].astype(int).astype(str)
    smi = frame["smi"].map({True: "true", False: "false"}).fillna("unknown")
    known_gender = frame["gender"].isin(["1", "2"])
    parts = [("ips", ips, slice(None)), ("county x ips", frame["county"].astype(str) + " / " + ips, slice(None)),
             ("gender x ips", frame["gender"].astype(str) + " / " + ips, known_gender),
             ("education x ips", frame["education"].astype(str) + " / " + ips, slice(None)),
             ("smi x ips", smi + " / " + ips, slice(None))]
    rows = [pd.DataFrame({"term": prefix + term, "category": cat[keep]}).value_counts().rename("n").reset_index()
            .sort_values("category") for term, cat, keep in parts]
    out = pd.concat(rows, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    return out[["term", "category", "n"]]


def _model_result(att: ATTResult, notes: list[str], seed: int) -> ModelResult:
    e = att.estimates
    main = e[(e["role"] == "outcome") & (e["estimator"] != "ipw_untrimmed")]
    est = estimates_frame([
        {"model": MODEL, "term": r.outcome, "estimator": r.estimator, "estimate": r.estimate, "ci_low": r.ci_low,
         "ci_high": r.ci_high, "p_value": r.p_value, "n": r.n} for r in main.itertuples()])
    diag = diagnostics_frame([{"model": MODEL, **r} for r in att.diagnostics.to_dict("records")]
                             + _untrimmed_rows(att))
    ipw = e[e["estimator"] == "ipw"].set_index("outcome")
    means = att.means.rename(columns={"mean_treated": "mean_ips"})
    means = means.join(ipw[["estimate", "ci_low", "ci_high", "p_value"]], on="outcome").rename(
        columns={"estimate": "difference"})
    ps = att.propensity_model
    x = att.extra
    variance = ("M-estimation sandwich (estimated propensity score included)" if att.variance == "sandwich"
                else f"stratified bootstrap, {x['n_boot']} replicates, seed {seed}")
    controls = "; ".join(
        f"{o} {fmt(ipw.loc[o, 'estimate'])} (95% CI {fmt(ipw.loc[o, 'ci_low'])} to {fmt(ipw.loc[o, 'ci_high'])},"
        f" margin ±{m:g})" for o, m in NEGATIVE_CONTROLS.items())
    md = (
        f"**{MODEL}**: average effect on the treated by inverse-probability weighting over"
        f" {att.n_treated_analysed} of {att.n_treated_eligible} eligible IPS clients, against"
        f" {att.n_comparison_analysed} comparison persons (ESS {x['ess']:.0f}); trimmed: preference score above"
        f" {P.TRIM_PREFERENCE_ABOVE} ({x['n_trimmed_treated']} IPS, {x['n_trimmed_comparison']} comparison)."
        f" Largest |SMD| after weighting {x['max_smd']:.3f}; equipoise {x['equipoise']:.2f}."
        f" Negative controls: {controls}. Variance: {variance}.\n\n"
        + estimates_markdown(est[est["estimator"] == "ipw"], "difference")
    )
    return ModelResult(
        model=MODEL, status=att.status, reason="; ".join([att.reason] + notes), n=att.n_treated_analysed
        + att.n_comparison_analysed, converged=True, estimates=est, diagnostics=diag,
        tables={"balance": att.balance, "effectiveness_means": means, "propensity_model": ps,
                "trimming_profile": att.trimmed_profile},
        summary=md, extra={"weights": att.weights},
    )


def _untrimmed_rows(att: ATTResult, prefix: str = "") -> list[dict]:
    """The untrimmed IPW estimate of each outcome, beside the trimmed one, as diagnostics rows
    (`ipw_untrimmed_<outcome>`): it describes every treated with complete data, the trimmed one
    those kept; a reader compares the two (models.estimates keeps the estimands the site shows)."""
    u = att.estimates[att.estimates["estimator"] == "ipw_untrimmed"]
    return [{"model": MODEL, "diagnostic": f"{prefix}ipw_untrimmed_{r.outcome}", "value": float(r.estimate),
             "threshold": None, "passed": None, "rule": "IPW over every treated with complete data (no trimming)",
             "detail": f"95% CI {r.ci_low:.4g} to {r.ci_high:.4g}; {int(r.n_treated)} treated"} for r in u.itertuples()]



def add_chronogram(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, result: ModelResult) -> None:
    """Add the monthly state shares of the analysed persons to a fitted result (or say why not).

    Examples
    --------
    >>> add_chronogram(con, frame, result)  # doctest: +SKIP
    >>> "state_chronogram" in result.tables  # doctest: +SKIP
    True
    """
    chrono = chronogram_effectiveness(con, frame, result)
    if chrono is not None:
        result.tables["state_chronogram"] = chrono
    else:
        result.reason += "; marts.state_sequences missing or empty: no chronogram"


def plot_effectiveness(result: ModelResult, figures_dir: Path) -> list[Path]:
    """Love plot of the balance, and the state chronogram when the result has one.

    Examples
    --------
    >>> plot_effectiveness(result, Path("figures"))  # doctest: +SKIP
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures = [plots.love_plot(result.tables["balance"],
                               f"Covariate balance, IPS vs comparison (ATT weights; n={result.n})",
                               figures_dir / f"{MODEL}_love_plot.png", MAX_SMD)]
    if "state_chronogram" in result.tables:
        figures.append(plots.chronogram(result.tables["state_chronogram"], STATES,
                                        "Monthly states around the index month", figures_dir / f"{MODEL}_chronogram.png"))
    return figures


def chronogram_effectiveness(con, frame: pd.DataFrame, result: ModelResult) -> pd.DataFrame | None:
    """Monthly state shares of the analysed persons: IPS, comparison, weighted comparison."""
    w = result.extra["weights"]
    dk = frame.loc[w.index]
    return _chronogram(con, dk, w["weight"].to_numpy(), w["treated"].to_numpy())


def _chronogram(con, dk: pd.DataFrame, w: np.ndarray, tk: np.ndarray) -> pd.DataFrame | None:
    """Share of the analysed persons in each state per relative month: IPS, comparison, weighted comparison."""
    if not has_table(con, "marts.state_sequences"):
        return None
    weights = pd.DataFrame({"person_id": dk["person_id"].to_numpy(), "ips": tk, "w": w})
    con.register("analysed_weights", weights)
    try:
        shares = query_sql(con, QUERIES / "state_chronogram.sql")
    finally:
        con.unregister("analysed_weights")
    return None if shares.empty else shares


SPEC = ModelSpec(
    name=MODEL,
    description="Model 6: effectiveness of IPS against the register comparison cohort: the average effect on the"
    " treated by inverse-probability weighting (AIPW and overlap weights beside it), with balance, equipoise,"
    " negative controls and the 24-month outcome where observed; writes models.person_weights.",
    queries=("effectiveness.sql", "state_chronogram.sql"),
    fit=fit_effectiveness,
    load=load_effectiveness,
    plot=plot_effectiveness,
    complete=add_chronogram,
    writes=WRITES,
)
