"""Effectiveness model benchmark: time and peak memory at register scale, and interval coverage.

    .venv/bin/python benchmarks/effectiveness.py [--scales 20000 300000] [--treated 2000] [--seeds 200]
    make bench

(a) For each scale (comparison persons; `--treated` IPS clients on top) a subprocess builds the
    simulated analysis frame (`ips_eval.synth.att.att_frame`, shaped like the model's input) and
    times `fit_effectiveness` on it: propensity model, trimming, the three estimators with
    their M-estimation intervals, the three negative controls and every diagnostic. Peak memory
    is the subprocess's peak RSS (frame included). Target at 300 000: <= 60 s and <= 2 GB.
(b) Coverage: over `--seeds` simulated studies (300 IPS clients, 1 500 comparison persons,
    planted effect 1.5 months) the share of 95 % intervals (IPW, sandwich) that hold the
    planted effect; it should lie within 90-99 %.
Results go to benchmarks/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

EFFECT = 1.5


def one_scale(n_comparison: int, n_treated: int) -> dict:
    from ips_eval.models.effectiveness import fit_effectiveness
    from ips_eval.synth.att import att_frame

    frame = att_frame(n_treated, n_comparison, EFFECT, seed=1)
    start = time.perf_counter()
    result = fit_effectiveness(frame)
    seconds = time.perf_counter() - start
    e = result.estimates
    ipw = e[(e["term"] == "employed_months_post12") & (e["estimator"] == "ipw")].iloc[0]
    return {"n_comparison": n_comparison, "n_treated": n_treated, "seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "status": result.status, "estimate": float(ipw["estimate"]),
            "ci": [float(ipw["ci_low"]), float(ipw["ci_high"])]}


def coverage(n_seeds: int) -> dict:
    from ips_eval.models.att import estimate_att
    from ips_eval.models.effectiveness import PS_COVARIATES
    from ips_eval.synth.att import att_frame

    covered, estimates, ses = 0, [], []
    for seed in range(n_seeds):
        res = estimate_att(att_frame(300, 1500, EFFECT, seed=seed), "ips", ["employed_months_post12"],
                           list(PS_COVARIATES))
        row = res.estimate("employed_months_post12", "ipw")
        covered += bool(row["ci_low"] <= EFFECT <= row["ci_high"])
        estimates.append(row["estimate"])
        ses.append(row["se"])
    return {"seeds": n_seeds, "coverage": covered / n_seeds, "mean_se": float(np.mean(ses)),
            "sd_estimates": float(np.std(estimates, ddof=1)), "mean_estimate": float(np.mean(estimates))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[20_000, 300_000])
    ap.add_argument("--treated", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_scale(args.one, args.treated)))
        return
    rows = []
    for n in args.scales:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--treated", str(args.treated)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print("| comparison persons | IPS clients | fit seconds | peak RSS MB | status | IPW estimate (95% CI) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n_comparison']:,} | {r['n_treated']:,} | {r['seconds']} | {r['peak_rss_mb']} | {r['status']} |"
              f" {r['estimate']:.3f} ({r['ci'][0]:.3f} to {r['ci'][1]:.3f}) |")
    c = coverage(args.seeds)
    verdict = "within" if 0.90 <= c["coverage"] <= 0.99 else "OUTSIDE"
    print(f"\nCoverage of the 95% interval over {c['seeds']} simulated studies (planted effect {EFFECT}):"
          f" {100 * c['coverage']:.1f} % ({verdict} 90-99 %); mean SE {c['mean_se']:.4f},"
          f" SD of the estimates {c['sd_estimates']:.4f}, mean estimate {c['mean_estimate']:.4f}")


if __name__ == "__main__":
    main()
