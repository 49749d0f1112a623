"""Train on one synthetic council, judge on an independent one: the gap to the truth.

The model is trained (packaged spec, no MLflow) on council A; council B, generated with
another seed, is never seen in training or choice. On B's final out-of-time period (the
spec's held-out as-of dates) the script prints the model's AUC, the true probabilities' AUC
on the same rows, and the gap with a 95% interval from a paired bootstrap that resamples
B's families and as-of dates (the same resamples for both, so the interval is of the gap).

    python benchmarks/transfer.py --children 20000 --train-seed 21 --test-seed 22
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _auc(y, p, w):
    import numpy as np

    order = np.argsort(-p, kind="stable")
    y, p, w = y[order], p[order], w[order]
    ends = np.flatnonzero(np.r_[p[1:] != p[:-1], True])
    tp, fp = np.cumsum(w * y)[ends], np.cumsum(w * (1 - y))[ends]
    tpr, fpr = np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--train-seed", type=int, default=21)
    parser.add_argument("--test-seed", type=int, default=22)
    parser.add_argument("--outcome", default="escalation")
    parser.add_argument("--boot", type=int, default=500)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    from riskmodel.data import generate_council, read_truth
    from riskmodel.jobs import training_matrix
    from riskmodel.training import fit_final, load_training_spec

    work = Path(tempfile.mkdtemp(prefix="riskmodel-transfer-"))
    spec = load_training_spec(outcome=args.outcome)
    t0 = time.perf_counter()
    a = generate_council(n_children=args.children, seed=args.train_seed, out=work / "a")
    b = generate_council(n_children=args.children, seed=args.test_seed, out=work / "b")
    tm_a = training_matrix(a, spec)
    lightgbm = next(c for c in spec.candidates if c.kind == "lightgbm")
    model = fit_final(tm_a.matrix, tm_a.features, lightgbm, spec)
    tm_b = training_matrix(b, spec)
    final_dates = sorted(tm_b.matrix["as_of"].unique())[-spec.splits.holdout:]
    rows = tm_b.matrix[tm_b.matrix["as_of"].isin(final_dates) & tm_b.matrix["label"].notna()]
    truth = read_truth(b, outcome=args.outcome, horizon_months=spec.horizon_months)
    truth["as_of"] = truth["as_of"].astype(rows["as_of"].dtype)
    rows = rows.merge(truth, on=["child_id", "as_of"], how="left", validate="one_to_one")
    y = rows["label"].to_numpy(dtype=float)
    p_model = model.predict_proba(rows[tm_a.features])[:, 1]
    p_true = rows["p_true"].to_numpy(dtype=float)
    fam = pd.factorize(rows["family_id"])[0]
    dates = pd.factorize(rows["as_of"])[0]
    rng = np.random.default_rng(0)
    ones = np.ones(len(y))
    gap = _auc(y, p_true, ones) - _auc(y, p_model, ones)
    gaps = []
    for _ in range(args.boot):
        w = rng.multinomial(fam.max() + 1, np.full(fam.max() + 1, 1 / (fam.max() + 1)))[fam]
        w = w * rng.multinomial(dates.max() + 1, np.full(dates.max() + 1,
                                                         1 / (dates.max() + 1)))[dates]
        w = w.astype(float)
        gaps.append(_auc(y, p_true, w) - _auc(y, p_model, w))
    low, high = np.quantile(gaps, [0.025, 0.975])
    period = ", ".join(str(d.date()) for d in final_dates)
    print(f"trained on seed {args.train_seed}, judged on seed {args.test_seed} "
          f"({args.children:,} children each); final period {period}: {len(rows):,} rows")
    print(f"LightGBM AUC {_auc(y, p_model, ones):.4f}, truth {_auc(y, p_true, ones):.4f}: "
          f"gap {gap:.4f} (95% interval {low:.4f} to {high:.4f}); {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
