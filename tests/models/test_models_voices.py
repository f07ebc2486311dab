"""Models 10 (change_agreement) and 11 (time_to_employer_contact) on small frames: kappa by hand
and against a planted agreement, the Kaplan-Meier read-outs by hand, and how each is refused."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ips_eval.models.change_agreement import fit_change_agreement, weighted_kappa
from ips_eval.models.time_to_employer_contact import contact_times, fit_time_to_employer_contact


def _pairs(n: int = 300, seed: int = 4, noise: float = 0.6) -> pd.DataFrame:
    """Client and coach answers 1-5 of eight domains sharing the client's change (agreement planted)."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(1, 9):
        change = rng.normal(0, 1, n)
        a = np.clip(np.rint(3 + change + rng.normal(0, noise, n)), 1, 5)
        b = np.clip(np.rint(3 + change + rng.normal(0, noise, n)), 1, 5)
        rows.append(pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "alue": "A", "domain": d,
                                  "client_answer": a.astype(int), "coach_answer": b.astype(int)}))
    return pd.concat(rows, ignore_index=True)


def test_quadratic_weighted_kappa_by_hand():
    # two raters, 2 x 2 table on answers 1 and 5 only: agreement on 3 of 4 clients
    k = weighted_kappa(np.array([1, 1, 5, 5]), np.array([1, 5, 5, 5]))
    # weights (i - j)^2 / 16: the one disagreement (1 vs 5) weighs 1; observed 1/4;
    # expected = P(client 1) P(coach 5) + P(client 5) P(coach 1) = 1/2 x 3/4 + 1/2 x 1/4 = 1/2
    assert k["kappa"] == pytest.approx(1 - 0.25 / 0.5)
    assert k["ci_low"] < k["kappa"] < k["ci_high"]


def test_kappa_is_positive_with_planted_agreement_and_near_zero_without():
    res = fit_change_agreement(_pairs())
    assert res.status == "ok", res.reason
    assert list(res.estimates["term"]) == [f"domain_{d}" for d in range(1, 9)]
    assert (res.estimates["ci_low"] > 0.4).all()
    assert (res.estimates["estimator"] == "quadratic_weighted_kappa").all()
    table = res.tables["change_agreement"]
    assert (table["n"] == 300).all() and (table["share_both_positive"] > 0).all()
    # answers drawn independently: every interval covers 0 at a 95 % level for most domains
    f = _pairs()
    f["coach_answer"] = np.random.default_rng(9).permutation(f["coach_answer"].to_numpy())
    e = fit_change_agreement(f).estimates
    assert (e["ci_low"] < 0).sum() >= 6 and e["estimate"].abs().max() < 0.2


def test_a_domain_with_too_few_pairs_is_not_estimated_and_no_pairs_is_not_fitted():
    f = _pairs()
    f = f[(f["domain"] != 3) | (f["person_id"].isin([f"p{i}" for i in range(10)]))]
    res = fit_change_agreement(f)
    row = res.tables["change_agreement"].set_index("domain").loc[3]
    assert row["status"] == "not_estimated" and row["n"] == 10
    assert "domain_3" not in set(res.estimates["term"]) and res.status == "warning"
    none = fit_change_agreement(f.iloc[:0])
    assert none.status == "not_fitted" and "koettu" in none.reason


def _contacts():
    S = dt.date(2024, 1, 1)
    day = lambda k: S + dt.timedelta(days=k)  # noqa: E731
    # (first contact, follow-up end): contacts at 10, 20, 40 days; one after the service ended;
    # two without a contact (followed 100 and 25 days)
    rows = [(day(10), day(300)), (day(20), day(300)), (day(40), day(300)), (day(90), day(60)),
            (None, day(100)), (None, day(25))]
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(6)], "alue": ["A", "A", "A", "B", "B", "B"],
                         "ips_start": S, "followed_to": [r[1] for r in rows],
                         "first_employer_contact": [r[0] for r in rows], "n_coach_responses": 1})


def test_contact_times_and_the_km_read_outs_by_hand():
    t = contact_times(_contacts())
    # the contact after the service end is no event: censored at the end (60 days)
    assert t["days"].tolist() == [10, 20, 40, 60, 100, 25] and t["event"].tolist() == [True, True, True] + [False] * 3
    res = fit_time_to_employer_contact(_contacts().assign(
        n_coach_responses=[1, 1, 1, 1, 1, 1]))
    a = res.tables["time_to_employer_contact"].set_index("group").loc["ALL"]
    # KM: 6 at risk; events at 10 (S = 5/6) and 20 (S = 5/6 x 4/5 = 2/3); censored at 25; within 30 days 1 - 2/3
    assert a["share_30d"] == pytest.approx(1 / 3)
    assert a["n"] == 6 and a["n_events"] == 3 and a["n_censored"] == 3
    # then at risk 3 at 40 (S = 2/3 x 2/3 = 4/9 < 1/2): the median is 40 days
    assert a["median_days"] == 40
    e = res.estimates.set_index("term")
    assert e.loc["share_within_30_days", "estimate"] == pytest.approx(1 / 3)
    assert set(res.tables["time_to_employer_contact"]["group"]) == {"ALL", "A", "B"}
    assert res.extra["figures"]


def test_clients_without_a_coach_response_are_left_out_and_none_is_not_fitted():
    f = _contacts().assign(n_coach_responses=[1, 1, 1, 1, 1, 0])
    res = fit_time_to_employer_contact(f)
    assert res.n == 5 and "1 clients without a coach response left out" in res.reason
    none = fit_time_to_employer_contact(f.assign(n_coach_responses=0))
    assert none.status == "not_fitted" and "coach response" in none.reason
