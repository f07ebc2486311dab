"""Covariates, design matrices and the checks that decide whether a regression can be fitted.

The design is built by hand (not by a formula parser) so that the reference level of each
categorical covariate and the name of each term are fixed by the study, not by the data:
term names such as `education[3 vs 1]` go into `models.estimates` and must mean the same
thing in every run.

Fitting checks (each failure is a `NotFitted` with a reason a researcher reads):
- complete cases only; how many were left out is reported;
- a covariate with a single value cannot be estimated;
- a category in which the outcome never (or always) occurs gives a logistic estimate of
  0 or infinity (quasi-complete separation); the linear-programming test of Konis (2007)
  catches separation by any combination of covariates;
- too few events per parameter (EPV < 5 not fitted, < 10 a warning; Vittinghoff &
  McCulloch 2007).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from ips_eval.definitions import AGE_GROUPS
from ips_eval.models.result import NotFitted

MIN_EPV = 5
WARN_EPV = 10


@dataclass(frozen=True)
class Covariate:
    """One covariate: `column` of the input, `kind` 'categorical' | 'binary' | 'numeric'.

    Categorical: `levels` in the study's order, the first present one is the reference
    unless `reference` is given. Numeric: divided by `scale` (term named `label`).
    Values listed in `missing_values` count as missing (e.g. gender '9' = unknown).
    """

    column: str
    kind: str
    label: str | None = None
    levels: tuple[str, ...] = ()
    reference: str | None = None
    scale: float = 1.0
    missing_values: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.label or self.column


#: The covariates of model 1 (and of the Cox model of model 2), ANALYSIS_PLAN "Models".
CLIENT_COVARIATES: tuple[Covariate, ...] = (
    Covariate("age_group", "categorical", levels=tuple(a[0] for a in AGE_GROUPS), reference="<30"),
    # '9' is 'unknown' in the Finnish code list: treated as missing, not as a category.
    Covariate("gender", "categorical", levels=("1", "2"), reference="1", missing_values=("9",)),
    Covariate("education", "categorical", levels=("1", "2", "3", "4"), reference="1"),
    Covariate("work_history", "categorical", levels=("0", "1", "2", "3"), reference="0"),
    Covariate("smi", "binary"),
    # Per 10 points of the IPS-25 total (range 25-125), so the ratio is readable.
    Covariate("fidelity_total", "numeric", label="fidelity_total_per10", scale=10.0),
)


@dataclass
class Design:
    X: pd.DataFrame  # without intercept; columns are term names
    rows: pd.Index  # index of the input rows used (complete cases)
    n_dropped: int
    dropped_by: dict[str, int]
    references: dict[str, str]
    groups: dict[str, list[str]]  # covariate name -> its term columns

    def note(self, unit: str = "clients") -> str:
        if not self.n_dropped:
            return f"all {len(self.rows)} {unit} complete"
        parts = ", ".join(f"{k} {v}" for k, v in self.dropped_by.items() if v)
        return f"{len(self.rows)} complete {unit}; {self.n_dropped} left out for missing values ({parts})"


def _text_categories(s: pd.Series, missing_values) -> pd.Series:
    """The column as stripped text, its missing-value codes missing, as a categorical: each
    distinct value is turned into text once (not once per row), and the levels are then
    compared by their codes.

    Examples
    --------
    >>> _text_categories(pd.Series(["1", "2", None, "9", " 2"]), ("9",)).tolist()
    ['1', '2', <NA>, <NA>, '2']
    >>> _text_categories(pd.Series([1, 2, 2]), ()).cat.categories.tolist()
    ['1', '2']
    """
    codes, uniques = pd.factorize(s)
    text = pd.Series(uniques).astype("string").str.strip()
    text = text.where(~text.isin(missing_values))
    merged, labels = pd.factorize(text)  # values alike once stripped are one level
    final = np.full(len(codes), -1, dtype=np.intp)
    known = codes >= 0
    final[known] = merged[codes[known]]
    return pd.Series(pd.Categorical.from_codes(final, categories=labels), index=s.index)


def build_design(df: pd.DataFrame, covariates: tuple[Covariate, ...], extra: list[str] = ()) -> Design:
    """Complete-case design matrix with study-fixed reference levels and term names."""
    values: dict[str, pd.Series] = {}
    dropped_by: dict[str, int] = {}
    for cov in covariates:
        s = df[cov.column]
        if cov.kind == "categorical":
            s = _text_categories(s, cov.missing_values)
        elif cov.kind == "binary":
            s = s.astype("boolean").astype("Float64")
        else:
            s = pd.to_numeric(s, errors="coerce").astype("Float64")
        values[cov.column] = s
        dropped_by[cov.column] = int(s.isna().sum())
    mask = pd.Series(True, index=df.index)
    for s in values.values():
        mask &= s.notna()
    for c in extra:
        mask &= df[c].notna()
    rows = df.index[mask.to_numpy(dtype=bool)]
    if len(rows) == 0:
        raise NotFitted("no complete cases: every row misses at least one covariate", n=0)

    cols: dict[str, np.ndarray] = {}
    references: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for cov in covariates:
        s = values[cov.column].loc[rows]
        if cov.kind == "categorical":
            present = [lv for lv in cov.levels if (s == lv).any()]
            unknown = sorted(set(s.dropna().unique()) - set(cov.levels))
            if unknown:
                raise NotFitted(f"{cov.column} has values outside the code list: {unknown}")
            if len(present) < 2:
                raise NotFitted(
                    f"{cov.column} has a single value ({present[0] if present else 'none'}) among the"
                    f" {len(rows)} complete cases, so its effect cannot be estimated"
                )
            ref = cov.reference if cov.reference in present else present[0]
            references[cov.column] = ref
            groups[cov.name] = []
            for lv in present:
                if lv == ref:
                    continue
                term = f"{cov.name}[{lv} vs {ref}]"
                cols[term] = (s == lv).to_numpy(dtype=float)
                groups[cov.name].append(term)
        else:
            x = s.to_numpy(dtype=float) / cov.scale
            if np.nanstd(x) == 0:
                raise NotFitted(
                    f"{cov.column} has the same value ({x[0] * cov.scale:g}) for all {len(rows)} complete cases,"
                    " so its effect cannot be estimated"
                )
            cols[cov.name] = x
            groups[cov.name] = [cov.name]
    X = pd.DataFrame(cols, index=rows)
    return Design(X, rows, int((~mask).sum()), dropped_by, references, groups)


def check_events(n_events: int, n_params: int, outcome: str, unit: str = "clients") -> str | None:
    """Events-per-parameter rule; returns a warning text, or raises NotFitted."""
    if n_events == 0:
        raise NotFitted(f"no {unit} {outcome}: nothing to model")
    epv = n_events / max(n_params, 1)
    if epv < MIN_EPV:
        raise NotFitted(
            f"too few events: {n_events} {unit} {outcome} for {n_params} parameters"
            f" ({epv:.1f} per parameter; at least {MIN_EPV} needed)"
        )
    if epv < WARN_EPV:
        return f"few events per parameter ({epv:.1f}; estimates may be biased away from 1)"
    return None


def check_separation(X: pd.DataFrame, y: np.ndarray, design: Design, outcome: str) -> None:
    """Raise NotFitted when the outcome is (quasi-)separated by the covariates.

    First a readable check per category (including the reference), then the general
    linear-programming test: separation exists iff some beta != 0 has
    (2y-1) * x'beta >= 0 for every row (Konis 2007, `detectseparation` in R).
    """
    y = np.asarray(y, dtype=float)
    if y.min() == y.max():
        raise NotFitted(f"{outcome} is {int(y[0])} for all {len(y)} clients: there is nothing to model")
    for name, terms in design.groups.items():
        if len(terms) == 1 and not terms[0].endswith("]"):
            col = X[terms[0]].to_numpy()
            if set(np.unique(col)) <= {0.0, 1.0}:
                for val in (0.0, 1.0):
                    sel = col == val
                    if sel.any() and np.ptp(y[sel]) == 0:
                        raise NotFitted(
                            f"perfect separation: {outcome} is {int(y[sel][0])} for all {int(sel.sum())}"
                            f" with {name}={'yes' if val else 'no'}, so its odds ratio is 0 or infinite"
                        )
            continue
        dummies = X[terms].to_numpy()
        ref_sel = dummies.sum(axis=1) == 0
        checks = [(f"{name}={design.references.get(name, 'reference')}", ref_sel)] + [
            (t, dummies[:, i] == 1) for i, t in enumerate(terms)
        ]
        for label, sel in checks:
            if sel.any() and np.ptp(y[sel]) == 0:
                raise NotFitted(
                    f"perfect separation: {outcome} is {int(y[sel][0])} for all {int(sel.sum())} in {label},"
                    " so an odds ratio would be 0 or infinite"
                )
    if lp_separated(X.to_numpy(dtype=float), y):
        raise NotFitted(
            f"perfect separation: a combination of the covariates predicts {outcome} exactly for some clients"
            " (linear-programming test), so the maximum-likelihood estimates do not exist"
        )


def lp_separated(X: np.ndarray, y: np.ndarray, tol: float = 1e-6) -> bool:
    """Konis's LP: max sum(s * Zb) s.t. s * Zb >= 0, -1 <= b <= 1, s = 2y-1, Z = [1, X] with
    each column scaled to unit standard deviation.

    The columns are scaled but not centred: centring only moves the intercept, so it changes
    neither the feasible directions nor whether the optimum is positive, and without it the
    dummy columns stay sparse, which keeps the LP small for a national comparison cohort.
    """
    X = np.asarray(X, dtype=float)
    sd = X.std(axis=0) if len(X) else np.ones(X.shape[1])
    sd[sd == 0] = 1.0
    Z = sparse.hstack([sparse.csr_array(np.ones((len(X), 1))), sparse.csr_array(X / sd)], format="csr")
    s = 2 * np.asarray(y, dtype=float) - 1
    A = -(sparse.diags_array(s) @ Z).tocsr()
    res = linprog(np.asarray(A.sum(axis=0)).ravel(), A_ub=A, b_ub=np.zeros(Z.shape[0]),
                  bounds=[(-1, 1)] * Z.shape[1], method="highs")
    if res.status != 0:
        return False
    return -res.fun > tol * Z.shape[0]
