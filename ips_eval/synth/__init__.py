"""A deterministic synthetic delivery: every export of docs/exports.md, messy as real ones are.

    from ips_eval.synth import SynthConfig, write_delivery
    manifest = write_delivery(Path("data/synth"), SynthConfig())

With the default config the files reproduce the study's published second-wave figures
exactly at the cut-off (see `config.WAVE2_TARGETS`), but only for a pipeline that applies
the analysis plan's rules: record versions, consent, withdrawals, start dates, job
windows and contract rejections all change the counts when ignored. The returned
manifest says what was planted (expected figures, traps, invalid rows with their line
numbers, register effects) so tests can check the pipeline against it. Same config ->
byte-identical files.

The manifest (`write_manifest` stores it as JSON; keep it outside the delivery folder):
- `config`, `cutoff`: what was generated;
- `files`: per file rows, sha256, bytes, and for project files encoding, BOM, line ending,
  the header as written and a count of rows by purpose (current, older_version_*,
  exact_duplicate, trap_*, invalid ...); for register files format and columns;
- `expected`: the figures a correct pipeline computes at the cut-off, per wave and county
  (n_clients, n_smi, n_competitive, n_competitive_smi, n_unsubsidised, n_other_activity),
  and each county's current fidelity total;
- `invalid_rows`: every planted invalid row: file, line (header = 1), column (contract
  name), header (as written), rule (type, required, code, range, end_before_start, orphan,
  pseudonym) and the offending value;
- `excluded_clients`: pseudonyms of clients who must not count, by reason;
- `traps`: clients with records that count only if a rule is skipped;
- `messiness`: EOS and blank items, double answers, exact duplicates;
- `effects`: the planted odds ratios (and intercepts when calibrate=False) and IPS effects;
- `register`: persons (IPS in cohort, those without register consent or outside the study
  population, comparison persons, index dates after C, persons missing from the cohort
  file), the planted and realised effect on employed months / earnings (`effect`: with each
  target client's untreated and gained employed months of the 12, counted as the warehouse
  counts them, so that a subgroup's realised effect is its clients' mean gain), and formats;
- `costs`: the planted correction of costs.csv (county, year, the first report and the
  corrected euros, their lines) and the staff cost per coach and caseload used;
- `voices`: what the coach, care-staff and employer surveys plant (`ips_eval.synth.voices`):
  the odds ratios of trust and care cooperation, the share meeting an employer within 30 days,
  the share of professionals for IPS as a fixed part of care per round, the traps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import WAVE1_FIDELITY, WAVE2_FIDELITY, SynthConfig
from .contracts import PROJECT_EXPORTS, REGISTER_EXPORTS, contract
from .costs import FILE as COSTS_FILE, write_costs
from .ids import Pseudonymiser
from .people import build_clients, linear_predictor
from .project_exports import write_project_exports
from .register_exports import write_register
from .voices import FILES as VOICE_FILES, write_voices
from ips_eval.ingest.delivery import sha256

__all__ = ["SynthConfig", "write_delivery", "write_manifest"]


def write_delivery(out_dir: Path | str, config: SynthConfig = SynthConfig()) -> dict[str, Any]:
    """Write a complete delivery into `out_dir` and return its manifest (JSON-serialisable)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    rng = np.random.default_rng([config.seed, 1])
    pseudo = Pseudonymiser(config.seed, salt=0)
    clients = build_clients(config, rng, pseudo, Pseudonymiser(config.seed, salt=1))
    reviewers = Pseudonymiser(config.seed, salt=3)(np.arange(4)).tolist()
    project = write_project_exports(out, config, rng, clients, pseudo, reviewers)
    costs = write_costs(out, config, clients)
    voices = write_voices(out, config, clients, project["job_records"], project["process"])
    register = write_register(out, config, clients, pseudo) if config.register else None

    files = {**project["files"], **costs["files"], **voices["files"]}
    if register:
        files.update(register["files"])
    for name, facts in files.items():
        facts["sha256"] = sha256(out / name)
        facts["bytes"] = (out / name).stat().st_size
    jobs = project["job_records"]
    manifest: dict[str, Any] = {
        "generator": "ips_eval.synth",
        "config": config.as_dict(),
        "cutoff": config.cutoff.isoformat(),
        "files": dict(sorted(files.items())),
        "expected": _expected(config, clients),
        "excluded_clients": {role: sorted(clients.loc[clients.role == role, "person_id"].tolist())
                             for role in ("no_consent", "withdrawn", "start_after_cutoff", "consent_after_cutoff")},
        "invalid_rows": sorted(project["invalid_rows"], key=lambda r: (r["file"], r["line"])),
        "traps": {
            **{p: sorted({r.person_id for r in jobs if r.purpose == p}) for p in (
                "trap_job_before_start", "trap_job_after_cutoff", "trap_muu_before_start",
                "trap_activity_outside_window")},
            **project["traps"],
            "fidelity_review_after_cutoff": "Keski-Suomi",
        },
        "messiness": project["messiness"] if config.messy else {},
        "effects": _effects(config, clients),
        "register": {k: v for k, v in register.items() if k != "files"} if register else None,
        "costs": {k: v for k, v in costs.items() if k != "files"},
        "voices": {k: v for k, v in voices.items() if k != "files"},
    }
    return manifest


def write_manifest(manifest: dict[str, Any], path: Path | str) -> None:
    """The manifest as JSON (kept outside the delivery folder, which holds only exports)."""
    Path(path).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _remove_stale(out: Path) -> None:
    """A re-run into the same folder must not leave files of another format behind."""
    for export in PROJECT_EXPORTS:
        (out / contract(export)["file"]).unlink(missing_ok=True)
    (out / COSTS_FILE).unlink(missing_ok=True)
    for name in VOICE_FILES:
        (out / name).unlink(missing_ok=True)
    for name in REGISTER_EXPORTS:
        for ext in ("csv", "parquet"):
            (out / "register" / f"{name}.{ext}").unlink(missing_ok=True)


def _expected(cfg: SynthConfig, clients: pd.DataFrame) -> dict[str, Any]:
    """The figures a correct pipeline must compute at the cut-off (from the planted flags)."""
    pop = clients[clients.in_population]
    out: dict[str, Any] = {}
    for wave in ("2", "1"):
        w = pop[pop.aalto == wave]
        rows = []
        for alue, g in w.groupby("alue", sort=False):
            rows.append({"alue": alue, "n_clients": len(g), "n_smi": int(g.smi.sum()),
                         "n_competitive": int(g.employed.sum()),
                         "n_competitive_smi": int((g.employed & g.smi).sum()),
                         "n_unsubsidised": int(g.unsubsidised.sum()),
                         "n_other_activity": int(g.other_activity.sum())})
        rows.sort(key=lambda r: -r["n_clients"])
        total = {k: sum(r[k] for r in rows) for k in rows[0] if k != "alue"}
        out[f"wave{wave}"] = {"by_county": rows, "total": total}
    out["fidelity_current"] = {**WAVE2_FIDELITY, **WAVE1_FIDELITY}
    return out


def _effects(cfg: SynthConfig, clients: pd.DataFrame) -> dict[str, Any]:
    d = {k: getattr(cfg, k) for k in ("or_female", "or_work_history_per_level", "or_smi", "or_age_40_49",
                                      "or_higher_education", "or_fidelity_per_10_points")}
    d["employment_model"] = ("exact counts per county, chosen with weights = odds" if cfg.calibrate
                             else "Bernoulli(logistic(intercept + log ORs))")
    d["fidelity_centre"] = 105.0
    if not cfg.calibrate:
        pop = clients[clients.in_population]
        lp = linear_predictor(cfg, pop)
        from .people import _intercept
        d["intercept_by_wave"] = {w: _intercept(lp[(pop.aalto == w).to_numpy()], cfg.baseline_rate) for w in ("1", "2")}
    d["ips_effect_employed_months"] = cfg.effect_months
    d["ips_effect_extra_months_age_40_49"] = cfg.effect_extra_40_49
    d["ips_effect_earnings_eur"] = cfg.effect_eur
    return d
