"""Planted-truth runs of ``riskmodel impact``: does the interval hold the true local effect?

For each seed and help factor: a synthetic council (``riskmodel synth --help-effect``), then
``riskmodel impact`` on it; prints one line per run (true local risk ratio, the offered and
listed risk ratios with their intervals, and whether each interval holds the truth).

    python benchmarks/impact.py --children 40000 --seeds 1,2 --factors 0.5,1.0
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def _holds(e: dict, value: float) -> bool | None:
    if e["low"] is None:
        return None
    return bool(e["low"] <= value <= e["high"])


def one(children: int, seed: int, factor: float, work: Path) -> dict:
    from riskmodel.data import generate_council
    from riskmodel.jobs import plant_listed_help, report_impact

    folder = generate_council(children, seed=seed, out=work / f"c{seed}-{factor}")
    truth = plant_listed_help(folder, factor, seed=seed)
    report, _ = report_impact(folder, work / f"r{seed}-{factor}")
    by = {(e["of"], e["scale"]): e for e in report.effects}
    off, lis = by[("offered", "risk_ratio")], by[("listed", "risk_ratio")]
    shutil.rmtree(folder, ignore_errors=True)
    return {"children": children, "seed": seed, "factor": factor,
            "true_offered": truth["local_risk_ratio"],
            "true_listed": truth["local_risk_ratio_listed"],
            "offered": [off["estimate"], off["low"], off["high"]],
            "listed": [lis["estimate"], lis["low"], lis["high"]],
            "offered_holds_truth": _holds(off, truth["local_risk_ratio"]),
            "listed_holds_truth": _holds(lis, truth["local_risk_ratio_listed"]),
            "offered_below_1": off["high"] is not None and off["high"] < 1,
            "offered_holds_1": _holds(off, 1.0),
            "first_stage": report.first_stage["estimate"], "months": report.counts["months"],
            "density_p": report.density["p_value"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=40_000)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--factors", default="0.5,1.0")
    ap.add_argument("--out", default=None, help="JSON lines file to append each run to")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="riskmodel-impact-"))
    for seed in map(int, args.seeds.split(",")):
        for factor in map(float, args.factors.split(",")):
            t0 = time.perf_counter()
            row = one(args.children, seed, factor, work)
            row["seconds"] = round(time.perf_counter() - t0)
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(line + "\n")


if __name__ == "__main__":
    main()
