"""Model assets: one per model of ips_eval.models (ANALYSIS_PLAN "Models").

A model that cannot be fitted records why in models.fit_log and the run goes on; its asset
still succeeds, with the reason in its metadata, because the missing estimate is a result
the researchers need to see, not a failure of the pipeline.
"""

import base64

import dagster as dg

from ips_eval.models.registry import MODELS, WRITTEN_BY, fit_and_write, model_inputs
from pipelines.resources import StudyRun


def _key(table: str) -> dg.AssetKey:
    """Asset key of a warehouse table `schema.table`, or of the model step that writes it."""
    if table in WRITTEN_BY:
        return dg.AssetKey(["models", WRITTEN_BY[table]])
    return dg.AssetKey(table.split("."))


def _deps(name: str) -> list[dg.AssetKey]:
    """The assets model `name` reads: tables from its query files (`ref.*` is written with every build)."""
    return sorted({_key(t) for t in model_inputs(name) if not t.startswith("ref.")}, key=lambda k: k.path)


def _figure_markdown(paths) -> str:
    parts = []
    for p in paths:
        data = base64.b64encode(p.read_bytes()).decode()
        parts.append(f"**{p.name}**\n\n![{p.stem}](data:image/png;base64,{data})")
    return "\n\n".join(parts)


def _model_asset(name: str) -> dg.AssetsDefinition:
    fn = MODELS[name]
    doc = (getattr(fn, "__doc__", None) or getattr(getattr(fn, "func", None), "__doc__", None) or "").strip()
    first = doc.splitlines()[0] if doc else ""

    @dg.asset(
        key=dg.AssetKey(["models", name]),
        deps=_deps(name),  # read from the model's query files
        group_name="models",
        description=f"Model `{name}` (ANALYSIS_PLAN 'Models'). {first} Writes models.estimates, models.fit_log, "
        "models.diagnostics and its own tables; figures go with the run.",
        tags={"layer": "models"},
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        # the database is not held open through a fit: its cache would sit beside the model's frames
        with study.build(context.run_id).connection(hold=False) as con:
            result = fit_and_write(name, con, study.figures_build_dir(context.run_id))
        if not result.fitted:
            context.log.warning(f"{name} not fitted: {result.reason}")
        metadata = {
            "status": result.status,
            "n": result.n,
            "converged": "" if result.converged is None else str(result.converged),
            "reason": result.reason or "",
            "summary": dg.MetadataValue.md(result.summary or f"{name}: {result.status}"),
        }
        if result.figures:
            metadata["figures"] = dg.MetadataValue.md(_figure_markdown(result.figures))
        return dg.MaterializeResult(metadata=metadata)

    _asset.__name__ = f"model_{name}"
    return _asset


model_assets = [_model_asset(name) for name in MODELS]
MODEL_KEYS = [dg.AssetKey(["models", name]) for name in MODELS]
