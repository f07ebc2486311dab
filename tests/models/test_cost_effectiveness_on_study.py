"""Model 8 on the synthetic study: cost and effect cover the same months, so a later cut-off
moves a client's part of the ratio only with new data.

The session's study (cut-off C) is copied into memory and what the model's inputs are built
from is rebuilt a quarter later (`cutoff_bound`). The same delivery at C + 1 quarter brings new
data: clients who started after C, windows that ended between C and C + 1 quarter, and clients
whose records were delivered after C although their service began earlier (a county's cost per
client-year then covers more client-years). What must not move is the rest: for every IPS client
analysed at both cut-offs, the window's client-years and the 12-month outcome are the same, and
so is the window's cost wherever the county's cost row over the whole period is; a county's rate
moves only with more clients behind it. The whole service's client-years (the old ratio's
numerator) did grow. And model 8 fitted on those same people at both cut-offs gives the same
ratios, parts and intervals.
"""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from ips_eval.models.cost_effectiveness import SPEC, load_cost_effectiveness
from ips_eval.warehouse.lineage import tables_read
from ips_eval.warehouse.tables import build_table, cutoff_bound

LATER = dt.date(2025, 3, 31)
WINDOW = ["service_alue", "client_years_post12", "employed_months_post12"]
COUNTY_ALL = "SELECT alue AS service_alue, cost_eur, client_years, n_in_service FROM marts.costs WHERE vuosi = 'ALL'"


@pytest.fixture(scope="module")
def two_cutoffs(synthetic_study):
    con = duckdb.connect()
    con.execute("ATTACH ? AS study (READ_ONLY)", [str(synthetic_study["warehouse"])])
    con.execute("COPY FROM DATABASE study TO memory")
    con.execute("DETACH study")
    before = load_cost_effectiveness(con), con.execute(COUNTY_ALL).df()
    inputs = {t for path in SPEC.query_paths for t in tables_read(path.read_text(encoding="utf-8"))}
    for table in cutoff_bound(t for t in inputs if t.split(".")[0] in ("staging", "core", "marts")):
        build_table(con, table, LATER)
    yield before, (load_cost_effectiveness(con), con.execute(COUNTY_ALL).df())
    con.close()


def _analysed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["ips"] == 1) & frame["employed_months_post12"].notna()].set_index("person_id")


def test_a_clients_window_outcome_and_cost_move_only_with_new_data(two_cutoffs):
    (frame_a, county_a), (frame_b, county_b) = two_cutoffs
    a, b = _analysed(frame_a), _analysed(frame_b)
    both = a.index.intersection(b.index)
    assert len(both) == len(a) > 500  # nobody analysed at C drops out a quarter later
    pd.testing.assert_frame_equal(a.loc[both, WINDOW], b.loc[both, WINDOW])
    counties = county_a.merge(county_b, on="service_alue", suffixes=("_a", "_b"))
    same = counties[(counties["cost_eur_a"] == counties["cost_eur_b"])
                    & (counties["client_years_a"] == counties["client_years_b"])]["service_alue"]
    moved = counties[~counties["service_alue"].isin(same)]
    # a county's cost row over the whole period moves only with more clients behind it
    assert (moved["n_in_service_b"] > moved["n_in_service_a"]).all() and len(same) >= len(counties) // 2
    kept = both[a.loc[both, "service_alue"].isin(same)]
    assert len(kept) > 300
    pd.testing.assert_series_equal(a.loc[kept, "cost_post12"], b.loc[kept, "cost_post12"])
    # and a window's cost is its client-years at its county's rate, at either cut-off
    for f in (a, b):
        assert (f["cost_post12"] - f["client_years_post12"] * f["cost_per_client_year"]).abs().max() < 1e-6
    # while the whole service's client-years, the ratio's old numerator, grew
    assert b.loc[both, "client_years"].sum() > a.loc[both, "client_years"].sum() + 10


def test_the_ratio_does_not_move_when_no_data_arrive_in_the_window(two_cutoffs):
    """Model 8 fitted at C and at C + 1 quarter on the same people: the IPS clients analysed at
    both whose county's cost row did not move, and the comparison persons analysed at both,
    less anyone whose 24-month window ended in between. Nothing new arrived in their windows,
    so the 12- and 24-month ratios, their parts and their intervals are the same, although the
    clients' client-years to the cut-off (the old numerator) grew."""
    from ips_eval.models.cost_effectiveness import fit_cost_effectiveness

    (frame_a, county_a), (frame_b, county_b) = two_cutoffs
    counties = county_a.merge(county_b, on="service_alue", suffixes=("_a", "_b"))
    same = set(counties[(counties["cost_eur_a"] == counties["cost_eur_b"])
                        & (counties["client_years_a"] == counties["client_years_b"])]["service_alue"])
    a, b = _analysed(frame_a), _analysed(frame_b)
    clients = a.index.intersection(b.index)[a.loc[a.index.intersection(b.index), "service_alue"].isin(same)]
    def observed(f, months, ips=(0, 1)):
        return set(f.loc[f[f"employed_months_post{months}"].notna() & f["ips"].isin(ips), "person_id"])

    comparison = observed(frame_a, 12, [0]) & observed(frame_b, 12, [0])
    # a 24-month window that ended between the cut-offs is new data for the 24-month ratio
    people = (set(clients) | comparison) - (observed(frame_a, 24) ^ observed(frame_b, 24))

    def fit(frame):
        kept = frame[frame["person_id"].isin(people)].sort_values("person_id").reset_index(drop=True)
        result = fit_cost_effectiveness(kept)
        assert result.fitted, result.reason
        return result.estimates.set_index(["term", "estimator"])[["estimate", "ci_low", "ci_high"]]

    before, after = fit(frame_a), fit(frame_b)
    assert "cost_per_employed_month_gained" in before.index.get_level_values("term")
    pd.testing.assert_frame_equal(before, after, rtol=1e-9)
    # the client-years to the cut-off of the same clients did grow
    assert b.loc[clients, "client_years"].sum() > a.loc[clients, "client_years"].sum()
