"""Planted-truth runs of ``riskmodel impact``: does the interval hold the true local effect?

For each seed and help factor: a synthetic council (``riskmodel synth --help-effect``), then
``riskmodel impact`` on it with each running variable asked for; prints one JSON line per
report (true local risk ratios, the offered and listed risk ratios with their intervals,
whether each interval holds the truth, lies below 1, holds 1). ``--summary FILE`` prints the
coverage table of a JSON lines file written with ``--out``.

    python benchmarks/impact.py --children 40000 --seeds 1,2 --factors 0.5,1.0 \\
        --running log-odds,score --out runs.jsonl
    python benchmarks/impact.py --summary runs.jsonl
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


def _row(report, truth: dict) -> dict:
    by = {(e["of"], e["scale"]): e for e in report.effects}
    off, lis = by[("offered", "risk_ratio")], by[("listed", "risk_ratio")]
    return {"true_offered": truth["local_risk_ratio"],
            "true_listed": truth["local_risk_ratio_listed"],
            "offered": [off["estimate"], off["low"], off["high"]],
            "listed": [lis["estimate"], lis["low"], lis["high"]],
            "se_log_offered": off["se_robust"], "se_log_listed": lis["se_robust"],
            "offered_holds_truth": _holds(off, truth["local_risk_ratio"]),
            "listed_holds_truth": _holds(lis, truth["local_risk_ratio_listed"]),
            "offered_below_1": off["high"] is not None and off["high"] < 1,
            "listed_below_1": lis["high"] is not None and lis["high"] < 1,
            "offered_holds_1": _holds(off, 1.0), "listed_holds_1": _holds(lis, 1.0),
            "bandwidth_offered": off["bandwidth"], "n_above_offered": off["n_above"],
            "first_stage": report.first_stage["estimate"], "months": report.counts["months"],
            "months_needed": report.settle["months_needed"],
            "density_p": report.density["p_value"],
            "balance_min_p": min((b["p_value"] for b in report.balance), default=None)}


def one(children: int, seed: int, factor: float, running: list[str], work: Path) -> list[dict]:
    """One council with help planted, and its report with each running variable."""
    from riskmodel.data import generate_council
    from riskmodel.jobs import plant_listed_help, report_impact

    folder = generate_council(children, seed=seed, out=work / f"c{seed}-{factor}")
    truth = plant_listed_help(folder, factor, seed=seed)
    rows = []
    for r in running:
        report, _ = report_impact(folder, work / f"r{seed}-{factor}-{r}", running=r)
        rows.append({"children": children, "seed": seed, "factor": factor, "running": r,
                     **_row(report, truth)})
    shutil.rmtree(folder, ignore_errors=True)
    return rows


def summary(path: str) -> None:
    """The coverage table: per council size, running variable and factor, over seeds."""
    import pandas as pd

    d = pd.read_json(path, lines=True)
    g = d.groupby(["children", "running", "factor"])
    out = pd.DataFrame({
        "seeds": g.size(),
        "offered: holds truth": g["offered_holds_truth"].sum(),
        "offered: below 1": g["offered_below_1"].sum(),
        "offered: bar (truth and below 1)": g.apply(
            lambda x: int((x["offered_holds_truth"] & x["offered_below_1"]).sum())),
        "offered: holds 1": g["offered_holds_1"].sum(),
        "listed: holds truth": g["listed_holds_truth"].sum(),
        "listed: below 1": g["listed_below_1"].sum(),
        "median se log RR offered": g["se_log_offered"].median().round(2),
        "median se log RR listed": g["se_log_listed"].median().round(2)})
    out = out.reset_index()
    print("| " + " | ".join(out.columns) + " |")
    print("|" + "---|" * len(out.columns))
    for row in out.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", default="40000", help="council sizes, comma-separated")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--factors", default="0.5,1.0")
    ap.add_argument("--running", default="log-odds", help="running variables, comma-separated")
    ap.add_argument("--out", default=None, help="JSON lines file to append each run to")
    ap.add_argument("--summary", default=None, help="print the coverage table of this file")
    args = ap.parse_args()
    if args.summary:
        summary(args.summary)
        return
    work = Path(tempfile.mkdtemp(prefix="riskmodel-impact-"))
    for children in map(int, args.children.split(",")):
        for seed in map(int, args.seeds.split(",")):
            for factor in map(float, args.factors.split(",")):
                t0 = time.perf_counter()
                rows = one(children, seed, factor, args.running.split(","), work)
                for row in rows:
                    row["seconds"] = round(time.perf_counter() - t0)
                    line = json.dumps(row)
                    print(line, flush=True)
                    if args.out:
                        with open(args.out, "a", encoding="utf-8") as f:
                            f.write(line + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
