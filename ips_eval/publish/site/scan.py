"""The blocking check on a built static site: nothing small, nobody identifiable.

`disclosure.protect` decides what may be shown; this scan checks what was actually written,
so that a template or chart that bypassed the module is caught before the site goes out.
It reads every file under the site root and refuses (`SiteScanError`, naming file and
location, never the offending value) when it finds:

- a small count: a number under T where the site says a count is;
- a study pseudonym (from the set of known ids the generator passes in);
- a Finnish personal identity code (`ips_eval.identity.find_identity_codes`).

Every number a reader can see is classified - count, rate, money, year, date, duration,
score (or another kind that is not a count of people) - and a count under T, or a figure
that implies one, refuses publication (docs/analysis_plan.md, disclosure rule 9):

1. **Tables** (CSV and TSV, `;` `,` or tab, UTF-8 or Windows-1252; XLSX sheets when openpyxl
   is installed, findings named `Sheet!C4`): title lines above the header are prose; the
   header is the first row as wide as most rows. A column's kind is what the table declares
   (`columns.json` beside the files, written by the site: table -> column -> kind, and its
   rates' numerators and denominators), else what its name says (`kind_by_name`: `n_*`,
   `lkm`, `Asiakkaita`: count; `rate_*`, `osuus`, `... %`: rate; `Pisteet`, `mean*`: score;
   ...), else a column of whole numbers is taken to be people; a column of other numbers
   nothing classifies is listed by `check_output` for a person to look at. Count cells are
   whole numbers >= T, a disclosure label (`<5`, `..`, `:`) or blank; numbers are read in
   either notation (`0,05`, `5,0 %`). A rate whose denominator is published in the same row
   implies its numerator (rate x denominator; a rate nothing pairs is tried against every
   count of its row); a denominator minus its numerator under T (a complement) and a total
   row (`ALL`, `Yhteensä`) with one hidden part refuse too. Other cells are prose, and so is
   every cell of a column declared `text` (documentation such as the site's data dictionary:
   words about the figures, no figures). A one-sheet workbook is declared by its file's name
   (`data/fi/employment_outcomes.xlsx` -> `employment_outcomes`), else a sheet by its title.
2. **HTML**: a table cell takes its kind from its column (`data-columns`, a header row, and
   the declarations of the table's CSV), a `data-kind="count"` makes it a count, and no
   attribute makes a count something else; a count cell's `data-value` is read too. An
   element with `data-count` is a count. Text outside cells, every cell, and the attributes
   a reader sees (`alt`, `title`, `aria-label`) are prose; a `data-*` attribute is a count
   when its name says so or it holds a whole number nothing else explains.
3. **SVG** (charts): every `<text>` is read. Axis tick labels (matplotlib's `xtick_*` /
   `ytick_*` groups) are scales, read only as prose. Elsewhere a percentage is a rate,
   `2024Q1` a quarter, a four-digit year a year, `3 months` a duration, and any other whole
   number a count. `<title>` and `<desc>` are prose.
4. **JSON** (files, and JSON embedded in HTML/JS): keys of any name; a whole number under a
   key that does not say it is something else (a rate, a year, a score) is people, as in a
   table; strings are prose. **Markdown, text and log files**: every line is prose.
5. **Prose**: `n = 3`, "3 clients" / "3 asiakasta" / "3 personer", "33.3 % of the 3
   clients" (its denominator, and the count the share implies), "3 (33 %)".
6. Pseudonyms and identity codes are looked for in every text file and in every file's
   path. A pseudonym is matched as a whole token of letters and digits (case-insensitive),
   or glued inside a longer token of at most 64 characters (case-sensitive); very long
   tokens (base64 images) are not searched for glued ids.
7. Files that are not text (PNG, fonts) cannot be read; they are listed in
   `ScanReport.skipped` for a human to look at. Charts should be SVG, which is scanned.

A file scanned clean earlier in the same process is not read again while nothing its scan
depends on has changed (its bytes and name, the declarations it is read with, the counts and
ids looked for): the pipeline's check scans again the snapshot its build scanned, and a
rebuild writes the same downloads and charts. A file with a finding is read every time.

What it does not check: whether a hidden count can be worked out from other tables, the
relations between figures or earlier releases (complementary suppression and differencing).
That is the audit's (`disclosure.audit`, rules 2, 3 and 8).

`check_output(path)` is the same scan for any folder of outputs an analyst is about to
release (the `ips-eval check-output` command): it returns every problem instead of raising.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import html
import io
import json
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping, Sequence

from ips_eval.figures import HEADLINE_RATES, QUARTERLY_RATES
from ips_eval.ingest.identity import find_identity_codes
from ips_eval.publish.disclosure import (
    HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL, T, DisclosureError, TableSpec,
)
from ips_eval.remembered import Remembered

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
    return scanner.findings + scanner.unclassified + unread


def _scan(root, known_ids, specs, count_columns, only: str | None = None, fallback=None):
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    scanner = _Scanner(
        counts=frozenset(count_columns) | {c for s in specs for c in s.counts},
        ids={i for i in known_ids if i},
    )
    scanned, skipped = [], []
    settings = hashlib.sha256(repr((sorted(scanner.counts), sorted(scanner.ids))).encode()).digest()
    files = sorted(p for p in root.rglob("*") if p.is_file() and (only is None or p.name == only))
    for path in files:
        rel = path.relative_to(root).as_posix()
        scanner.declared = _declarations(path.parent) or {
            t: {"columns": dict(c)} for t, c in (fallback or {}).items()}
        scanner.folder = path.parent
        scanner.text(rel, rel, "in its path")
        data = path.read_bytes()
        key = _clean_key(settings, path, data, scanner.declared)
        counts = _CLEAN.get(key)
        if counts is not None:
            scanner.counts_checked += counts
            scanned.append(rel)
            continue
        before = (len(scanner.findings), len(scanner.unclassified), scanner.counts_checked)
        if not _scan_file(scanner, rel, path, data):
            skipped.append(rel)
            continue
        scanned.append(rel)
        if (len(scanner.findings), len(scanner.unclassified)) == before[:2]:
            _CLEAN.put(key, scanner.counts_checked - before[2])
    return scanner, scanned, skipped


#: Files scanned clean in this process: counts checked by what the file's scan depends on
#: (`_clean_key`). A file scanned again unchanged (the pipeline's check scans the snapshot its
#: build scanned; a rebuild writes the same downloads and charts) is not read again; a
#: file with a finding is always read again, so that its findings are named anew.
_CLEAN: Remembered[int] = Remembered(4096)
_DATA_CSV = re.compile(r"""data-csv\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _clean_key(settings: bytes, path: Path, data: bytes, declared: dict) -> bytes:
    """Everything a file's scan depends on: the scan's counts and ids, the file's name and
    bytes, the declarations of its folder and, for a page, those of every folder its tables'
    downloads are in (`data-csv`: the declarations of a table's CSV hold for the page)."""
    extra = []
    if path.suffix.lower() in (".html", ".htm"):
        text = data.decode("utf-8", errors="replace")
        for m in _DATA_CSV.finditer(text):
            ref = html.unescape(next(g for g in m.groups() if g is not None))
            extra.append((ref, _declarations((path.parent / ref).parent)))
    context = json.dumps([path.name, declared, extra], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(settings + context.encode() + b"\0" + data).digest()


def _scan_file(scanner: _Scanner, rel: str, path: Path, data: bytes) -> bool:
    """Scan one file's content; False when it cannot be read (not text, not a workbook)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return scanner.xlsx(rel, path)
    text = _decode(data, office=suffix in TEXT_TABLES or suffix in PLAIN_TEXT)
    if text is None:
        return False
    scanner.text(rel, text)
    if suffix in TEXT_TABLES:
        scanner.csv(rel, text, tab=suffix == ".tsv")
    elif suffix == ".json":
        scanner.json(rel, text)
    elif suffix == ".svg":
        scanner.svg(rel, text)
        scanner.markup(rel, text)
    elif suffix in (".html", ".htm"):
        scanner.html(rel, text)
        scanner.markup(rel, text)
    elif suffix in CODE:  # read by a browser, not a person: JSON-like pairs only
        scanner.markup(rel, text)
    else:  # any other text (.md, .txt, .log, ...): prose, and JSON-like pairs
        scanner.lines(rel, text)
        scanner.markup(rel, text)
    return True


#: Files read as tables (a header row, possibly below title lines).
TEXT_TABLES = frozenset({".csv", ".tsv"})
#: Style sheets and scripts: a person reads what they produce, not their text.
CODE = frozenset({".css", ".js", ".mjs", ".map"})
#: Text an office program or a log writes: read as Windows-1252 when it is not UTF-8.
PLAIN_TEXT = frozenset({".txt", ".md", ".log"})


def _decode(data: bytes, office: bool) -> str | None:
    """The text of a file: UTF-8, else (tables and plain text, as Excel and Windows save them)
    Windows-1252. None: not text (a byte Windows-1252 leaves undefined, or a NUL)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not office or b"\x00" in data:
        return None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


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
    if n.startswith(COUNT_PREFIX) or n in ("n", "count", "lkm", "kpl", "määrä", "antal"):
        return "count"
    if n.startswith(("rate", "share", "osuus", "prosent", "andel")) or "%" in n \
            or n.endswith(("_rate", "_share", "_pct", "_osuus", "pct", "prosentti")):
        return "rate"
    if "eur" in n or "€" in n or n.startswith(("cost", "kustannus", "kostnad")):
        return "money"
    if n in ("year", "vuosi", "år"):
        return "year"
    if "date" in n or "pvm" in n or n in ("quarter", "published_at", "cutoff", "neljännes", "kvartal"):
        return "date"
    if n.startswith(("mean", "median", "estimate", "ci_", "p_value", "score", "total", "sd_", "or_", "piste",
                     "keskiarvo", "mediaani", "keskihajonta", "poäng", "medel")) or n in ("ka", "sd"):
        return "score"
    if n in ("months", "month", "days", "day", "weeks", "time", "kk", "kuukausia", "kuukaudet", "päivää", "päivät",
             "månader", "dagar"):
        return "int"
    if n.startswith(_PEOPLE_WORDS):
        return "count"
    return None


#: Column names (and their Finnish and Swedish forms) that say the column counts people:
#: "Asiakkaita", "Työllistyneitä", "Henkilöitä", "Klienter" ...
_PEOPLE_WORDS = ("asiak", "henkil", "työllisty", "osallistuj", "clients", "people", "persons", "participants",
                 "employed", "klient", "personer", "deltagare", "sysselsatta")


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
#: A number of people in prose: "3 clients", "Only 3 employed clients", "3 asiakasta", "3 henkilöä".
_PEOPLE_NOUN = (r"(?:clients?|people|persons?|participants?|individuals?|asiak\w*|henkilö\w*|osallistuj\w*|"
                r"klient\w*|personer|person|deltagare)\b")
_N_PEOPLE = re.compile(r"(?<![\w.,])(\d+)\s+(?:[^\W\d]+\s+){0,2}?" + _PEOPLE_NOUN, re.IGNORECASE)
#: A share with its denominator: "33.3 % of the 3 clients", "33,3 % 3 asiakkaasta", "20 % av 10".
_PERCENT_OF = re.compile(r"(\d+(?:[.,]\d+)?)\s*%\s*(?:\(?\s*(?:of|av|/|out of)\s+)?(?:the\s+)?(\d+)\b(?![.,]\d|\s*%)",
                         re.IGNORECASE)
#: A count with its share: "3 (33 %)", "3 (33,3 %)".
_COUNT_PERCENT = re.compile(r"(?<![\w.,])(\d+)\s*\(\s*(\d+(?:[.,]\d+)?)\s*%\s*\)")
_INTERVAL_BOUND = re.compile(r"(^|_)(ci|low|high|lower|upper|lcl|ucl|ala|ylä)(_|$)", re.IGNORECASE)
#: Rows that are the margin of the others: "ALL", "Yhteensä", "Total", ...
_TOTAL_ROW = re.compile(r"^(?:all|total|totalt|yhteensä|kaikki|summa|sum|koko maa|hela landet|alla)$", re.IGNORECASE)
#: Attributes a reader sees (tooltips, alternative text) or a script reads (data-*).
_SEEN_ATTRIBUTES = ("alt", "title", "aria-label", "aria-description", "placeholder", "label", "summary")
#: data-* attributes that only name things (a column, a file, a kind): not read as text.
_NAMING_ATTRIBUTES = frozenset({"data-columns", "data-column", "data-csv", "data-kind", "data-lang", "data-table",
                                "data-href", "data-src", "data-id", "data-key", "data-label", "data-sort",
                                "data-group", "data-sub"})
_TICK_GROUP = re.compile(r"^[xy]tick_\d+$")
_DIGIT = re.compile(r"\d")
#: The attributes read (`_read_attribute`) of an element with these attribute names.
_READ_ATTRIBUTES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _read_attribute(name: str) -> bool:
    """Whether an attribute is read (`_Scanner.attributes`): seen by a reader, or a data-*
    attribute that does not only name something (a count's `data-count` and a cell's
    `data-value` are read with the count or the cell)."""
    return name in _SEEN_ATTRIBUTES or (name.startswith("data-") and name not in _NAMING_ATTRIBUTES
                                        and name not in (COUNT_ATTRIBUTE, "data-value"))


def _whole_number(text: str) -> int | None:
    """A cell that is only a whole number (thousands separators allowed), else None.

    Examples
    --------
    >>> [_whole_number(t) for t in ("12", "1 234", "1,234", "0,05", "3 (12 %)")]
    [12, 1234, 1234, None, None]
    """
    t = html.unescape(text).strip()
    if re.fullmatch(r"\d+,\d{1,2}|\d+,\d{4,}", t):
        return None  # a decimal comma (0,05; 66,7), not a thousands separator
    t = _SEPARATORS.sub("", t)
    return int(t) if _WHOLE.match(t) else None


def _number(text: str) -> tuple[float, bool] | None:
    """A cell that is one number, as (value, written as a percentage), in either notation:
    `0.05`, `0,05`, `5,0 %`, `1 234,5`. None: not one number.

    Examples
    --------
    >>> [_number(t) for t in ("0,05", "5,0 %", "12", "1 234,5", "..", "3 (12 %)")]
    [(0.05, False), (5.0, True), (12.0, False), (1234.5, False), None, None]
    """
    t = html.unescape(str(text)).strip()
    percent = t.endswith("%")
    t = re.sub(r"[\s\u00a0\u202f]", "", t.rstrip("%"))
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        t = t.replace(",", "")  # thousands separators
    elif t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")  # a decimal comma
    try:
        return float(t), percent
    except ValueError:
        return None


def _cell_ref(row: int, column: int) -> str:
    """A spreadsheet cell's reference: row 4, column 3 -> C4."""
    letters = ""
    column += 1
    while column:
        column, r = divmod(column - 1, 26)
        letters = chr(ord("A") + r) + letters
    return f"{letters}{row}"


class _Scanner:
    def __init__(self, counts: frozenset[str], ids: set[str]):
        self.counts = counts
        self.ids = ids
        self.ids_folded = {i.casefold() for i in ids}
        self.id_lengths = sorted({len(i) for i in ids})
        self.findings: list[Finding] = []
        #: Columns of numbers no rule classifies (reported by `check_output`, never "no problems").
        self.unclassified: list[Finding] = []
        self.counts_checked = 0
        self.declared: dict = {}
        self.folder: Path | None = None  # the folder of the file being read

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
        parsed, d = _number(str(rate)), _whole_number(str(denominator))
        if parsed is None or d is None or d <= 0 or parsed[0] != parsed[0]:
            return
        r, percent = parsed
        if percent or r > 1:
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
        # a page repeats its words: each distinct token is looked at once, and the text is
        # walked again only for the tokens that hold an id (none, on a site that passes)
        hits = {t: at for t in set(_TOKEN.findall(text)) if (at := self._id_in(t)) is not None}
        if hits:
            for m in _TOKEN.finditer(text):
                if m.group() in hits:
                    yield m.start() + hits[m.group()]

    def _id_in(self, token: str) -> int | None:
        """Where in a token a pseudonym is: 0 when the token is one (any case), else where the
        first of the shortest glued inside it starts (exact case); None: nowhere."""
        if token.casefold() in self.ids_folded:
            return 0
        if len(token) <= _GLUED_MAX:
            for n in self.id_lengths:
                hit = next((i for i in range(len(token) - n + 1) if token[i:i + n] in self.ids), None)
                if hit is not None:
                    return hit
        return None

    # ---- tables: CSV, TSV and XLSX ---------------------------------------------------------
    def csv(self, file: str, text: str, tab: bool = False) -> None:
        text = text.lstrip("\ufeff")  # a byte-order mark would hide the first column's name
        head = text.splitlines()[:20]
        delimiter = "\t" if tab else max((";", ",", "\t"), key=lambda d: sum(line.count(d) for line in head))
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows, lines = [], []
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
        self.table(file, Path(file).stem, rows, lambda i, j, name: f"line {lines[i]}, column '{name}'",
                   lambda i: f"line {lines[i]}")

    def xlsx(self, file: str, path: Path) -> bool:
        """Every sheet as a table (title rows above the header allowed); findings name the
        cell as `Sheet!C4`. False when the file is not a workbook."""
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
            return False
        stem = Path(file).stem
        for sheet in book.worksheets:
            rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
            title = sheet.title
            # the declarations name a one-sheet workbook by its file (a sheet title is at most
            # 31 characters and in the reader's language), else a sheet by its title
            table = stem if stem in self.declared and len(book.worksheets) == 1 else title
            self.table(file, table, rows, lambda i, j, name, t=title: f"{t}!{_cell_ref(i + 1, j)} ('{name}')",
                       lambda i, t=title: f"{t}!{_cell_ref(i + 1, 0)}")
        return True

    def table(self, file: str, table: str, rows: list[list[str]], where, where_row) -> None:
        """One table as a person reads it: title lines above the header are prose; the header
        is the first row as wide as most rows. Each column's kind is what the table declares,
        else what its name says (`kind_by_name`, Finnish names too), else a whole number is a
        count; a column of other numbers nothing classifies is listed (`unclassified`)."""
        rows = [[c.strip() for c in r] for r in rows]
        widths = [len([c for c in r if c]) for r in rows]
        wide = [w for w in widths if w >= 2]
        if not wide:
            for i, r in enumerate(rows):
                self.prose(file, where_row(i), " ".join(r))
            return
        # a declared table's header is the row naming its declared columns (rows of documentation
        # with empty cells are narrower than it, and would otherwise pass for the header)
        names = list(self.declared.get(table, {}).get("columns", {}))
        top = next((i for i, r in enumerate(rows) if names and [c for c in r if c] == names), None)
        if top is None:
            width = max(set(wide), key=lambda w: (wide.count(w), -wide.index(w)))
            top = next(i for i, w in enumerate(widths) if w == width)
        for i in range(top):
            self.prose(file, where_row(i), " ".join(rows[i]))
        header = rows[top]
        kinds = [self.column_kind(table, h) for h in header]
        body = [(i, r) for i, r in enumerate(rows) if i > top and any(r)]
        for j, name in enumerate(header):
            if kinds[j] is None and any(_whole_number(r[j]) is None and _number(r[j]) is not None
                                        for _, r in body if j < len(r)):
                self.unclassified.append(Finding(file, where(top, j, name), "a column of numbers the check could "
                                                 "not classify (count, rate, score?): check it by hand"))
                kinds[j] = "unclassified"
        count_cols = [j for j, k in enumerate(kinds) if k == "count"
                      or (k is None and all(_whole_number(r[j]) is not None or r[j] in LABELS
                                            for _, r in body if j < len(r)))]
        col = {h: j for j, h in enumerate(header)}
        known = {r: p for r, p in self.rates(table).items() if r in col and p[1] in col}
        # a rate nothing pairs with its denominator (a table no one declared): any count of the
        # row may be it; interval bounds are not proportions of a count
        declared = self.declared.get(table, {}).get("columns", {})
        unpaired = [j for j, k in enumerate(kinds) if k == "rate" and header[j] not in known
                    and header[j] not in declared and not _INTERVAL_BOUND.search(header[j])]
        pairs = [(num, den) for num, den in self.pairs(table) if num in col and den in col]
        for i, row in body:
            cell = lambda name: row[col[name]] if col[name] < len(row) else ""  # noqa: E731
            for j, name in enumerate(header):
                if j >= len(row) or not row[j]:
                    continue
                kind = kinds[j]
                if kind == "count" or (kind is None and _whole_number(row[j]) is not None):
                    self.check_count(file, where(i, j, name), row[j])
                elif _number(row[j]) is None:
                    self.prose(file, where(i, j, name), row[j])
            for rate, (_, den) in known.items():
                self.check_rate(file, where(i, col[rate], rate), cell(rate), cell(den), den)
            for j in unpaired:  # a rate nothing pairs: any count of the row may be its denominator
                for d in count_cols:
                    if d < len(row) and j < len(row):
                        self.check_rate(file, where(i, j, header[j]), row[j], row[d], header[d])
            for num, den in pairs:
                a, b = _whole_number(cell(num)), _whole_number(cell(den))
                if a is not None and b is not None and 0 < b - a < T:
                    self.findings.append(Finding(file, where(i, col[num], num),
                                                 f"a complement under {T} ({den} - {num})"))
        self.margins(file, header, kinds, body, where)

    def pairs(self, table: str) -> list[tuple[str, str]]:
        """(part, whole) count columns whose difference is a count of people too (a rate's
        numerator and denominator)."""
        return list(dict.fromkeys(tuple(p) for p in self.rates(table).values()))

    def margins(self, file: str, header: list[str], kinds: list, body, where) -> None:
        """A total row (`ALL`, `Yhteensä`, ...) with one hidden part in a column: the total
        minus the other parts gives the hidden count away."""
        text_cols = [j for j, k in enumerate(kinds) if k not in ("count", "rate", "money", "score", "number",
                                                                  "unclassified")
                     and all(_number(r[j]) is None for _, r in body if j < len(r))]
        by = next((j for j in text_cols if any(j < len(r) and _TOTAL_ROW.match(r[j]) for _, r in body)), None)
        if by is None:
            return
        others = [j for j in text_cols if j != by]
        groups: dict[tuple, list] = {}
        for i, r in body:
            groups.setdefault(tuple(r[j] if j < len(r) else "" for j in others), []).append((i, r))
        for rows in groups.values():
            totals = [(i, r) for i, r in rows if by < len(r) and _TOTAL_ROW.match(r[by])]
            parts = [(i, r) for i, r in rows if not (by < len(r) and _TOTAL_ROW.match(r[by]))]
            if len(totals) != 1 or not parts:
                continue
            for j, kind in enumerate(kinds):
                if kind not in ("count", None) or j >= len(totals[0][1]):
                    continue
                total = _whole_number(totals[0][1][j])
                values = [r[j] if j < len(r) else "" for _, r in parts]
                hidden = [k for k, v in enumerate(values) if v in (PRIMARY_LABEL, SECONDARY_LABEL)]
                if total is None or len(hidden) != 1 or \
                        any(_whole_number(v) is None for k, v in enumerate(values) if k != hidden[0]):
                    continue
                i, _ = parts[hidden[0]]
                self.findings.append(Finding(file, where(i, j, header[j]), "a hidden count the total gives away "
                                             "(the total minus the other rows)"))

    # ---- JSON --------------------------------------------------------------------------------
    def json(self, file: str, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            self.markup(file, text)  # not valid JSON: fall back to the textual rules
            self.lines(file, text)
            return
        if Path(file).name == COLUMNS_FILE:
            return  # the declarations themselves
        self._walk(file, data, "$", None)

    def _walk(self, file: str, node: Any, path: str, kind: str | None) -> None:
        """Keys of any name: a whole number under a key that does not say it is something
        else (a rate, a year, a score ...) is taken to be people, as in a table; text is prose."""
        if isinstance(node, dict):
            for k, v in node.items():
                self._walk(file, v, f"{path}.{k}", "count" if self.is_count(str(k)) else kind_by_name(str(k)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._walk(file, v, f"{path}[{i}]", kind)
        elif isinstance(node, str):
            if kind == "count":
                self.check_count(file, f"at {path}", node)
            else:
                self.prose(file, f"at {path}", node)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            if kind == "count" or (kind is None and float(node).is_integer()):
                self.check_count(file, f"at {path}", node)

    def lines(self, file: str, text: str) -> None:
        """Plain text (Markdown, notes, logs): every line is prose."""
        for n, line in enumerate(text.splitlines(), start=1):
            self.prose(file, f"line {n}", line)

    # ---- markup: what a reader sees ---------------------------------------------------------
    def markup(self, file: str, text: str) -> None:
        """Any text: data-count attributes and JSON-like "n_x": number pairs."""
        position = _positions(text)
        for m in _DATA_COUNT.finditer(text):
            value = next(g for g in m.groups() if g is not None)
            self.check_count(file, f"{position(m.start())}, {COUNT_ATTRIBUTE}", value)
        for m in _JSON_PAIR.finditer(text):
            if self.is_count(m.group(1)):
                self.check_count(file, f"{position(m.start())}, '{m.group(1)}'", float(m.group(2)))

    def html(self, file: str, text: str) -> None:
        _HtmlReader(self, file, text).run()

    def svg(self, file: str, text: str) -> None:
        _SvgReader(self, file, text).run()

    def prose(self, file: str, location: str, text: str) -> None:
        """Numbers of people in words: `n = 3`, "3 clients", "33.3 % of the 3 clients"
        (the denominator, and the count the share implies), "3 (33 %)"."""
        text = html.unescape(text)
        if not _DIGIT.search(text):
            return  # every rule reads a number (most text of a page has none)
        for m in _N_EQUALS.finditer(text):
            self.check_count(file, location + ", 'n ='", m.group(1))
        for m in _N_PEOPLE.finditer(text):
            self.check_count(file, location + f", '{m.group(0).strip()}'", m.group(1))
        for m in _PERCENT_OF.finditer(text):
            here = location + f", '{m.group(0).strip()}'"
            if not _N_PEOPLE.match(text, m.start(2)):  # "3 clients" is read above
                self.check_count(file, here, m.group(2))
            if int(m.group(2)) >= T:
                self.check_rate(file, here, m.group(1) + "%", m.group(2), "the number after it")
        for m in _COUNT_PERCENT.finditer(text):
            self.check_count(file, location + f", '{m.group(0).strip()}'", m.group(1))

    def attributes(self, file: str, location: str, attrs: Mapping[str, str | None]) -> None:
        """What a reader sees in attributes (alt text, tooltips) is prose; a data-* attribute
        is read as a script reads it: a count when its name says so or it is a whole number
        nothing else explains, else prose."""
        for name, value in attrs.items():
            if not value or not _read_attribute(name):
                continue
            where = f"{location}, {name}"
            if name in _SEEN_ATTRIBUTES:
                self.prose(file, where, value)
            elif name.startswith("data-"):
                kind = kind_by_name(name[5:].replace("-", "_"))
                if kind == "count" or (kind is None and _whole_number(value) is not None):
                    self.check_count(file, where, value)
                elif kind is None:
                    self.prose(file, where, value)

    def figure_text(self, file: str, location: str, text: str) -> None:
        """Text of a chart: after percentages, quarters, dates and years, a whole number is a count."""
        rest = _PERCENT.sub(" ", html.unescape(text))
        for pattern in (_DURATION, _QUARTER, _DATE, _YEAR):
            rest = pattern.sub(" ", rest)
        for m in _INTEGER.finditer(rest):
            self.check_count(file, location, m.group())


class _Reader(HTMLParser):
    """Walks markup keeping the open elements and where each text sits.

    Markup written as the site writes it (`_plain_tokens`: every tag plain, every attribute
    value in double quotes, no script, style or comment) is read by one regular expression,
    with the same calls, in the same order, at the same positions as `HTMLParser` makes them;
    any other markup is read by `HTMLParser`. A page has thousands of cells, and the parser's
    own work per tag is much of the scan's time."""

    def __init__(self, scanner: _Scanner, file: str, text: str):
        super().__init__(convert_charrefs=True)
        self.scanner, self.file, self.source = scanner, file, text
        self.stack: list[tuple[str, dict]] = []
        self.at: int | None = None  # where in the source the plain reading is
        self.breaks: list[int] = []

    def run(self) -> None:
        tokens = _plain_tokens(self.source)
        if tokens is None:
            self.feed(self.source)
            self.close()
            return
        self.breaks = [m.start() for m in re.finditer("\n", self.source)]
        for at, kind, tag, attrs in tokens:
            self.at = at
            if kind == "data":
                self.handle_data(tag)
            elif kind == "start":
                self.handle_starttag(tag, attrs)
            elif kind == "startend":
                self.handle_startendtag(tag, attrs)
            else:
                self.handle_endtag(tag)

    def getpos(self) -> tuple[int, int]:
        if self.at is None:
            return super().getpos()
        line = bisect.bisect_left(self.breaks, self.at)
        return line + 1, self.at - (self.breaks[line - 1] + 1 if line else 0)

    def where(self) -> str:
        line, col = self.getpos()
        return f"line {line}, column {col + 1}"

    def handle_starttag(self, tag, attrs):
        attrs = attrs if isinstance(attrs, dict) else dict(attrs)  # HTMLParser gives pairs
        self.attributes(tag, attrs)
        if tag not in _VOID:
            self.stack.append((tag, attrs))
        self.started(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        attrs = attrs if isinstance(attrs, dict) else dict(attrs)
        self.attributes(tag, attrs)
        self.started(tag, attrs)

    def attributes(self, tag, attrs):
        # most elements have no attribute a reader sees (a cell's are its value, column and
        # kind): their location is not even written out
        names = tuple(attrs)
        read = _READ_ATTRIBUTES.get(names)
        if read is None:
            read = _READ_ATTRIBUTES[names] = tuple(n for n in names if _read_attribute(n))
        if any(attrs[name] for name in read):
            self.scanner.attributes(self.file, f"{self.where()}, <{tag}>", attrs)

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

#: Markup as the site writes it, token by token: text, a start tag (name, attributes with
#: double-quoted values or none, an optional `/`), an end tag, the doctype; last, a `<` that
#: starts none of them.
_PLAIN_TOKEN = re.compile(r"""([^<]+)|<([a-zA-Z][a-zA-Z0-9]*)((?:[ \n]+[a-zA-Z][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)"""
                          r"""[ \n]*(/?)>|</([a-zA-Z][a-zA-Z0-9]*)>|<!DOCTYPE html>|(<)""")
_PLAIN_ATTRIBUTE = re.compile(r"""[ \n]+([a-zA-Z][-a-zA-Z0-9_:.]*)(?:(=)"([^"]*)")?""")
#: Elements whose content a parser does not read as markup (or, in some versions of
#: `HTMLParser`, reads otherwise): markup holding one is left to `HTMLParser`.
_RAW_TEXT = frozenset({"script", "style", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
                       "plaintext", "title"})


def _plain_tokens(text: str) -> list[tuple[int, str, str, dict | None]] | None:
    """The markup as `HTMLParser` (with `convert_charrefs`) reports it: (position, "data",
    text, None), (position, "start" | "startend", tag, attributes) or (position, "end", tag,
    None); tag and attribute names in lower case, text and attribute values with character
    references resolved (tags written alike share one dictionary of attributes, to be read
    and not changed). None when the markup is not all plain tags and text (then the
    caller reads it with `HTMLParser`): a `<` that does not start such a tag, a comment, a
    script or style, a title holding anything but text without references.

    Examples
    --------
    >>> _plain_tokens('<p class="n" data-count="&lt;5">3 &amp; 4<br/></p>')
    [(0, 'start', 'p', {'class': 'n', 'data-count': '<5'}), (32, 'data', '3 & 4', None), \
(41, 'startend', 'br', {}), (46, 'end', 'p', None)]
    >>> _plain_tokens("<p>1 < 2</p>") is None, _plain_tokens("<!-- x --><p>3</p>") is None
    (True, True)
    """
    tokens: list[tuple[int, str, str, dict | None]] = []
    append, unescape, attributes_of = tokens.append, html.unescape, _PLAIN_ATTRIBUTE.findall
    title = None  # where the text of a <title> starts
    seen: dict[str, dict] = {}  # a page repeats its cells' attributes: each read once (the dicts are shared)
    for m in _PLAIN_TOKEN.finditer(text):
        kind = m.lastindex
        if kind == 1:  # text
            data = m.group(1)
            if title is not None and "&" in data:
                return None
            append((m.start(), "data", unescape(data) if "&" in data else data, None))
        elif kind == 4:  # a start tag
            tag, attributes, slash = m.group(2, 3, 4)
            tag = tag.lower()
            if title is not None or (tag in _RAW_TEXT and (tag != "title" or slash)):
                return None
            attrs = seen.get(attributes)
            if attrs is None:  # as HTMLParser: a name alone has the value None, an empty value stays empty
                attrs = seen[attributes] = {a.lower(): (unescape(v) if "&" in v else v) if eq else None
                                            for a, eq, v in attributes_of(attributes)}
            append((m.start(), "startend" if slash else "start", tag, attrs))
            if tag == "title":  # its text and its end, nothing else
                title = m.end()
        elif kind == 5:  # an end tag
            tag = m.group(5).lower()
            if title is not None and tag != "title":
                return None
            title = None
            append((m.start(), "end", tag, None))
        elif kind == 6:  # a "<" that starts none of them
            return None
    return None if title is not None else tokens


class _HtmlReader(_Reader):
    """Table cells by their kind; counts and rates with their denominators row by row; n = k in prose."""

    def __init__(self, *args):
        super().__init__(*args)
        self.columns: list[str] = []
        self.table_name = ""
        self.row: list[tuple[str, dict, str]] = []  # (tag, attrs, text) of the current row's cells
        self.cell_text: list[str] | None = None
        # the current table's column kinds and rates, looked up once a table (its cells and
        # rows ask again and again; what they depend on changes only where a table starts)
        self.kinds: dict[str, str | None] = {}
        self.known: dict[str, tuple[str, str]] | None = None

    def column_kind(self, column: str) -> str | None:
        if column not in self.kinds:
            self.kinds[column] = self.scanner.column_kind(self.table_name, column)
        return self.kinds[column]

    def started(self, tag, attrs):
        if tag == "table":
            self.kinds, self.known = {}, None
            self.columns = [c for c in attrs.get("data-columns", "").split(",") if c]
            self.table_name = Path(attrs.get("data-csv", "")).stem
            if attrs.get("data-csv") and self.scanner.folder is not None:
                # what the table's download declares (columns.json beside the CSV) holds for the page too
                found = _declarations((self.scanner.folder / attrs["data-csv"]).parent)
                if self.table_name in found:
                    self.scanner.declared = {**self.scanner.declared, self.table_name: found[self.table_name]}
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
            if not self.columns and self.row and all(t == "th" for t, _, _ in self.row):
                self.columns = [html.unescape(text).strip() for _, _, text in self.row]  # a header row
                return
            self.rates_in_row()

    def handle_data(self, data):
        if self.cell_text is not None:
            self.cell_text.append(data)
        elif data.strip() and not self.inside("script", "style"):
            self.scanner.prose(self.file, self.where(), data)

    def cell(self, tag, attrs, text):
        position = len(self.row)
        self.row.append((tag, attrs, text))
        column = attrs.get("data-column") or (self.columns[position] if position < len(self.columns) else "")
        where = f"{self.cell_where}, table cell" + (f" '{column}'" if column else "")
        self.scanner.prose(self.file, where, text)  # "Kainuu (n = 3)", "3 (33 %)" whatever the cell
        if (tag == "th" and "data-kind" not in attrs) or COUNT_ATTRIBUTE in attrs:
            return  # a header is a label; a data-count cell is checked by `markup`
        # the column's kind (declared, or said by its name) decides; an attribute on the cell
        # can make it a count, never make a count something else
        kind = self.column_kind(column) if column else None
        if attrs.get("data-kind") == "count":
            kind = "count"
        if kind is None:
            kind = attrs.get("data-kind") or None
            if kind is not None and kind not in NOT_COUNTS:
                kind = None
            if kind == "int":
                kind = None  # a whole number the page calls "int" is still read as people
        if kind == "count" or (kind is None and _whole_number(text) is not None):
            self.scanner.check_count(self.file, where, text)
            value = attrs.get("data-value")
            if value is not None and value.strip() != html.unescape(text).strip():
                self.scanner.check_count(self.file, where + ", data-value", value)

    def rates_in_row(self):
        values = {}
        for position, (_, attrs, text) in enumerate(self.row):
            column = attrs.get("data-column") or (self.columns[position] if position < len(self.columns) else "")
            if column:
                values[column] = attrs.get("data-value", text)
        if self.known is None:
            self.known = self.scanner.rates(self.table_name)
        known = self.known
        for rate, (_, den) in known.items():
            if rate in values and den in values:
                self.scanner.check_rate(self.file, f"{self.cell_where}, table row, column '{rate}'", values[rate],
                                        values[den], den)
        declared = self.scanner.declared.get(self.table_name, {}).get("columns", {})
        kinds = {c: self.column_kind(c) for c in values}
        for rate, value in values.items():
            if kinds[rate] != "rate" or rate in known or rate in declared or _INTERVAL_BOUND.search(rate):
                continue  # a rate nothing pairs: any count of the row may be its denominator
            for den, d in values.items():
                if kinds[den] == "count" or (kinds[den] is None and _whole_number(d) is not None):
                    self.scanner.check_rate(self.file, f"{self.cell_where}, table row, column '{rate}'", value, d, den)


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
            else:  # a tick label is a scale, but "Kainuu (n = 3)" or "3 clients" on one is people
                self.scanner.prose(self.file, f"{self.text_where}, tick label", text)

    def handle_data(self, data):
        if self.parts is not None:
            self.parts.append(data)
        elif self.inside("title", "desc"):
            self.scanner.prose(self.file, self.where(), data)


def _position(text: str, pos: int) -> str:
    return _positions(text)(pos)


def _positions(text: str):
    """The "line L, column C" of places of one text: its line breaks found once (a page has
    thousands of counts, and counting the breaks before each anew grows with the square)."""
    breaks = [m.start() for m in re.finditer("\n", text)]

    def position(pos: int) -> str:
        line = bisect.bisect_left(breaks, pos)
        return f"line {line + 1}, column {pos - (breaks[line - 1] if line else -1)}"
    return position
