"""Why the model over-predicts the final period: feature windows, calibration and folds.

Evaluates the packaged escalation spec on one synthetic council (``riskmodel synth``) with
one change at a time and prints each candidate's final-period AUC, observed/expected (overall
and in capacity) and calibration slope beside the truth's:

- ``bounded``: the feature spec without the ``all`` windows of contacts, episodes and family
  (their 36-month windows stay), so no count grows with the records;
- ``recent``: the calibrator fitted on the latest 4 training dates out of time
  (``calibration_dates: 4``) rather than on family-grouped folds pooled over every date;
- ``keep-families``: folds that train on every date whose outcome was recorded by the test
  date, without leaving out the test date's families (their earlier rows stay in training,
  as they do for the registered model);
- ``isotonic``: isotonic calibration instead of the packaged sigmoid.

    python3 -m riskmodel synth --children 20000 --seed 101 --out /tmp/drift_101
    python benchmarks/drift.py /tmp/drift_101 bounded keep-families
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CHANGES = ("bounded", "recent", "keep-families", "isotonic")


def _spec(changes: list[str], work: Path):
    from riskmodel.features import load_feature_spec
    from riskmodel.training import load_training_spec

    feats = load_feature_spec().model_dump(mode="json")
    if "bounded" in changes:
        b = feats["builders"]
        b["contacts"]["windows"] = [w for w in b["contacts"]["windows"] if w != "all"]
        b["episodes"]["windows"] = [w for w in b["episodes"]["windows"] if w != "all"]
        b["family"]["windows"] = ["12m", "36m"]
    path = work / "features.yaml"
    path.write_text(yaml.safe_dump(feats))
    spec = load_training_spec(outcome="escalation")
    return spec.model_copy(update={
        "features": str(path), "calibration_dates": 4 if "recent" in changes else None,
        "calibration": "isotonic" if "isotonic" in changes else spec.calibration})


def _keep_families() -> None:
    """Folds without the family exclusion (a benchmark-only patch of the training module)."""
    import riskmodel.training._evaluate as ev

    folds = ev.temporal_folds

    def keep(as_of, family_id, **kw):
        ready = {d: d + pd.DateOffset(months=kw["horizon_months"])
                 + pd.Timedelta(days=kw.get("lag_days", 0))
                 for d in pd.DatetimeIndex(pd.to_datetime(as_of)).unique()}
        when = pd.to_datetime(pd.Series(as_of)).map(ready).to_numpy()
        return [(np.flatnonzero(when <= np.datetime64(d)), test, d)
                for _, test, d in folds(as_of, family_id, **kw)]

    ev.temporal_folds = keep


def main() -> None:
    from riskmodel.data import read_truth
    from riskmodel.jobs import training_matrix
    from riskmodel.training import evaluate_candidates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("changes", nargs="*", choices=CHANGES)
    args = parser.parse_args()
    if "keep-families" in args.changes:
        _keep_families()
    with tempfile.TemporaryDirectory() as tmp:
        spec = _spec(args.changes, Path(tmp))
        tm = training_matrix(args.data, spec)
        truth = read_truth(args.data, outcome="escalation", horizon_months=spec.horizon_months)
        truth["as_of"] = truth["as_of"].astype(tm.matrix["as_of"].dtype)
        res = evaluate_candidates(tm.matrix, spec, features=tm.features, truth=truth)
    label = "+".join(args.changes) or "as packaged"
    for r in [*res.candidates, res.truth]:
        x = r.metrics.set_index("metric")
        cells = [f"{m} {x.loc[m, 'value']:.3f} ({x.loc[m, 'low']:.3f}-{x.loc[m, 'high']:.3f})"
                 for m in ("auc", "observed_expected", "observed_expected_at_capacity",
                           "calibration_slope")]
        print(label, r.name, *cells, "PASS" if r.passed else "FAIL", sep="  ")
    print(label, "chosen", res.chosen)


if __name__ == "__main__":
    main()
