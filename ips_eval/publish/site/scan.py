"""The blocking check on a built static site: nothing small, nobody identifiable.

`disclosure.protect` decides what may be shown; this scan checks what was actually written,
so that a template or chart that bypassed the module is caught before the site goes out.
It reads every file under the site root and refuses (`SiteScanError`, naming file and
location, never the offending value) when it finds:

- a small count: a number under T where the site says a count is;
- a study pseudonym (from the set of known ids the generator passes in);
- a Finnish personal identity code (`ips_eval.identity.find_identity_codes`).

Every number a reader can see is classified - count, rate, money, year, date, score (or
another kind that is not a count of people) - and a count under T, or a rate that implies
one, refuses publication (docs/analysis_plan.md, disclosure rule 9):

1. **CSV** (comma- or semicolon-separated, header row first; and XLSX sheets when openpyxl
   is installed): a column's kind is what the table declares (`columns.json` beside the
   files, written by the site: table -> column -> kind, and its rates' numerators and
   denominators), else what its name says (`n_*` or a `TableSpec` count: count; `rate_*`,
   `share*`: rate; `*_eur`, `cost*`: money; `year`, `vuosi`: year; dates; `mean*`,
   `median*`, `estimate`, `ci_*`, `p_value`, `score`: score). A column nothing declares
   whose cells are whole numbers is taken to be a count (a number a reader can see is
   assumed to be people until the table says otherwise). Count cells are whole numbers
   >= T, a disclosure label (`<5`, `..`) or blank. A rate whose denominator is published in
   the same row implies its numerator (rate x denominator): under T refuses.
2. **HTML**: a table cell takes its kind from `data-kind`, else from its column
   (`data-columns` of the table, read as in 1), else a cell that is only a whole number is a
   count; an element with `data-count` is a count; in running text, `n = 3` is a count.
   A rate cell and its denominator's cell in the same row (`data-column`, `data-value`) are
   checked as in 1.
3. **SVG** (charts): every `<text>` is read. Axis tick labels (matplotlib's `xtick_*` /
   `ytick_*` groups) are scales, not figures. Elsewhere a percentage is a rate, `2024Q1` a
   quarter, a four-digit year a year, `3 months` a duration, and any other whole number a
   count.
4. **JSON** (files, and JSON embedded in HTML/JS): a key that is a count name holds a
   number or a list of numbers under the same rule.
5. Pseudonyms and identity codes are looked for in every text file and in every file's
   path. A pseudonym is matched as a whole token of letters and digits (case-insensitive),
   or glued inside a longer token of at most 64 characters (case-sensitive); very long
   tokens (base64 images) are not searched for glued ids.
6. Files that are not UTF-8 text (PNG, fonts) cannot be read; they are listed in
   `ScanReport.skipped` for a human to look at. Charts should be SVG, which is scanned.

`check_output(path)` is the same scan for any folder of outputs an analyst is about to
release (the `ips-eval check-output` command): it returns every problem instead of raising.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping, Sequence

from ips_eval.definitions import HEADLINE_RATES, QUARTERLY_RATES

from ips_eval.ingest.identity import find_identity_codes
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL, T, DisclosureError, TableSpec,
)

COUNT_PREFIX = "n_"
#: Where a folder of outputs declares its tables' column kinds (written by the site).
COLUMNS_FILE = "columns.json"
#: Rates whose numerator and denominator are known by name: rate -> (numerator, denominator).
KNOWN_RATES: dict[str, tuple[str, str]] = {**HEADLINE_RATES, **QUARTERLY_RATES}
#: Kinds that are not counts of people (the site's `Column.kind`s and the classes of rule 9).
NOT_COUNTS = frozenset({"key", "rate", "number", "p", "date", "int", "money", "year", "score"})
COUNT_ATTRIBUTE = "data-count"
LABELS = frozenset({PRIMARY_LABEL, SECONDARY_LABEL, HIDDEN_LABEL, WITHHELD_LABEL, ""})

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
              count_columns: Collection[str] = (), columns: Mapping[str, Mapping[str, str]] | None = None
              ) -> ScanReport:
    """Scan every file under `root`; raise `SiteScanError` listing every finding, else
    return a `ScanReport`. `known_ids` are the study pseudonyms; `specs` and
    `count_columns` add count column names to the `n_` convention; `columns` (table ->
    column -> kind) declares the tables of folders without a `columns.json` (snapshots
    published before the site wrote one)."""
    scanner, scanned, skipped = _scan(root, known_ids, specs, count_columns, fallback=columns)
    if scanner.findings:
        raise SiteScanError(scanner.findings)
    return ScanReport(str(root), tuple(scanned), tuple(skipped), scanner.counts_checked, len(scanner.ids))


def check_output(path: str | Path, *, known_ids: Collection[str] = ()) -> list[Finding]:
    r"""Every problem in a folder (or one file) of outputs about to be released: small counts
    and rates that imply them in CSV, HTML, SVG, JSON and XLSX files, identity codes and
    pseudonyms. An empty list means nothing was found. Files that cannot be read as text
    are problems too (nothing vouches for them).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("alue,n_served,rate_working\nA,12,0.25\n", encoding="utf-8")
    >>> [f"{f.file} {f.location}: {f.what}" for f in check_output(folder)]
    ["t.csv line 2, column 'rate_working': a rate that implies a count under 5 (with n_served)"]
    """
    path = Path(path)
    root = path if path.is_dir() else path.parent
    only = None if path.is_dir() else path.name
    scanner, _, skipped = _scan(root, known_ids, (), (), only=only)
    unread = [Finding(f, "whole file", "an XLSX file that could not be read as a workbook: check it by hand"
                      if f.lower().endswith(".xlsx") else "not readable as text: check it by hand") for f in skipped]
    return scanner.findings + unread


def _scan(root, known_ids, specs, count_columns, only: str | None = None, fallback=None):
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    scanner = _Scanner(
        counts=frozenset(count_columns) | {c for s in specs for c in s.counts},
        ids={i for i in known_ids if i},
    )
    scanned, skipped = [], []
    files = sorted(p for p in root.rglob("*") if p.is_file() and (only is None or p.name == only))
    for path in files:
        rel = path.relative_to(root).as_posix()
        scanner.declared = _declarations(path.parent) or {
            t: {"columns": dict(c)} for t, c in (fallback or {}).items()}
        scanner.text(rel, rel, "in its path")
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            if not scanner.xlsx(rel, path):
                skipped.append(rel)
            else:
                scanned.append(rel)
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(rel)
            continue
        scanned.append(rel)
        scanner.text(rel, text)
        if suffix == ".csv":
            scanner.csv(rel, text)
        elif suffix == ".json":
            scanner.json(rel, text)
        elif suffix == ".svg":
            scanner.svg(rel, text)
            scanner.markup(rel, text)
        elif suffix in (".html", ".htm"):
            scanner.html(rel, text)
            scanner.markup(rel, text)
        else:
            scanner.markup(rel, text)
    return scanner, scanned, skipped


def _declarations(folder: Path) -> dict:
    """`columns.json` of a folder: {table: {"columns": {column: kind}, "rates": {rate: [num, den]}}}."""
    path = folder / COLUMNS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("tables", {})
    except (OSError, ValueError, AttributeError):
        return {}


def kind_by_name(name: str) -> str | None:
    """What a column's name says it holds (None: the name does not say).

    Examples
    --------
    >>> [kind_by_name(n) for n in ("n_served", "rate_working", "cost_eur", "vuosi", "mean_final", "alue")]
    ['count', 'rate', 'money', 'year', 'score', None]
    """
    n = name.strip().lower()
    if n.startswith(COUNT_PREFIX) or n in ("n", "count", "lkm"):
        return "count"
    if n.startswith(("rate", "share", "osuus")) or n.endswith(("_rate", "_share", "_pct")):
        return "rate"
    if "eur" in n or n.startswith(("cost", "kustannus")):
        return "money"
    if n in ("year", "vuosi"):
        return "year"
    if "date" in n or "pvm" in n or n in ("quarter", "published_at", "cutoff"):
        return "date"
    if n.startswith(("mean", "median", "estimate", "ci_", "p_value", "score", "total", "sd_", "or_")):
        return "score"
    return None


_WHOLE = re.compile(r"^-?\d+$")
_SEPARATORS = re.compile(r"[\s\u00a0\u202f,]")
_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*%")
_QUARTER = re.compile(r"\b\d{4}Q[1-4]\b")
#: A number of months, days or years is a duration, not people.
_DURATION = re.compile(r"\d+(?:[.,]\d+)?\s*(?:months?|kk\b|kuukau\w*|mån\w*|days?\b|päivä\w*|dagar|dygn|"
                       r"weeks?|viikko\w*|veckor|years?\b|vuo\w*|år\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_DATE = re.compile(r"\b\d{1,4}[.\-/]\d{1,2}[.\-/]\d{1,4}\b")
_INTEGER = re.compile(r"(?<![\w.,])\d+(?![\w.,]?\d)")
_N_EQUALS = re.compile(r"\bn\s*=\s*(\d+)\b", re.IGNORECASE)
_TICK_GROUP = re.compile(r"^[xy]tick_\d+$")


def _whole_number(text: str) -> int | None:
    """A cell that is only a whole number (thousands separators allowed), else None."""
    t = _SEPARATORS.sub("", html.unescape(text).strip())
    return int(t) if _WHOLE.match(t) else None


class _Scanner:
    def __init__(self, counts: frozenset[str], ids: set[str]):
        self.counts = counts
        self.ids = ids
        self.ids_folded = {i.casefold() for i in ids}
        self.id_lengths = sorted({len(i) for i in ids})
        self.findings: list[Finding] = []
        self.counts_checked = 0
        self.declared: dict = {}

    def is_count(self, name: str) -> bool:
        return name.startswith(COUNT_PREFIX) or name in self.counts

    def column_kind(self, table: str, name: str) -> str | None:
        declared = self.declared.get(table, {}).get("columns", {})
        if name in declared:
            return declared[name]
        if name in self.counts:
            return "count"
        return kind_by_name(name)

    def rates(self, table: str) -> dict[str, tuple[str, str]]:
        out = dict(KNOWN_RATES)
        out.update({r: tuple(p) for r, p in self.declared.get(table, {}).get("rates", {}).items()})
        return out

    def check_count(self, file: str, location: str, value: Any) -> None:
        """A count value: a whole number >= T, or a disclosure label."""
        self.counts_checked += 1
        if isinstance(value, str):
            text = html.unescape(value).strip()
            if text in LABELS:
                return
            whole = _whole_number(text)
            try:
                value = float(text) if whole is None else whole
            except ValueError:
                self.findings.append(Finding(file, location, "a count that is neither a number nor a label"))
                return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.findings.append(Finding(file, location, "a count that is neither a number nor a label"))
        elif not value >= T:  # NaN too
            self.findings.append(Finding(file, location, f"a published count under {T}"))

    def check_rate(self, file: str, location: str, rate: Any, denominator: Any, den_name: str) -> None:
        """A rate beside its published denominator implies its numerator."""
        try:
            r = float(str(rate).strip().rstrip("%"))
            d = _whole_number(str(denominator))
        except ValueError:
            return
        if d is None or d <= 0 or r != r:
            return
        if str(rate).strip().endswith("%") or r > 1:
            r /= 100
        implied = r * d
        if abs(implied - round(implied)) <= max(0.05, d * 0.0005) and round(implied) < T:
            self.findings.append(Finding(file, location,
                                         f"a rate that implies a count under {T} (with {den_name})"))

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

    # ---- tables: CSV and XLSX --------------------------------------------------------------
    def csv(self, file: str, text: str) -> None:
        text = text.lstrip("\ufeff")  # a byte-order mark would hide the first column's name
        first = text.split("\n", 1)[0]
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first.count(";") > first.count(",") else ",")
        header = next(reader, None)
        if header is None:
            return
        self.rows(file, Path(file).stem, [h.strip() for h in header],
                  ((reader.line_num, row) for row in reader))

    def xlsx(self, file: str, path: Path) -> bool:
        """Every sheet as a table (first row the header); False when the file is not a workbook."""
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
            return False
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            body = ((i + 2, ["" if v is None else str(v) for v in r]) for i, r in enumerate(rows))
            self.rows(f"{file} [{sheet.title}]", sheet.title, ["" if h is None else str(h).strip() for h in header],
                      body)
        return True

    def rows(self, file: str, table: str, header: list[str], rows) -> None:
        kinds = [self.column_kind(table, h) for h in header]
        rates = {r: p for r, p in self.rates(table).items() if r in header and p[1] in header}
        for line, row in rows:
            for j, name in enumerate(header):
                if j >= len(row):
                    continue
                kind = kinds[j]
                if kind == "count" or (kind is None and _whole_number(row[j]) is not None):
                    self.check_count(file, f"line {line}, column '{name}'", row[j])
            for rate, (_, den) in rates.items():
                self.check_rate(file, f"line {line}, column '{rate}'", row[header.index(rate)],
                                row[header.index(den)] if header.index(den) < len(row) else "", den)

    # ---- JSON --------------------------------------------------------------------------------
    def json(self, file: str, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            self.markup(file, text)  # not valid JSON: fall back to the textual rules
            return
        if Path(file).name == COLUMNS_FILE:
            return  # the declarations themselves
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

    # ---- markup: what a reader sees ---------------------------------------------------------
    def markup(self, file: str, text: str) -> None:
        """Any text: data-count attributes and JSON-like "n_x": number pairs."""
        for m in _DATA_COUNT.finditer(text):
            value = next(g for g in m.groups() if g is not None)
            self.check_count(file, f"{_position(text, m.start())}, {COUNT_ATTRIBUTE}", value)
        for m in _JSON_PAIR.finditer(text):
            if self.is_count(m.group(1)):
                self.check_count(file, f"{_position(text, m.start())}, '{m.group(1)}'", float(m.group(2)))

    def html(self, file: str, text: str) -> None:
        _HtmlReader(self, file, text).run()

    def svg(self, file: str, text: str) -> None:
        _SvgReader(self, file, text).run()

    def prose(self, file: str, location: str, text: str) -> None:
        for m in _N_EQUALS.finditer(text):
            self.check_count(file, location + ", 'n ='", m.group(1))

    def figure_text(self, file: str, location: str, text: str) -> None:
        """Text of a chart: after percentages, quarters, dates and years, a whole number is a count."""
        rest = _PERCENT.sub(" ", html.unescape(text))
        for pattern in (_DURATION, _QUARTER, _DATE, _YEAR):
            rest = pattern.sub(" ", rest)
        for m in _INTEGER.finditer(rest):
            self.check_count(file, location, m.group())


class _Reader(HTMLParser):
    """Walks markup keeping the open elements and where each text sits."""

    def __init__(self, scanner: _Scanner, file: str, text: str):
        super().__init__(convert_charrefs=True)
        self.scanner, self.file, self.source = scanner, file, text
        self.stack: list[tuple[str, dict]] = []

    def run(self) -> None:
        self.feed(self.source)
        self.close()

    def where(self) -> str:
        line, col = self.getpos()
        return f"line {line}, column {col + 1}"

    def handle_starttag(self, tag, attrs):
        if tag not in _VOID:
            self.stack.append((tag, dict(attrs)))
        self.started(tag, dict(attrs))

    def handle_startendtag(self, tag, attrs):
        self.started(tag, dict(attrs))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                self.ended(tag, self.stack[i][1])
                del self.stack[i:]
                return

    def started(self, tag, attrs):
        pass

    def ended(self, tag, attrs):
        pass

    def inside(self, *tags: str) -> bool:
        return any(t in tags for t, _ in self.stack)


_VOID = {"meta", "link", "img", "br", "hr", "input", "source", "col", "wbr", "area", "base", "embed", "param",
         "track"}


class _HtmlReader(_Reader):
    """Table cells by their kind; counts and rates with their denominators row by row; n = k in prose."""

    def __init__(self, *args):
        super().__init__(*args)
        self.columns: list[str] = []
        self.table_name = ""
        self.row: list[tuple[str, dict, str]] = []  # (tag, attrs, text) of the current row's cells
        self.cell_text: list[str] | None = None

    def started(self, tag, attrs):
        if tag == "table":
            self.columns = [c for c in attrs.get("data-columns", "").split(",") if c]
            self.table_name = Path(attrs.get("data-csv", "")).stem
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell_text = []
            self.cell_where = self.where()

    def ended(self, tag, attrs):
        if tag in ("td", "th") and self.cell_text is not None:
            text = "".join(self.cell_text)
            self.cell_text = None
            self.cell(tag, attrs, text)
        elif tag == "tr":
            self.rates_in_row()

    def handle_data(self, data):
        if self.cell_text is not None:
            self.cell_text.append(data)
        elif not self.inside("script", "style") and data.strip():
            self.scanner.prose(self.file, self.where(), data)

    def cell(self, tag, attrs, text):
        position = len(self.row)
        self.row.append((tag, attrs, text))
        if (tag == "th" and "data-kind" not in attrs) or COUNT_ATTRIBUTE in attrs:
            return  # a header is a label; a data-count cell is checked by `markup`
        kind = attrs.get("data-kind") or None
        column = attrs.get("data-column") or (self.columns[position] if position < len(self.columns) else "")
        if kind is None and column:
            kind = self.scanner.column_kind(self.table_name, column)
        where = f"{self.cell_where}, table cell" + (f" '{column}'" if column else "")
        if kind == "count" or (kind is None and _whole_number(text) is not None):
            self.scanner.check_count(self.file, where, text)
        elif kind not in NOT_COUNTS:
            self.scanner.prose(self.file, where, text)

    def rates_in_row(self):
        values = {}
        for position, (_, attrs, text) in enumerate(self.row):
            column = attrs.get("data-column") or (self.columns[position] if position < len(self.columns) else "")
            if column:
                values[column] = attrs.get("data-value", text)
        for rate, (_, den) in self.scanner.rates(self.table_name).items():
            if rate in values and den in values:
                self.scanner.check_rate(self.file, f"{self.cell_where}, table row, column '{rate}'", values[rate],
                                        values[den], den)


class _SvgReader(_Reader):
    """Every <text> of a chart, except axis tick labels (scales, not figures)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.parts: list[str] | None = None

    def started(self, tag, attrs):
        if tag == "text" and self.parts is None:
            self.parts = []
            self.text_where = self.where()

    def ended(self, tag, attrs):
        if tag == "text" and self.parts is not None:
            text, self.parts = "".join(self.parts), None
            if not any(t == "g" and _TICK_GROUP.match(a.get("id", "")) for t, a in self.stack):
                self.scanner.figure_text(self.file, f"{self.text_where}, text", text)

    def handle_data(self, data):
        if self.parts is not None:
            self.parts.append(data)
        elif self.inside("title", "desc"):
            self.scanner.prose(self.file, self.where(), data)


def _position(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - text.rfind(chr(10), 0, pos)}"
