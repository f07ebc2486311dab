"""The study's models (docs/analysis_plan.md "Models") as library functions.

Each `fit_<model>(con, figures_dir, seed=...)` reads the warehouse tables it needs, fits,
and returns a `ModelResult`; `write_result(con, result)` puts it into the `models`
schema; `fit_all` runs every model, a failure of one never stopping the others.
"""

from ips_eval.models.effectiveness import fit_effectiveness
from ips_eval.models.fidelity_outcome import fit_fidelity_outcome
from ips_eval.models.job_tenure import fit_job_tenure
from ips_eval.models.predictors import fit_employment_predictors, fit_unsubsidised_predictors
from ips_eval.models.registry import MODELS, fit_all, fit_model
from ips_eval.models.result import ModelResult, NotFitted, write_result
from ips_eval.models.scores import SCORE_NAMES, fit_scores
from ips_eval.models.time_to_first_job import fit_time_to_first_job

__all__ = [
    "MODELS", "ModelResult", "NotFitted", "SCORE_NAMES", "fit_all", "fit_effectiveness", "fit_employment_predictors",
    "fit_fidelity_outcome", "fit_job_tenure", "fit_model", "fit_scores", "fit_time_to_first_job",
    "fit_unsubsidised_predictors", "write_result",
]
