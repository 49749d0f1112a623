"""Time a full ``riskmodel train`` and compare the models with the synthetic truth.

Prints wall and CPU time (user + system of this process, every thread) and the main thread's
CPU at each step (what ran beside the main thread is the rest: on an idle machine of two cores
the wall time is at least the larger of the main thread's CPU and half of the whole), peak
memory and the leaderboard (with the true probabilities' row), then
the gaps the training issue asks about: LightGBM's AUC against the truth's on the same test
rows, its calibration error, and its precision at capacity against the truth's.

    python benchmarks/training.py --children 50000 --seed 1
    python benchmarks/training.py --children 100000 --seed 1 --outcome escalation

``--variants 500:0.03,200:0.075`` compares LightGBM settings (rounds:learning rate) instead:
the out-of-time evaluation only (no MLflow), every variant beside the spec's other
candidates on the same folds, and for each its CPU, its gaps to the truth, its pass or fail
and the candidate the spec's rule (least regret) would choose were it the spec's LightGBM.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskmodel.training import TrainingSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outcome", default="escalation")
    parser.add_argument("--spec", default=None, help="training spec (default: packaged)")
    parser.add_argument("--data", default=None, help="reuse a generated council folder")
    parser.add_argument("--variants", default=None,
                        help="compare LightGBM rounds:learning_rate settings, comma-separated")
    args = parser.parse_args()
    if args.variants:
        compare_variants(args)
        return

    import pandas as pd

    from riskmodel.data import generate_council
    from riskmodel.jobs import train

    work = Path(tempfile.mkdtemp(prefix="riskmodel-bench-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    data = Path(args.data) if args.data else generate_council(
        n_children=args.children, seed=args.seed, out=work / "council")
    t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()

    def say(msg: str) -> None:
        print(f"{time.perf_counter() - t0:7.1f}s wall {time.process_time() - c0:7.1f}s CPU "
              f"{time.thread_time() - m0:7.1f}s main  {msg}", flush=True)

    result = train(data, args.spec, outcome=args.outcome, progress=say)
    wall, cpu, main = time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - m0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    board = result.leaderboard().set_index("candidate")
    pd.set_option("display.width", 200)
    cols = ["base_rate", "auc", "auc_low", "auc_high", "average_precision", "brier",
            "calibration_error", "precision_at_capacity", "recall_at_capacity", "result"]
    print(board[cols].round(4).to_string())
    print(f"\nchildren {args.children:,}  rows {result.n_rows:,}  "
          f"features {len(result.extra['features'])}  train wall {wall:.1f}s CPU {cpu:.1f}s  "
          f"main thread's CPU {main:.1f}s (the rest ran beside it)  "
          f"peak RSS {peak:,.0f} MiB  load avg {os.getloadavg()[0]:.1f}")
    if "truth" in board.index and "lightgbm" in board.index:
        lgb, truth = board.loc["lightgbm"], board.loc["truth"]
        print(f"LightGBM AUC {lgb.auc:.4f} vs truth {truth.auc:.4f}: gap {truth.auc - lgb.auc:.4f}"
              f"  | calibration error {lgb.calibration_error:.4f}"
              f"  | precision@capacity {lgb.precision_at_capacity:.4f} = "
              f"{lgb.precision_at_capacity / truth.precision_at_capacity:.1%} of truth's")


def _variant_spec(spec: TrainingSpec, variants: list[tuple[int, float]]) -> TrainingSpec:
    """The spec with its LightGBM candidate replaced by one candidate per variant."""
    cands = []
    for c in spec.candidates:
        if c.kind != "lightgbm":
            cands.append(c)
            continue
        for rounds, rate in variants:
            params = {**c.params, "n_estimators": rounds, "learning_rate": rate}
            cands.append(c.model_copy(update={"name": f"lgb_{rounds}x{rate:g}",
                                              "params": params}))
    return spec.model_copy(update={"candidates": cands})


def compare_variants(args: argparse.Namespace) -> None:
    """Evaluate LightGBM variants out of time against the truth (see the module's note)."""
    from riskmodel.data import generate_council, read_truth
    from riskmodel.jobs import training_matrix
    from riskmodel.training import evaluate_candidates, load_training_spec, regret

    variants = [(int(r), float(lr)) for r, lr in
                (v.split(":") for v in args.variants.split(","))]
    base = load_training_spec(args.spec, outcome=args.outcome)
    spec = _variant_spec(base, variants)
    data = Path(args.data) if args.data else generate_council(
        n_children=args.children, seed=args.seed, out=Path(tempfile.mkdtemp()) / "council")
    tm = training_matrix(data, spec)
    truth = read_truth(data, outcome=spec.outcome, horizon_months=spec.horizon_months)
    if truth is None:
        raise SystemExit("error: --variants needs a synthetic council (its truth.parquet)")
    truth["as_of"] = truth["as_of"].astype(tm.matrix["as_of"].dtype)
    c0 = time.process_time()
    times: dict[str, float] = {}

    def say(msg: str) -> None:
        if msg.startswith("evaluated "):
            times[msg.split()[1]] = time.process_time() - c0 - sum(times.values())

    result = evaluate_candidates(tm.matrix, spec, features=tm.features, truth=truth,
                                 progress=say)
    per = {r.name: r for r in result.candidates}
    assert result.truth is not None and result.plan is not None
    t = result.truth.metrics.set_index("metric")["value"]
    others = [c.name for c in base.candidates if c.kind != "lightgbm"]
    for name in [n for n in per if n.startswith("lgb_")]:
        r = per[name]
        m = r.metrics.set_index("metric")["value"]
        pool = {n: per[n].per_date for n in [*others, name]}
        reg = regret(pool, result.plan.selection, spec.select_by)
        chosen = min((n for n in pool if n != spec.thresholds.beat), key=lambda n: reg[n])
        print(f"seed {args.seed} children {args.children} {name}: CPU {times.get(name, 0):.1f}s"
              f"  AUC {m['auc']:.4f} (truth {t['auc']:.4f}, gap {t['auc'] - m['auc']:.4f})"
              f"  calibration error {m['calibration_error']:.4f}"
              f"  O/E {m['observed_expected']:.3f}  slope {m['calibration_slope']:.3f}"
              f"  precision@cap {m['precision_at_capacity']:.4f}"
              f" (truth {t['precision_at_capacity']:.4f})"
              f"  {'PASS' if r.passed else 'FAIL'}  chosen: {chosen}", flush=True)


if __name__ == "__main__":
    main()
