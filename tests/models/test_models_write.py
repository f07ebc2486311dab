"""write_result and fit_all: rows replaced per model, failures isolated, all models run."""

from dataclasses import replace

import duckdb
import pytest

import model_fixtures as mf
from ips_eval.models import MODELS, ModelResult, fit_all, fit_model, write_result
from ips_eval.models import registry


def _count(con, table, model):
    return con.execute(f"SELECT count(*) FROM models.{table} WHERE model = ?", [model]).fetchone()[0]


def test_rerun_replaces_rows_and_not_fitted_clears_them(tmp_path):
    con = mf.load(duckdb.connect(), mf.clients(n=600, seed=3))
    res = fit_model("job_tenure", con, tmp_path)
    write_result(con, res)
    write_result(con, res)
    assert _count(con, "estimates", "job_tenure") == 3
    assert _count(con, "fit_log", "job_tenure") == 1
    n_km = _count(con, "km_job_tenure", "job_tenure")
    assert n_km == len(res.tables["km_job_tenure"])
    write_result(con, ModelResult.not_fitted("job_tenure", "no first jobs"))
    assert _count(con, "estimates", "job_tenure") == 0
    assert _count(con, "km_job_tenure", "job_tenure") == 0
    assert con.execute("SELECT status, reason FROM models.fit_log WHERE model='job_tenure'").fetchone() == (
        "not_fitted", "no first jobs")


def test_shared_model_table_keeps_other_models_rows(tmp_path):
    con = mf.load(duckdb.connect(), mf.clients(n=600, seed=3))
    fit_all(con, tmp_path, only=["scores_swemwbs", "scores_eurohis"])
    fit_all(con, tmp_path, only=["scores_swemwbs"])
    rows = con.execute("SELECT model, count(*) FROM models.score_change GROUP BY model ORDER BY model").fetchall()
    assert rows == [("scores_eurohis", 1), ("scores_swemwbs", 1)]


def test_table_with_changed_columns_is_rebuilt(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA models")
    con.execute("CREATE TABLE models.score_change AS SELECT 'scores_x' AS model, 1 AS n_pairs")
    import pandas as pd
    res = ModelResult(model="scores_y", status="ok", n=1, converged=True,
                      tables={"score_change": pd.DataFrame({"n_pairs": [2], "mean_change": [0.5]})})
    write_result(con, res)
    got = con.execute("SELECT model, n_pairs, mean_change FROM models.score_change ORDER BY model").fetchall()
    assert got == [("scores_x", 1, None), ("scores_y", 2, 0.5)]


@pytest.mark.slow
def test_fit_all_runs_every_model_and_isolates_a_crash(tmp_path, monkeypatch):
    tables = mf.clients(n=1000, seed=1)
    tables["core.coaching_clients"] = mf.coaching(tables["core.client_outcomes"])  # model 1's ratings, model 11
    con = mf.load(duckdb.connect(), tables)
    mf.load(con, mf.register(n_ips=300, n_cmp=900, seed=2, effect_post24=2.0))  # the trajectory types need the 24-month fit

    def boom(frame):
        raise RuntimeError("simulated bug")

    monkeypatch.setitem(registry.MODELS, "fidelity_outcome", replace(registry.MODELS["fidelity_outcome"], fit=boom))
    quick = {"n_imputations": 2, "iterations": 2}  # model 1's imputations are tested on their own
    results = fit_all(con, tmp_path, options={"employment_predictors": quick, "unsubsidised_predictors": quick})
    assert set(results) == set(MODELS)
    assert results["fidelity_outcome"].status == "not_fitted"
    assert "simulated bug" in results["fidelity_outcome"].reason
    # these fixtures hold no costs (tests/models/test_models_cost_effectiveness.py has them)
    assert results["cost_effectiveness"].status == "not_fitted"
    assert "is missing from the warehouse" in results["cost_effectiveness"].reason
    # nor survey answers (tests/models/test_models_voices.py fits model 10 on its own frames)
    assert results["change_agreement"].status == "not_fitted"
    assert "core.survey_answers is missing" in results["change_agreement"].reason
    others = {k: r for k, r in results.items()
              if k not in ("fidelity_outcome", "cost_effectiveness", "change_agreement")}
    assert all(r.fitted for r in others.values()), {k: r.reason for k, r in others.items() if not r.fitted}
    log = con.execute("SELECT model, status, reason, n, converged FROM models.fit_log").df()
    assert len(log) == len(MODELS) and set(log["status"]) <= {"ok", "warning", "not_fitted"}
    est = con.execute("SELECT DISTINCT model FROM models.estimates").df()
    assert set(est["model"]) == set(others) - {"trajectory_types"}  # a table of types, no estimates
    assert con.execute("SELECT count(*) FROM marts.trajectory_types").fetchone()[0] >= 2
    for r in others.values():
        assert r.summary.startswith(f"**{r.model}**")
        assert all(p.exists() and p.parent == tmp_path for p in r.figures)
    diag_cols = [c[0] for c in con.execute("DESCRIBE models.diagnostics").fetchall()]
    assert diag_cols[:5] == ["model", "diagnostic", "value", "threshold", "passed"]
    est_cols = [c[0] for c in con.execute("DESCRIBE models.estimates").fetchall()]
    assert est_cols == ["model", "term", "estimate", "ci_low", "ci_high", "p_value", "n", "estimator"]
    # every model names its estimator (the plan's contract); the effectiveness model has three
    estimators = con.execute("SELECT model, list(DISTINCT estimator ORDER BY estimator) FROM models.estimates"
                             " GROUP BY model").fetchall()
    assert all(e and None not in e for _, e in estimators), estimators
    assert dict(estimators)["effectiveness"] == ["aipw", "ipw", "overlap"]


def test_empty_warehouse_every_model_not_fitted(tmp_path):
    con = duckdb.connect()
    results = fit_all(con, tmp_path)
    assert all(r.status == "not_fitted" for r in results.values())
    assert all("missing" in r.reason for r in results.values()), {k: r.reason for k, r in results.items()}
