"""CPU time of the metrics kernel's family bootstrap, as the fairness report and monitoring's
by-group gaps call it (issue 33), with a digest of every draw.

    cd /tmp && PYTHONPATH=/work/main python3 /path/to/benchmarks/bootstrap.py
    cd /tmp && PYTHONPATH=/path/to/checkout python3 /path/to/benchmarks/bootstrap.py

A made-up table the shape of the 10,000-child run's audited rows (4,943 rows in about 3,000
families, every score distinct, a 12 % base rate, the top 10 % flagged; seven groupings of
6, 3, 3, 6, 8, 6 and 16 groups), then, timed with ``time.process_time`` (every thread):

- ``group_scores``: the fairness report's bootstrap (fairlearn's draws of families, 1,000
  resamples; AUC, observed over expected and calibration error of everyone and every group);
- ``bootstrap_sets``: monitoring's by-group gaps at training (200 resamples, single
  precision, no calibration error), every group and its rest.

Each prints a SHA-256 of all its draws: two checkouts that give the same digest gave the same
numbers to the last bit. Run the two checkouts alternately on a loaded machine.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import time

import numpy as np
import pandas as pd

from riskmodel.evaluation.fairness import GroupTable
from riskmodel.evaluation.metrics import bootstrap_sets

SIZES = (6, 3, 3, 6, 8, 6, 16)
MONITORING = ("base_rate", "auc", "precision_at_capacity", "recall_at_capacity",
              "observed_over_expected")


def rows(n: int, seed: int) -> dict:
    """The made-up audited rows: outcome, score, flags, families and groupings."""
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 12, n)
    y = (rng.uniform(size=n) < score).astype(float)
    groupings = [rng.integers(0, k, n) for k in SIZES]
    return {"y": y, "s": score, "f": (score >= np.quantile(score, 0.9)).astype(float),
            "families": rng.integers(0, int(n * 0.6), n), "groupings": groupings}


def _group_scores():  # noqa: ANN202  (a checkout's own function)
    fairness = importlib.import_module("riskmodel.evaluation.fairness")
    if hasattr(fairness, "group_scores"):
        return fairness.group_scores
    return importlib.import_module("riskmodel.evaluation.fairness._bootstrap").group_scores


def _digest(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    """Time both bootstraps (see the module's docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4943)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    d = rows(args.rows, args.seed)
    tables = [GroupTable(key=f"t{i}", label=f"t{i}", kind="characteristic", members=(f"t{i}",),
                         codes=g, groups=[str(j) for j in range(k)])
              for i, (g, k) in enumerate(zip(d["groupings"], SIZES, strict=True))]
    t0 = time.process_time()
    _, boot = _group_scores()(tables, d["y"], d["f"], d["s"], probabilities=True, n_boot=1000,
                              random_state=0, clusters=pd.Series(d["families"]).astype(str))
    t1 = time.process_time()
    print(f"group_scores (1,000 resamples, {sum(SIZES) + 1} sets): {t1 - t0:.2f} s CPU, "
          f"draws sha256 {_digest([boot[k] for k in sorted(boot)])}")
    sets = [np.flatnonzero(g == j) for g, k in zip(d["groupings"], SIZES, strict=True)
            for j in range(k)]
    sets += [np.flatnonzero(g != j) for g, k in zip(d["groupings"], SIZES, strict=True)
             for j in range(k)]
    t0 = time.process_time()
    drawn = bootstrap_sets(d["y"], d["s"], d["f"], d["families"], sets, n_boot=200, seed=0,
                           measures=MONITORING)
    t1 = time.process_time()
    print(f"bootstrap_sets (200 resamples, {len(sets)} sets, single precision): "
          f"{t1 - t0:.2f} s CPU, draws sha256 "
          f"{_digest([x[m] for x in drawn for m in MONITORING])}")


if __name__ == "__main__":
    main()
