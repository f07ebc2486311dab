"""The site's downloads as a researcher opens them: XLSX and CSV per language, and a data dictionary.

Each table of the site (`SiteData.tables()`, so a table added there gets its downloads with no
change here) is written to `data/<lang>/<table>.xlsx` and `data/<lang>/<table>.csv`:

- headings and values labelled in the page's language (a county's name, "nainen", "hyvä"),
  the same labels the page shows (`render.label`), with the disclosure labels (`<5`, `..`,
  `:`) kept as they are;
- numbers as numbers: rates in percent (as the page shows them, under a heading ending in
  `%`), a duration in the unit its chart shows (`Column.unit` "days" -> months);
- CSV written for Excel in the language's locale: Finnish and Swedish `;` between fields and
  a decimal comma, English `,` and a decimal point; UTF-8 with a byte-order mark, so that a
  double-click in Excel reads ä and ö;
- `dictionary.xlsx` / `dictionary.csv`: every file and column with its warehouse name, its
  definition from the table contract (`sql/<schema>/<table>.yml`, the catalogue's figures
  expanded in it), its unit, its values and its disclosure rule, generated from those
  declarations and the page's texts, never written by hand.

Beside them `columns.json` declares each file's headings and what they hold (count, rate,
...), so that the disclosure scan reads these files by their declared kinds as it reads the
code-keyed `data/<table>.csv`; the dictionary's columns are declared `text`: it is
documentation and holds no count, and the scan reads its cells as prose (a "3 asiakasta" in
it would still be found).

The code-keyed `data/<table>.csv` stay as they are: they are what the next release reads back
as this one's published figures (rule 8) and what the pages' tables declare.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping

from ips_eval.figures import HEADLINE_RATES, QUARTERLY_RATES, figures
from ips_eval.publish.disclosure import HIDDEN_LABEL, PRIMARY_LABEL, SECONDARY_LABEL, WITHHELD_LABEL
from ips_eval.publish.site import texts
from ips_eval.remembered import Remembered
from ips_eval.publish.site.render import label as value_label
from ips_eval.publish.site.tables import DAYS_PER_MONTH, Column, SiteTable
from ips_eval.warehouse.table_contracts import TableContract, table_contracts

DICTIONARY = "dictionary"
#: Field separator and decimal mark of each language's CSV (Excel's defaults in that locale).
CSV_FORMAT: dict[str, tuple[str, str]] = {"fi": (";", ","), "sv": (";", ","), "en": (",", ".")}
FORMATS = ("xlsx", "csv")
#: The dictionary's columns (text keys); all of them text, no counts.
DICTIONARY_COLUMNS = ("dict_file", "dict_table", "dict_column", "dict_source", "dict_description",
                      "dict_definition", "dict_unit", "dict_values", "dict_rule")
_LABELS = (PRIMARY_LABEL, SECONDARY_LABEL, HIDDEN_LABEL, WITHHELD_LABEL)


@dataclass(frozen=True)
class Download:
    """One table in one language: its file stem, headings and labelled cells."""

    name: str
    title: str
    headers: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: list[list]  # cells: str (labels and keys), int, Decimal, dt.date or None


def data_dir(snapshot: Path, lang: str) -> Path:
    return Path(snapshot) / "data" / lang


def href(lang: str, name: str, fmt: str) -> str:
    """A download's path below the snapshot folder."""
    return f"data/{lang}/{name}.{fmt}"


# --------------------------------------------------------------------------------------
# Headings and values in the page's language
# --------------------------------------------------------------------------------------
def header(lang: str, column: Column) -> str:
    """The column's heading: its own header under a spanning one becomes 'group: sub', a key
    column labelled by a grouping is named by the grouping, a duration by its shown unit."""
    t = texts.TEXTS[lang]
    if column.unit == "days":
        return t["col_months_since_start"]
    if column.group:
        text = f"{t[column.group]}: {t[column.sub or f'col_{column.name}']}"
    elif column.kind == "key" and column.label and f"grouping_{column.label}" in t:
        text = t[f"grouping_{column.label}"]
    else:
        text = t.get(column.header or f"col_{column.name}", column.name)
    # a rate is written in percent: its heading says so
    return text if column.kind != "rate" or text.endswith("%") else f"{text} (%)"


def _decimal(value: str) -> Decimal | None:
    try:
        d = Decimal(value)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def cell(lang: str, column: Column, value: str):
    """A published CSV string as the download's cell: a label in the page's language, a
    disclosure label as it is, or a number in the shown unit."""
    if value == "":
        return None
    if column.kind == "key":
        return value_label(lang, column, value)
    if value in _LABELS:
        return value
    if column.kind == "date":
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    number = _decimal(value)
    if number is None:
        return value
    if column.unit == "days":
        return (number / Decimal(str(DAYS_PER_MONTH))).quantize(Decimal("0.01"))
    if column.kind in ("count", "int"):
        return int(number)
    if column.kind == "rate":
        return (number * 100).quantize(Decimal("0.01"))
    return number


def kind(column: Column) -> str:
    """The kind the scan reads the download's column as (a duration in months is a number)."""
    return "number" if column.unit == "days" else column.kind


def download(lang: str, table: SiteTable, title: str) -> Download:
    heads = [header(lang, c) for c in table.columns]
    seen: dict[str, int] = {}
    for i, h in enumerate(heads):  # a heading twice would make the column ambiguous
        seen[h] = seen.get(h, 0) + 1
        if seen[h] > 1:
            heads[i] = f"{h} ({table.columns[i].name})"
    rows = [[cell(lang, c, r[c.name]) for c in table.columns] for r in table.rows]
    return Download(table.name, title, tuple(heads), tuple(kind(c) for c in table.columns), rows)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
def csv_text(lang: str, d: Download) -> str:
    """The table as CSV for Excel in `lang`'s locale (without the byte-order mark)."""
    sep, mark = CSV_FORMAT[lang]
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    w.writerow(d.headers)
    for row in d.rows:
        w.writerow([_csv_cell(lang, v, mark) for v in row])
    return out.getvalue()


def _csv_cell(lang: str, value, mark: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat() if lang == "en" else f"{value.day}.{value.month}.{value.year}"
    if isinstance(value, Decimal):
        small = value != 0 and abs(value) < Decimal("0.0001")  # a p-value: 1,2E-16 rather than 17 zeros
        return (f"{value:.3E}" if small else format(value, "f")).replace(".", mark)
    return str(value)


def write_csv(path: Path, lang: str, d: Download) -> None:
    path.write_bytes(csv_text(lang, d).encode("utf-8-sig"))


#: Workbooks made in this process, by the digest of their download (`write_xlsx`).
_MADE: Remembered[bytes] = Remembered(512)


def write_xlsx(path: Path, d: Download) -> None:
    """One sheet named by the table's title (Excel allows 31 characters), headings in row 1,
    numbers as numbers; the sheet is the table the file's name declares in columns.json.
    Written with fixed document properties, so that a re-run gives the same bytes; and since
    it does, a download (title, headings, kinds and cells) made into a workbook once in a
    process is not made again."""
    key = hashlib.sha256(repr((d.name, d.title, d.headers, d.kinds, d.rows)).encode()).hexdigest()
    made = _MADE.get(key)
    if made is None:
        made = _xlsx_bytes(d)
        _MADE.put(key, made)
    path.write_bytes(made)


def _xlsx_bytes(d: Download) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _sheet_title(d.title)
    sheet.append(list(d.headers))
    for c in sheet[1]:
        c.font = Font(bold=True)
    for row in d.rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    for j, k in enumerate(d.kinds, start=1):
        fmt = {"date": "d.m.yyyy", "rate": "0.0"}.get(k)
        for (c,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            if fmt and not isinstance(c.value, str) and c.value is not None:
                c.number_format = fmt
    for j, h in enumerate(d.headers, start=1):
        width = max([len(str(h))] + [len(str(r[j - 1])) for r in d.rows if r[j - 1] is not None])
        sheet.column_dimensions[openpyxl.utils.get_column_letter(j)].width = min(60, max(8, width + 2))
    sheet.freeze_panes = "A2"
    fixed = dt.datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "ips-eval"
    raw = io.BytesIO()
    book.save(raw)
    # openpyxl stamps the save time into the document properties and the zip entries: fixed too
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>2000-01-01T00:00:00Z\2",
                              data)
            dst.writestr(entry, data)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    clean = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (clean[:31].rstrip() or "data")


# --------------------------------------------------------------------------------------
# The data dictionary
# --------------------------------------------------------------------------------------
def _contract(table: SiteTable, contracts: Mapping[str, TableContract]) -> TableContract | None:
    for name in (table.source, f"marts.{table.name}", f"models.{table.name}"):
        if name and name in contracts:
            return contracts[name]
    return None


def _definition(column: Column, contract: TableContract | None) -> tuple[str, str]:
    """(warehouse column, its contract's description) for the column, when declared."""
    if contract is None:
        return "", ""
    names = [column.source or column.name]
    for c in contract.columns:
        if c.name in names:
            return f"{contract.name}.{c.name}", c.description
    return "", ""


def _figure_titles(lang: str) -> dict[str, str]:
    """The catalogue's title of each published figure, by its count, rate and own denominator."""
    t = texts.TEXTS[lang]
    out = {}
    for f in figures(published=True):
        title = f.label(lang, "title")
        out[f.count] = title
        if f.rate:
            out[f.rate] = f"{title} ({t['sub_rate']})"
        if f.own_denominator:
            out[f.own_denominator] = f"{title}: {t['sub_eligible']}"
    return out


def _unit(lang: str, column: Column) -> str:
    key = "unit_months" if column.unit == "days" else f"unit_{column.kind}"
    return texts.TEXTS[lang].get(key, "")


def _values(lang: str, column: Column, table: SiteTable) -> str:
    """A key column's codes with their labels in `lang` (the code-keyed CSV holds the codes)."""
    if column.kind != "key":
        return ""
    seen = list(dict.fromkeys(r[column.name] for r in table.rows if r[column.name] != ""))
    parts = []
    for code in seen:
        shown = value_label(lang, column, code)
        parts.append(shown if shown == code else f"{code} = {shown}")
    return "; ".join(parts)


def _rule(lang: str, column: Column) -> str:
    key = {"count": "dict_rule_count", "rate": "dict_rule_rate", "number": "dict_rule_summary",
           "money": "dict_rule_summary", "p": "dict_rule_summary"}.get(column.kind)
    return texts.text(lang, key) if key else ""


def dictionary(lang: str, tables: list[tuple[SiteTable, Download]],
               contracts: Mapping[str, TableContract] | None = None) -> Download:
    """Every file and column of `lang`'s downloads, the dictionary's own included."""
    t = texts.TEXTS[lang]
    contracts = table_contracts() if contracts is None else contracts
    rows: list[list] = []
    titles = _figure_titles(lang)
    for table, d in tables:
        contract = _contract(table, contracts)
        files = " / ".join(f"{table.name}.{fmt}" for fmt in FORMATS)
        for column, head in zip(table.columns, d.headers):
            source, definition = _definition(column, contract)
            rows.append([files, d.title, head, source, titles.get(column.name, head), definition, _unit(lang, column),
                         _values(lang, column, table), _rule(lang, column)])
    heads = tuple(t[k] for k in DICTIONARY_COLUMNS)
    files = " / ".join(f"{DICTIONARY}.{fmt}" for fmt in FORMATS)
    for key, head in zip(DICTIONARY_COLUMNS, heads):
        rows.append([files, t["dict_title"], head, "", t[f"{key}_about"], "", "", "", ""])
    return Download(DICTIONARY, t["dict_title"], heads, ("text",) * len(heads), rows)


# --------------------------------------------------------------------------------------
# Everything for one snapshot
# --------------------------------------------------------------------------------------
def write_downloads(snapshot: Path, tables: list[SiteTable], titles: Mapping[str, Mapping[str, str]]) -> dict:
    """Write every table and the dictionary in every language under `snapshot/data/<lang>/`,
    with `columns.json` declaring what each file's columns hold. `titles`: lang -> table ->
    the caption the page shows it under (a table the page does not show is titled by its name).
    Returns lang -> list of files written."""
    from ips_eval.publish.site.scan import COLUMNS_FILE

    contracts = table_contracts()
    written: dict[str, list[Path]] = {}
    for lang in texts.LANGUAGES:
        folder = data_dir(snapshot, lang)
        folder.mkdir(parents=True, exist_ok=True)
        made = [(table, download(lang, table, titles.get(lang, {}).get(table.name, table.name))) for table in tables]
        made_dict = dictionary(lang, made, contracts)
        declared = {}
        files = []
        for table, d in [*made, (None, made_dict)]:
            write_csv(folder / f"{d.name}.csv", lang, d)
            write_xlsx(folder / f"{d.name}.xlsx", d)
            files += [folder / f"{d.name}.csv", folder / f"{d.name}.xlsx"]
            entry = {"columns": dict(zip(d.headers, d.kinds))}
            rates = _rates(table, d) if table is not None else {}
            if rates:
                entry["rates"] = rates
            declared[d.name] = entry
        (folder / COLUMNS_FILE).write_text(json.dumps({"tables": declared}, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
        written[lang] = files
    return written


def _rates(table: SiteTable, d: Download) -> dict[str, list[str]]:
    """Each rate's numerator and denominator by their headings, so that the scan checks a
    rate against its denominator in this file as in the code-keyed one."""
    heads = {c.name: h for c, h in zip(table.columns, d.headers)}
    known = {**HEADLINE_RATES, **QUARTERLY_RATES}
    return {heads[r]: [heads[n], heads[den]] for r, (n, den) in known.items()
            if r in heads and n in heads and den in heads}

