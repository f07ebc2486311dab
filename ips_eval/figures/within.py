"""`Within`: the one kind of relation between figures (a sum of counts at most, or exactly, another count).

Its own module so that the catalogue (which declares relations) and the relations derived
from it both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Within:
    """In every row (same area, group and date): the sum of `parts` is at most `whole`,
    because the people (or jobs) the parts count are disjoint subsets of those `whole` counts.

    Examples
    --------
    >>> w = Within(("n_other_activity", "n_competitive"), "n_clients")
    >>> str(w), w.sql()
    ('n_other_activity + n_competitive <= n_clients', 'n_other_activity + n_competitive <= n_clients')
    >>> w.holds({"n_other_activity": 3, "n_competitive": 4, "n_clients": 6})
    False
    """

    parts: tuple[str, ...]
    whole: str
    #: "<=" (disjoint subsets) or "==" (the parts are every one of `whole`: the answers 1-2,
    #: 3 and 4-5 of an item are all its answers, and a reader who sees three shares knows it).
    sense: str = "<="

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.parts, self.whole)

    def sql(self, parts_prefix: str = "", whole_prefix: str = "") -> str:
        """The relation as a SQL condition that is TRUE where it holds."""
        op = "=" if self.sense == "==" else "<="
        return f"{' + '.join(parts_prefix + p for p in self.parts)} {op} {whole_prefix}{self.whole}"

    def holds(self, row: Mapping[str, float]) -> bool:
        total = sum(row[p] for p in self.parts)
        return total == row[self.whole] if self.sense == "==" else total <= row[self.whole]

    def __str__(self) -> str:
        return f"{' + '.join(self.parts)} {'=' if self.sense == '==' else '<='} {self.whole}"
