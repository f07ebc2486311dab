"""The physical lines of a text export, counted apart from the CSV parser.

DuckDB's CSV reader skips empty lines and, at the end of a file, can drop an over-long
line without a word. So every line is counted here from the bytes (a newline-delimited
scan, in blocks, with numpy), and the reader reconciles DuckDB's records with this count:
a line DuckDB did not return is rejected by rule, never lost.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BLOCK = 1 << 24


@dataclass
class LineScan:
    """Lines after the header (header = line 1): their number, which are empty, which too long."""

    lines: int = 0
    empty: list[int] = field(default_factory=list)
    too_long: list[int] = field(default_factory=list)
    ends_without_newline: bool = False  # the last line has no line break (a cut-short file?)


def scan_lines(path: Path, limit: int) -> LineScan:
    """Count the lines of `path` after its header; a line is empty when it holds nothing but
    its line end, too long when it has more than `limit` bytes.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f.csv"
    >>> _ = p.write_bytes(b"h\\n1\\n\\r\\n" + b"x" * 20 + b"\\n2")
    >>> s = scan_lines(p, limit=10)
    >>> s.lines, s.empty, s.too_long, s.ends_without_newline
    (4, [3], [4], True)
    """
    scan = LineScan()
    line = 1  # the number of the line the next byte belongs to
    carry = 0  # bytes of that line read so far
    last = -1  # the byte before the next block (-1: none)
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)
            if len(ends):
                lengths = np.diff(ends, prepend=-1) - 1
                lengths[0] += carry
                before = np.where(ends > 0, data[np.maximum(ends - 1, 0)], last)
                content = lengths - (before == 13)
                numbers = line + np.arange(len(ends))
                scan.empty += numbers[(content == 0) & (numbers > 1)].tolist()
                scan.too_long += numbers[(content > limit) & (numbers > 1)].tolist()
                line += len(ends)
                carry = len(block) - int(ends[-1]) - 1
            else:
                carry += len(block)
            last = int(data[-1])
    scan.ends_without_newline = carry > 0
    if carry > limit and line > 1:
        scan.too_long.append(line)
    lines_in_file = line if carry > 0 else line - 1
    scan.lines = max(lines_in_file - 1, 0)
    return scan


def without_lines(path: Path, drop: list[int], workdir: Path) -> Path:
    """A copy of `path` in `workdir` without the lines numbered in `drop` (1-based).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "f.csv").write_bytes(b"h\\n1\\nbad\\n2\\n")
    >>> without_lines(d / "f.csv", [3], d).read_bytes()
    b'h\\n1\\n2\\n'
    """
    dropped = set(drop)
    fd, name = tempfile.mkstemp(suffix=".csv", dir=workdir)
    with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
        for number, text in enumerate(src, start=1):
            if number not in dropped:
                out.write(text)
    return Path(name)


def original_lines(lines: np.ndarray, dropped: list[int]) -> np.ndarray:
    """Line numbers in a copy without `dropped` lines -> line numbers in the original file.

    Examples
    --------
    >>> original_lines(np.array([2, 3, 4, 5]), [3, 5]).tolist()
    [2, 4, 6, 7]
    """
    if not dropped:
        return np.asarray(lines, dtype=np.int64)
    r = np.asarray(sorted(dropped), dtype=np.int64)
    before = r - np.arange(len(r))  # where each dropped line would sit in the copy
    lines = np.asarray(lines, dtype=np.int64)
    return lines + np.searchsorted(before, lines, side="right")
