"""A model's figure is drawn once per process for the same inputs (ips_eval.models.plots,
`remembered`): the file written from memory is the one a fresh draw gives, and any change of
what the figure is drawn from draws it anew."""

import numpy as np
import pandas as pd
import pytest

from ips_eval.models import plots


@pytest.fixture
def draws(monkeypatch):
    """Count the figures really drawn (each draw ends in `plots._save`), from a clean memory."""
    plots.forget_drawn()
    count = []
    save = plots._save

    def counted(fig, path):
        count.append(path)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", counted)
    yield count
    plots.forget_drawn()


def _estimates(scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"term": ["age", "gender[T.mies]"], "estimate": [1.2 * scale, 0.8],
                         "ci_low": [0.9, 0.5], "ci_high": [1.6, 1.3]})


def test_the_same_figure_is_drawn_once_and_its_file_is_a_fresh_draw(tmp_path, draws):
    first = plots.forest_plot(_estimates(), "Predictors", tmp_path / "a" / "forest.png")
    again = plots.forest_plot(_estimates(), "Predictors", tmp_path / "b" / "forest.png")
    assert len(draws) == 1 and again == tmp_path / "b" / "forest.png"
    assert again.read_bytes() == first.read_bytes() and first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plots.forget_drawn()
    fresh = plots.forest_plot(_estimates(), "Predictors", tmp_path / "c" / "forest.png")
    assert len(draws) == 2 and fresh.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("change", ["a value", "the title", "a keyword", "a setting"])
def test_any_change_of_what_it_is_drawn_from_draws_it_anew(tmp_path, draws, change, monkeypatch):
    base = plots.forest_plot(_estimates(), "Predictors", tmp_path / "base.png")
    if change == "a value":
        other = plots.forest_plot(_estimates(scale=1.01), "Predictors", tmp_path / "other.png")
    elif change == "the title":
        other = plots.forest_plot(_estimates(), "Predictors (model 1)", tmp_path / "other.png")
    elif change == "a keyword":
        other = plots.forest_plot(_estimates(), "Predictors", tmp_path / "other.png", null=0.0, log=False)
    else:
        monkeypatch.setitem(plots.matplotlib.rcParams, "lines.linewidth", 3.0)
        other = plots.forest_plot(_estimates(), "Predictors", tmp_path / "other.png")
    assert len(draws) == 2 and other.read_bytes() != base.read_bytes()


def test_arrays_are_remembered_by_their_values(tmp_path, draws):
    values = np.linspace(0.5, 1.5, 200)
    plots.bootstrap_histogram(values, 1.0, (0.7, 1.3), "Draws", "ratio", tmp_path / "a.png")
    plots.bootstrap_histogram(values.copy(), 1.0, (0.7, 1.3), "Draws", "ratio", tmp_path / "b.png")
    changed = values.copy()
    changed[17] += 1e-9
    plots.bootstrap_histogram(changed, 1.0, (0.7, 1.3), "Draws", "ratio", tmp_path / "c.png")
    assert len(draws) == 2
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
