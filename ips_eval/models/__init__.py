"""The study's models (docs/analysis_plan.md "Models", docs/models.md) as library functions.

Each model is one declaration, a `ModelSpec` in its own module: its name, description, input
queries (`sql/models/`), `fit(frame) -> ModelResult` (tidy `estimates`, `diagnostics`, `status`)
and what it writes; the registry finds them (`MODELS`). `run_spec` (or `fit_model(name, con,
figures_dir)`) loads, fits and draws any model; `write_result(con, result)` puts a result into
the `models` schema; `fit_all` runs every model, a failure of one never stopping the others.
`estimate_att` is model 6's engine for any DataFrame.
"""

from ips_eval.models.att import estimate_att
from ips_eval.models.cost_effectiveness import fit_cost_effectiveness, load_cost_effectiveness
from ips_eval.models.effectiveness import fit_effectiveness, load_effectiveness
from ips_eval.models.fidelity_outcome import fit_fidelity_outcome
from ips_eval.models.job_tenure import fit_job_tenure
from ips_eval.models.predictors import fit_employment_predictors, fit_unsubsidised_predictors
from ips_eval.models.registry import MODELS, fit_all, fit_and_write, fit_model, run_order
from ips_eval.models.result import ModelResult, NotFitted, write_result
from ips_eval.models.scores import SCORE_NAMES, fit_scores, load_scores
from ips_eval.models.spec import ModelSpec, run_spec
from ips_eval.models.time_to_first_job import fit_time_to_first_job
from ips_eval.models.trajectories import fit_trajectory_types, load_trajectory_types
from ips_eval.models.transition_to_work import fit_transition_to_work, load_transition_to_work

__all__ = [
    "MODELS", "ModelResult", "ModelSpec", "NotFitted", "SCORE_NAMES", "estimate_att", "fit_all", "fit_and_write",
    "fit_cost_effectiveness", "fit_effectiveness", "fit_employment_predictors", "fit_fidelity_outcome",
    "fit_job_tenure", "fit_model", "fit_scores", "fit_time_to_first_job", "fit_trajectory_types",
    "fit_transition_to_work", "fit_unsubsidised_predictors", "load_cost_effectiveness", "load_effectiveness",
    "load_scores", "load_trajectory_types", "load_transition_to_work", "run_order", "run_spec", "write_result",
]
