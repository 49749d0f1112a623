"""Why the model over-predicts the final period: feature windows, calibration and folds.

Evaluates the packaged escalation spec on one synthetic council (``riskmodel synth``) with
one change at a time and prints each candidate's final-period AUC, observed/expected (overall
and in capacity) and calibration slope beside the truth's:

- ``bounded``: the feature spec without the ``all`` windows of contacts, episodes and family
  (their 36-month windows stay), so no count grows with the records;
- ``recent``: the calibrator fitted on the latest 4 training dates out of time
  (``calibration_dates: 4``) rather than on family-grouped folds pooled over every date;
- ``drop-families``: the folds before issue #32 changed them, leaving out of training every
  family on the test date (the packaged folds keep their earlier rows whose outcome was
  recorded by the test date, as the registered model has them);
- ``isotonic``: isotonic calibration instead of the packaged sigmoid.

    python3 -m riskmodel synth --children 20000 --seed 101 --out /tmp/drift_101
    python benchmarks/drift.py /tmp/drift_101 bounded drop-families
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CHANGES = ("bounded", "recent", "drop-families", "isotonic")


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


def _drop_families(family_id: pd.Series) -> None:
    """Folds that leave out every family on the test date (a benchmark-only patch of the
    training module): the design before issue #32."""
    import riskmodel.training._evaluate as ev

    folds = ev.temporal_folds
    fam = pd.factorize(np.asarray(family_id))[0]

    def drop(as_of: pd.Series, **kw: int) -> list:
        return [(train[~np.isin(fam[train], fam[test])], test, d)
                for train, test, d in folds(as_of, **kw)]

    ev.temporal_folds = drop


def main() -> None:
    from riskmodel.data import read_truth
    from riskmodel.jobs import training_matrix
    from riskmodel.training import evaluate_candidates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("changes", nargs="*", choices=CHANGES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = _spec(args.changes, Path(tmp))
        tm = training_matrix(args.data, spec)
        if "drop-families" in args.changes:  # the rows evaluate_candidates folds: labelled
            _drop_families(tm.matrix.loc[tm.matrix["label"].notna(), "family_id"])
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
