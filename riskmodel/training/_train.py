"""Train candidates on rolling-origin temporal folds and judge them honestly.

Each candidate is evaluated on out-of-time test dates it never trained on, with
family-clustered bootstrap intervals, beside the base rate and (on synthetic data) the true
probabilities; it passes only if the conservative end of every interval meets the pass
thresholds the spec fixed before the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import InputError
from ..evaluation._metrics import capacity_flags, evaluate_predictions
from ._candidates import CalibratedModel, LightGBMClassifier, LogisticClassifier, RuleClassifier
from ._spec import Candidate, TrainingSpec

_BASE = {"rule": RuleClassifier, "logistic": LogisticClassifier, "lightgbm": LightGBMClassifier}


def make_candidate(candidate: Candidate, *, calibration: str = "isotonic", seed: int = 0,
                   calibration_folds: int = 2):
    """An unfitted, calibrated estimator for a spec's candidate entry.

    Examples
    --------
    >>> from riskmodel.training._spec import Candidate
    >>> make_candidate(Candidate(name="lr", kind="logistic", params={"C": 0.5})).base.C
    0.5
    """
    cls = _BASE[candidate.kind]
    params = dict(candidate.params)
    if candidate.kind == "lightgbm":
        params.setdefault("random_state", seed)
    try:
        base = cls(**params)
    except TypeError as exc:
        raise InputError(f"training spec: candidate '{candidate.name}': {exc}") from None
    return CalibratedModel(base, method=calibration, cv=calibration_folds)


def as_of_schedule(spec: TrainingSpec, extract_date) -> list[pd.Timestamp]:
    """The as-of dates of a spec whose label windows are fully observed by ``extract_date``.

    Examples
    --------
    >>> from riskmodel.training import load_training_spec
    >>> s = load_training_spec(outcome="escalation")
    >>> [d.strftime("%Y-%m") for d in as_of_schedule(s, "2021-01-01")]
    ['2020-01', '2020-04', '2020-07']
    """
    extract = pd.Timestamp(extract_date)
    start = pd.Timestamp(spec.as_of.start)
    end = pd.Timestamp(spec.as_of.end) if spec.as_of.end else extract
    dates, t = [], start
    while t <= end and t + pd.DateOffset(months=spec.horizon_months) <= extract:
        dates.append(t)
        t = t + pd.DateOffset(months=spec.as_of.every_months)
    return dates


def temporal_folds(as_of, family_id, *, n_folds: int, horizon_months: int):
    """Rolling-origin folds: (train index, test index, test date) for the last ``n_folds`` dates.

    A fold tests on one as-of date T and trains on the dates whose label windows closed by T
    (t + horizon ≤ T), leaving out every family that appears on the test date, so no child or
    sibling sits on both sides.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.to_datetime(["2020-01-01", "2020-07-01", "2021-01-01", "2021-07-01"] * 2)
    >>> fam = ["a", "b", "c", "d", "e", "f", "g", "a"]
    >>> folds = temporal_folds(d, fam, n_folds=2, horizon_months=6)
    >>> [(tr.tolist(), te.tolist()) for tr, te, _ in folds]
    [([0, 1, 4, 5], [2, 6]), ([1, 2, 4, 5, 6], [3, 7])]
    """
    as_of = pd.DatetimeIndex(pd.to_datetime(as_of))
    # Integer family codes: np.isin on object strings is ~1000x slower.
    fam = pd.factorize(np.asarray(family_id))[0]
    dates = sorted(as_of.unique())
    if len(dates) < n_folds + 1:
        raise InputError(
            f"training: {len(dates)} as-of date(s) with observed labels, need at least "
            f"{n_folds + 1} for {n_folds} rolling-origin folds (start the schedule earlier)"
        )
    # Shift the few distinct dates, not every row: DateOffset arithmetic is not vectorised.
    codes = pd.Index(dates).get_indexer(as_of)
    window_end = np.array([d + pd.DateOffset(months=horizon_months) for d in dates])
    folds = []
    for test_date in dates[-n_folds:]:
        test = np.flatnonzero(as_of == test_date)
        closed = window_end[codes] <= test_date
        train = np.flatnonzero(closed & ~np.isin(fam, fam[test]))
        if len(train) == 0:
            raise InputError(
                f"training: no training rows before test date {test_date.date()} "
                f"(the schedule must start more than {horizon_months} months earlier)"
            )
        folds.append((train, test, test_date))
    return folds


def data_fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """A SHA-256 of the tables' contents (order-independent within a table); never rows."""
    h = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        row_hashes = np.sort(pd.util.hash_pandas_object(df, index=False).to_numpy())
        h.update(name.encode())
        h.update(",".join(map(str, df.columns)).encode())
        h.update(row_hashes.tobytes())
    return h.hexdigest()


@dataclass
class CandidateResult:
    """One candidate's out-of-time evaluation."""

    name: str
    kind: str
    metrics: pd.DataFrame
    by_locality: pd.DataFrame
    predictions: pd.DataFrame
    passed: bool
    reasons: list[str]
    model: CalibratedModel | None = None
    run_id: str | None = None


@dataclass
class TrainResult:
    """What ``train`` produced: a leaderboard, each candidate, and what was registered."""

    spec: TrainingSpec
    candidates: list[CandidateResult]
    truth: CandidateResult | None
    fingerprint: str
    test_dates: list[pd.Timestamp]
    n_rows: int
    registered: dict | None = None
    parent_run_id: str | None = None
    extra: dict = field(default_factory=dict)

    def leaderboard(self) -> pd.DataFrame:
        """One row per candidate (and the truth, when known) with intervals and PASS/FAIL."""
        rows = []
        for r in self.candidates + ([self.truth] if self.truth is not None else []):
            m = r.metrics.set_index("metric")
            row = {"candidate": r.name, "kind": r.kind}
            for metric in m.index:
                row[metric] = m.loc[metric, "value"]
                row[f"{metric}_low"] = m.loc[metric, "low"]
                row[f"{metric}_high"] = m.loc[metric, "high"]
            row["result"] = ("PASS" if r.passed else "FAIL") if r.kind != "truth" else "reference"
            row["why"] = "; ".join(r.reasons)
            rows.append(row)
        return pd.DataFrame(rows)


def judge(metrics: pd.DataFrame, spec: TrainingSpec) -> tuple[bool, list[str]]:
    """PASS only if each interval's conservative end meets its pre-set threshold.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.training import load_training_spec
    >>> m = pd.DataFrame({"metric": ["auc", "precision_at_capacity", "calibration_error"],
    ...                   "value": [0.8, 0.5, 0.01], "low": [0.75, 0.4, 0.005],
    ...                   "high": [0.85, 0.6, 0.02]})
    >>> judge(m, load_training_spec(outcome="escalation"))
    (True, [])
    """
    m = metrics.set_index("metric")
    reasons = []
    for key, bound in spec.thresholds.model_dump().items():
        if bound is None:
            continue
        kind, metric = key.split("_", 1)
        low, high, value = m.loc[metric, "low"], m.loc[metric, "high"], m.loc[metric, "value"]
        if kind == "min" and not (low >= bound):
            reasons.append(f"{metric} {value:.3f} (95% interval from {low:.3f}) below {bound:g}")
        if kind == "max" and not (high <= bound):
            reasons.append(f"{metric} {value:.3f} (95% interval to {high:.3f}) above {bound:g}")
    return not reasons, reasons


def _evaluate(name, kind, pred: pd.DataFrame, spec: TrainingSpec) -> CandidateResult:
    cap = spec.capacity
    pred = pred.copy()
    pred["flagged"] = capacity_flags(pred, score="score", top_percent=cap.top_percent,
                                     top_n_per_locality=cap.top_n_per_locality)
    metrics = evaluate_predictions(pred["label"], pred["score"], flags=pred["flagged"],
                                   groups=pred["family_id"], n_boot=spec.bootstrap,
                                   random_state=spec.seed)
    loc_rows = []
    for loc, part in pred.groupby("locality", sort=True, observed=True):
        lm = evaluate_predictions(part["label"], part["score"], flags=part["flagged"],
                                  groups=part["family_id"], n_boot=max(20, spec.bootstrap // 4),
                                  random_state=spec.seed)
        lm.insert(0, "locality", loc)
        loc_rows.append(lm[lm.metric.isin(["base_rate", "precision_at_capacity",
                                           "recall_at_capacity"])])
    by_loc = pd.concat(loc_rows, ignore_index=True) if loc_rows else pd.DataFrame()
    passed, reasons = judge(metrics, spec) if kind != "truth" else (True, [])
    return CandidateResult(name=name, kind=kind, metrics=metrics, by_locality=by_loc,
                           predictions=pred, passed=passed, reasons=reasons)


def fit_and_predict_folds(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
                          spec: TrainingSpec, folds) -> pd.DataFrame:
    """Out-of-time predictions of one candidate over all folds (test rows only)."""
    y = matrix["label"].to_numpy(dtype=int)
    X = matrix[features]
    parts = []
    for train, test, test_date in folds:
        est = make_candidate(candidate, calibration=spec.calibration, seed=spec.seed,
                             calibration_folds=spec.calibration_folds)
        est.fit(X.iloc[train], y[train], groups=matrix["family_id"].to_numpy()[train])
        part = matrix.iloc[test][["child_id", "family_id", "as_of", "label", "locality"]].copy()
        part["score"] = est.predict_proba(X.iloc[test])[:, 1]
        part["fold"] = str(test_date.date())
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["label"].astype(int)
    return out


def evaluate_candidates(matrix: pd.DataFrame, spec: TrainingSpec, *, features: list[str],
                        truth: pd.DataFrame | None = None, progress=None) -> TrainResult:
    """Fit every candidate on rolling-origin folds and evaluate it out of time.

    Parameters
    ----------
    matrix : DataFrame
        From :func:`riskmodel.features.build_matrix`; rows with a missing label are dropped.
    spec : TrainingSpec
    features : list of str
        Model feature columns.
    truth : DataFrame, optional
        ``child_id``, ``as_of`` and ``p_true`` (synthetic councils): evaluated on the same
        test rows as a reference for the best possible model.
    progress : callable, optional
        Called with a short message as each step finishes.

    Returns
    -------
    TrainResult
    """
    say = progress or (lambda msg: None)
    labelled = matrix[matrix["label"].notna()].reset_index(drop=True)
    if labelled.empty:
        raise InputError("training: no rows with an observed label (check the as-of schedule)")
    if labelled["label"].nunique() < 2:
        raise InputError("training: the labels are all the same value; nothing to learn")
    folds = temporal_folds(labelled["as_of"], labelled["family_id"], n_folds=spec.splits.n_folds,
                           horizon_months=spec.horizon_months)
    results = []
    for cand in spec.candidates:
        pred = fit_and_predict_folds(labelled, features, cand, spec, folds)
        results.append(_evaluate(cand.name, cand.kind, pred, spec))
        say(f"evaluated {cand.name}")
    truth_result = None
    if truth is not None:
        base = results[0].predictions[["child_id", "family_id", "as_of", "label", "locality"]]
        joined = base.merge(truth, on=["child_id", "as_of"], how="left")
        if joined["p_true"].notna().all():
            joined = joined.rename(columns={"p_true": "score"})
            truth_result = _evaluate("truth", "truth", joined, spec)
        else:
            say(f"truth covers {joined['p_true'].notna().mean():.0%} of test rows; not shown")
    return TrainResult(spec=spec, candidates=results, truth=truth_result, fingerprint="",
                       test_dates=[f[2] for f in folds], n_rows=len(labelled))


def fit_final(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
              spec: TrainingSpec) -> CalibratedModel:
    """Fit a candidate on every labelled row: the model that is registered and used."""
    labelled = matrix[matrix["label"].notna()]
    est = make_candidate(candidate, calibration=spec.calibration, seed=spec.seed,
                         calibration_folds=spec.calibration_folds)
    return est.fit(labelled[features], labelled["label"].to_numpy(dtype=int),
                   groups=labelled["family_id"].to_numpy())


def best_passing(result: TrainResult) -> CandidateResult | None:
    """The passing candidate with the best ``select_by`` metric, or None."""
    metric = result.spec.select_by
    passing = [r for r in result.candidates if r.passed]
    if not passing:
        return None
    return max(passing, key=lambda r: r.metrics.set_index("metric").loc[metric, "value"])


def read_truth(data_dir: str | Path, *, outcome: str, horizon_months: int) -> pd.DataFrame | None:
    """The synthetic council's true probabilities for this outcome and horizon, if present."""
    path = Path(data_dir) / "truth.parquet"
    if not Path(data_dir).is_dir() or not path.exists():
        return None
    col = f"p_{outcome}_{horizon_months}m"
    truth = pd.read_parquet(path)
    if col not in truth.columns:
        return None
    truth = truth[["child_id", "as_of", col]].rename(columns={col: "p_true"})
    truth["child_id"] = truth["child_id"].astype(str)
    truth["as_of"] = pd.to_datetime(truth["as_of"]).astype("datetime64[ns]")
    return truth


