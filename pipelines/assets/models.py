"""Model assets: one per model declaration of ips_eval.models (ANALYSIS_PLAN "Models").

Each asset is made from its `ModelSpec`: the key `models/<name>`, the description the model
declares, and the upstream assets read from its input queries' SQL (a table another model
writes is a dependency on that model). A model that cannot be fitted records why in
models.fit_log and the run goes on; its asset still succeeds, with the reason in its metadata,
because the missing estimate is a result the researchers need to see, not a failure of the pipeline.
"""

import base64

import dagster as dg

from ips_eval.models.registry import MODELS, Models, fit_and_write, model_inputs, written_by
from pipelines.resources import StudyRun

#: What every model asset writes besides its own tables (said once, after the model's description).
WRITES_NOTE = ("Writes models.estimates, models.fit_log, models.diagnostics and its own tables; figures go with"
               " the run (ANALYSIS_PLAN 'Models').")


def _deps(name: str, models: Models) -> list[dg.AssetKey]:
    """The assets model `name` reads: tables from its query files (`ref.*` is written with every build)."""
    writers = written_by(models)
    keys = {dg.AssetKey(["models", writers[t]]) if t in writers else dg.AssetKey(t.split("."))
            for t in model_inputs(name, models)}
    return sorted(keys, key=lambda k: k.path)


def _figure_markdown(paths) -> str:
    parts = []
    for p in paths:
        data = base64.b64encode(p.read_bytes()).decode()
        parts.append(f"**{p.name}**\n\n![{p.stem}](data:image/png;base64,{data})")
    return "\n\n".join(parts)


def _model_asset(name: str, models: Models | None = None) -> dg.AssetsDefinition:
    models = MODELS if models is None else models
    spec = models[name]

    @dg.asset(
        key=dg.AssetKey(["models", name]),
        deps=_deps(name, models),  # read from the model's query files
        group_name="models",
        description=f"{spec.description.strip()} {WRITES_NOTE}",
        tags={"layer": "models"},
    )
    def _asset(context: dg.AssetExecutionContext, study: StudyRun) -> dg.MaterializeResult:
        # a large cache of the held database is given back before a fit: it would sit beside the model's frames
        with study.build(context.run_id).connection(hold=False) as con:
            result = fit_and_write(name, con, study.figures_build_dir(context.run_id), models)
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


def build_model_assets(models: Models | None = None) -> list[dg.AssetsDefinition]:
    """One asset per declared model (`ips_eval.models.registry.find_models`; a test passes a temporary copy's)."""
    models = MODELS if models is None else models
    return [_model_asset(name, models) for name in models]


model_assets = build_model_assets()
MODEL_KEYS = [dg.AssetKey(["models", name]) for name in MODELS]
