"""The models' figures: PNG files, titled and labelled, made without pyplot.

`matplotlib.figure.Figure` is used directly (its savefig renders with Agg), so no global
backend is switched and nothing leaks between Dagster runs or notebook sessions.

A PNG carries no date, so the same figure drawn from the same data gives the same file: each
figure is drawn once per process for the same inputs (`remembered`), and a process that fits
a model again on the same data (a re-run, a refit, the tests) writes the file it drew before.
`forget_drawn()` makes the next fit draw every figure anew.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
from pathlib import Path

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ips_eval.remembered import Remembered, matplotlib_settings

DPI = 120
IPS_COLOUR = "#1f6f8b"
COMPARISON_COLOUR = "#c4642a"
STATE_COLOURS = {
    "employed_subsidised": "#9ecae1",
    "employed": "#2171b5",
    "disability_benefit": "#fdae6b",
    "unemployment_benefit": "#e6550d",
    "psychiatric_inpatient": "#756bb1",
    "other": "#d9d9d9",
}


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


#: Figures drawn in this process: the PNG's bytes by the digest of everything it is drawn from.
_DRAWN: Remembered[bytes] = Remembered(128)


def forget_drawn() -> None:
    """Let go of the figures drawn so far: the next fit draws every figure anew."""
    _DRAWN.clear()


def _digest(value, into) -> None:
    """Feed a figure's argument to the digest: frames and arrays by their values, types and
    shape, anything else by its repr (an object whose repr names its address is never found
    again, so it is drawn anew)."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        into.update(repr((list(frame.columns), [str(t) for t in frame.dtypes], list(frame.index.names),
                          frame.shape)).encode())
        try:
            into.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        except TypeError:  # a cell pandas cannot hash (a list): its text
            into.update(repr(frame.to_dict("split")).encode())
    elif isinstance(value, np.ndarray):
        into.update(repr((value.dtype.str, value.shape)).encode())
        into.update(np.ascontiguousarray(value).tobytes())
    else:
        into.update(repr(value).encode())


def remembered(draw):
    """A figure function `draw(..., path, ...)` that draws a figure once per process for the
    same inputs (every argument but `path`, and matplotlib's settings) and otherwise writes
    the bytes it drew to `path`."""
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def figure(*args, **kwargs) -> Path:
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        path = Path(arguments.arguments.pop("path"))
        digest = hashlib.sha256(repr((draw.__qualname__, path.suffix, DPI, matplotlib_settings())).encode())
        for name, value in arguments.arguments.items():
            digest.update(name.encode())
            _digest(value, digest)
        return _DRAWN.file(digest.hexdigest(), path, lambda: draw(*args, **kwargs))
    return figure


def later(draw) -> dict:
    """A figure a fit describes but does not draw: `draw(folder) -> Path`, run by `draw_figures`.

    Fits stay free of files; `plot_<model>(result, figures_dir)` draws them.
    """
    return {"draw": draw}


def draw_figures(result, figures_dir: Path) -> list[Path]:
    """Draw the figures a result describes (`result.extra["figures"]`) into `figures_dir`."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    return [spec["draw"](figures_dir) for spec in result.extra.get("figures", [])]


@remembered
def forest_plot(est: pd.DataFrame, title: str, path: Path, xlabel: str = "Odds ratio (95% CI, log scale)",
                null: float = 1.0, log: bool = True) -> Path:
    """Ratios with CIs on a log axis, the null (1) marked, terms top to bottom in model order;
    `log=False` with `null=0` for differences and coefficients such as kappa."""
    est = est.reset_index(drop=True)
    fig = Figure(figsize=(7.5, 0.45 * len(est) + 1.5))
    ax = fig.add_subplot()
    y = np.arange(len(est))[::-1]
    ax.errorbar(
        est["estimate"], y,
        xerr=[est["estimate"] - est["ci_low"], est["ci_high"] - est["estimate"]],
        fmt="o", color=IPS_COLOUR, ecolor="grey", capsize=3,
    )
    ax.axvline(null, color="black", lw=0.8, ls="--")
    if log:
        ax.set_xscale("log")
        # ratios read as plain numbers (0.5, 1, 2), not powers of ten
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 3, 5) else ""))
    ax.set_yticks(y, est["term"])
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


@remembered
def curves_by_group(
    km: pd.DataFrame, title: str, path: Path, ylabel: str, cumulative: bool, xmax: float | None = None
) -> Path:
    """Small multiples, one panel per group, each with the `ALL` curve in grey for reference.

    `cumulative=True` draws 1 - S(t) (cumulative incidence), otherwise S(t).
    """
    groups = [g for g in km["group"].unique() if g != "ALL"]
    panels = ["ALL"] + sorted(groups)
    ncol = min(4, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig = Figure(figsize=(3.4 * ncol, 2.7 * nrow + 0.6))
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True)
    ref = km[km["group"] == "ALL"]

    def tr(v):
        return 1 - v if cumulative else v

    for i, g in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        d = km[km["group"] == g]
        if g != "ALL" and len(ref):
            ax.step(ref["time"], tr(ref["estimate"]), where="post", color="grey", lw=0.8, label="all counties")
        lo, hi = (tr(d["ci_high"]), tr(d["ci_low"])) if cumulative else (d["ci_low"], d["ci_high"])
        ax.fill_between(d["time"], lo, hi, step="post", color=IPS_COLOUR, alpha=0.25, lw=0)
        ax.step(d["time"], tr(d["estimate"]), where="post", color=IPS_COLOUR, lw=1.4)
        n0 = int(d["n_at_risk"].iloc[0]) if len(d) else 0
        ax.set_title(f"{g} (n={n0})", fontsize=9)
        ax.set_ylim(0, 1)
        if xmax:
            ax.set_xlim(0, xmax)
        ax.grid(alpha=0.3)
    for j in range(len(panels), nrow * ncol):
        axes[j // ncol][j % ncol].set_visible(False)
    for col in range(ncol):  # x labels on the lowest visible panel of each column
        last = max(i for i in range(len(panels)) if i % ncol == col)
        ax = axes[last // ncol][col]
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("Days since IPS start" if cumulative else "Days since job start")
    for row in axes:
        row[0].set_ylabel(ylabel)
    fig.suptitle(title)
    return _save(fig, path)


@remembered
def cif_vs_km(cif: pd.DataFrame, title: str, path: Path) -> Path:
    """Aalen-Johansen cumulative incidence beside 1 - KM (overall), with 95% bands."""
    d = cif[cif["group"] == "ALL"]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.fill_between(d["time"], d["ci_low"], d["ci_high"], step="post", color=IPS_COLOUR, alpha=0.2, lw=0)
    ax.step(d["time"], d["cif"], where="post", color=IPS_COLOUR, label="Cumulative incidence (service end competing)")
    ax.fill_between(d["time"], d["one_minus_km_ci_low"], d["one_minus_km_ci_high"], step="post",
                    color=COMPARISON_COLOUR, alpha=0.15, lw=0)
    ax.step(d["time"], d["one_minus_km"], where="post", color=COMPARISON_COLOUR, ls="--",
            label="1 - Kaplan-Meier (service end censored)")
    ax.set_xlabel("Days since IPS start")
    ax.set_ylabel("Share with a first competitive job")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


@remembered
def survival_curve(km: pd.DataFrame, title: str, path: Path, ylabel: str, marks: dict[str, float]) -> Path:
    """One S(t) curve with its band and vertical reference lines (e.g. 6 and 12 months)."""
    d = km[km["group"] == "ALL"]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.fill_between(d["time"], d["ci_low"], d["ci_high"], step="post", color=IPS_COLOUR, alpha=0.25, lw=0)
    ax.step(d["time"], d["estimate"], where="post", color=IPS_COLOUR)
    for label, x in marks.items():
        ax.axvline(x, color="grey", ls=":", lw=1)
        ax.text(x, 0.98, f" {label}", va="top", fontsize=8, color="grey")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Days since job start")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


@remembered
def score_trajectories(means: pd.DataFrame, title: str, path: Path, ylabel: str) -> Path:
    """Mean score (95% CI) by wave, one line per employed-by-then group."""
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot()
    for emp, colour, label in ((0, COMPARISON_COLOUR, "not employed by then"), (1, IPS_COLOUR, "employed by then")):
        d = means[means["employed"] == emp]
        if d.empty:
            continue
        ax.errorbar(d["wave_index"] + (0.04 if emp else -0.04), d["mean"],
                    yerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]],
                    marker="o", capsize=3, color=colour, label=label)
        for _, r in d.iterrows():
            ax.annotate(f"n={int(r['n'])}", (r["wave_index"], r["mean"]), textcoords="offset points",
                        xytext=(6, 6 if emp else -12), fontsize=7, color=colour)
    ax.set_xticks([0, 1, 2], ["baseline", "midpoint", "final"])
    ax.set_xlabel("Survey wave")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


@remembered
def fidelity_scatter(d: pd.DataFrame, line: tuple[float, float] | None, title: str, path: Path) -> Path:
    """County fidelity total vs competitive employment rate; point area ~ n_clients; labels."""
    fig = Figure(figsize=(7.5, 5))
    ax = fig.add_subplot()
    size = 20 + 200 * d["n_clients"] / d["n_clients"].max()
    ax.scatter(d["total"], d["rate_competitive"], s=size, color=IPS_COLOUR, alpha=0.7, edgecolor="white")
    for _, r in d.iterrows():
        ax.annotate(str(r["alue"]), (r["total"], r["rate_competitive"]), textcoords="offset points",
                    xytext=(5, 3), fontsize=7)
    if line is not None:
        xs = np.linspace(d["total"].min(), d["total"].max(), 50)
        ax.plot(xs, line[0] + line[1] * xs, color="black", lw=1, label="weighted regression (by n_clients)")
        ax.legend(fontsize=8)
    ax.set_xlabel("IPS-25 fidelity total (current review)")
    ax.set_ylabel("Share of clients with a competitive job")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


@remembered
def love_plot(balance: pd.DataFrame, title: str, path: Path, threshold: float = 0.1) -> Path:
    """|SMD| of every covariate before and after weighting, the 0.1 line marked."""
    b = balance.assign(before=balance["smd_before"].abs(), after=balance["smd_after"].abs())
    b = b.sort_values("before").reset_index(drop=True)
    fig = Figure(figsize=(7, 0.28 * len(b) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(b))
    ax.scatter(b["before"], y, marker="o", facecolor="white", edgecolor=COMPARISON_COLOUR, label="before weighting")
    ax.scatter(b["after"], y, marker="o", color=IPS_COLOUR, label="after weighting (ATT)")
    ax.axvline(threshold, color="black", ls="--", lw=0.8)
    ax.set_yticks(y, b["covariate"], fontsize=8)
    ax.set_xlabel("Absolute standardised mean difference")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


@remembered
def chronogram(shares: pd.DataFrame, states: tuple[str, ...], title: str, path: Path) -> Path:
    """Stacked share of each monthly state by month relative to the index, one panel per group."""
    panels = list(dict.fromkeys(shares["group"]))
    fig = Figure(figsize=(4.6 * len(panels), 4.6))
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, g in zip(axes, panels):
        d = shares[shares["group"] == g].pivot_table(index="rel_month", columns="state", values="share", fill_value=0)
        d = d.reindex(columns=[s for s in states if s in d.columns] + [c for c in d.columns if c not in states])
        ax.stackplot(d.index, d.T.to_numpy(), labels=d.columns,
                     colors=[STATE_COLOURS.get(s, "#999999") for s in d.columns], step="mid")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(d.index.min(), d.index.max())
        ax.set_ylim(0, 1)
        n = int(shares.loc[shares["group"] == g, "n"].max())
        ax.set_title(f"{g} (n={n})", fontsize=10)
        ax.set_xlabel("Month relative to index month")
    axes[0].set_ylabel("Share of people")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


@remembered
def index_plot(codes: np.ndarray, types: np.ndarray, states: tuple[str, ...], title: str, path: Path,
               first_month: int = 0) -> Path:
    """Each sequence a row of coloured months, rows sorted by type (and within it by the months
    in the first two states of `states`, work), a line between types. Shows single persons:
    internal only, never published."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    order = np.lexsort((-(codes <= 1).sum(axis=1), types))
    fig = Figure(figsize=(7.5, 6.0))
    ax = fig.subplots()
    cmap = ListedColormap([STATE_COLOURS.get(s, "#999999") for s in states])
    ax.imshow(codes[order], aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5, vmax=len(states) - 0.5,
              extent=(first_month - 0.5, first_month + codes.shape[1] - 0.5, len(codes), 0))
    sorted_types = types[order]
    bounds = np.flatnonzero(np.diff(sorted_types)) + 1
    for b in bounds:
        ax.axhline(b, color="black", lw=1.0)
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(codes)]
    ax.set_yticks((starts + ends) / 2, [f"Type {t}" for t in sorted_types[starts]])
    ax.set_xlabel("Month relative to index month")
    ax.legend(handles=[Patch(color=STATE_COLOURS.get(s, "#999999"), label=s) for s in states],
              loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


@remembered
def bootstrap_histogram(values: np.ndarray, estimate: float, ci: tuple[float, float], title: str, xlabel: str,
                        path: Path) -> Path:
    """Histogram of bootstrap replicates, the estimate as a solid line and the interval's limits dashed."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax.hist(values, bins=40, color=IPS_COLOUR, alpha=0.7)
    ax.axvline(estimate, color="black", lw=1.5, label="estimate")
    for i, x in enumerate(ci):
        ax.axvline(x, color=COMPARISON_COLOUR, lw=1.2, ls="--", label="95% interval" if i == 0 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Replicates")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


@remembered
def acceptability_curve(curve: pd.DataFrame, marks: list[float], title: str, path: Path) -> Path:
    """Cost-effectiveness acceptability curve: P(cost-effective) against the willingness to pay
    per employed month (`wtp_eur`, `probability_cost_effective`), the reported values marked."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax.plot(curve["wtp_eur"], curve["probability_cost_effective"], color=IPS_COLOUR, lw=1.8)
    for x in marks:
        ax.axvline(x, color="0.8", lw=0.8, ls=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("Willingness to pay per employed month gained (EUR)")
    ax.set_ylabel("Probability cost-effective")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
