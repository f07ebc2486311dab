"""Rendering the site's pages: published tables -> HTML in one language.

Why separate from `build.py`: this module only turns already-published values into markup
(it never reads the warehouse), so the rule "the page shows exactly the CSV's values" is
kept in one place: every cell carries `data-value` (its CSV string) and every count
`data-count` (the site-scan convention), and its visible text is that value formatted for
the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ips_eval.definitions import DISCLOSURE_THRESHOLD
from ips_eval.publish.disclosure import PRIMARY_LABEL, SECONDARY_LABEL
from ips_eval.publish.site import texts
from ips_eval.publish.site.tables import Column, SiteTable

TEMPLATES = Path(__file__).parent / "templates"
#: Where each language's page sits below a snapshot (or the site root); fi is the default.
PAGE = {"fi": "index.html", "sv": "sv/index.html", "en": "en/index.html"}
HISTORY = {"fi": "history.html", "sv": "sv/history.html", "en": "en/history.html"}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True,
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
)


def up(lang: str) -> str:
    """From a language's page back to its variant root ('' for fi, '../' for sv/en)."""
    return "../" * PAGE[lang].count("/")


@dataclass
class Links:
    """Relative paths from one page: to the snapshot's files, to the same variant's other
    languages, and to the site root (history)."""

    snapshot: str  # prefix to the snapshot folder (assets/, data/)
    home: str  # prefix to the variant root (language pages)
    site_root: str  # prefix to the site root (history pages)
    css: str


def page_links(lang: str, quarter: str | None) -> Links:
    """`quarter` None: the page lives in the snapshot; else it is the site root's copy."""
    home = up(lang)
    if quarter is None:
        return Links(snapshot=home, home=home, site_root=home + "../", css=home + "assets/site.css")
    return Links(snapshot=f"{home}{quarter}/", home=home, site_root=home, css=home + "assets/site.css")


# --------------------------------------------------------------------------------------
# Cells and tables
# --------------------------------------------------------------------------------------
def label(lang: str, column: Column, value: str) -> str:
    """The reader's text for a key (a county, a group value, a score, ...)."""
    kind = column.label
    if kind == "county":
        return texts.county(lang, value)
    if kind in ("wave", "smi", "gender", "age_group"):
        return texts.group_value(lang, kind, value)
    if kind in ("category", "score", "survey", "transition"):
        return texts.TEXTS[lang].get(f"{'cat' if kind == 'category' else kind}_{value}", value)
    if kind == "term":
        return texts.term(lang, value)
    if kind == "estimator":
        return texts.TEXTS[lang].get(f"estimator_{value}", value)
    if kind == "year" and value == "ALL":
        return texts.text(lang, "all_years")
    if kind in ("round", "item", "subgroup"):
        return texts.TEXTS[lang].get(f"{kind}_{value}", value)
    if kind == "level":
        return texts.subgroup_level(lang, value)
    if kind == "characteristic":
        return texts.TEXTS[lang].get(f"characteristic_{value}", value)
    if kind == "code":
        return texts.TEXTS[lang].get("ALL_codes" if value == "ALL" else f"code_{value}", value)
    return value


def display(lang: str, column: Column, value: str) -> str:
    """A cell's visible text: its CSV value formatted for the language (labels as they are)."""
    if column.kind == "key":
        return label(lang, column, value)
    if value == "":
        return "–"
    if column.kind == "date":
        return texts.fmt_date(lang, value)
    try:
        x = float(value)
    except ValueError:
        return value  # '<5' or '..'
    if column.kind in ("count", "int"):
        return texts.fmt_number(lang, x)
    if column.kind == "rate":
        return texts.fmt_percent(lang, x)
    if column.kind in ("number", "money"):
        return texts.fmt_number(lang, x, column.decimals)
    if column.kind == "p":
        return ("<" + texts.fmt_number(lang, 0.001, 3)) if x < 0.001 else texts.fmt_number(lang, x, 3)
    return value


@dataclass
class Cell:
    text: str
    value: str
    header: bool = False
    count: bool = False
    numeric: bool = False
    column: str = ""
    kind: str = ""  # the column's declared kind, read by the site scan


@dataclass
class HeaderCell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    scope: str = "col"


@dataclass
class TableView:
    id: str
    caption: str
    csv: str
    header_rows: list[list[HeaderCell]]
    rows: list[list[Cell]]
    compact: bool = False
    columns: list[str] = field(default_factory=list)
    #: The table in the page's language: (format, href) per file, then the data dictionary's.
    downloads: list[tuple[str, str]] = field(default_factory=list)
    dictionary: str = ""
    note: str = ""  # a line under the table (why cells are hidden)

    @property
    def body(self) -> Markup:
        """The body rows' markup (`table_body`)."""
        return table_body(self.rows)


def header_text(lang: str, column: Column, key_header: str | None) -> str:
    if column.kind == "key" and key_header:
        return key_header
    return texts.TEXTS[lang].get(column.header or f"col_{column.name}", column.name)


def table_view(table: SiteTable, lang: str, caption: str, csv_href: str, *, key_header: str | None = None,
               compact: bool = False, downloads: list[tuple[str, str]] | None = None,
               dictionary: str = "") -> TableView:
    """Header rows (a spanning header above grouped columns) and body cells; the first
    column heads its row (`<th scope="row">`)."""
    cols = table.columns
    grouped = any(c.group for c in cols)
    top: list[HeaderCell] = []
    bottom: list[HeaderCell] = []
    i = 0
    while i < len(cols):
        c = cols[i]
        if c.group:
            j = i
            while j < len(cols) and cols[j].group == c.group:
                bottom.append(HeaderCell(texts.text(lang, cols[j].sub or f"col_{cols[j].name}")))
                j += 1
            top.append(HeaderCell(texts.text(lang, c.group), colspan=j - i, scope="colgroup"))
            i = j
        else:
            top.append(HeaderCell(header_text(lang, c, key_header), rowspan=2 if grouped else 1))
            i += 1
    header_rows = [top, bottom] if grouped else [top]
    rows = []
    for r in table.rows:
        rows.append([Cell(display(lang, c, r[c.name]), r[c.name], header=(k == 0), count=(c.kind == "count"),
                          numeric=c.kind not in ("key", "date"), column=c.name, kind=c.kind)
                     for k, c in enumerate(cols)])
    return TableView(table.name, caption, csv_href, header_rows, rows, compact, [c.name for c in cols],
                     downloads or [], dictionary, hidden_note(lang, table))


def table_body(rows: list[list[Cell]]) -> Markup:
    """A table's body rows, one `<tr>` a line: a row's first cell heads it (`<th scope="row">`);
    every cell carries its CSV value (`data-value`), its column and kind, and a count its
    `data-count` (`count_attr`). Written here rather than in the template because a page has
    thousands of cells and the template's loop costs most of the page's rendering; the markup
    is the same, every value escaped as the template escapes it.

    Examples
    --------
    >>> print(table_body([[Cell("A", "A", header=True, kind="key"),
    ...                    Cell("<5", "<5", count=True, numeric=True, column="n", kind="count")]]), end="")
    <tr><th scope="row" data-value="A" data-kind="key">A</th><td data-value="&lt;5" data-column="n" \
data-kind="count" data-count="&lt;5" class="num">&lt;5</td></tr>
    """
    out = []
    for row in rows:
        out.append("<tr>")
        for c in row:
            value = _escaped(c.value)
            if c.header:
                out.append(f'<th scope="row" data-value="{value}" data-kind="{_escaped(c.kind)}">'
                           f'{_escaped(c.text)}</th>')
            else:
                count = f' data-count="{value}"' if c.count else ""
                numeric = ' class="num"' if c.numeric else ""
                out.append(f'<td data-value="{value}" data-column="{_escaped(c.column)}" data-kind="{_escaped(c.kind)}"'
                           f'{count}{numeric}>{_escaped(c.text)}</td>')
        out.append("</tr>\n")
    return Markup("".join(out))


def _escaped(value: object) -> str:
    """What the template writes for a value (`markupsafe.escape`), for plain text by replacing
    the same five characters, without a `Markup` made of every value of every cell.

    Examples
    --------
    >>> text = "<5 & 'x' " + '"y" >'
    >>> _escaped(text) == str(escape(text)), _escaped(Markup("<b>")), _escaped(3)
    (True, '<b>', '3')
    """
    if type(value) is not str:
        return str(escape(value))
    return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;") \
        .replace('"', "&#34;")


def hidden_note(lang: str, table: SiteTable) -> str:
    """Why a table shows cells as `..`: the groups of its own rows whose small counts they
    protect (the rows with a `<T` count), or, when it has none, small counts elsewhere (other
    tables, earlier releases). Empty when nothing is hidden as `..`.

    Examples
    --------
    >>> from ips_eval.publish.site.tables import Column
    >>> t = SiteTable("g", (Column("group_value", "key", label="gender"), Column("n_x", "count")),
    ...               [{"group_value": "1", "n_x": ".."}, {"group_value": "9", "n_x": "<5"}])
    >>> hidden_note("en", t)
    'Cells marked .. are left out so that the small counts (<5) of these groups cannot be worked out from totals: not known.'
    """
    counts = [c for c in table.columns if c.kind == "count"]
    if not any(r[c.name] == SECONDARY_LABEL for r in table.rows for c in counts):
        return ""
    key = next((c for c in table.columns if c.kind == "key"), None)
    small = [r for r in table.rows if any(r[c.name] == PRIMARY_LABEL for c in counts)]
    if key is None or not small:
        return texts.text(lang, "hidden_note_elsewhere")
    groups = list(dict.fromkeys(label(lang, key, r[key.name]) for r in small))
    return texts.text(lang, "hidden_note_groups", groups=", ".join(groups))


def render(template: str, **context) -> str:
    return _env.get_template(template).render(**context)


def css() -> str:
    return (TEMPLATES / "site.css").read_text(encoding="utf-8")


def count_attr(value: str) -> Markup:
    """`data-count="..."` for a published count (escaped: '<5' becomes '&lt;5')."""
    return Markup(' data-count="{}"').format(value)


_env.globals.update(T=DISCLOSURE_THRESHOLD, count_attr=count_attr)
