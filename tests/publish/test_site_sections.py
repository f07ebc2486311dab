"""The declared site sections (ips_eval/publish/site/sections.yaml): the declaration checked,
the Likert and "for whom" charts drawn from small tables, model 9's table read only where it
is and only its levels with at least T treated and T comparison persons, and the survey
tables protected with the relations the catalogue declares."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ips_eval.definitions import DISCLOSURE_THRESHOLD as T
from ips_eval.publish.disclosure import PRIMARY_LABEL, SECONDARY_LABEL, protect
from ips_eval.publish.site import charts, texts
from ips_eval.publish.site.sections import SECTIONS, SectionError, load_sections, section
from ips_eval.publish.site.tables import (
    SUBGROUP_COLUMNS, Column, SiteTable, section_columns, section_spec, subgroup_effects,
)

SECTIONS_FILE = Path(__file__).resolve().parents[2] / "ips_eval" / "publish" / "site" / "sections.yaml"


def _likert(rows):
    cols = (Column("item", "key", label="item"), Column("n_answered", "count"), Column("share_low", "rate"),
            Column("share_mid", "rate"), Column("share_high", "rate"))
    return SiteTable("t", cols, [dict(zip([c.name for c in cols], r)) for r in rows])


def test_the_four_voices_and_for_whom_are_declared_with_texts_in_three_languages():
    assert [s.name for s in SECTIONS] == ["coaching", "client_views", "care_teams", "employers", "for_whom"]
    for lang in texts.TEXTS:
        for s in SECTIONS:
            assert texts.text(lang, f"section_{s.name}") and texts.text(lang, f"section_{s.name}_intro")
            assert "{" not in texts.text(lang, f"section_{s.name}_intro")  # every definition filled in
            for t in s.tables:
                assert texts.text(lang, f"caption_{t.name}")
                for item in t.items:
                    assert texts.text(lang, f"item_{item}") != item
    # the day limit is read from its definition, not typed
    assert "30" in texts.text("en", "section_coaching_intro")


def test_a_bad_declaration_is_refused_naming_the_entry(tmp_path):
    good = SECTIONS_FILE.read_text(encoding="utf-8")
    cases = {
        "figures: [contact30_eligible, contact30, trust, cooperation]": ("figures: [contact30, nonesuch]",
                                                                         "nonesuch"),
        "query: coaching_process.sql": ("query: missing.sql", "missing.sql"),
        "items: [coach.luottamus, coach.yhteistyo_hoitotaho]": ("items: [coach.luottamus, coach.unknown]",
                                                               "coach.unknown"),
        "title: Valmennusprosessi": ("title: Valmennusprosessi {weeks}", "weeks"),
    }
    for old, (new, named) in cases.items():
        path = tmp_path / "sections.yaml"
        path.write_text(good.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(SectionError, match=re.escape(named)):
            load_sections(path)
    # a share whose denominator the table does not show
    path.write_text(good.replace("figures: [contact30_eligible, contact30, trust, cooperation]",
                                 "figures: [contact30, trust]", 1), encoding="utf-8")
    with pytest.raises(SectionError, match="n_contact30_eligible"):
        load_sections(path)


def test_likert_chart_draws_three_shares_and_leaves_a_hidden_row_empty(tmp_path):
    table = _likert([("client.tyytyvaisyys", "40", "0.1000", "0.2500", "0.6500"),
                     ("client.tuki_kesto", "..", SECONDARY_LABEL, "0.3000", "0.4000")])
    svg = charts.likert_chart(table, "en", tmp_path / "l.svg").read_text(encoding="utf-8")
    assert "Satisfied with the coaching" in svg and "The length of the support suited me" in svg
    assert texts.text("en", "likert_high") in svg
    starts, widths = charts.likert_bars(table)
    # 1-2 (0.10) ends where 3 (0.25) begins, at -0.125; 4-5 (0.65) starts at +0.125
    assert [round(float(starts[c][0]), 3) for c in ("share_low", "share_mid", "share_high")] == [-0.225, -0.125, 0.125]
    assert [round(float(widths[c][0]), 3) for c in ("share_low", "share_mid", "share_high")] == [0.1, 0.25, 0.65]
    assert all(float(widths[c][1]) == 0 for c in widths)  # a hidden share: the row is not drawn


def test_a_chart_drawn_again_from_other_texts_or_cells_is_drawn_anew(tmp_path, monkeypatch):
    """A chart is remembered by everything it is drawn from: the same inputs give the same
    bytes, another cell or another text a new drawing that shows it."""
    table = _likert([("client.tyytyvaisyys", "40", "0.1000", "0.2500", "0.6500")])
    first = charts.likert_chart(table, "en", tmp_path / "a.svg").read_bytes()
    assert charts.likert_chart(table, "en", tmp_path / "b.svg").read_bytes() == first
    other = _likert([("client.tyytyvaisyys", "40", "0.6500", "0.2500", "0.1000")])
    assert charts.likert_chart(other, "en", tmp_path / "c.svg").read_bytes() != first
    monkeypatch.setitem(texts.TEXTS["en"], "likert_x", "Share of the answers, relabelled")
    assert "relabelled" in charts.likert_chart(table, "en", tmp_path / "d.svg").read_text(encoding="utf-8")


def test_forest_chart_draws_each_level_with_its_interval(tmp_path):
    rows = [{"subgroup": "age_group", "level": "40-49", "estimate": "1.2000", "ci_low": "0.4000",
             "ci_high": "2.0000", "p_heterogeneity": "0.04"},
            {"subgroup": "gender", "level": "2", "estimate": "-0.3000", "ci_low": "-1.1000", "ci_high": "0.5000",
             "p_heterogeneity": "0.6"}]
    table = SiteTable("effect_by_subgroup", SUBGROUP_COLUMNS, rows)
    svg = charts.forest_chart(table, "fi", tmp_path / "f.svg").read_text(encoding="utf-8")
    assert "Ikäryhmä – 40–49 vuotta" in svg and "Sukupuoli – nainen" in svg
    assert texts.text("fi", "forest_x") in svg


def _model9(con, rows):
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    df = pd.DataFrame(rows, columns=["subgroup", "level", "n_treated", "n_comparison", "estimate", "ci_low",
                                     "ci_high", "p_heterogeneity", "status", "status_reason"])
    con.execute("CREATE OR REPLACE TABLE models.effect_by_subgroup AS SELECT * FROM df")


def test_subgroup_effects_show_only_levels_with_t_treated_and_t_comparison_persons():
    table = section("for_whom").tables[0]
    con = duckdb.connect()
    assert subgroup_effects(con, table) is None  # no model 9 in the warehouse: skipped, no error
    _model9(con, [
        ("gender", "1", 40, 80, 0.5, 0.1, 0.9, 0.3, "fitted", None),
        ("gender", "2", T - 1, 60, 0.9, 0.2, 1.6, 0.3, "fitted", None),       # too few treated
        ("age_group", "40-49", 30, T - 1, 1.1, 0.3, 1.9, 0.02, "fitted", None),  # too few compared
        ("age_group", "18-29", 30, 50, 0.2, -0.3, 0.7, 0.02, "fitted", None),
        ("smi", "yes", 30, 50, None, None, None, None, "not_fitted", "no overlap"),
    ])
    shown = subgroup_effects(con, table)
    assert [(r["subgroup"], r["level"]) for r in shown.rows] == [("age_group", "18-29"), ("gender", "1")]
    assert not {"n_treated", "n_comparison"} & {c.name for c in shown.columns}  # counts are not published
    assert shown.rows[1]["estimate"] == "0.5000" and shown.rows[1]["ci_high"] == "0.9000"


def test_a_survey_item_is_protected_as_three_parts_of_those_who_answered():
    """2 answered 1-2 of 40: hidden, and so are the parts that would give it away, since the
    parts add up to the answers (the catalogue's relation); hidden parts show no share."""
    table = section("employers").tables[0]
    spec, links = section_spec(table)
    assert links == []
    df = pd.DataFrame({"item": ["employer.tyytyvaisyys", "employer.tyontekija"], "n_answered": [40, 30],
                       "n_low": [2, 6], "n_mid": [8, 9], "n_high": [30, 15],
                       "share_low": [2 / 40, 6 / 30], "share_mid": [8 / 40, 9 / 30], "share_high": [30 / 40, 15 / 30]})
    shown = protect({table.name: df}, [spec]).published(table.name)
    first = shown.iloc[0]
    assert first["n_low"] == PRIMARY_LABEL and isinstance(first["share_low"], str)  # a label, not 0.05
    # 3 alone hidden would be 40 - 30 - (0..4) = 6..10, under T wide: 4-5 is hidden too
    assert [first[c] for c in ("n_answered", "n_mid", "n_high")] == [40, SECONDARY_LABEL, SECONDARY_LABEL]
    assert isinstance(first["share_mid"], str) and isinstance(first["share_high"], str)
    assert list(shown.iloc[1][["n_low", "n_mid", "n_high"]]) == [6, 9, 15]
    assert [c.name for c in section_columns(table)][:3] == ["item", "n_answered", "n_low"]


def test_coaching_counts_are_within_the_county_tables_clients():
    spec, links = section_spec(section("coaching").tables[0])
    assert [(k.total, k.parts, k.sense, dict(k.columns)["n_contact30_eligible"]) for k in links] == [
        ("employment_outcomes", "coaching_process", "<=", "n_clients")]
    assert spec.summaries == {"mean_trust": ("n_trust",), "mean_cooperation": ("n_cooperation",)}


def test_docs_site_sections_md_is_generated_from_the_declaration():
    from ips_eval.publish.site.sections import render_doc

    doc = Path(__file__).resolve().parents[2] / "docs" / "site-sections.md"
    assert doc.read_text(encoding="utf-8") == render_doc(), \
        "run: python -m ips_eval.publish.site.sections > docs/site-sections.md"


def test_for_whom_is_drawn_from_model_9_when_the_models_wrote_it(published_minimal, tmp_path):
    """On a published warehouse with model 9's table added: the section shows the levels with
    at least T treated and T comparison persons, their chart in three languages, and the
    download; the level with too few treated is nowhere on the page."""
    import datetime as dt

    from ips_eval.publish.site.build import build_site

    with duckdb.connect(str(published_minimal)) as con:
        _model9(con, [("age_group", "40-49", 40, 90, 1.4, 0.6, 2.2, 0.03, "fitted", None),
                      ("age_group", "18-29", T - 1, 90, 9.9, 8.8, 11.1, 0.03, "fitted", None),
                      ("gender", "2", 50, 80, 0.7, 0.1, 1.3, 0.5, "fitted", None)])
        result = build_site(con, tmp_path / "site", dt.date(2024, 12, 31),
                            {"run_id": "for-whom", "code_version": "t", "input_fingerprint": "0" * 64})
    csv_text = (result.snapshot_dir / "data" / "effect_by_subgroup.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines() == ["subgroup,level,estimate,ci_low,ci_high,p_heterogeneity",
                                     "age_group,40-49,1.4000,0.6000,2.2000,0.03",
                                     "gender,2,0.7000,0.1000,1.3000,0.5"]
    for page in result.pages:
        html = page.read_text(encoding="utf-8")
        section_html = html[html.index('<section id="for_whom"'):html.index("</section>", html.index('<section id="for_whom"'))]
        assert 'id="effect_by_subgroup"' in section_html and "effect_by_subgroup-" in section_html
        assert "9,9" not in section_html and "9.9" not in section_html  # the level under T
    assert all((result.snapshot_dir / "assets" / f"effect_by_subgroup-{lang}.svg").is_file() for lang in texts.TEXTS)
