"""Time of monitoring one month of 100,000 open children (``riskmodel monitor``'s work), and
false alarms over a year on unchanged councils.

    python3 benchmarks/monitor.py                    # 100,000 children, 200 resamples
    python3 benchmarks/monitor.py --children 250000
    python3 benchmarks/monitor.py --false-alarms --councils 6 --children 3000

``--false-alarms``: for each of ``--councils`` synthetic councils (seeds 1, 2, ...; nothing
planted) a model is trained on the council itself (the tests' relaxed spec: logistic and
LightGBM; its as-of dates up to ``--train-end``, default the data's last closed window,
2025-04-01, so its reference year is 2024-05 to 2025-04), and ``riskmodel monitor`` runs at
every first of the month of ``--months`` (2025-01-01 to 2025-12-01: 12 runs, the last 8
after the reference year), each run seeing the history of the earlier ones. Every verdict
other than ``ok`` is a false alarm; the rate per council-year is compared with the policy's
``monitoring.alarms_per_year``.

A 20,000-child synthetic council gives real feature matrices (210 features): its last four
quarterly dates are the reference, a later date the month. Both are resampled to the size
asked for (each copy a family of its own) and scored by a calibrated LightGBM with the
packaged parameters fitted on the reference. Timed, as the job runs them: the reference
(at training), scoring the month, contacts recorded in the last month, every comparison and
the estimate (``assess_month``), the realised performance of a matured month of the same
size overall and by group (family-clustered bootstrap), and the HTML report with its
charts. Building the month's features from an extract is ``riskmodel score``'s work and is
measured in docs/features.md and docs/scoring.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data import generate_council
from riskmodel.evaluation import load_fairness_policy
from riskmodel.evaluation.fairness import REST
from riskmodel.evaluation.monitoring import (
    ModelRef,
    MonitorSummary,
    ReferenceRef,
    assess_month,
    build_reference,
    by_group,
    contact_volumes,
    importance_shares,
    realised,
    write_monitoring_report,
)
from riskmodel.features import feature_columns
from riskmodel.jobs import open_extract
from riskmodel.models import CalibratedModel, LightGBMClassifier, feature_contributions
from riskmodel.scoring import score_cohort

REFERENCE_DATES = ["2024-07-01", "2024-10-01", "2025-01-01", "2025-04-01"]
MONTH = "2025-07-01"


def resample(rows: pd.DataFrame, n: int, rng) -> pd.DataFrame:
    """``n`` rows drawn with replacement; every copy of a family is a family of its own."""
    idx = rng.integers(0, len(rows), n)
    out = rows.iloc[idx].reset_index(drop=True)
    out["family_id"] = out["family_id"].astype(str) + "-" + pd.Series(
        np.arange(n) // 3, dtype=str)
    out["child_id"] = out["child_id"].astype(str) + "-" + pd.Series(np.arange(n), dtype=str)
    return out


def _relaxed_spec(path: Path, end: str | None = None) -> Path:
    """The packaged escalation spec relaxed as tests/conftest.py does (logistic, LightGBM);
    ``end``: the last as-of date of training (the data's last closed window by default)."""
    from importlib import resources

    import yaml

    spec = yaml.safe_load(
        (resources.files("riskmodel.training") / "specs" / "escalation.yaml").read_text())
    spec["bootstrap"] = 40
    # a 3,000-child council has wide intervals: bars any working model meets (the point
    # here is the monitoring of whatever model the council registers)
    spec["thresholds"] = {"min_auc": 0.3, "max_calibration_error": 0.5,
                          "min_lift_at_capacity": 1.0}
    spec["candidates"][2]["params"]["n_estimators"] = 120
    spec["candidates"] = spec["candidates"][1:]
    if end:
        spec["as_of"]["end"] = end
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def false_alarms(councils: int, children: int, first_seed: int = 1, *,
                 months: list[str], train_end: str | None = None) -> None:
    """Train on each unchanged council (its as-of dates up to ``train_end``), monitor each of
    ``months``; count the runs whose verdict is not ``ok`` and the checks that said so."""
    import collections
    import os

    from riskmodel.jobs import monitor, train

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        spec = _relaxed_spec(Path(tmp) / "escalation.yaml", train_end)
        runs, alarms, checks = 0, [], collections.Counter()
        started = time.perf_counter()
        for seed in range(first_seed, first_seed + councils):
            data = generate_council(children, seed=seed, out=Path(tmp) / f"c{seed}")
            result = train(data, spec)
            if result.registered is None:
                print(f"seed {seed}: no candidate passed; skipped", flush=True)
                continue
            uri = f"models:/escalation/{result.registered['version']}"
            for m in months:
                s = monitor(data, uri, m, out=Path(tmp) / f"m{seed}-{m}").summary
                runs += 1
                if s.verdict != "ok":
                    alarms.append((seed, s.as_of, s.verdict, [r.text[:120] for r in s.reasons]))
                    checks.update({r.section for r in s.reasons})
                print(f"seed {seed} {s.as_of}: {s.verdict} "
                      f"({s.alpha.tests} tests at {s.alpha.alpha:.2g})"
                      + "".join(f"\n    {r.section}: {r.text[:160]}" for r in s.reasons),
                      flush=True)
        years = runs / 12
        print(f"\n{len(alarms)} false alarms in {runs} monthly runs ({years:.1f} council-years): "
              f"{len(alarms) / max(years, 1e-9):.2f} a council-year (policy: at most "
              f"{load_fairness_policy().monitoring.alarms_per_year:g}); "
              f"{time.perf_counter() - started:.0f} s")
        print("runs not ok, by the check that said so:",
              dict(checks) or "none")
        for a in alarms:
            print("  ", *a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--false-alarms", action="store_true",
                    help="Count false alarms on unchanged councils instead of timing.")
    ap.add_argument("--councils", type=int, default=9)
    ap.add_argument("--months", default="2025-01-01:2025-12-01",
                    help="--false-alarms: the first and last monthly run (FIRST:LAST).")
    ap.add_argument("--train-end", default="none",
                    help="--false-alarms: the last as-of date training uses (none: the "
                         "data's last closed window).")
    ap.add_argument("--children", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--contact-copies", type=int, default=60,
                    help="Copies of the council's contacts table, so that the front door's "
                         "month is the size of a council with that many children open "
                         "(60: about 200,000 contacts in the month, 18 million in all).")
    args = ap.parse_args()
    if args.false_alarms:
        first, last = args.months.split(":")
        false_alarms(args.councils, args.children, args.seed,
                     months=[str(d.date()) for d in pd.date_range(first, last, freq="MS")],
                     train_end=None if args.train_end == "none" else args.train_end)
        return
    rng = np.random.default_rng(args.seed)
    policy = load_fairness_policy()
    t = policy.monitoring
    with tempfile.TemporaryDirectory() as tmp:
        data = generate_council(20_000, seed=args.seed, out=Path(tmp) / "council")
        ex = open_extract(data)
        matrix = ex.matrix([*REFERENCE_DATES, MONTH], outcome="escalation")
        features = feature_columns(matrix)
        ref_rows = matrix[matrix["as_of"] < MONTH]
        model = CalibratedModel(LightGBMClassifier(
            n_estimators=500, learning_rate=0.03, num_leaves=7, min_child_samples=100,
            colsample_bytree=0.5), method="sigmoid", cv=2)
        model.fit(ref_rows[features], ref_rows["label"].astype(int),
                  groups=ref_rows["family_id"])
        reference_rows = resample(ref_rows, args.children, rng)
        month = resample(matrix[matrix["as_of"] == MONTH], args.children, rng)
        matured = resample(ref_rows[ref_rows["as_of"] == REFERENCE_DATES[-1]], args.children,
                           rng)
        timings = {}

        t0 = time.perf_counter()
        s = model.predict_proba(reference_rows[features])[:, 1]
        flags = s >= np.quantile(s, 0.9)
        weights = importance_shares(feature_contributions(model, reference_rows[features]
                                                          .head(2000)))
        reference = build_reference(
            reference_rows, features, score=s, flags=flags,
            bands=np.where(s >= 0.14, "high", np.where(s >= 0.07, "medium", "low")),
            importance=weights, early={"months": 1, "events": 140, "events_horizon": 640},
            contacts=contact_volumes(ex.tables["contacts"], ex.tables["children"],
                                     REFERENCE_DATES), source="bench")
        timings["reference (at training)"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        scored = score_cohort(month, model, top="10%", explain_top="none",
                              with_characteristics=True).scores
        scored = scored.merge(month[["child_id", "family_id"]].drop_duplicates("child_id"),
                              on="child_id")
        timings["scoring the month"] = time.perf_counter() - t0

        front_door = pd.concat([ex.tables["contacts"]] * args.contact_copies, ignore_index=True)
        t0 = time.perf_counter()
        contacts = contact_volumes(front_door, ex.tables["children"], [MONTH])
        timings["contacts recorded at the front door in the last month"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        p = model.predict_proba(matured[features])[:, 1]
        frame = pd.DataFrame({"y": matured["label"].astype(int), "p": p,
                              "flag": p >= np.quantile(p, 0.9),
                              "family_id": matured["family_id"]})
        for col in ("locality", "ethnicity", "sex", "disability", "age_band", "imd_quintile"):
            frame[col] = matured[col].to_numpy()
        matured_month = {"2025-04-01": {
            "offers": None, "first": "2025-04-01", "months": ["2025-04-01"],
            "in_reference_year": [],
            "overall": realised(frame["y"], frame["p"], frame["flag"], frame["family_id"],
                                n_boot=t.bootstrap),
            "groups": by_group(frame.assign(record_id=matured["child_id"].to_numpy()),
                               {c: policy.reference(c) for c in ("ethnicity", "sex",
                                                                 "disability", "age_band")},
                               rest=REST, n_boot=t.bootstrap, p_value=t.p_value)}}
        timings["realised performance of a matured month (overall and by group)"] = \
            time.perf_counter() - t0

        t0 = time.perf_counter()
        summary = assess_month(reference, month, scored, thresholds=t, contacts=contacts,
                               realised=matured_month)
        timings["comparisons, estimate and verdict (assess_month)"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        summary = MonitorSummary.framed(
            summary, as_of=MONTH,
            model=ModelRef(uri="bench", asked="bench", name="bench", version="0",
                           run_id="bench", outcome="escalation", horizon_months=6),
            reference=ReferenceRef(source="bench", as_of=None, min_count=5, n=len(reference_rows)),
            promise=(), thresholds=t.model_dump(), tolerance=(0.8, 1.25), policy="packaged",
            seconds=0.0)
        write_monitoring_report(summary, [summary.to_dict()], Path(tmp) / "report.html")
        timings["report.html"] = time.perf_counter() - t0

    print(f"children in the month: {args.children:,}; features: {len(features)}; "
          f"bootstrap resamples: {t.bootstrap}; contacts: {len(front_door):,}, "
          f"{contacts['contacts']:,} in the month; verdict: {summary.verdict}")
    for what, seconds in timings.items():
        print(f"  {what}: {seconds:.1f} s")
    monthly = sum(v for k, v in timings.items() if k != "reference (at training)")
    print(f"monitoring the month: {monthly:.1f} s")


if __name__ == "__main__":
    main()
