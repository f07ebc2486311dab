"""Which runs of part of the asset graph can be published without mislabelling the warehouse.

A run that materialises only some assets starts from a copy of the published warehouse, so
the tables it does not rebuild keep the published run's cut-off and delivery. It can be
published consistently only when

- it ends with the swap (the `warehouse` asset is selected; otherwise its work would stay in
  a hidden build file);
- everything downstream of what it rebuilds is rebuilt too (a refitted model's site section
  and the site itself, say), so no published table is computed from a replaced one;
- its cut-off is the published warehouse's, because the tables it keeps were built with that
  one; a new cut-off needs the whole graph.

`selection_problems` says what is wrong, naming the assets to add. Refitting one model is
the supported partial run (`ips-eval refit`): the model, everything downstream of it, and
the swap, at the published cut-off.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

#: The asset whose materialisation is the swap.
WAREHOUSE = "warehouse"


def downstream(graph: Mapping[str, Iterable[str]], start: Iterable[str]) -> set[str]:
    """`start` and every asset that reads from it, directly or not (graph: asset -> its inputs).

    Examples
    --------
    >>> sorted(downstream({"a": [], "b": ["a"], "c": ["b"], "d": []}, ["b"]))
    ['b', 'c']
    """
    readers: dict[str, set[str]] = {}
    for asset, inputs in graph.items():
        for i in inputs:
            readers.setdefault(i, set()).add(asset)
    seen, todo = set(start), list(start)
    while todo:
        for r in readers.get(todo.pop(), ()):
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


def selection_problems(
    graph: Mapping[str, Iterable[str]],
    selected: Iterable[str],
    cutoff: dt.date,
    published_cutoff: dt.date | None,
    start_from: str = "current",
) -> list[str]:
    """Why a run of `selected` cannot be published consistently; empty when it can.

    Examples
    --------
    >>> graph = {"raw": [], "mart": ["raw"], "model": ["mart"], "site": ["model"], "warehouse": ["site"]}
    >>> selection_problems(graph, ["model"], dt.date(2024, 9, 30), dt.date(2024, 9, 30))
    ['a run of model alone publishes nothing and leaves the warehouse as it was: include site, warehouse']
    >>> selection_problems(graph, ["model", "site", "warehouse"], dt.date(2024, 9, 30), dt.date(2024, 9, 30))
    []
    """
    selected = set(selected)
    if selected >= set(graph):
        return []
    names = ", ".join(sorted(selected))
    missing = sorted(downstream(graph, selected) - selected)
    if WAREHOUSE not in selected:
        return [f"a run of {names} alone publishes nothing and leaves the warehouse as it was: include "
                + ", ".join(missing)]
    problems = []
    if missing:
        problems.append(f"the published warehouse would mix this run's tables with tables computed from the ones it "
                        f"replaces: include {', '.join(missing)} (everything downstream of {names})")
    if published_cutoff is None or start_from != "current":
        problems.append("there is no published warehouse to start from: materialise all assets"
                        if published_cutoff is None else
                        f"a run of part of the graph must start from the published warehouse (start_from "
                        f"'current', not {start_from!r}): materialise all assets for a full rebuild")
    elif cutoff != published_cutoff:
        problems.append(f"the run's cut-off {cutoff} is not the published warehouse's {published_cutoff}, whose "
                        f"tables it keeps: set the cut-off to {published_cutoff}, or materialise all assets to "
                        f"publish at {cutoff}")
    return problems
