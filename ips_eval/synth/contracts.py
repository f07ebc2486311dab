"""Column headers from data_contracts/*.yaml: the contracts stay the single source of names."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from ips_eval import CONTRACTS_DIR

#: libyaml's safe loader when it is there: the same documents, read in C rather than in Python
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROJECT_EXPORTS = ("clients", "jobs", "survey_baseline", "survey_midpoint", "survey_final", "fidelity_reviews")
REGISTER_EXPORTS = ("cohort", "employment", "earnings", "pay_subsidy", "benefits", "psychiatric_care")


@lru_cache(maxsize=None)
def contract(export: str) -> dict[str, Any]:
    with open(CONTRACTS_DIR / f"{export}.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=_YAML)


def columns(export: str) -> list[str]:
    """Canonical column names, in contract order."""
    return [c["name"] for c in contract(export)["columns"]]


def headers(export: str) -> list[str]:
    """Header names as the source writes them (e.g. `asiakastunnus` for person_id in surveys)."""
    return [c.get("header", c["name"]) for c in contract(export)["columns"]]


@lru_cache(maxsize=None)
def codes(name: str) -> tuple[str, ...]:
    with open(CONTRACTS_DIR / "codes.yaml", encoding="utf-8") as f:
        return tuple(str(v) for v in yaml.load(f, Loader=_YAML)[name]["values"])
