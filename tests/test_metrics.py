"""The metrics kernel (riskmodel.evaluation.metrics) pinned against scikit-learn and fairlearn
on the same rows, with weights and ties; the bootstrap's resamples; and the callers (fairness,
monitoring, training) asking it rather than keeping copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskmodel.evaluation.metrics import (
    ScoreCurve,
    at_capacity,
    auc,
    average_precision,
    brier,
    calibration_slope,
    evaluate_predictions,
    expected_calibration_error,
    fairlearn_weights,
    observed_over_expected,
    resample_weights,
)


@st.composite
def scored_rows(draw):
    """Rows with both outcomes, scores with ties (two decimals) and integer weights."""
    n = draw(st.integers(4, 120))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[:2] = [0, 1]
    p = np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))) / 20
    w = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), float)
    return y, p, w


@settings(max_examples=60, deadline=None)
@given(scored_rows())
def test_ranking_and_brier_equal_scikit_learn_with_weights_and_ties(rows):
    y, p, w = rows
    assert auc(y, p, sample_weight=w) == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    assert average_precision(y, p, sample_weight=w) == pytest.approx(
        average_precision_score(y, p, sample_weight=w))
    assert brier(y, p, sample_weight=w) == pytest.approx(
        brier_score_loss(y, p, sample_weight=w))
    # integer weights are repeated rows: the same measures on the repeated rows
    reps = np.repeat(np.arange(len(y)), w.astype(int))
    assert auc(y, p, sample_weight=w) == pytest.approx(auc(y[reps], p[reps]))


@settings(max_examples=40, deadline=None)
@given(scored_rows())
def test_calibration_error_is_the_mean_gap_over_ten_equal_weight_bins(rows):
    y, p, w = rows
    order = np.argsort(p, kind="stable")
    ys, ps, ws = y[order], p[order], w[order]
    mid = (np.cumsum(ws) - ws / 2) / ws.sum()
    gap = 0.0
    for b in range(10):
        inside = (np.minimum(mid * 10, 9).astype(int)) == b
        gap += abs(np.sum(ws[inside] * ps[inside]) - np.sum(ws[inside] * ys[inside]))
    assert expected_calibration_error(y, p, sample_weight=w) == pytest.approx(gap / ws.sum())
    assert observed_over_expected(y, p, sample_weight=w) == pytest.approx(
        np.sum(w * y) / np.sum(w * p) if np.sum(w * p) > 0 else np.nan, nan_ok=True)


def test_capacity_measures_equal_fairlearn_on_the_flagged():
    from fairlearn.metrics import selection_rate, true_positive_rate
    from sklearn.metrics import precision_score

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=500) < 0.2).astype(int)
    f = (rng.uniform(size=500) < 0.1 + 0.3 * y).astype(int)
    got = at_capacity(y, f)
    assert got["precision_at_capacity"] == pytest.approx(precision_score(y, f))
    assert got["recall_at_capacity"] == pytest.approx(true_positive_rate(y, f))
    assert got["lift_at_capacity"] == pytest.approx(precision_score(y, f) / y.mean())
    assert selection_rate(y, f) == pytest.approx(f.mean())


def test_calibration_slope_is_one_for_calibrated_and_below_for_overconfident_scores():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 6000)
    y = (rng.uniform(size=6000) < p).astype(int)
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.12)
    logit = np.log(p / (1 - p))
    assert calibration_slope(y, 1 / (1 + np.exp(-2 * logit))) == pytest.approx(0.5, abs=0.08)


def test_a_block_of_resamples_equals_each_resample_measured_alone():
    rng = np.random.default_rng(2)
    p = np.round(rng.uniform(size=300), 2)
    y = (rng.uniform(size=300) < p).astype(int)
    curve = ScoreCurve(y, p, p > 0.8)
    W = next(resample_weights(rng.integers(0, 100, 300), 16, seed=3))
    block = curve.measures(W)
    for i in range(len(W)):
        alone = curve.measures(W[i:i + 1])
        for m, v in block.items():
            assert v[i] == alone[m][0] or (np.isnan(v[i]) and np.isnan(alone[m][0])), m
        assert block["auc"][i] == pytest.approx(roc_auc_score(y, p, sample_weight=W[i]))


def test_resamples_draw_whole_families_and_dates():
    families = np.array([0, 0, 0, 1, 2, 2])
    dates = np.array([0, 1, 0, 1, 0, 1])
    W = np.vstack(list(resample_weights(families, 40, seed=0, date_codes=dates)))
    assert W.shape == (40, 6)
    assert (W[:, 0] == W[:, 2]).all()  # same family, same date: the same weight
    assert (W[:, 0] != W[:, 1]).any()  # same family, other date: the dates are drawn too
    plain = np.vstack(list(resample_weights(families, 40, seed=0)))
    # siblings always share their family's count; three families drawn in each resample
    assert (plain[:, 0] == plain[:, 1]).all() and (plain[:, 4] == plain[:, 5]).all()
    assert (plain[:, [0, 3, 4]].sum(axis=1) == 3).all()


def test_fairlearn_draws_are_fairlearns_own_resamples():
    """The fairness report's resamples are the rows fairlearn's MetricFrame draws."""
    from fairlearn.metrics import MetricFrame

    rng = np.random.default_rng(4)
    y = (rng.uniform(size=200) < 0.4).astype(int)
    f = (rng.uniform(size=200) < 0.5).astype(int)
    g = pd.Series(rng.choice(["a", "b"], 200))

    def tp(yt, yp):
        return float(np.sum(np.asarray(yt) * np.asarray(yp)))

    mf = MetricFrame(metrics=tp, y_true=y, y_pred=f, sensitive_features=g, n_boot=10,
                     ci_quantiles=[0.5], random_state=7)
    ours = [float(np.sum(w * y * f)) for w in fairlearn_weights(200, 10, 7)]
    assert mf.overall_ci[0] == pytest.approx(np.quantile(ours, 0.5))


def test_evaluate_predictions_point_values_are_the_kernels():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.6, 800)
    y = (rng.uniform(size=800) < p).astype(int)
    m = evaluate_predictions(y, p, flags=p > 0.5, n_boot=20).set_index("metric")["value"]
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["average_precision"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["calibration_error"] == expected_calibration_error(y, p)


def test_fairness_group_auc_and_calibration_are_the_kernels():
    """Per group, the fairness audit's AUC and observed/predicted equal scikit-learn's and the
    kernel's on the group's rows."""
    from riskmodel.evaluation import AuditOptions, fairness_audit

    rng = np.random.default_rng(6)
    n = 3000
    frame = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "s": rng.uniform(size=n)})
    frame["y"] = (rng.uniform(size=n) < frame.s).astype(int)
    audit = fairness_audit(frame, AuditOptions(
        label="y", score="s", top="20%", sensitive="g", bootstrap=False,
        policy={"characteristics": {"g": None}, "intersections": [], "min_count": 1}))
    groups = audit.groups.set_index("group")
    for g, part in frame.groupby("g"):
        assert groups.loc[g, "auc"] == round(roc_auc_score(part.y, part.s), 2)
        assert groups.loc[g, "calibration"] == round(observed_over_expected(part.y, part.s), 2)


def test_no_copies_of_the_measures_are_left_in_the_callers():
    """One home: the callers import the kernel instead of defining AUC or the bootstrap."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "riskmodel" / "evaluation"
    for path in [root / "_metrics.py", root / "monitoring" / "_bootstrap.py",
                 *(root / "fairness").glob("*.py")]:
        text = path.read_text()
        assert "np.diff(fpr" not in text and "multinomial(" not in text, path
        assert "RandomState(" not in text, path
