"""Column headers from data_contracts/*.yaml: the contracts stay the single source of names."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from ips_eval import YAML_LOADER, CONTRACTS_DIR

PROJECT_EXPORTS = ("clients", "jobs", "survey_baseline", "survey_midpoint", "survey_final", "fidelity_reviews")
REGISTER_EXPORTS = ("cohort", "employment", "earnings", "pay_subsidy", "benefits", "psychiatric_care")


@lru_cache(maxsize=None)
def contract(export: str) -> dict[str, Any]:
    with open(CONTRACTS_DIR / f"{export}.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=YAML_LOADER)


def columns(export: str) -> list[str]:
    """Canonical column names, in contract order."""
    return [c["name"] for c in contract(export)["columns"]]


def headers(export: str) -> list[str]:
    """Header names as the source writes them (e.g. `asiakastunnus` for person_id in surveys)."""
    return [c.get("header", c["name"]) for c in contract(export)["columns"]]


@lru_cache(maxsize=None)
def codes(name: str) -> tuple[str, ...]:
    with open(CONTRACTS_DIR / "codes.yaml", encoding="utf-8") as f:
        return tuple(str(v) for v in yaml.load(f, Loader=YAML_LOADER)[name]["values"])
