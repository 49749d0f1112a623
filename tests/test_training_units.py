"""Candidates, temporal folds, metrics and judging, without the data pipeline."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.evaluation._metrics import (
    capacity_flags,
    evaluate_predictions,
    expected_calibration_error,
)
from riskmodel.models import (
    CalibratedModel,
    LightGBMClassifier,
    LogisticClassifier,
    RuleClassifier,
    model_from_dict,
)
from riskmodel.training import judge, load_training_spec, temporal_folds


def _data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "ace_total_all_count": rng.poisson(1.5, n).astype(float),
        "contacts_total_12m_count": rng.poisson(1.0, n).astype(float),
        "noise": rng.normal(size=n),
    })
    logit = -2.5 + 0.6 * X.ace_total_all_count + 0.4 * X.contacts_total_12m_count
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    groups = rng.integers(0, n // 2, n)
    return X, y, groups


@pytest.mark.parametrize("base", [RuleClassifier(), LogisticClassifier(),
                                  LightGBMClassifier(n_estimators=30)])
@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_model_json_round_trip_predicts_identically(base, method):
    X, y, groups = _data()
    model = CalibratedModel(base, method=method).fit(X, y, groups=groups)
    again = model_from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(model.predict_proba(X), again.predict_proba(X))
    np.testing.assert_array_equal(model.decision_function(X), again.decision_function(X))
    assert list(again.get_feature_names_out()) == list(X.columns)


@pytest.mark.parametrize("base", [LogisticClassifier(), LightGBMClassifier(n_estimators=30)])
def test_fitting_in_threads_gives_the_same_model(base):
    X, y, groups = _data()
    one = CalibratedModel(base, method="sigmoid", cv=3, n_jobs=1).fit(X, y, groups=groups)
    many = CalibratedModel(base, method="sigmoid", cv=3, n_jobs=4).fit(X, y, groups=groups)
    assert json.dumps(one.to_dict()) == json.dumps(many.to_dict())


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(20, 300), st.sampled_from([None, 3, 10]))
def test_every_interval_holds_its_estimate(seed, n, family_size):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.6, n).round(2)           # ties on purpose
    y = (rng.uniform(size=n) < p).astype(int)
    groups = None if family_size is None else np.arange(n) // family_size
    m = evaluate_predictions(y, p, flags=p >= np.quantile(p, 0.9), groups=groups, n_boot=25,
                             random_state=seed)
    ok = m["value"].notna()
    assert (m.loc[ok, "low"] <= m.loc[ok, "value"]).all()
    assert (m.loc[ok, "value"] <= m.loc[ok, "high"]).all()


def test_calibrated_models_learn_and_calibrate():
    X, y, groups = _data(4000)
    Xt, yt, _ = _data(4000, seed=1)
    from sklearn.metrics import roc_auc_score

    for base in (LogisticClassifier(), LightGBMClassifier(n_estimators=100)):
        p = CalibratedModel(base).fit(X, y, groups=groups).predict_proba(Xt)[:, 1]
        assert roc_auc_score(yt, p) > 0.7
        assert expected_calibration_error(yt, p) < 0.04
    rule = RuleClassifier().fit(X, y)
    points = 3 * X.ace_total_all_count + 4 * X.contacts_total_12m_count
    assert rule.points(X) == pytest.approx(points.to_numpy())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 23), st.integers(0, 15)), min_size=30, max_size=160),
       st.integers(1, 6), st.integers(0, 60), st.integers(0, 3))
def test_temporal_folds_train_on_exactly_the_rows_whose_outcome_was_known(rows, horizon, lag,
                                                                          holdout):
    """Each fold tests on the rows of one date T and trains on exactly the rows whose outcome
    window plus the recording lag closed by T: no training row's window reaches T (so no
    label after T, of a test family or any other, is trained on) and every row whose window
    did close is kept, the test date's families' earlier rows included (as the deployed model
    has them). The last selection date's window ends by the first final date."""
    dates = pd.DatetimeIndex(pd.to_datetime([f"{2021 + m // 12}-{m % 12 + 1:02d}-01"
                                             for m, _ in rows]))
    fam = np.array([f"F{f}" for _, f in rows])
    ready = np.array([d + pd.DateOffset(months=horizon) + pd.Timedelta(days=lag)
                      for d in dates])
    try:
        folds = temporal_folds(dates, n_folds=3, horizon_months=horizon, holdout=holdout,
                               lag_days=lag)
    except InputError as exc:  # too few dates: the documented refusal, naming training
        assert str(exc).startswith("training:")
        return
    assert len(folds) == 3 + holdout
    tested = [t for _, _, t in folds]
    assert tested == sorted(tested) and len(set(tested)) == len(tested)
    if holdout:
        assert tested[2] + pd.DateOffset(months=horizon) <= tested[3]
        assert tested[3:] == sorted(set(dates))[-holdout:]
    for train, test, test_date in folds:
        assert test.tolist() == np.flatnonzero(dates == test_date).tolist()
        assert train.tolist() == np.flatnonzero(ready <= test_date).tolist()
        test_families = np.isin(fam, fam[test])
        assert (ready[train] <= test_date).all() and (dates[train] < test_date).all()
        kept = np.flatnonzero(test_families & (ready <= test_date))
        assert set(kept) <= set(train)  # the test families' earlier, closed rows are kept


def test_capacity_is_sized_per_date_and_locality():
    f = pd.DataFrame({"score": np.arange(40, dtype=float),
                      "as_of": ["2024-01-01"] * 20 + ["2024-04-01"] * 20,
                      "locality": (["a"] * 10 + ["b"] * 10) * 2})
    flags = capacity_flags(f, top_percent=10)
    assert flags.sum() == 4 and f.score[flags].tolist() == [18, 19, 38, 39]
    flags = capacity_flags(f, top_n_per_locality=3)
    assert flags.sum() == 12
    assert f[flags].groupby(["as_of", "locality"]).size().eq(3).all()


def test_metrics_intervals_cover_and_family_bootstrap_is_wider():
    rng = np.random.default_rng(3)
    fam = np.repeat(np.arange(400), 5)  # siblings share everything
    p = np.repeat(rng.uniform(0, 0.5, 400), 5)
    y = np.repeat((rng.uniform(size=400) < p[::5]).astype(int), 5)
    flags = capacity_flags(pd.DataFrame({"score": p}), top_percent=10)
    by_fam = evaluate_predictions(y, p, flags=flags, groups=fam, n_boot=200).set_index("metric")
    by_row = evaluate_predictions(y, p, flags=flags, n_boot=200).set_index("metric")
    assert by_fam.loc["base_rate", "value"] == pytest.approx(y.mean())
    for m in ("auc", "brier", "base_rate"):
        row = by_fam.loc[m]
        assert row.low <= row.value <= row.high
        width = lambda r: r.high - r.low  # noqa: E731
        assert width(by_fam.loc[m]) > 1.5 * width(by_row.loc[m])


def test_judge_uses_the_conservative_end_of_each_interval():
    spec = load_training_spec(outcome="escalation")
    good = pd.DataFrame({"metric": ["auc", "lift_at_capacity", "observed_expected",
                                    "observed_expected_at_capacity", "calibration_slope",
                                    "auc_gain"],
                         "value": [0.8, 3.0, 1.0, 1.0, 1.0, 0.1],
                         "low": [0.72, 2.5, 0.9, 0.9, 0.8, 0.05],
                         "high": [0.85, 3.5, 1.1, 1.1, 1.2, 0.15]})
    assert judge(good, spec) == (True, [])
    bar = spec.thresholds.min_auc
    # the point estimate passes but the interval reaches below the pre-set AUC bar
    shaky = good.assign(low=[bar - 0.01, 2.5, 0.9, 0.9, 0.8, 0.05])
    passed, why = judge(shaky, spec)
    assert not passed and why[0] == (f"auc: the 95% interval's low end {bar - 0.01:.3f} is "
                                     f"below {bar:g} (estimate 0.800)")
    # calibration bars are tolerances on the estimate: an interval reaching past the bar is
    # not evidence against a model whose estimate is inside it; an estimate outside fails
    wide = good.assign(high=[0.85, 3.5, 1.3, 1.1, 1.2, 0.15])
    assert judge(wide, spec) == (True, [])
    miscal = good.assign(value=[0.8, 3.0, 1.3, 1.0, 1.0, 0.1],
                         high=[0.85, 3.5, 1.4, 1.1, 1.2, 0.15])
    passed, why = judge(miscal, spec)
    assert not passed and why == [
        "observed_expected: the estimate 1.300 is above 1.25 (95% interval 0.900 to 1.400)"]
    # lift: flagged children twice as likely as average, on the interval's low end
    weak = good.assign(low=[0.72, 1.8, 0.9, 0.9, 0.8, 0.05])
    passed, why = judge(weak, spec)
    assert not passed and why == [
        "lift_at_capacity: the 95% interval's low end 1.800 is below 2 (estimate 3.000)"]
    # not better than the rule on the same rows
    tie = good.assign(low=[0.72, 2.5, 0.9, 0.9, 0.8, -0.01])
    passed, why = judge(tie, spec)
    assert not passed and why[0].startswith("does not beat rule")


def test_ece_known_values():
    assert expected_calibration_error([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5], n_bins=1) == 0.0
    assert expected_calibration_error([0, 0, 0, 0], [0.2] * 4, n_bins=2) == pytest.approx(0.2)


def test_fast_metrics_equal_scikit_learn_with_weights_and_ties():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from riskmodel.evaluation._metrics import _Sorted

    rng = np.random.default_rng(5)
    p = np.round(rng.uniform(size=800), 2)  # many ties
    y = (rng.uniform(size=800) < p).astype(float)
    w = rng.integers(0, 4, 800).astype(float)
    got = _Sorted(y, p, p > 0.8).metrics(w)
    assert got["auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert got["average_precision"] == pytest.approx(
        average_precision_score(y, p, sample_weight=w))
    assert got["calibration_error"] == pytest.approx(
        expected_calibration_error(y, p, sample_weight=w))


def test_folds_fitted_side_by_side_give_what_one_at_a_time_gives():
    """Every candidate's folds, the learning curve and a final fit in one shared FitPool
    (three workers) give exactly the predictions, metrics and models of one fit at a time."""
    from riskmodel.models import FitPool
    from riskmodel.training import Candidate, evaluate_candidates, fit_final

    rng = np.random.default_rng(5)
    dates = pd.date_range("2021-01-01", periods=10, freq="QS")
    n = 10 * 300
    m = pd.DataFrame({"child_id": [f"c{i}" for i in range(n)], "family_id": np.arange(n) // 2,
                      "as_of": np.repeat(dates, 300), "locality": "north",
                      "x": rng.normal(size=n), "z": rng.normal(size=n)})
    m["label"] = (m.x + 0.5 * m.z + rng.normal(size=n) > 1.5).astype(int)
    spec = load_training_spec(outcome="escalation").model_copy(deep=True)
    spec.candidates = [Candidate(name="lr", kind="logistic"),
                       Candidate(name="lgb", kind="lightgbm", params={"n_estimators": 15})]
    spec.splits.n_folds, spec.splits.holdout = 3, 2
    spec.as_of.recording_lag_days, spec.thresholds.beat, spec.bootstrap = 0, None, 20
    spec.fairness = None
    out = []
    for workers in (1, 3):
        with FitPool(workers=workers) as pool:
            res = evaluate_candidates(m, spec, features=["x", "z"], pool=pool)
            final = pool.submit(lambda p=pool: fit_final(m, ["x", "z"], spec.candidates[1],
                                                         spec, pool=p))
            out.append((res, json.dumps(final.result().to_dict())))
    (one, one_model), (many, many_model) = out
    pd.testing.assert_frame_equal(one.leaderboard(), many.leaderboard(), check_exact=True)
    pd.testing.assert_frame_equal(one.learning_curve, many.learning_curve, check_exact=True)
    for a, b in zip(one.candidates, many.candidates, strict=True):
        pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)
    assert one_model == many_model
