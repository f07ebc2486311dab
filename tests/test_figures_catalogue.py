"""The figure catalogue (ips_eval/figures/catalogue.yaml): a bad entry is refused with its file,
figure and field; the page docs/figures.md is generated from it; what the site shows of the
figures follows it."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import yaml

from ips_eval import PROJECT_ROOT, YAML_LOADER
from ips_eval.figures import FIGURES, CatalogueError, load_catalogue, published_columns
from ips_eval.figures.catalogue import CATALOGUE_FILE, sql_parameters
from ips_eval.figures.doc import render
from ips_eval.publish.site import texts
from ips_eval.publish.site.build import CARDS
from ips_eval.publish.site.tables import OUTCOME_COLUMNS, QUARTER_COLUMNS


def test_docs_figures_md_is_generated_from_the_catalogue():
    page = (PROJECT_ROOT / "docs" / "figures.md").read_text(encoding="utf-8")
    assert page == render(), "docs/figures.md is stale: python -m ips_eval.figures.doc > docs/figures.md"


def _entries() -> list[dict]:
    """The catalogue's entries as written: a fresh copy for each caller to change."""
    return copy.deepcopy(_read_entries())


@functools.cache
def _read_entries() -> list[dict]:
    return yaml.load(CATALOGUE_FILE.read_text(encoding="utf-8"), Loader=YAML_LOADER)


def _write(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _changed(name: str, **fields) -> list[dict]:
    entries = _entries()
    entry = next(e for e in entries if e["name"] == name)
    for key, value in fields.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entries


def test_the_catalogue_as_written_loads(tmp_path):
    assert load_catalogue(_write(tmp_path, _entries())) == FIGURES


@pytest.mark.parametrize("entries,expected", [
    (_changed("employed12", colour="red"), "figure 'employed12': unknown field(s) ['colour']"),
    (_changed("employed12", months="follow_up_forever"), "figure 'employed12': field 'months': 'follow_up_forever'"),
    (_changed("employed12", relations=["n_employed12 < n_competitive"]), "figure 'employed12': field 'relations'"),
    (_changed("employed12", relations=["n_employed12 <= n_hired"]), "names ['n_hired'], no count of the headline"),
    (_changed("employed12", denominator=None), "fields 'denominator' and 'rate' go together"),
    (_changed("tenure6", count="n_employed12"), "field 'count': 'n_employed12' is declared twice"),
    (_changed("competitive", labels={"fi": {"title": "x", "column": "y"}, "en": {"title": "x", "column": "y"}}),
     "figure 'competitive': field 'labels': a published figure has labels in ['fi', 'sv', 'en']"),
    (_changed("competitive", labels={lang: {"title": "vähintään {n} ({T})", "column": "y"} for lang in ("fi", "sv", "en")}),
     "field 'labels.fi.title': placeholder(s) ['n'] unknown"),
    (_changed("competitive", labels={lang: {"title": "{months} kk", "column": "y"} for lang in ("fi", "sv", "en")}),
     "placeholder(s) ['months'] unknown; a label may hold {T}"),
    (_changed("served", site={"section": "headline"}), "section 'headline' shows the headline table, not 'quarterly'"),
    (_changed("unsubsidised", denominator="n_competitive"), "a headline rate is counted from a column of"),
    (_changed("working", in_headline="n_hired"), "field 'in_headline': 'n_hired' is no headline count"),
    (_changed("employed6", rate="rate_at6"), "field 'rate': 'rate_at6', but the SQL counts "
                                            "core.client_outcomes_asof.employed6 as 'rate_employed6'"),
])
def test_a_bad_entry_is_refused_naming_file_figure_and_field(tmp_path, entries, expected):
    with pytest.raises(CatalogueError) as e:
        load_catalogue(_write(tmp_path, entries))
    assert str(e.value).startswith(str(tmp_path / "catalogue.yaml")) and expected in str(e.value)


def test_the_site_shows_the_published_figures_of_the_catalogue_and_only_those():
    from ips_eval.publish.site.sections import SECTIONS
    from ips_eval.publish.site.tables import section_columns

    published = [f for f in FIGURES if f.published]
    declared = [t for s in SECTIONS for t in s.tables if t.kind == "figures"]
    shown = {c.name for c in (*OUTCOME_COLUMNS, *QUARTER_COLUMNS)}
    shown |= {c.name for t in declared for c in section_columns(t) if c.kind != "key"}
    assert shown == {c for f in published for c in (*f.counts, *((f.rate,) if f.rate else ()),
                                                      *((f.mean,) if f.mean else ()))}
    assert {f.name for f in published if f.table not in ("headline", "quarterly")} == {
        name for t in declared for name in t.figures}
    assert not shown & {c for f in FIGURES if not f.published for c in f.counts}
    assert [count for _, count, _, _ in CARDS] == [f.count for f in published if f.card]
    for lang in texts.TEXTS:  # every card, column and chart line has its words, from the catalogue
        for f in published:
            assert texts.text(lang, f"col_{f.count}") == f.label(lang, "column")
            assert texts.text(lang, f"h_{f.name}") == f.label(lang, "title")


def test_the_warehouse_sql_counts_every_per_client_column_the_catalogue_names():
    params = sql_parameters()
    assert params["headline_columns"] == list(
        c for f in FIGURES if f.table == "headline" for c in (*f.counts, *((f.rate,) if f.rate else ())))
    assert set(params["headline_rated"]) <= set(params["headline_flags"])
    assert set(published_columns("headline")) <= set(params["headline_columns"])
