"""What this process made once and can hand out again: bytes (a chart, a workbook) or a scan's
answer, by a digest of everything it was made from.

A site's files are functions of their inputs (the charts and workbooks are written so that a
re-run gives the same bytes), so a process that builds the same snapshot again (the pipeline's
check after its build, a rebuild in `dagster dev`, the tests) need not make them again. Each
store keeps at most `size` entries, the least recently used let go first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class Remembered(Generic[V]):
    """A bounded store by key, least recently used let go first.

    Examples
    --------
    >>> made = Remembered(2)
    >>> made.put("a", 1); made.put("b", 2); made.get("a")
    1
    >>> made.put("c", 3); made.get("b") is None, made.get("a"), len(made)
    (True, 1, 2)
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[object, V] = OrderedDict()

    def get(self, key) -> V | None:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
