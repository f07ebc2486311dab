"""The blocking check on a built static site: nothing small, nobody identifiable.

`disclosure.protect` decides what may be shown; this scan checks what was actually written,
so that a template or chart that bypassed the module is caught before the site goes out.
It reads every file under the site root and refuses (`SiteScanError`, naming file and
location, never the offending value) when it finds:

- a small count: a number under T where the site says a count is;
- a study pseudonym (from the set of known ids the generator passes in);
- a Finnish personal identity code (`ips_eval.identity.find_identity_codes`).

Conventions the site generator follows (the scan can only check counts it can recognise):

1. **CSV** (comma- or semicolon-separated, header row first): a column holds counts when
   its name starts with `n_` or it is a count column of a `TableSpec` passed to the scan. Its cells are whole numbers >= T, a disclosure label
   (`<5`, `..`) or blank; anything else (e.g. `3 (12 %)`) is refused.
2. **HTML and SVG**: every count shown is rendered on an element carrying
   `data-count="<value>"` with the same rule for the value (e.g.
   `<td data-count="12">12</td>`, `<td data-count="<5">&lt;5</td>`, written `&lt;5` in
   the attribute when the generator escapes it; both are accepted).
3. **JSON** (files, and JSON embedded in HTML/JS): a key that is a count name (as in 1)
   holds a number or a list of numbers under the same rule.
4. Pseudonyms and identity codes are looked for in every text file and in every file's
   path. A pseudonym is matched as a whole token of letters and digits (case-insensitive),
   or glued inside a longer token of at most 64 characters (case-sensitive); very long
   tokens (base64 images) are not searched for glued ids.
5. Files that are not UTF-8 text (PNG, fonts) cannot be read; they are listed in
   `ScanReport.skipped` for a human to look at. Charts should be SVG, which is scanned.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

from ips_eval.ingest.identity import find_identity_codes
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, T, DisclosureError, TableSpec,
)

COUNT_PREFIX = "n_"
COUNT_ATTRIBUTE = "data-count"
LABELS = frozenset({PRIMARY_LABEL, SECONDARY_LABEL, HIDDEN_LABEL, ""})

_TOKEN = re.compile(r"[0-9A-Za-z]+")
_DATA_COUNT = re.compile(COUNT_ATTRIBUTE + r"""\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_JSON_PAIR = re.compile(r""""([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)""")
_GLUED_MAX = 64


@dataclass(frozen=True)
class Finding:
    file: str
    location: str
    what: str

    def __str__(self) -> str:
        return f"{self.file} {self.location}: {self.what}"


class SiteScanError(DisclosureError):
    """The built site holds something it must not; `findings` lists every place."""

    def __init__(self, findings: Sequence[Finding]):
        self.findings = list(findings)
        super().__init__(f"site refused, {len(findings)} finding(s):\n  " + "\n  ".join(map(str, findings)),
                         table=findings[0].file)


@dataclass(frozen=True)
class ScanReport:
    """What was scanned: files read as text, files that could not be, counts checked."""

    root: str
    scanned: tuple[str, ...]
    skipped: tuple[str, ...]
    counts_checked: int
    known_ids: int


def scan_site(root: str | Path, *, known_ids: Collection[str], specs: Sequence[TableSpec] = (),
              count_columns: Collection[str] = ()) -> ScanReport:
    """Scan every file under `root`; raise `SiteScanError` listing every finding, else
    return a `ScanReport`. `known_ids` are the study pseudonyms; `specs` and
    `count_columns` add count column names to the `n_` convention."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"site root {root} is not a directory")
    scanner = _Scanner(
        counts=frozenset(count_columns) | {c for s in specs for c in s.counts},
        ids={i for i in known_ids if i},
    )
    scanned, skipped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        scanner.text(rel, rel, "in its path")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(rel)
            continue
        scanned.append(rel)
        scanner.text(rel, text)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            scanner.csv(rel, text)
        elif suffix == ".json":
            scanner.json(rel, text)
        else:
            scanner.markup(rel, text)
    if scanner.findings:
        raise SiteScanError(scanner.findings)
    return ScanReport(str(root), tuple(scanned), tuple(skipped), scanner.counts_checked, len(scanner.ids))


class _Scanner:
    def __init__(self, counts: frozenset[str], ids: set[str]):
        self.counts = counts
        self.ids = ids
        self.ids_folded = {i.casefold() for i in ids}
        self.id_lengths = sorted({len(i) for i in ids})
        self.findings: list[Finding] = []
        self.counts_checked = 0

    def is_count(self, name: str) -> bool:
        return name.startswith(COUNT_PREFIX) or name in self.counts

    def check_count(self, file: str, location: str, value: Any) -> None:
        """A count value: a whole number >= T, or a disclosure label."""
        self.counts_checked += 1
        if isinstance(value, str):
            text = html.unescape(value).strip()
            if text in LABELS:
                return
            try:
                value = float(text)
            except ValueError:
                self.findings.append(Finding(file, location, "a count that is neither a number nor a label"))
                return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.findings.append(Finding(file, location, "a count that is neither a number nor a label"))
        elif not value >= T:  # NaN too
            self.findings.append(Finding(file, location, f"a published count under {T}"))

    # ---- every text: people ----------------------------------------------------------
    def text(self, file: str, text: str, where: str | None = None) -> None:
        for m in find_identity_codes(text):
            self.findings.append(Finding(file, where or _position(text, m.start()),
                                         "a Finnish personal identity code"))
        for pos in self._id_positions(text):
            self.findings.append(Finding(file, where or _position(text, pos), "a study pseudonym"))

    def _id_positions(self, text: str) -> Iterator[int]:
        if not self.ids:
            return
        for m in _TOKEN.finditer(text):
            token = m.group()
            if token.casefold() in self.ids_folded:
                yield m.start()
            elif len(token) <= _GLUED_MAX:
                for n in self.id_lengths:
                    hit = next((i for i in range(len(token) - n + 1) if token[i:i + n] in self.ids), None)
                    if hit is not None:
                        yield m.start() + hit
                        break

    # ---- counts by file type -------------------------------------------------------------
    def csv(self, file: str, text: str) -> None:
        text = text.lstrip("\ufeff")  # a byte-order mark would hide the first column's name
        first = text.split("\n", 1)[0]
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first.count(";") > first.count(",") else ",")
        header = next(reader, None)
        if header is None:
            return
        columns = [(j, name.strip()) for j, name in enumerate(header) if self.is_count(name.strip())]
        for row in reader:
            for j, name in columns:
                if j < len(row):
                    self.check_count(file, f"line {reader.line_num}, column '{name}'", row[j])

    def json(self, file: str, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            self.markup(file, text)  # not valid JSON: fall back to the textual rules
            return
        self._walk(file, data, "$")

    def _walk(self, file: str, node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                here = f"{path}.{k}"
                if isinstance(k, str) and self.is_count(k) and not isinstance(v, (dict, list)):
                    self.check_count(file, f"at {here}", v)
                elif isinstance(k, str) and self.is_count(k) and isinstance(v, list) \
                        and all(not isinstance(x, (dict, list)) for x in v):
                    for i, x in enumerate(v):
                        self.check_count(file, f"at {here}[{i}]", x)
                else:
                    self._walk(file, v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._walk(file, v, f"{path}[{i}]")

    def markup(self, file: str, text: str) -> None:
        """HTML, SVG, JS, text: data-count attributes and JSON-like "n_x": number pairs."""
        for m in _DATA_COUNT.finditer(text):
            value = next(g for g in m.groups() if g is not None)
            self.check_count(file, f"{_position(text, m.start())}, {COUNT_ATTRIBUTE}", value)
        for m in _JSON_PAIR.finditer(text):
            if self.is_count(m.group(1)):
                self.check_count(file, f"{_position(text, m.start())}, '{m.group(1)}'", float(m.group(2)))


def _position(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - text.rfind(chr(10), 0, pos)}"
