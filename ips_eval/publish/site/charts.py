"""The website's charts, drawn only from published (disclosure-controlled) tables.

Why SVG and not PNG: the site scan (`ips_eval.publish.site.scan`) reads SVG as text (titles, labels, numbers), while a PNG
is opaque to it and would only be listed for a human to look at; the blocking scan can only
vouch for what it can read. Text stays text (`svg.fonttype = none`), so it is scanned, is
selectable, and uses the reader's sans-serif font. Every chart takes a `SiteTable` (the same
strings the CSV holds): a cell that is a disclosure label is not a number and is not drawn.

Figures are made with `matplotlib.figure.Figure` (no pyplot, no global backend), and the
SVG carries no date and fixed ids, so the same figures give the same file. Since the same
figures give the same file, a chart is drawn once per process for the same inputs
(`remembered`): a process that builds the same snapshot again (a re-run, the tests) writes
the file it drew before. `forget_drawn()` makes the next build draw every chart anew.
"""

from __future__ import annotations

import functools
import hashlib
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ips_eval.definitions import IPS_BENCHMARKS
from ips_eval.figures import figures
from ips_eval.publish.site import texts
from ips_eval.remembered import Remembered, matplotlib_settings
from ips_eval.publish.site.render import label
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


#: Charts drawn in this process: the SVG's bytes by the digest of everything it is drawn
#: from (`remembered`).
_DRAWN: Remembered[bytes] = Remembered(256)


def forget_drawn() -> None:
    """Let go of the charts drawn so far: the next build draws every chart anew."""
    _DRAWN.clear()


def remembered(draw):
    """A chart function `draw(table, lang, path, narrow)` that draws a chart once per process
    for the same inputs and otherwise writes the bytes it drew. What a chart is drawn from:
    the function, the table (name, columns, cells), the language and its texts, the width,
    and matplotlib's settings (the module's constants and the catalogue do not change in a
    process)."""
    @functools.wraps(draw)
    def chart(table: SiteTable, lang: str, path: Path, narrow: bool = False) -> Path:
        key = hashlib.sha256(repr((draw.__qualname__, table.name, table.columns, table.rows, lang, narrow,
                                   sorted(texts.TEXTS[lang].items()), matplotlib_settings())).encode()).hexdigest()
        return _DRAWN.file(key, narrow_path(path) if narrow else path, lambda: draw(table, lang, path, narrow))
    return chart


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


@remembered
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


@remembered
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


#: The three parts of a Likert item's answers (1-2, 3, 4-5), disagreeing in a warm and
#: agreeing in a cool tone, the middle grey: readable in greyscale too.
LIKERT_PARTS = (("share_low", "likert_low", "#c26a3d"), ("share_mid", "likert_mid", "#b9bec6"),
                ("share_high", "likert_high", PRIMARY))


def _row_label(table: SiteTable, row: dict[str, str], lang: str) -> str:
    return " – ".join(label(lang, c, row[c.name]) for c in table.columns if c.kind == "key")


#: A phone's chart keeps its drawn width only if its row labels wrap: a long label would
#: widen the saved figure (tight bounding box) and shrink all its text when scaled to the screen.
NARROW_LABEL_CHARS = 22


def _row_labels(table: SiteTable, lang: str, narrow: bool) -> tuple[list[str], float]:
    """The rows' labels, wrapped on a phone, and the height (inches) a row needs."""
    labels = [_row_label(table, r, lang) for r in table.rows]
    if not narrow:
        return labels, 0.36
    wrapped = ["\n".join(textwrap.wrap(l, NARROW_LABEL_CHARS, break_long_words=False)) or l for l in labels]
    lines = max((l.count("\n") + 1 for l in wrapped), default=1)
    return wrapped, 0.3 + 0.24 * lines


def likert_bars(table: SiteTable) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Where each row's three bars start and how wide they are (shares of those who
    answered): 1-2 ends at minus half of 3, 3 is centred on zero, 4-5 starts at half of 3. A
    row with any share hidden has bars of no width.

    Examples
    --------
    >>> t = SiteTable("t", (), [{"share_low": "0.2", "share_mid": "0.4", "share_high": "0.4"}])
    >>> starts, widths = likert_bars(t)
    >>> [round(float(starts[c][0]), 2) for c in ("share_low", "share_mid", "share_high")]
    [-0.4, -0.2, 0.2]
    """
    shares = {col: np.array([_number(r[col]) for r in table.rows], dtype=float) for col, _, _ in LIKERT_PARTS}
    shown = ~np.isnan(shares["share_low"] + shares["share_mid"] + shares["share_high"])
    low, mid, high = (np.where(shown, shares[c], 0.0) for c, _, _ in LIKERT_PARTS)
    return ({"share_low": -(low + mid / 2), "share_mid": -mid / 2, "share_high": mid / 2},
            {"share_low": low, "share_mid": mid, "share_high": high})


@remembered
def likert_chart(table: SiteTable, lang: str, path: Path, narrow: bool = False) -> Path:
    """Diverging stacked bars of the three shares of each row's answers: 1-2 to the left of
    zero, 4-5 to the right, 3 centred on zero (half on each side). A row with a hidden share
    (a disclosure label) is left empty: its numbers are in the table as the page shows them.
    `narrow`: the phone version."""
    rows = table.rows
    labels, row_height = _row_labels(table, lang, narrow)
    starts, widths = likert_bars(table)
    y = np.arange(len(rows))[::-1]
    with matplotlib.rc_context({**_RC, **({"font.size": NARROW_FONT} if narrow else {})}):
        # on a phone the labels take their room from the plot, not beyond the drawn width
        fig = Figure(figsize=(NARROW_WIDTH if narrow else 8.4, (1.6 if narrow else 0.9) + row_height * max(len(rows), 1)),
                     layout="constrained" if narrow else None)
        ax = fig.add_subplot()
        for col, key, colour in LIKERT_PARTS:
            ax.barh(y, widths[col], left=starts[col], height=0.62, color=colour, label=texts.text(lang, key))
        ax.axvline(0, color=INK, lw=0.8)
        ax.set_yticks(y, labels)
        ticks = np.arange(-1, 1.0001, 0.25)
        ax.set_xticks(ticks, [f"{round(100 * abs(t))} %" for t in ticks])
        ax.set_xlim(-1, 1)
        ax.set_xlabel(texts.text(lang, "likert_x"))
        ax.grid(axis="x", color=GRID, lw=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28 if len(rows) < 4 else -0.12), ncol=1 if narrow else 3,
                  frameon=False)
        return _save(fig, narrow_path(path) if narrow else path)


@remembered
def forest_chart(table: SiteTable, lang: str, path: Path, narrow: bool = False) -> Path:
    """Each subgroup level's effect with its 95% interval, grouped by subgroup, beside the
    line of no effect; rows in the table's order. `narrow`: the phone version."""
    rows = table.rows
    est = np.array([_number(r["estimate"]) for r in rows])
    lo = np.array([_number(r["ci_low"]) for r in rows])
    hi = np.array([_number(r["ci_high"]) for r in rows])
    labels, row_height = _row_labels(table, lang, narrow)
    y = np.arange(len(rows))[::-1]
    with matplotlib.rc_context({**_RC, **({"font.size": NARROW_FONT} if narrow else {})}):
        # on a phone the labels take their room from the plot, not beyond the drawn width
        fig = Figure(figsize=(NARROW_WIDTH if narrow else 8.4, (1.6 if narrow else 0.9) + row_height * max(len(rows), 1)),
                     layout="constrained" if narrow else None)
        ax = fig.add_subplot()
        ax.axvline(0, color=BENCHMARK, lw=1, ls=(0, (4, 3)))
        ax.hlines(y, lo, hi, color=PRIMARY, lw=1.8)
        ax.plot(est, y, "o", color=PRIMARY, ms=5)
        ax.set_yticks(y, labels)
        ax.set_xlabel(texts.text(lang, "forest_x"))
        ax.grid(axis="x", color=GRID, lw=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _save(fig, narrow_path(path) if narrow else path)
