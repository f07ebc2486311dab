"""The website's charts, drawn only from published (disclosure-controlled) tables.

Why SVG and not PNG: the site scan (`ips_eval.publish.site.scan`) reads SVG as text (titles, labels, numbers), while a PNG
is opaque to it and would only be listed for a human to look at; the blocking scan can only
vouch for what it can read. Text stays text (`svg.fonttype = none`), so it is scanned, is
selectable, and uses the reader's sans-serif font. Every chart takes a `SiteTable` (the same
strings the CSV holds): a cell that is a disclosure label is not a number and is not drawn.

Figures are made with `matplotlib.figure.Figure` (no pyplot, no global backend), and the
SVG carries no date and fixed ids, so the same figures give the same file.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ips_eval.definitions import IPS_BENCHMARKS
from ips_eval.figures import figures
from ips_eval.publish.site import texts
from ips_eval.publish.site.tables import DAYS_PER_MONTH, SiteTable

#: Sober, high-contrast colours in the spirit of THL's publications.
INK = "#1b2a3a"
PRIMARY = "#1f4e8c"
SECONDARY = "#3d8a6b"
BENCHMARK = "#8a8f98"
GRID = "#e3e6ea"

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ips-eval-site",
    "font.family": "sans-serif",
    "font.sans-serif": ["Liberation Sans", "Arial", "DejaVu Sans"],
    "font.size": 10,
    "axes.edgecolor": "#9aa3ad",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
}


def _number(cell: str) -> float:
    """A published cell as a number; a label ('<5', '..') or blank is not drawn (NaN)."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return float("nan")


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return path


def _percent_axis(ax, top: float) -> None:
    ticks = np.arange(0, top + 1e-9, 0.1)
    ax.set_ylim(0, top)
    ax.set_yticks(ticks, [f"{round(100 * t)} %" for t in ticks])
    ax.grid(axis="y", color=GRID, lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


#: How the lines of a chart are drawn, in the order of its figures in the catalogue.
LINE_STYLES = ({"color": PRIMARY, "lw": 2.2, "marker": "o", "ms": 3.5},
               {"color": SECONDARY, "lw": 2.0, "marker": "s", "ms": 3},
               {"color": INK, "lw": 1.6, "marker": "^", "ms": 3})


#: A chart for a phone's width (`narrow`): drawn this wide (inches; 72 pt each), its text this
#: large (pt), so that at a 390 px screen, scaled to fit, text is at least 11 px tall.
NARROW_WIDTH = 4.2
NARROW_FONT = 12.5


def narrow_path(path: Path) -> Path:
    """Where a chart's phone version goes: `trend-fi.svg` -> `trend-fi-narrow.svg`."""
    return path.with_name(f"{path.stem}-narrow{path.suffix}")


def trend_chart(quarterly: SiteTable, lang: str, path: Path, narrow: bool = False) -> Path:
    """Quarterly employment rate of all counties, with the IPS benchmark lines: one line per
    figure of the catalogue charted in `trend`. `narrow`: the phone version (fewer ticks,
    larger text, the legend under the plot)."""
    rows = [r for r in quarterly.rows if r["alue"] == "ALL"]
    quarters = [r["quarter"] for r in rows]
    x = np.arange(len(rows))
    lines = [(f, np.array([_number(r[f.rate]) for r in rows])) for f in figures("quarterly", published=True)
             if f.chart == "trend"]
    with matplotlib.rc_context({**_RC, **({"font.size": NARROW_FONT} if narrow else {})}):
        fig = Figure(figsize=(NARROW_WIDTH, 4.6) if narrow else (8.4, 4.0))
        ax = fig.add_subplot()
        top = max(0.6, float(np.nanmax(np.r_[[v for _, values in lines for v in values], 0])) + 0.05)
        _percent_axis(ax, round(top + 0.049, 1))
        for name, level in IPS_BENCHMARKS.items():
            ax.axhline(level, color=BENCHMARK, lw=1, ls=(0, (4, 3)))
            label = f"{round(100 * level)} % {texts.text(lang, f'bench_{name}')}"
            if narrow:  # inside the plot, above its line: no room beside it
                ax.text(-0.4, level, label, va="bottom", ha="left", color="#5b616b")
            else:
                ax.text(len(rows) - 0.4, level, " " + label, va="center", ha="left", fontsize=8.5, color="#5b616b")
        for (f, values), style in zip(lines, LINE_STYLES * len(lines)):
            ax.plot(x, values, ls="-", label=texts.text(lang, f"chart_trend_{f.name}"), **style)
        step = max(1, len(rows) // (3 if narrow else 9))
        ax.set_xticks(x[::step], quarters[::step])
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set_ylabel(texts.text(lang, "chart_trend_y"))
        if narrow:
            ax.legend(loc="upper left", bbox_to_anchor=(-0.2, -0.12), frameon=False, ncol=1)
        else:
            ax.legend(loc="upper left", frameon=False, ncol=2)
        return _save(fig, narrow_path(path) if narrow else path)


def ttf_chart(curve: SiteTable, lang: str, path: Path, narrow: bool = False) -> Path:
    """Share of clients with a first competitive job (1 - Kaplan-Meier) and its 95% band,
    drawn from the pooled, published steps only. `narrow`: the phone version."""
    t = np.r_[0.0, [_number(r["time"]) / DAYS_PER_MONTH for r in curve.rows]]
    share = np.r_[0.0, [_number(r["share"]) for r in curve.rows]]
    lo = np.r_[0.0, [_number(r["share_ci_low"]) for r in curve.rows]]
    hi = np.r_[0.0, [_number(r["share_ci_high"]) for r in curve.rows]]
    with matplotlib.rc_context({**_RC, **({"font.size": NARROW_FONT} if narrow else {})}):
        fig = Figure(figsize=(NARROW_WIDTH, 4.0) if narrow else (8.4, 3.8))
        ax = fig.add_subplot()
        _percent_axis(ax, max(0.6, round(float(np.nanmax(hi)) + 0.149, 1)))
        ax.fill_between(t, lo, hi, step="post", color=PRIMARY, alpha=0.15, lw=0, label=texts.text(lang, "ci_band"))
        ax.step(t, share, where="post", color=PRIMARY, lw=2.2, label=texts.text(lang, "chart_ttf_y"))
        ax.set_xlim(0, max(1.0, float(t.max())))
        ax.set_xlabel(texts.text(lang, "chart_ttf_x"))
        ax.set_ylabel(texts.text(lang, "chart_ttf_y"))
        ax.legend(loc="lower right", frameon=False)
        return _save(fig, narrow_path(path) if narrow else path)
