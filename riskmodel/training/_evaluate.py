"""Train candidates on rolling-origin temporal folds and judge them honestly.

Each candidate is evaluated on out-of-time test dates it never trained on, with
family-clustered bootstrap intervals, beside the base rate and (on synthetic data) the true
probabilities; it passes only if the conservative end of every interval meets the pass
thresholds the spec fixed before the run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel.evaluation.metrics import evaluate_predictions
from riskmodel.models import CalibratedModel, FitPool, make_model
from riskmodel.training._decisions import OFFERED_HELP
from riskmodel.training._folds import (
    DatePlan,
    plan_dates,
    recent_calibration_rows,
    temporal_folds,
)
from riskmodel.training._judging import (
    TOLERANCES,
    family_weights,
    half_widths,
    paired_auc_gain,
    relative_calibration,
)
from riskmodel.training._over_time import (
    list_stability,
    per_date_metrics,
    regret,
    what_it_would_take,
)
from riskmodel.training._result import CandidateResult, TrainResult
from riskmodel.training._spec import Candidate, TrainingSpec


def make_candidate(candidate: Candidate, *, calibration: str = "isotonic", seed: int = 0,
                   calibration_folds: int = 2):
    """An unfitted, calibrated estimator for a spec's candidate entry.

    Examples
    --------
    >>> from riskmodel.training import Candidate
    >>> make_candidate(Candidate(name="lr", kind="logistic", params={"C": 0.5})).base.C
    0.5
    """
    try:
        return make_model(candidate.kind, candidate.params, calibration=calibration, seed=seed,
                          calibration_folds=calibration_folds)
    except TypeError as exc:
        raise InputError(f"training spec: candidate '{candidate.name}': {exc}") from None


def fit_candidate(candidate: Candidate, matrix: pd.DataFrame, features: list[str],
                  rows: np.ndarray, spec: TrainingSpec, *,
                  pool: FitPool | None = None) -> CalibratedModel:
    """Fit a candidate on ``rows`` of a matrix, calibrated as the spec says: on the latest
    ``calibration_dates`` of those rows out of time (see
    :func:`~riskmodel.training._folds.recent_calibration_rows`), else on family-grouped folds.
    ``pool``: fit beside other models' fits (:class:`~riskmodel.models.FitPool`); the
    model is the same.

    Examples
    --------
    >>> from riskmodel.training import Candidate, load_training_spec
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame({"as_of": np.repeat(pd.date_range("2022-01-01", periods=8,
    ...                                                    freq="QS"), 200),
    ...                   "x": rng.normal(size=1600), "family_id": np.arange(1600)})
    >>> m["label"] = (m.x + rng.normal(size=1600) > 1.5).astype(int)
    >>> spec = load_training_spec(outcome="escalation").model_copy(
    ...     update={"calibration": "sigmoid", "calibration_dates": 2})
    >>> est = fit_candidate(Candidate(name="lr", kind="logistic"), m, ["x"],
    ...                     np.arange(len(m)), spec)
    >>> bool(abs(est.predict_proba(m[["x"]])[:, 1].mean() - m.label.mean()) < 0.03)
    True
    """
    est = make_candidate(candidate, calibration=spec.calibration, seed=spec.seed,
                         calibration_folds=spec.calibration_folds)
    part = matrix[["as_of", "label", "family_id"]].iloc[rows]
    recent = None
    if spec.calibration_dates is not None:
        recent = recent_calibration_rows(part["as_of"], n_dates=spec.calibration_dates,
                                         horizon_months=spec.horizon_months,
                                         lag_days=spec.as_of.recording_lag_days)
    y = part["label"].to_numpy(dtype=int)
    if recent is not None and np.unique(y[recent[1]]).size < 2:
        recent = None  # one class on the latest dates: nothing to calibrate on
    X = matrix.iloc[rows, matrix.columns.get_indexer(features)]  # only the columns it fits on
    return est.fit(X, y, groups=part["family_id"].to_numpy(), calibrate_on=recent, pool=pool)


#: Calibration bars judged as tolerances on the estimate (see :func:`judge`).
def judge(metrics: pd.DataFrame, spec: TrainingSpec) -> tuple[bool, list[str]]:
    """PASS only if each quality bar is met at its interval's conservative end (a ``min_``
    bar the low end, a ``max_`` bar the high end), each calibration tolerance
    (:data:`TOLERANCES`) holds the estimate, and ``beat`` (a candidate to beat) has the low
    end of the paired AUC gain above 0.

    A quality bar is a claim the model must show (a council relies on it); a calibration
    bar is a tolerance on a figure whose interval, at a council's size, is wider than the
    tolerance itself (even true probabilities' observed/expected in a 10% list spans about
    0.35 at 20,000 children), so judging it on the interval's far end would refuse models
    that are right. Scores 1.5 times too high (observed/expected 0.67) fail it at any size.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.training import load_training_spec
    >>> m = pd.DataFrame({"metric": ["auc", "lift_at_capacity", "observed_expected",
    ...                              "observed_expected_at_capacity", "calibration_slope",
    ...                              "auc_gain"],
    ...                   "value": [0.8, 3.0, 1.0, 1.0, 1.0, 0.1],
    ...                   "low": [0.75, 2.4, 0.9, 0.85, 0.9, 0.05],
    ...                   "high": [0.85, 3.6, 1.1, 1.15, 1.1, 0.15]})
    >>> judge(m, load_training_spec(outcome="escalation"))
    (True, [])
    """
    m = metrics.set_index("metric")
    reasons = []
    bars = spec.thresholds.model_dump()
    beat = bars.pop("beat")
    for key, bound in bars.items():
        if bound is None:
            continue
        kind, metric = key.split("_", 1)
        low, high, value = m.loc[metric, "low"], m.loc[metric, "high"], m.loc[metric, "value"]
        if metric in TOLERANCES:
            outside = not (value >= bound) if kind == "min" else not (value <= bound)
            if outside:
                side = "below" if kind == "min" else "above"
                reasons.append(f"{metric}: the estimate {value:.3f} is {side} {bound:g} "
                               f"(95% interval {low:.3f} to {high:.3f})")
            continue
        if kind == "min" and not (low >= bound):
            reasons.append(f"{metric}: the 95% interval's low end {low:.3f} is below {bound:g} "
                           f"(estimate {value:.3f})")
        if kind == "max" and not (high <= bound):
            reasons.append(f"{metric}: the 95% interval's high end {high:.3f} is above {bound:g} "
                           f"(estimate {value:.3f})")
    if beat is not None and "auc_gain" in m.index:
        g = m.loc["auc_gain"]
        if not (g["low"] > 0):
            reasons.append(f"does not beat {beat}: AUC {g['value']:+.3f} against it on the same "
                           f"rows (95% interval from {g['low']:+.3f})")
    return not reasons, reasons


def judge_fairness(findings: pd.DataFrame, spec: TrainingSpec) -> tuple[bool, list[str], dict]:
    """PASS unless more findings flag a group as disadvantaged than the spec's fairness bars
    allow (only the bars' characteristics and measures count).

    ``findings`` is a fairness audit's (``FairnessAudit.findings``). Returns the verdict, the
    reasons and what the leaderboard shows (``fairness_flags``, ``fairness_worst``).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.training import load_training_spec
    >>> from riskmodel.training._spec import FairnessBars
    >>> spec = load_training_spec(outcome="escalation").model_copy(
    ...     update={"fairness": FairnessBars(characteristics=["sex"])})
    >>> f = pd.DataFrame({"characteristic": ["sex"], "label": ["sex"], "group": ["male"],
    ...                   "measure": ["selection_rate"], "ratio": [1.6], "low": [1.4],
    ...                   "high": [1.8], "direction": ["disadvantaged"], "status": ["flag"]})
    >>> judge_fairness(f, spec)[:2]
    (False, ["fairness: sex 'male' selection rate 1.60x everyone (95% interval 1.40-1.80)"])
    """
    bars = spec.fairness
    if bars is None:
        return True, [], {}
    f = findings
    if f is None or f.empty:
        return True, [], {"fairness_flags": 0, "fairness_worst": ""}
    f = f[f.characteristic.isin(bars.characteristics) & f.measure.isin(bars.measures)]
    bad = f[(f.status == "flag") & (f.direction == "disadvantaged")]
    worst = ""
    if len(bad):
        top = bad.iloc[0]
        worst = f"{top['group']} {top['measure'].replace('_', ' ')} {top['ratio']:.2f}x"
    shown = {"fairness_flags": len(bad), "fairness_worst": worst}
    if len(bad) <= bars.max_flags:
        return True, [], shown
    reasons = [f"fairness: {r['label']} '{r['group']}' {r['measure'].replace('_', ' ')} "
               f"{r['ratio']:.2f}x everyone (95% interval {r['low']:.2f}-{r['high']:.2f})"
               for _, r in bad.head(3).iterrows()]
    if len(bad) > 3:
        reasons.append(f"fairness: and {len(bad) - 3} more flagged")
    return False, reasons, shown


def _evaluate(name: str, kind: str, pred: pd.DataFrame, spec: TrainingSpec,
              holdout_dates: Sequence[pd.Timestamp] = (),
              weights: np.ndarray | None = None) -> CandidateResult:
    """One candidate's metrics (not yet judged): the final period's with family-resampled
    intervals and the relative calibration, the selection period's point values (all the
    choice reads), per date and locality. The date part of the intervals is the chosen
    candidate's only (:func:`_date_halves`)."""
    cap = spec.capacity
    pred = pred.copy()
    pred["flagged"] = Capacity.from_spec(cap).select(pred, score="score")
    final = _final(pred, holdout_dates)
    judged = _judged(pred)
    # The pass decision: families resampled on the final period's fixed dates.
    metrics = _pooled(pred, final & judged, spec, by_date=False)
    part = pred[final & judged]
    if weights is None:
        weights = family_weights(part["family_id"], n_boot=spec.bootstrap, seed=spec.seed)
    metrics = pd.concat([metrics, relative_calibration(part["label"], part["score"],
                                                       part["flagged"], weights)],
                        ignore_index=True)
    # The choice reads the selection period's point values only: no resamples.
    selection = (_pooled(pred, ~final & judged, spec, by_date=True, n_boot=0)
                 if len(holdout_dates) else metrics)
    return CandidateResult(name=name, kind=kind, metrics=metrics,
                           by_locality=_by_locality(pred[final & judged], spec),
                           predictions=pred, passed=True, reasons=[],
                           selection_metrics=selection, per_date=per_date_metrics(pred),
                           stability=list_stability(pred))


def _final(pred: pd.DataFrame, holdout_dates: Sequence[pd.Timestamp]) -> pd.Series:
    """The rows of the final period (every row when no period was held out)."""
    if len(holdout_dates):
        return pred["as_of"].isin(list(holdout_dates))
    return pd.Series(True, index=pred.index)


def _pooled(pred: pd.DataFrame, rows: pd.Series, spec: TrainingSpec, *, by_date: bool,
            n_boot: int | None = None) -> pd.DataFrame:
    """Metrics of the ``rows`` pooled, families (and with ``by_date`` the dates) resampled
    ``n_boot`` times (default: the spec's ``bootstrap``)."""
    part = pred[rows]
    return evaluate_predictions(part["label"], part["score"], flags=part["flagged"],
                                groups=part["family_id"],
                                dates=part["as_of"] if by_date else None,
                                n_boot=spec.bootstrap if n_boot is None else n_boot,
                                random_state=spec.seed)


def _date_halves(r: CandidateResult, spec: TrainingSpec,
                 holdout_dates: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """The candidate's interval half-widths, families' and dates' parts apart (for
    :func:`what_it_would_take`): the final period resampled by family and date as well."""
    pred = r.predictions
    both = _pooled(pred, _final(pred, holdout_dates) & _judged(pred), spec, by_date=True)
    return half_widths(r.metrics[r.metrics["metric"] != "auc_gain"], both)


def _judged(pred: pd.DataFrame) -> pd.Series:
    """spec decisions: flag: judged on the rows without help (ranked among all rows)."""
    if OFFERED_HELP in pred:
        return pred[OFFERED_HELP].eq(0)
    return pd.Series(True, index=pred.index)


def _by_locality(rows: pd.DataFrame, spec: TrainingSpec) -> pd.DataFrame:
    loc_rows = []
    for loc, part in rows.groupby("locality", sort=True, observed=True):
        lm = evaluate_predictions(part["label"], part["score"], flags=part["flagged"],
                                  groups=part["family_id"], n_boot=max(20, spec.bootstrap // 4),
                                  random_state=spec.seed)
        lm.insert(0, "locality", loc)
        loc_rows.append(lm[lm.metric.isin(["base_rate", "precision_at_capacity",
                                           "recall_at_capacity"])])
    return pd.concat(loc_rows, ignore_index=True) if loc_rows else pd.DataFrame()


def _judge_all(results: list[CandidateResult], spec: TrainingSpec, holdout_dates,
               weights: np.ndarray) -> None:
    """Add each candidate's paired AUC gain over ``thresholds.beat`` and judge it."""
    beat = spec.thresholds.beat
    base = next((r for r in results if r.name == beat), None)

    def final_rows(r: CandidateResult) -> pd.DataFrame:
        pred = r.predictions
        rows = pred["as_of"].isin(list(holdout_dates)) if len(holdout_dates) else True
        return pred[rows & _judged(pred)]

    for r in results:
        if base is not None and r is not base:
            mine, theirs = final_rows(r), final_rows(base)
            gain = paired_auc_gain(mine["label"], mine["score"], theirs["score"], weights)
            r.metrics = pd.concat([r.metrics, pd.DataFrame([{"metric": "auc_gain", **gain}])],
                                  ignore_index=True)
        r.passed, r.reasons = judge(r.metrics, spec)
        if r is base:
            r.passed = False
            r.reasons = [*r.reasons, "the baseline to beat (thresholds.beat)"]


def labelled_rows(matrix: pd.DataFrame) -> pd.DataFrame:
    """The rows a training learns from and tests on (an observed label), positioned from 0:
    the positions its stored test predictions refer to.

    Examples
    --------
    >>> m = pd.DataFrame({"label": [1, None, 0]}, dtype="Int64")
    >>> labelled_rows(m)["label"].tolist()
    [1, 0]
    """
    return matrix[matrix["label"].notna()].reset_index(drop=True)


def fit_and_predict_folds(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
                          spec: TrainingSpec, folds, *,
                          pool: FitPool | None = None) -> pd.DataFrame:
    """Out-of-time predictions of one candidate over all folds (test rows only); the folds
    are fitted side by side (``pool``, else a :class:`~riskmodel.models.FitPool` of its
    own), and the predictions are the same as one fold after another."""
    if pool is None:
        with FitPool() as own:
            return fit_and_predict_folds(matrix, features, candidate, spec, folds, pool=own)
    parts = pool.map(lambda fold: _fold_predictions(matrix, features, candidate, spec, fold,
                                                    pool), list(folds))
    return _joined_folds(parts)


def _fold_predictions(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
                      spec: TrainingSpec, fold: tuple[np.ndarray, np.ndarray, pd.Timestamp],
                      pool: FitPool) -> pd.DataFrame:
    """One fold's test rows with the scores of the candidate fitted on its training rows."""
    train, test, test_date = fold
    est = fit_candidate(candidate, matrix, features, train, spec, pool=pool)
    part = matrix.iloc[test][["child_id", "family_id", "as_of", "label", "locality",
                              *[c for c in (OFFERED_HELP,) if c in matrix]]].copy()
    X = matrix.iloc[test, matrix.columns.get_indexer(features)]
    part["score"] = est.predict_proba(X)[:, 1]
    part["fold"] = str(test_date.date())
    return part


def _joined_folds(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The folds' predictions in fold order, as one table."""
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["label"].astype(int)
    return out


def evaluate_candidates(matrix: pd.DataFrame, spec: TrainingSpec, *, features: list[str],
                        truth: pd.DataFrame | None = None, progress=None,
                        pool: FitPool | None = None) -> TrainResult:
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
    pool : FitPool, optional
        Fit beside other work (default: a :class:`~riskmodel.models.FitPool` of its own).
        Every fold's fits, of every candidate, share it; the results do not depend on it.

    Returns
    -------
    TrainResult
    """
    if pool is None:
        with FitPool() as own:
            return evaluate_candidates(matrix, spec, features=features, truth=truth,
                                       progress=progress, pool=own)
    say = progress or (lambda msg: None)
    labelled = labelled_rows(matrix)
    if labelled.empty:
        raise InputError("training: no rows with an observed label (check the as-of schedule)")
    if labelled["label"].nunique() < 2:
        raise InputError("training: the labels are all the same value; nothing to learn")
    folds, plan = _folds_and_plan(labelled, spec)
    say(plan.describe(spec.horizon_months))
    test_dates = [f[2] for f in folds]
    holdout, selection_dates = plan.final, plan.selection
    results, weights = _evaluate_all(labelled, features, spec, folds, holdout, say, pool)
    # The choice: least regret on the selection dates; the final period never chooses.
    regrets = regret({r.name: r.per_date for r in results}, selection_dates, spec.select_by)
    for r in results:
        r.regret = float(regrets[r.name])
    eligible = [r for r in results if r.name != spec.thresholds.beat] or results
    chosen = min(eligible, key=lambda r: (r.regret, -_selection_value(r, spec.select_by)))
    curve = None
    if holdout:  # its fits run while the truth and the intervals' parts are computed
        say(f"learning curve of {chosen.name} (a quarter, half and all of the dates)…")
        curve = pool.submit(_chosen_curve, labelled, features, chosen, spec, folds[-1], pool)
    truth_result = _truth(results[0], truth, spec, holdout, weights, say)
    chosen.half_widths = _date_halves(chosen, spec, holdout)
    notes = what_it_would_take(chosen, spec.thresholds.model_dump(),
                               n_children=int(labelled["child_id"].nunique()),
                               n_final_dates=len(holdout) or len(test_dates))
    curve = None if curve is None else curve.result()
    return TrainResult(spec=spec, candidates=results, truth=truth_result, fingerprint="",
                       test_dates=test_dates, n_rows=len(labelled), chosen=chosen.name,
                       holdout_dates=list(holdout), learning_curve=curve, notes=notes,
                       plan=plan)


def _folds_and_plan(labelled: pd.DataFrame, spec: TrainingSpec) -> tuple[list, DatePlan]:
    """The spec's rolling-origin folds of the labelled rows, and its plan of their dates."""
    lag = spec.as_of.recording_lag_days
    folds = temporal_folds(labelled["as_of"], n_folds=spec.splits.n_folds,
                           horizon_months=spec.horizon_months, holdout=spec.splits.holdout,
                           lag_days=lag)
    plan = plan_dates(sorted(labelled["as_of"].unique()), n_folds=spec.splits.n_folds,
                      holdout=spec.splits.holdout, horizon_months=spec.horizon_months,
                      lag_days=lag)
    return folds, plan


def _chosen_curve(labelled: pd.DataFrame, features: list[str], chosen: CandidateResult,
                  spec: TrainingSpec, fold: tuple[np.ndarray, np.ndarray, pd.Timestamp],
                  pool: FitPool | None = None) -> pd.DataFrame:
    """The chosen candidate's learning curve on the last fold; all of the dates is that
    fold's own fit, so its test scores are reused, not refitted."""
    cand = next(c for c in spec.candidates if c.name == chosen.name)
    last = chosen.predictions["fold"].eq(str(fold[2].date())).to_numpy()
    return learning_curve(labelled, features, cand, spec, fold,
                          full_score=chosen.predictions["score"].to_numpy()[last], pool=pool)


def _all_predictions(labelled: pd.DataFrame, features: list[str], spec: TrainingSpec, folds,
                     pool: FitPool) -> Iterator[pd.DataFrame]:
    """Every candidate's out-of-time predictions, in the spec's order, each as soon as its
    folds are done: every candidate's folds are started in one pool (the spec's order, each
    candidate's largest fold first), so the cores stay busy while the first candidates are
    evaluated; each fold's fit is the one it makes alone."""
    def task(item: tuple[Candidate, tuple]) -> pd.DataFrame:
        return _fold_predictions(labelled, features, item[0], spec, item[1], pool)

    n = len(folds)
    futures = pool.futures(task, [(cand, fold) for cand in spec.candidates
                                  for fold in reversed(folds)])
    for c in range(len(spec.candidates)):
        yield _joined_folds([f.result() for f in reversed(futures[c * n:(c + 1) * n])])


def _evaluate_all(labelled: pd.DataFrame, features: list[str], spec: TrainingSpec, folds,
                  holdout: list, say, pool: FitPool) -> tuple[list[CandidateResult], np.ndarray]:
    """Every candidate's out-of-time predictions and metrics, judged with the same family
    resamples (paired)."""
    results: list[CandidateResult] = []
    weights = None
    predictions = _all_predictions(labelled, features, spec, folds, pool)
    for cand in spec.candidates:
        say(f"evaluating {cand.name} on {len(folds)} out-of-time folds…")
        pred = next(predictions)
        if weights is None:  # the same family resamples for every candidate: paired
            rows = pred[(pred["as_of"].isin(holdout) if holdout else True) & _judged(pred)]
            weights = family_weights(rows["family_id"], n_boot=spec.bootstrap, seed=spec.seed)
        results.append(_evaluate(cand.name, cand.kind, pred, spec, holdout, weights))
        say(f"evaluated {cand.name}")
    assert weights is not None  # the spec has at least one candidate
    _judge_all(results, spec, holdout, weights)
    return results, weights


def _truth(first: CandidateResult, truth: pd.DataFrame | None, spec: TrainingSpec, holdout,
           weights, say) -> CandidateResult | None:
    """The true probabilities on the same test rows (synthetic councils), as a reference."""
    if truth is None:
        return None
    base = first.predictions[["child_id", "family_id", "as_of", "label", "locality",
                              *[c for c in (OFFERED_HELP,) if c in first.predictions]]]
    joined = base.merge(truth, on=["child_id", "as_of"], how="left")
    if not joined["p_true"].notna().all():
        say(f"truth covers {joined['p_true'].notna().mean():.0%} of test rows; not shown")
        return None
    out = _evaluate("truth", "truth", joined.rename(columns={"p_true": "score"}), spec,
                    holdout, weights)
    out.reasons = []
    return out


def learning_curve(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
                   spec: TrainingSpec, fold: tuple[np.ndarray, np.ndarray, pd.Timestamp], *,
                   full_score: np.ndarray | None = None,
                   pool: FitPool | None = None) -> pd.DataFrame:
    """The candidate's AUC on a final-period fold trained on the latest quarter, half and all
    of its training dates: whether more data would help a council of this size.

    ``full_score``: the fold's test scores of the candidate trained on all of its training
    rows, when the folds made them already (the same rows give the same deterministic fit),
    so that point is not fitted twice. The shares are fitted side by side (``pool``, else
    a :class:`~riskmodel.models.FitPool` of its own).
    """
    if pool is None:
        with FitPool() as own:
            return learning_curve(matrix, features, candidate, spec, fold,
                                  full_score=full_score, pool=own)
    train, test, _ = fold
    dates = np.sort(matrix["as_of"].iloc[train].unique())
    y = matrix["label"].to_numpy(dtype=int)
    X = matrix.iloc[test, matrix.columns.get_indexer(features)]
    kept = [dates[len(dates) - max(1, int(round(share * len(dates)))):]
            for share in (0.25, 0.5, 1.0)]
    rows = [train[np.isin(matrix["as_of"].to_numpy()[train], keep)] for keep in kept]

    def score_of(rows_: np.ndarray) -> np.ndarray:
        if len(rows_) == len(train) and full_score is not None:
            return np.asarray(full_score, dtype=float)
        est = fit_candidate(candidate, matrix, features, rows_, spec, pool=pool)
        return est.predict_proba(X)[:, 1]

    out = []
    for share, keep, rows_, score in zip((0.25, 0.5, 1.0), kept, rows,
                                         pool.map(score_of, rows), strict=True):
        m = evaluate_predictions(y[test], score, flags=np.zeros(len(test), bool),
                                 n_boot=0).set_index("metric")["value"]
        out.append({"share_of_dates": share, "training_dates": len(keep),
                    "training_rows": len(rows_), "auc": float(m["auc"])})
    return pd.DataFrame(out)


def _selection_value(r: CandidateResult, metric: str) -> float:
    """A candidate's value of the choosing metric on the selection dates (NaN without them)."""
    if r.selection_metrics is None:
        return float("nan")
    return float(r.selection_metrics.set_index("metric").loc[metric, "value"])


def fit_final(matrix: pd.DataFrame, features: list[str], candidate: Candidate,
              spec: TrainingSpec, *, pool: FitPool | None = None) -> CalibratedModel:
    """Fit a candidate on every labelled row: the model that is registered and used
    (``pool``: beside other fits, the same model)."""
    labelled = labelled_rows(matrix)
    return fit_candidate(candidate, labelled, features, np.arange(len(labelled)), spec,
                         pool=pool)
