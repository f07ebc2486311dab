"""The study's models (docs/analysis_plan.md "Models", docs/models.md) as library functions.

Each model is a pair `load_<model>(con) -> DataFrame` and `fit_<model>(frame, ...) ->
ModelResult` (tidy `estimates`, `diagnostics`, `status`), with `plot_<model>(result,
figures_dir)` apart; `run_<model>(con, figures_dir)` chains them. `write_result(con, result)`
puts a result into the `models` schema; `fit_all` runs every model, a failure of one never
stopping the others. `estimate_att` is model 6's engine for any DataFrame.
"""

from ips_eval.models.att import estimate_att
from ips_eval.models.cost_effectiveness import (fit_cost_effectiveness, load_cost_effectiveness,
                                               run_cost_effectiveness)
from ips_eval.models.effectiveness import fit_effectiveness, load_effectiveness, run_effectiveness
from ips_eval.models.fidelity_outcome import fit_fidelity_outcome, load_fidelity_outcome, run_fidelity_outcome
from ips_eval.models.job_tenure import fit_job_tenure, load_job_tenure, run_job_tenure
from ips_eval.models.predictors import (fit_employment_predictors, fit_unsubsidised_predictors, load_predictors,
                                        run_employment_predictors, run_unsubsidised_predictors)
from ips_eval.models.registry import MODELS, fit_all, fit_model
from ips_eval.models.result import ModelResult, NotFitted, write_result
from ips_eval.models.scores import SCORE_NAMES, fit_scores, load_scores, run_scores
from ips_eval.models.time_to_first_job import fit_time_to_first_job, load_time_to_first_job, run_time_to_first_job
from ips_eval.models.trajectories import fit_trajectory_types, load_trajectory_types, run_trajectory_types

__all__ = [
    "MODELS", "ModelResult", "NotFitted", "SCORE_NAMES", "estimate_att", "fit_all", "fit_effectiveness",
    "fit_employment_predictors", "fit_fidelity_outcome", "fit_job_tenure", "fit_model", "fit_scores",
    "fit_time_to_first_job", "fit_unsubsidised_predictors", "load_effectiveness", "load_fidelity_outcome",
    "load_job_tenure", "load_predictors", "load_scores", "load_time_to_first_job", "run_effectiveness",
    "run_employment_predictors", "run_fidelity_outcome", "run_job_tenure", "run_scores", "run_time_to_first_job",
    "run_unsubsidised_predictors", "write_result",
    "fit_cost_effectiveness", "load_cost_effectiveness", "run_cost_effectiveness",
    "fit_trajectory_types", "load_trajectory_types", "run_trajectory_types",
]
