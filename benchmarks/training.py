"""Time a full ``riskmodel train`` and compare the models with the synthetic truth.

Prints wall and CPU time (user + system of this process, every thread) at each step, peak
memory and the leaderboard (with the true probabilities' row), then
the gaps the training issue asks about: LightGBM's AUC against the truth's on the same test
rows, its calibration error, and its precision at capacity against the truth's.

    python benchmarks/training.py --children 50000 --seed 1
    python benchmarks/training.py --children 100000 --seed 1 --outcome escalation
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outcome", default="escalation")
    parser.add_argument("--spec", default=None, help="training spec (default: packaged)")
    parser.add_argument("--data", default=None, help="reuse a generated council folder")
    args = parser.parse_args()

    import pandas as pd

    from riskmodel.data import generate_council
    from riskmodel.jobs import train

    work = Path(tempfile.mkdtemp(prefix="riskmodel-bench-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    data = Path(args.data) if args.data else generate_council(
        n_children=args.children, seed=args.seed, out=work / "council")
    t0, c0 = time.perf_counter(), time.process_time()

    def say(msg: str) -> None:
        print(f"{time.perf_counter() - t0:7.1f}s wall {time.process_time() - c0:7.1f}s CPU  {msg}",
              flush=True)

    result = train(data, args.spec, outcome=args.outcome, progress=say)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    board = result.leaderboard().set_index("candidate")
    pd.set_option("display.width", 200)
    cols = ["base_rate", "auc", "auc_low", "auc_high", "average_precision", "brier",
            "calibration_error", "precision_at_capacity", "recall_at_capacity", "result"]
    print(board[cols].round(4).to_string())
    print(f"\nchildren {args.children:,}  rows {result.n_rows:,}  "
          f"features {len(result.extra['features'])}  train wall {wall:.1f}s CPU {cpu:.1f}s  "
          f"peak RSS {peak:,.0f} MiB  load avg {os.getloadavg()[0]:.1f}")
    if "truth" in board.index and "lightgbm" in board.index:
        lgb, truth = board.loc["lightgbm"], board.loc["truth"]
        print(f"LightGBM AUC {lgb.auc:.4f} vs truth {truth.auc:.4f}: gap {truth.auc - lgb.auc:.4f}"
              f"  | calibration error {lgb.calibration_error:.4f}"
              f"  | precision@capacity {lgb.precision_at_capacity:.4f} = "
              f"{lgb.precision_at_capacity / truth.precision_at_capacity:.1%} of truth's")


if __name__ == "__main__":
    main()
