"""What this process made once and can hand out again: bytes (a chart, a model's figure, a
workbook) or a scan's answer, by a digest of everything it was made from.

A site's files and the models' figures are functions of their inputs (they are written so that
a re-run gives the same bytes), so a process that makes the same ones again (the pipeline's
check after its build, a re-run or a refit, a rebuild in `dagster dev`, the tests) need not
make them again. Each store keeps at most `size` entries, the least recently used let go first.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Callable, Generic, TypeVar

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

    def file(self, key, target: Path, make: Callable[[], Path]) -> Path:
        """The file `make()` writes, its bytes remembered by `key`; when they are remembered
        already, they are written to `target` (where `make` would write them) instead."""
        made = self.get(key)
        if made is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(made)
            return target
        out = Path(make())
        self.put(key, out.read_bytes())
        return out

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def matplotlib_settings() -> list[tuple[str, str]]:
    """matplotlib's settings but the backend, as text: a drawing depends on them beside its inputs."""
    import matplotlib  # here, not above: the stores of workbooks and scans need no matplotlib

    return sorted((k, repr(v)) for k, v in dict.items(matplotlib.rcParams) if k != "backend")
