"""The website's declared sections (`sections.yaml` beside this file), read and checked.

One entry per section: the warehouse table it needs, its title and introduction in Finnish,
Swedish and English, and its tables, each a query of sql/site/ whose columns are figures of
the catalogue (`ips_eval.figures`), with its keys, its survey items and its chart. From an
entry alone the site reads the section's tables (`tables.read_site_data`), protects them in
the same publication and audit as the employment tables with the relations the catalogue
declares (`tables.section_spec`), scans them, draws their charts and shows them in three
languages (`build`), and docs/analysis_plan.md's list of site sections is checked against it.

Why a declaration and not code: the voices of the evaluation (coaches, clients, care teams,
employers) are a dozen tables of the same few shapes; each new one should cost an entry, not
edits in the reader, the audit, the page and the texts (docs/how-to/add-a-site-section.md).
This module holds data only (it imports neither the warehouse nor the texts), so texts.py
and tables.py both read it.

Examples
--------
>>> [s.name for s in SECTIONS][:2]
['coaching', 'client_views']
>>> section("coaching").tables[0].figures
('contact30_eligible', 'contact30', 'trust', 'cooperation')
>>> item_label("client.tuki_kesto", "en")
'The length of the support suited me'
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from ips_eval import YAML_LOADER, SITE_QUERIES_DIR, definitions
from ips_eval.figures import LANGUAGES, figure
from ips_eval.figures.catalogue import SURVEY_TABLES

SECTIONS_FILE = Path(__file__).with_name("sections.yaml")
#: The key columns a section table may have, and how the page labels their values
#: (`render.label`): a county, a survey round, a survey item.
KEYS: dict[str, str] = {"alue": "county", "round": "round", "item": "item", "characteristic": "characteristic",
                        "code": "code"}
#: The key columns whose rows add up to their `ALL` row (per value of the other keys).
SUMMED_KEYS: tuple[str, ...] = ("alue", "code")
CHARTS: tuple[str, ...] = ("likert", "forest")
KINDS: tuple[str, ...] = ("figures", "subgroup_effects")
#: The placeholders a section's texts may hold, filled from their definitions.
PLACEHOLDERS: frozenset[str] = frozenset({"T", *(f"days_{k}" for k in definitions.COACHING_DAYS)})

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ITEM = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")
_SECTION_FIELDS = {"name", "requires", "labels", "tables"}
_TABLE_FIELDS = {"name", "query", "keys", "figures", "items", "row_total", "caption", "chart", "kind"}


class SectionError(ValueError):
    """An entry of sections.yaml that cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True)
class SectionTable:
    """One table of a section (see sections.yaml for what each field means)."""

    name: str
    query: str
    caption: Mapping[str, str]
    keys: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    row_total: str | None = None
    chart: str | None = None
    kind: str = "figures"

    @property
    def path(self) -> Path:
        return SITE_QUERIES_DIR / self.query


@dataclass(frozen=True)
class Section:
    name: str
    requires: str
    labels: Mapping[str, Mapping[str, str]]
    tables: tuple[SectionTable, ...]


def _fail(path: Path, where: str, message: str) -> SectionError:
    return SectionError(f"{path}: {where}: {message}")


def _texts(path: Path, where: str, given: Any, needed: set[str]) -> dict[str, dict[str, str]]:
    if not isinstance(given, dict) or set(given) != set(LANGUAGES):
        raise _fail(path, where, f"texts in {list(LANGUAGES)}")
    for lang in LANGUAGES:
        texts = given[lang] if isinstance(given[lang], dict) else {}
        if set(texts) != needed:
            raise _fail(path, f"{where}.{lang}", f"needs exactly {sorted(needed)}")
        for key, text in texts.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(str(text)) if f is not None}
            if fields - PLACEHOLDERS:
                raise _fail(path, f"{where}.{lang}.{key}", f"placeholder(s) {sorted(fields - PLACEHOLDERS)} unknown; "
                                                           f"known: {sorted(PLACEHOLDERS)}")
    return {lang: {k: str(v) for k, v in given[lang].items()} for lang in LANGUAGES}


def _named(path: Path, where: str, raw: Any, kind: str, fields: set[str], within: str = "") -> str:
    """Where a declared section or table is (`within` what), once it is a mapping with a name and
    only known fields."""
    if not isinstance(raw, dict) or not _NAME.match(str(raw.get("name", ""))):
        raise _fail(path, where, f"a {kind} is a mapping with a name (lower case letters, digits, _)")
    where = f"{within}{kind} {raw['name']!r}"
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise _fail(path, where, f"unknown field(s) {unknown}; known: {sorted(fields)}")
    return where


def _table(path: Path, where: str, raw: Any, items: Mapping[str, Any]) -> SectionTable:
    where = _named(path, where, raw, "table", _TABLE_FIELDS, within=f"{where}: ")
    query = raw.get("query")
    if not query or not (SITE_QUERIES_DIR / str(query)).is_file():
        raise _fail(path, where, f"field 'query': {query!r} is no file of sql/site/")
    kind = raw.get("kind", "figures")
    if kind not in KINDS:
        raise _fail(path, where, f"field 'kind': {kind!r} is not one of {list(KINDS)}")
    chart = raw.get("chart")
    if chart is not None and chart not in CHARTS:
        raise _fail(path, where, f"field 'chart': {chart!r} is not one of {list(CHARTS)}")
    caption = raw.get("caption")
    if not isinstance(caption, dict) or set(caption) != set(LANGUAGES):
        raise _fail(path, where, f"field 'caption': a caption in each of {list(LANGUAGES)}")
    keys = tuple(raw.get("keys") or ())
    figs = tuple(raw.get("figures") or ())
    table_items = tuple(raw.get("items") or ())
    if kind == "figures":
        if not keys or any(k not in KEYS for k in keys):
            raise _fail(path, where, f"field 'keys': {list(keys)}: each one of {list(KEYS)}")
        if not figs:
            raise _fail(path, where, "field 'figures': the catalogue figures it shows")
        try:
            declared = [figure(f) for f in figs]
        except KeyError as e:
            raise _fail(path, where, f"field 'figures': {e.args[0]}") from None
        tables = {f.table for f in declared}
        if len(tables) != 1 or not tables <= set(SURVEY_TABLES) or any(not f.published for f in declared):
            raise _fail(path, where, f"field 'figures': published figures of one of the tables {list(SURVEY_TABLES)}")
        counts = {f.count for f in declared}
        for f in declared:
            if f.denominator and f.denominator not in counts:
                raise _fail(path, where, f"field 'figures': {f.name!r} is a share of {f.denominator!r}, which no "
                                         "figure of the table counts")
        row_total = raw.get("row_total")
        if row_total is not None and row_total not in counts:
            raise _fail(path, where, f"field 'row_total': {row_total!r} is no count of its figures")
        if ("item" in keys) != bool(table_items):
            raise _fail(path, where, "field 'items': a table keyed by item lists its items (and only such a table)")
    for it in table_items:
        if not _ITEM.match(str(it)) or it not in items:
            raise _fail(path, where, f"field 'items': {it!r} has no label under `items` (source.item)")
    source_items = {f"{s}.{i}" for s, its in definitions.SURVEY_ITEMS.items() for i, _ in its}
    if set(table_items) - source_items:
        raise _fail(path, where, f"field 'items': {sorted(set(table_items) - source_items)} are no survey items "
                                 "(ips_eval.definitions.SURVEY_ITEMS)")
    return SectionTable(name=raw["name"], query=str(query), caption={k: str(v) for k, v in caption.items()},
                        keys=keys, figures=figs, items=table_items, row_total=raw.get("row_total"), chart=chart,
                        kind=kind)


def load_sections(path: Path | str = SECTIONS_FILE) -> tuple[tuple[Section, ...], dict[str, dict[str, str]]]:
    """Read and check the declaration: the sections and the survey items' labels.

    Examples
    --------
    >>> sections, items = load_sections()
    >>> len(sections) >= 4, "employer.palkkaisi_uudelleen" in items
    (True, True)
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as e:
        raise SectionError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
        raise SectionError(f"{path}: the file holds `sections:` (a list) and `items:` (labels)")
    items_raw = raw.get("items") or {}
    items = {key: _texts(path, f"items: {key!r}", {lang: {"label": v} for lang, v in labels.items()}
                         if isinstance(labels, dict) else None, {"label"})
             for key, labels in items_raw.items()}
    out: list[Section] = []
    names: set[str] = set()
    table_names: set[str] = set()
    for i, s in enumerate(raw["sections"]):
        where = _named(path, f"section {i + 1}", s, "section", _SECTION_FIELDS)
        if s["name"] in names:
            raise _fail(path, where, "declared twice")
        names.add(s["name"])
        requires = str(s.get("requires", ""))
        if not re.match(r"^[a-z_]+\.[a-z0-9_]+$", requires):
            raise _fail(path, where, f"field 'requires': {requires!r} is no warehouse table (schema.table)")
        labels = _texts(path, f"{where}: field 'labels'", s.get("labels"), {"title", "intro"})
        tables = tuple(_table(path, where, t, items_raw) for t in s.get("tables") or ())
        if not tables:
            raise _fail(path, where, "field 'tables': a section shows at least one table")
        for t in tables:
            if t.name in table_names:
                raise _fail(path, where, f"table {t.name!r} is declared twice")
            table_names.add(t.name)
        out.append(Section(s["name"], requires, labels, tables))
    return tuple(out), {k: {lang: v[lang]["label"] for lang in LANGUAGES} for k, v in items.items()}


SECTIONS, ITEM_LABELS = load_sections()


def section(name: str) -> Section:
    """The section called `name`."""
    for s in SECTIONS:
        if s.name == name:
            return s
    raise KeyError(f"no section {name!r} in {SECTIONS_FILE.name}; known: {', '.join(s.name for s in SECTIONS)}")


def item_label(key: str, lang: str) -> str:
    """A survey item's label ("source.item") in `lang`; an undeclared item shows its key."""
    return ITEM_LABELS.get(key, {}).get(lang, key)


def section_texts(lang: str) -> dict[str, str]:
    """The sections' texts of `lang` as texts.py keys them (placeholders not yet filled):
    `section_<name>`, `section_<name>_intro`, `caption_<table>` and `item_<source.item>`."""
    out: dict[str, str] = {}
    for s in SECTIONS:
        out[f"section_{s.name}"] = s.labels[lang]["title"]
        out[f"section_{s.name}_intro"] = s.labels[lang]["intro"]
        for t in s.tables:
            out[f"caption_{t.name}"] = t.caption[lang]
    out.update({f"item_{k}": v[lang] for k, v in ITEM_LABELS.items()})
    return out


DOC_HEADER = """# Website sections (generated)

The sections of the website that are declared in `ips_eval/publish/site/sections.yaml`, in
page order (after the client-reported change, before the models): the warehouse table each
needs, its tables with their queries of `sql/site/`, the catalogue figures they show
([figures.md](figures.md)), their survey items and charts. Every table is protected in the
same publication and audit as the employment tables, with the relations the catalogue
declares. Do not edit: run `python -m ips_eval.publish.site.sections > docs/site-sections.md`
(a test fails while this page and the declaration disagree). Adding a section:
[how-to/add-a-site-section.md](how-to/add-a-site-section.md).
"""


def render_doc() -> str:
    """docs/site-sections.md.

    Examples
    --------
    >>> "## `coaching`: The coaching process" in render_doc()
    True
    """
    parts = [DOC_HEADER]
    for s in SECTIONS:
        parts.append(f"\n## `{s.name}`: {s.labels['en']['title']}\n\nNeeds `{s.requires}`; without it the section "
                     "says that its figures are not available.\n\n| table | query | keys | shows | chart |\n"
                     "|---|---|---|---|---|\n")
        for t in s.tables:
            shows = (", ".join(f"`{f}`" for f in t.figures) if t.kind == "figures"
                     else "model 9's estimates with their intervals (levels with at least T treated and T comparison "
                          "persons)")
            if t.items:
                shows += "; items " + ", ".join(f"`{i}`" for i in t.items)
            parts.append(f"| `{t.name}` | `sql/site/{t.query}` | {', '.join(f'`{k}`' for k in t.keys) or '–'} | "
                         f"{shows} | {t.chart or '–'} |\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render_doc(), end="")
