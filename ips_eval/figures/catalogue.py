"""The catalogue of the study's figures (`catalogue.yaml` beside this file), read and checked.

One entry per figure: its count column and the SQL column it is counted from, its
denominator and rate, the relations a reader knows, the follow-up length its labels speak
of, where the website shows it, and its labels in Finnish, Swedish and English. Everything
that lists figures is derived from it: the relations (`ips_eval.figures.relations`, checked
on the warehouse and assumed of a reader), the website's cards, table columns and texts,
the disclosure audit's table descriptions, the site queries' column lists, the figure
columns of the employment marts' contracts (`ips_eval.warehouse.table_contracts.figure_columns`)
and docs/figures.md (`ips_eval.figures.doc`).

Why YAML and not Python: an entry is data that a translator or an analyst edits (labels in
three languages, a definition in words), like the data contracts of `data_contracts/`; the
loader below turns it into frozen dataclasses and refuses a bad entry with its file, entry
and field, so nothing downstream reads an unchecked value.

Examples
--------
>>> [f.name for f in figures("quarterly")]
['served', 'working', 'working_unsubsidised']
>>> rates("quarterly")["rate_working"]
('n_working', 'n_served')
>>> figure("employed12").label("en", "column", threshold=5)
'In work at 12 months'
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from ips_eval import YAML_LOADER, definitions
from ips_eval.figures.within import Within

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")
#: The website's languages, in site order; the first is the default page.
LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
#: The tables the figures are counted in: the headline figures (marts.employment_figures and
#: its slices, on the site the county table, the group tables and the cards) and the
#: quarterly employment rate (marts.employment_rate_by_quarter, the trend section).
#: The tables of the voices of the evaluation (ANALYSIS_PLAN "The coaching process and the
#: voices ..."), each read by a query of sql/site/ from its mart and shown by the site
#: sections that `ips_eval/publish/site/sections.yaml` declares: `coaching` (marts.coaching,
#: per county and ALL), `survey` (an item's answers 1-2, 3 and 4-5 from marts.survey_items,
#: all counties), `yes_no` (a yes/no item's answers, likewise) and `care_staff`
#: (marts.care_staff_scales per round, all counties) and `employer_profile` (employers who
#: answered by industry, size class and sector, marts.employer_profile, all counties).
SURVEY_TABLES: tuple[str, ...] = ("coaching", "survey", "yes_no", "care_staff", "employer_profile")
TABLES: tuple[str, ...] = ("headline", "quarterly", *SURVEY_TABLES)
#: site section -> its table; a table of SURVEY_TABLES is its own "section" here (the site's
#: sections of sections.yaml pick its published figures up as their columns).
SECTIONS: dict[str, str] = {"headline": "headline", "trend": "quarterly", **{t: t for t in SURVEY_TABLES}}
CHARTS: tuple[str, ...] = ("trend",)
LABELS: tuple[str, ...] = ("title", "column", "chart")
#: The placeholders a label may hold: the disclosure threshold, the figure's follow-up and its
#: day limit (`days`: a key of ips_eval.definitions.COACHING_DAYS).
PLACEHOLDERS: tuple[str, ...] = ("T", "months", "days")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RELATION = re.compile(r"^\s*([a-z][a-z0-9_]*(?:\s*\+\s*[a-z][a-z0-9_]*)*)\s*(<=|=)\s*([a-z][a-z0-9_]*)\s*$")
_FIELDS = {"name", "table", "count", "source", "denominator", "denominator_source", "rate", "relations",
           "in_headline", "months", "days", "mean", "site", "description", "labels"}


#: The tables whose rows the headline and the quarterly figures' per-client columns are
#: (`Figure.source`), and the count of the people in them.
CLIENT_OUTCOMES = "core.client_outcomes_asof"
CLIENT_QUARTERS = "core.client_quarters"
PER_CLIENT = {"headline": CLIENT_OUTCOMES, "quarterly": CLIENT_QUARTERS}
POPULATION = {"headline": "n_clients", "quarterly": "n_served"}


def _client_column(source: str | None, table: str = CLIENT_OUTCOMES) -> str | None:
    within, _, column = (source or "").rpartition(".")
    return column if within == table else None


class CatalogueError(ValueError):
    """An entry of the catalogue that cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True)
class Figure:
    """One figure of the catalogue (see catalogue.yaml for what each field means)."""

    name: str
    table: str
    count: str
    source: str
    description: str
    denominator: str | None = None
    denominator_source: str | None = None
    rate: str | None = None
    relations: tuple[Within, ...] = ()
    in_headline: str | None = None
    months: str | None = None
    days: str | None = None  # a day limit of definitions.COACHING_DAYS, the {days} of its labels
    mean: str | None = None  # a mean over the people `count` counts, shown where that count is publishable
    section: str | None = None
    card: bool = False
    chart: str | None = None
    labels: Mapping[str, Mapping[str, str]] | None = None

    @property
    def published(self) -> bool:
        """Shown on the website (else kept in the warehouse and its checks only)."""
        return self.section is not None

    @property
    def own_denominator(self) -> str | None:
        """The denominator when it is this figure's own column (n_<name>_eligible)."""
        return self.denominator if self.denominator_source else None

    @property
    def counts(self) -> tuple[str, ...]:
        """The count columns this figure adds to its table: its count and its own denominator."""
        return (self.count, *((self.own_denominator,) if self.own_denominator else ()))

    @property
    def follow_up_months(self) -> int | None:
        return definitions.SQL_CONSTANTS[self.months] if self.months else None

    def label(self, lang: str, kind: str = "title", *, threshold: int | None = None) -> str:
        """The label `kind` (title, column, chart) in `lang`, its {T} and {months} filled from
        their definitions (`threshold` stands in for the disclosure threshold T).

        Examples
        --------
        >>> figure("tenure6").label("fi", "title")
        'Ensimmäinen työsuhde kesti vähintään 6 kuukautta'
        """
        if not self.labels or kind not in self.labels[lang]:
            raise KeyError(f"figure {self.name!r} has no {kind} label in {lang!r}")
        t = definitions.DISCLOSURE_THRESHOLD if threshold is None else threshold
        return self.labels[lang][kind].format(T=t, months=self.follow_up_months, days=self.day_limit)

    @property
    def day_limit(self) -> int | None:
        return definitions.COACHING_DAYS[self.days] if self.days else None


def _fail(path: Path, where: str, message: str) -> CatalogueError:
    return CatalogueError(f"{path}: {where}: {message}")


def _relation(path: Path, where: str, text: Any) -> Within:
    m = _RELATION.match(str(text))
    if not m:
        raise _fail(path, where, f"relation {text!r} is not of the form 'a <= b', 'a + b <= c' or 'a + b = c'")
    return Within(tuple(p.strip() for p in m[1].split("+")), m[3], "==" if m[2] == "=" else "<=")


def _entry(path: Path, i: int, raw: Any) -> Figure:
    where = f"entry {i + 1}"
    if not isinstance(raw, dict):
        raise _fail(path, where, "an entry is a mapping of fields (name: ..., table: ..., ...)")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(path, where, f"field 'name': {name!r} is not a name (lower case letters, digits, _)")
    where = f"figure {name!r}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise _fail(path, where, f"unknown field(s) {unknown}; known: {sorted(_FIELDS)}")
    for required in ("table", "count", "source", "description"):
        if not raw.get(required):
            raise _fail(path, where, f"field {required!r} is missing")
    if raw["table"] not in TABLES:
        raise _fail(path, where, f"field 'table': {raw['table']!r} is not one of {list(TABLES)}")
    if bool(raw.get("denominator")) != bool(raw.get("rate")):
        raise _fail(path, where, "fields 'denominator' and 'rate' go together (a rate is count / denominator)")
    months = raw.get("months")
    if months is not None and months not in definitions.SQL_CONSTANTS:
        raise _fail(path, where, f"field 'months': {months!r} is not a constant of ips_eval.definitions."
                                 f"SQL_CONSTANTS ({', '.join(definitions.SQL_CONSTANTS)})")
    days = raw.get("days")
    if days is not None and days not in definitions.COACHING_DAYS:
        raise _fail(path, where, f"field 'days': {days!r} is not a day limit of ips_eval.definitions.COACHING_DAYS "
                                 f"({', '.join(definitions.COACHING_DAYS)})")
    site = raw.get("site") or {}
    if not isinstance(site, dict) or set(site) - {"section", "card", "chart"}:
        raise _fail(path, where, "field 'site' holds section, card and chart only")
    section = site.get("section")
    if site and section not in SECTIONS:
        raise _fail(path, where, f"field 'site.section': {section!r} is not one of {list(SECTIONS)}")
    if section and SECTIONS[section] != raw["table"]:
        raise _fail(path, where, f"field 'site.section': section {section!r} shows the {SECTIONS[section]} "
                                 f"table, not {raw['table']!r}")
    chart = site.get("chart")
    if chart is not None and (chart not in CHARTS or not raw.get("rate")):
        raise _fail(path, where, f"field 'site.chart': {chart!r} is not one of {list(CHARTS)} or the figure has no rate")
    if site.get("card") and section != "headline":
        raise _fail(path, where, "field 'site.card': only a figure of the headline section has a card")
    labels = raw.get("labels")
    if section:
        if not isinstance(labels, dict) or set(labels) != set(LANGUAGES):
            raise _fail(path, where, f"field 'labels': a published figure has labels in {list(LANGUAGES)}")
        for lang in LANGUAGES:
            needed = {"title", "column", *(("chart",) if chart else ())}
            given = labels[lang] if isinstance(labels[lang], dict) else {}
            if not needed <= set(given) or set(given) - set(LABELS):
                raise _fail(path, where, f"field 'labels.{lang}': needs {sorted(needed)} (and nothing but {list(LABELS)})")
            for kind, text in given.items():
                fields = {f for _, f, _, _ in string.Formatter().parse(str(text)) if f is not None}
                allowed = {"T", *(("months",) if months else ()), *(("days",) if days else ())}
                if fields - allowed:
                    raise _fail(path, where, f"field 'labels.{lang}.{kind}': placeholder(s) {sorted(fields - allowed)}"
                                             f" unknown; a label may hold {{T}}" + (" and {months}" if months else "")
                                             + (" and {days}" if days else ""))
    return Figure(
        name=name, table=raw["table"], count=raw["count"], source=raw["source"], description=raw["description"],
        denominator=raw.get("denominator"), denominator_source=raw.get("denominator_source"), rate=raw.get("rate"),
        relations=tuple(_relation(path, f"{where}: field 'relations'", r) for r in raw.get("relations") or ()),
        in_headline=raw.get("in_headline"), months=months, days=days, mean=raw.get("mean"), section=section, card=bool(site.get("card")),
        chart=chart, labels={lang: dict(labels[lang]) for lang in LANGUAGES} if section else None,
    )


def load_catalogue(path: Path | str = CATALOGUE_FILE) -> tuple[Figure, ...]:
    """Read and check the catalogue: every entry complete, names and count columns unique,
    every relation between count columns of the figure's own table, every denominator a
    count of it, every quarterly figure's headline count a headline count.

    Examples
    --------
    >>> len(load_catalogue()) > 10
    True
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as e:
        raise CatalogueError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, list):
        raise CatalogueError(f"{path}: the catalogue is a list of entries (- name: ...)")
    out = tuple(_entry(path, i, r) for i, r in enumerate(raw))
    for key in ("name", "count"):
        seen: set[str] = set()
        for f in out:
            if getattr(f, key) in seen:
                raise _fail(path, f"figure {f.name!r}", f"field {key!r}: {getattr(f, key)!r} is declared twice")
            seen.add(getattr(f, key))
    columns = {t: {c for f in out if f.table == t for c in f.counts} for t in TABLES}
    for f in out:
        where = f"figure {f.name!r}"
        if f.denominator and f.denominator not in columns[f.table]:
            raise _fail(path, where, f"field 'denominator': {f.denominator!r} is no count of the {f.table} table")
        for w in f.relations:
            missing = [c for c in w.columns if c not in columns[f.table]]
            if missing:
                raise _fail(path, where, f"field 'relations': {str(w)!r} names {missing}, no count of the {f.table} table")
        if f.table not in PER_CLIENT:  # a survey table: its counts are the columns of its site query
            if f.in_headline and f.in_headline not in columns["headline"]:
                raise _fail(path, where, f"field 'in_headline': {f.in_headline!r} is no headline count")
            continue
        if f.mean:
            raise _fail(path, where, "field 'mean': only a figure of a survey table has a mean")
        per_client = PER_CLIENT[f.table]
        column = _client_column(f.source, per_client)
        named = {"count": (f.count, f"n_{column}"), "rate": (f.rate, f"rate_{column}" if f.rate else None),
                 "denominator": (f.own_denominator, f"n_{_client_column(f.denominator_source, per_client)}"
                                 if f.own_denominator else None)}
        for key, (given, counted) in named.items():
            if column and given != counted:  # the SQL names what it counts after the column it counts
                raise _fail(path, where, f"field {key!r}: {given!r}, but the SQL counts {f.source} as {counted!r}")
        if f.rate and not (_client_column(f.source, per_client)
                           and (f.denominator == POPULATION[f.table] or f.own_denominator)):
            raise _fail(path, where, f"a {f.table} rate is counted from a column of {per_client} (field 'source') "
                                     f"as a share of {POPULATION[f.table]} or of the figure's own denominator "
                                     "(field 'denominator_source', a column of the same table)")
        if f.own_denominator and not _client_column(f.denominator_source, per_client):
            raise _fail(path, where, f"field 'denominator_source': {f.denominator_source!r} is no column of "
                                     f"{per_client}")
        if f.in_headline and (f.table != "quarterly" or f.in_headline not in columns["headline"]):
            raise _fail(path, where, f"field 'in_headline': {f.in_headline!r} is no headline count (or the figure "
                                     "is not quarterly)")
    return out


#: The catalogue, in its order (the order of the website's cards and columns).
FIGURES: tuple[Figure, ...] = load_catalogue()


def figure(name: str) -> Figure:
    """The figure called `name`."""
    for f in FIGURES:
        if f.name == name:
            return f
    raise KeyError(f"no figure {name!r} in {CATALOGUE_FILE.name}; known: {', '.join(f.name for f in FIGURES)}")


def figures(table: str | None = None, *, published: bool | None = None) -> tuple[Figure, ...]:
    """The figures of `table` (all tables by default), only the published ones with `published`."""
    return tuple(f for f in FIGURES if (table is None or f.table == table)
                 and (published is None or f.published == published))


def rates(table: str) -> dict[str, tuple[str, str]]:
    """rate column -> (numerator, denominator) of every figure of `table` with a rate."""
    return {f.rate: (f.count, f.denominator) for f in figures(table) if f.rate}


def sql_parameters() -> dict[str, list[str]]:
    """The catalogue as the warehouse SQL binds it (sql/marts/employment_figures.sql,
    employment_rate_by_quarter.sql): per table, the per-client columns counted
    ($headline_flags: of core.client_outcomes_asof; $quarterly_flags: of core.client_quarters),
    those whose share is a rate ($headline_rated, $quarterly_rated), and every column of the
    table's figures in catalogue order ($headline_columns, $quarterly_columns).

    Examples
    --------
    >>> p = sql_parameters()
    >>> p["headline_flags"][:3], p["headline_rated"][:2]
    (['competitive', 'unsubsidised', 'tenure6'], ['competitive', 'unsubsidised'])
    """
    out: dict[str, list[str]] = {}
    for table, per_client in PER_CLIENT.items():
        fs = figures(table)
        out[f"{table}_flags"] = [c for f in fs for c in (_client_column(f.source, per_client),
                                                         _client_column(f.denominator_source, per_client)) if c]
        out[f"{table}_rated"] = [_client_column(f.source, per_client) for f in fs if f.rate]
        out[f"{table}_columns"] = [c for f in fs for c in (*f.counts, *((f.rate,) if f.rate else ()))]
    return out


def published_counts(table: str) -> tuple[str, ...]:
    """The count columns the website publishes of `table`, in catalogue order."""
    return tuple(c for f in figures(table, published=True) for c in f.counts)


def published_columns(table: str) -> tuple[str, ...]:
    """Every column the website publishes of `table` (counts, own denominators and rates), in
    the order the tables show them: a figure's count, its denominator, its rate."""
    return tuple(c for f in figures(table, published=True) for c in (*f.counts, *((f.rate,) if f.rate else ())))


