"""Small helpers shared by the model modules: term counts, markdown summaries, warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ips_eval.models.design import Design


def term_counts(design: Design, events: np.ndarray, unit_ids: pd.Series | None = None) -> pd.DataFrame:
    """People (and events) behind every category of every term, references included.

    The disclosure rules publish a model table only with at least T people in every
    category of every term (ANALYSIS_PLAN rule 6); publish reads this table to decide.
    """
    X = design.X
    ev = np.asarray(events, dtype=float)
    rows = []
    for name, terms in design.groups.items():
        if len(terms) == 1 and not terms[0].endswith("]"):
            col = X[terms[0]].to_numpy()
            if set(np.unique(col)) <= {0.0, 1.0}:
                for val, label in ((1.0, f"{name}[yes]"), (0.0, f"{name}[no]")):
                    sel = col == val
                    rows.append((label, int(sel.sum()), int(ev[sel].sum())))
            else:
                rows.append((name, len(col), int(ev.sum())))
            continue
        dummies = X[terms].to_numpy()
        ref = dummies.sum(axis=1) == 0
        rows.append((f"{name}[{design.references.get(name)} (reference)]", int(ref.sum()), int(ev[ref].sum())))
        for i, t in enumerate(terms):
            sel = dummies[:, i] == 1
            rows.append((t, int(sel.sum()), int(ev[sel].sum())))
    return pd.DataFrame(rows, columns=["term", "n", "n_events"])


def fmt(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float) and math.isinf(x):
        return "not reached"
    return f"{x:.{digits}f}"


def estimates_markdown(est: pd.DataFrame, label: str, digits: int = 2) -> str:
    lines = [f"| term | {label} | 95% CI | p |", "|---|---|---|---|"]
    for _, r in est.iterrows():
        p = "<0.001" if r["p_value"] < 0.001 else fmt(r["p_value"], 3)
        lines.append(
            f"| {r['term']} | {fmt(r['estimate'], digits)} | {fmt(r['ci_low'], digits)} to {fmt(r['ci_high'], digits)} | {p} |"
        )
    return "\n".join(lines)


def warning_texts(caught: list[warnings.WarningMessage]) -> list[str]:
    """Distinct warning messages of a fit (first line only), for the fit log.

    A ResourceWarning is left out: the cycle collector raises it for whatever unrelated object it
    happens to free during the fit (a socket some earlier code left open), so it says nothing
    about the fit and would make the log depend on what else the process did before."""
    out: list[str] = []
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, FutureWarning, PendingDeprecationWarning, ResourceWarning)):
            continue
        msg = str(w.message).strip().splitlines()[0] if str(w.message).strip() else w.category.__name__
        if msg not in out:
            out.append(msg)
    return out
