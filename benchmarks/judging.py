"""How often the pass decision registers a model, on synthetic councils with known truth.

For each council size and seed: generate a council, evaluate the packaged spec's candidates
(no MLflow), and judge the chosen candidate twice on the same fit: with the packaged bars
(below the truth) and with ``min_auc`` raised above what the truth reaches (default 0.80).
Prints one line per council and the registration rate per size and bar.

    python benchmarks/judging.py --children 6000 20000 50000 --seeds 10
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def one_council(n: int, seed: int, outcome: str, high_bar: float, work: Path,
                start: str | None, moved_away: str = "censor") -> dict:
    """Generate, evaluate and judge one council; return its figures."""
    from riskmodel.data import generate_council, read_truth
    from riskmodel.jobs import training_matrix
    from riskmodel.training import evaluate_candidates, judge, load_training_spec

    spec = load_training_spec(outcome=outcome)
    extra = {"start": start} if start else {}
    data = generate_council(n_children=n, seed=seed, out=work / f"c{n}_{seed}", **extra)
    tm = training_matrix(data, spec)
    if moved_away == "zero":  # what censoring changes: the same rows labelled 0 instead
        from riskmodel.features import build_labels

        zero = build_labels(tm.extract.tables, sorted(tm.matrix["as_of"].unique()),
                            horizon_months=spec.horizon_months, extract_date=tm.extract.date,
                            moved_away="zero")[["child_id", "as_of", outcome]]
        tm.matrix = tm.matrix.drop(columns="label").merge(
            zero.rename(columns={outcome: "label"}), on=["child_id", "as_of"], how="left")
    truth = read_truth(data, outcome=outcome, horizon_months=spec.horizon_months)
    truth["as_of"] = truth["as_of"].astype(tm.matrix["as_of"].dtype)
    res = evaluate_candidates(tm.matrix, spec, features=tm.features, truth=truth)
    chosen = next(r for r in res.candidates if r.name == res.chosen)
    high = spec.model_copy(update={"thresholds": spec.thresholds.model_copy(
        update={"min_auc": high_bar})})
    passed_high, _ = judge(chosen.metrics, high)
    # the discrimination bars alone (AUC, lift, beating the rule): the calibration bars apart
    ranking = spec.model_copy(update={"thresholds": spec.thresholds.model_copy(update={
        k: None for k in spec.thresholds.model_dump() if "observed" in k or "slope" in k})})
    passed_ranking, _ = judge(chosen.metrics, ranking)
    m = chosen.metrics.set_index("metric")
    t = res.truth.metrics.set_index("metric") if res.truth is not None else None
    return {"n": n, "seed": seed, "chosen": chosen.name, "auc": m.loc["auc", "value"],
            "auc_low": m.loc["auc", "low"], "truth_auc": t.loc["auc", "value"] if t is not None
            else float("nan"), "oe": m.loc["observed_expected", "value"],
            "slope": m.loc["calibration_slope", "value"],
            "lift_low": m.loc["lift_at_capacity", "low"],
            "truth_oe": t.loc["observed_expected", "value"] if t is not None else float("nan"),
            "truth_slope": t.loc["calibration_slope", "value"] if t is not None
            else float("nan"),
            "passed": chosen.passed, "passed_high": passed_high,
            "passed_ranking": passed_ranking,
            "why": "; ".join(chosen.reasons)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, nargs="+", default=[6000, 20000, 50000])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=101)
    parser.add_argument("--outcome", default="escalation")
    parser.add_argument("--high-bar", type=float, default=0.80)
    parser.add_argument("--start", default=None, help="first simulated day (synth --start)")
    parser.add_argument("--moved-away", choices=("censor", "zero"), default="censor",
                        help="transferred/relocated closures: censored (the default) or 0")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="riskmodel-judging-"))
    for n in args.children:
        rows = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.perf_counter()
            r = one_council(n, seed, args.outcome, args.high_bar, work, args.start,
                            args.moved_away)
            rows.append(r)
            print(f"{n:>7,} seed {seed}: {r['chosen']} AUC {r['auc']:.3f} (from "
                  f"{r['auc_low']:.3f}), truth {r['truth_auc']:.3f}, O/E {r['oe']:.2f} (truth "
                  f"{r['truth_oe']:.2f}), slope {r['slope']:.2f} (truth {r['truth_slope']:.2f}),"
                  f" lift from {r['lift_low']:.2f}: packaged bars "
                  f"{'PASS' if r['passed'] else 'FAIL'} (AUC, lift and rule bars alone "
                  f"{'PASS' if r['passed_ranking'] else 'FAIL'}), min_auc {args.high_bar:g} "
                  f"{'PASS' if r['passed_high'] else 'FAIL'} ({time.perf_counter() - t0:.0f}s)"
                  + (f" [{r['why']}]" if r["why"] else ""), flush=True)
        k = len(rows)
        print(f"{n:>7,} children: packaged bars registered in {sum(r['passed'] for r in rows)}"
              f" of {k}; the AUC, lift and rule bars alone passed in "
              f"{sum(r['passed_ranking'] for r in rows)} of {k}; min_auc {args.high_bar:g} in "
              f"{sum(r['passed_high'] for r in rows)} of {k}", flush=True)


if __name__ == "__main__":
    main()
