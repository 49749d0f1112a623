"""Model choice over time: least regret on the selection dates, the final period only reports;
list stability; what the data can support, in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.training._over_time import (
    list_stability,
    per_date_metrics,
    regret,
    what_it_would_take,
)


def test_regret_chooses_the_steady_candidate_not_the_one_with_one_lucky_date():
    dates = [1, 2, 3]
    steady = pd.DataFrame({"as_of": dates, "auc": [0.75, 0.75, 0.75]})
    lucky = pd.DataFrame({"as_of": dates, "auc": [0.85, 0.66, 0.66]})  # higher mean
    middling = pd.DataFrame({"as_of": dates, "auc": [0.70, 0.70, 0.70]})
    r = regret({"steady": steady, "lucky": lucky, "middling": middling}, dates, "auc")
    assert r.to_dict() == pytest.approx({"steady": 0.1 / 3, "lucky": 0.18 / 3,
                                         "middling": 0.25 / 3})
    assert r.idxmin() == "steady"


def test_the_final_period_never_chooses(monkeypatch):
    """A candidate best only on the held-out dates is not chosen (and is not registered)."""
    from riskmodel.training import _evaluate, load_training_spec

    spec = load_training_spec(outcome="escalation").model_copy(deep=True)
    spec.candidates = spec.candidates[1:]  # logistic, lightgbm
    spec.splits.n_folds, spec.splits.holdout = 3, 2
    spec.as_of.recording_lag_days = 0
    spec.thresholds.beat = None
    spec.bootstrap = 20
    dates = pd.date_range("2021-01-01", periods=9, freq="QS")
    rng = np.random.default_rng(0)
    rows = []
    for k, d in enumerate(dates):
        for i in range(300):
            rows.append({"child_id": f"c{k}-{i}", "family_id": f"f{k}-{i}", "as_of": d,
                         "locality": "north", "label": int(rng.uniform() < 0.2)})
    matrix = pd.DataFrame(rows)
    final = set(dates[-2:])

    def fake(matrix_, features, cand, spec_, fold, pool):  # one fold's predictions
        _, test, test_date = fold
        part = matrix_.iloc[test][["child_id", "family_id", "as_of", "label",
                                   "locality"]].copy()
        good = (cand.name == "lightgbm") == (test_date in final)  # lgb wins only there
        noise = np.random.default_rng(test_date.month).uniform(size=len(part))
        part["score"] = np.where(good, 0.6 * part["label"] + 0.4 * noise, noise)
        part["fold"] = str(test_date.date())
        return part

    monkeypatch.setattr(_evaluate, "_fold_predictions", fake)
    monkeypatch.setattr(_evaluate, "learning_curve", lambda *a, **k: None)
    result = _evaluate.evaluate_candidates(matrix, spec, features=[])
    assert result.holdout_dates == list(dates[-2:])
    assert result.chosen == "logistic"
    board = result.leaderboard().set_index("candidate")
    assert board.loc["lightgbm", "auc"] > board.loc["logistic", "auc"]  # on the final period
    assert board.loc["logistic", "regret"] == 0.0


def test_list_stability_on_children_present_at_both_dates():
    pred = pd.DataFrame({
        "as_of": ["a"] * 4 + ["b"] * 4,
        "child_id": ["w", "x", "y", "z", "w", "x", "y", "new"],
        "score": [0.9, 0.8, 0.2, 0.1, 0.1, 0.8, 0.9, 0.99],
        "flagged": [True, True, False, False, False, True, True, True]})
    st = list_stability(pred).iloc[0]
    assert st["children_in_both"] == 3  # w, x, y
    assert st["jaccard"] == pytest.approx(1 / 3)  # {w, x} vs {x, y}
    assert st["rank_correlation"] == pytest.approx(-1.0)  # w, x, y reversed


def test_per_date_metrics_are_each_dates_own():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=600)
    pred = pd.DataFrame({"as_of": np.repeat(["d1", "d2", "d3"], 200),
                         "label": (rng.uniform(size=600) < p).astype(int), "score": p,
                         "flagged": p > 0.8})
    got = per_date_metrics(pred).set_index("as_of")
    from sklearn.metrics import roc_auc_score

    for d, part in pred.groupby("as_of"):
        assert got.loc[d, "auc"] == pytest.approx(roc_auc_score(part.label, part.score))


def test_what_it_would_take_is_a_power_calculation_with_families_and_dates_apart():
    from types import SimpleNamespace

    m = pd.DataFrame({"metric": ["auc", "lift_at_capacity", "observed_expected"],
                      "value": [0.737, 2.6, 0.95], "low": [0.695, 2.1, 0.85],
                      "high": [0.779, 3.1, 1.05]})
    halves = pd.DataFrame({"metric": ["auc", "lift_at_capacity", "observed_expected"],
                           "family_half_width": [0.042, 0.5, 0.1],
                           "date_half_width": [0.040, 0.3, 0.05]})
    chosen = SimpleNamespace(name="lightgbm", metrics=m, half_widths=halves)
    notes = what_it_would_take(chosen, {"min_auc": 0.70, "min_lift_at_capacity": 1.5,
                                        "max_observed_expected": 1.25, "beat": None},
                               n_children=20_000, n_final_dates=4)
    assert len(notes) == 3
    # (0.042 / 0.037)^2 = 1.29x the children for the low end to reach the bar
    assert notes[0].startswith("auc: the bar of 0.7 is not met: lightgbm 0.737")
    assert "about 1.3x as many children" in notes[0] and "~25,7" in notes[0]
    assert "a further half-width of 0.040 if the 4 final dates were resampled" in notes[0]
    assert notes[1].startswith("lift_at_capacity: the bar of 1.5 is met")
    assert notes[2].startswith("observed_expected: the tolerance (at most 1.25, judged on "
                               "the estimate) is met")
    # an estimate at or below the bar: no council size would do
    low = SimpleNamespace(name="lightgbm", metrics=m.assign(value=[0.69, 2.6, 0.95]),
                          half_widths=halves)
    assert "no council size would meet it" in what_it_would_take(
        low, {"min_auc": 0.70}, n_children=20_000, n_final_dates=4)[0]


def test_what_it_would_take_says_which_way_a_missed_tolerance_is_off_and_what_beating_needs():
    from types import SimpleNamespace

    m = pd.DataFrame({"metric": ["observed_expected", "calibration_slope", "auc_gain"],
                      "value": [0.766, 1.55, 0.020], "low": [0.66, 1.45, -0.010],
                      "high": [0.87, 1.70, 0.050]})
    chosen = SimpleNamespace(name="lightgbm", metrics=m, half_widths=None)
    notes = what_it_would_take(chosen, {"min_observed_expected": 0.8,
                                        "max_calibration_slope": 1.4, "beat": "rule"},
                               n_children=20_000, n_final_dates=4)
    oe, slope, beat = notes
    # judged on the estimate (0.766 < 0.8) though the interval's high end is inside
    assert oe.startswith("observed_expected: the tolerance (at least 0.8, judged on the "
                         "estimate) is not met: lightgbm 0.766")
    assert "predicts too high" in oe and "may be this final period's chance" in oe
    assert "too timid" in slope and "a larger council would not change the verdict" in slope
    # the paired gain's low end reaches 0 with ((0.020 + 0.010) / 0.020)^2 = 2.25x children
    assert beat.startswith("lightgbm does not beat rule: AUC +0.020")
    assert "about 2.2x as many children" in beat and "~45,000" in beat


def test_learning_curve_reuses_the_last_folds_scores_and_equals_refitting(monkeypatch):
    """The "all of the dates" point is the last fold's own fit: given the folds' scores it
    fits only the quarter and the half, and its table equals the one that refits all three."""
    from riskmodel.training import Candidate, _evaluate, load_training_spec

    spec = load_training_spec(outcome="escalation").model_copy(
        update={"calibration": "sigmoid"})
    rng = np.random.default_rng(3)
    dates = pd.date_range("2021-01-01", periods=8, freq="QS")
    n = 250
    m = pd.DataFrame({"as_of": np.repeat(dates, n), "x": rng.normal(size=8 * n),
                      "family_id": np.arange(8 * n)})
    m["label"] = (m.x + rng.normal(size=8 * n) > 1.2).astype(int)
    cand = Candidate(name="lgb", kind="lightgbm", params={"n_estimators": 20})
    fold = _evaluate.temporal_folds(m["as_of"], n_folds=3, horizon_months=6)[-1]
    refit = _evaluate.learning_curve(m, ["x"], cand, spec, fold)
    full = _evaluate.fit_candidate(cand, m, ["x"], fold[0], spec).predict_proba(
        m[["x"]].iloc[fold[1]])[:, 1]
    fitted = []
    real_fit = _evaluate.fit_candidate
    monkeypatch.setattr(_evaluate, "fit_candidate",
                        lambda c, mat, f, rows, s, pool=None: fitted.append(len(rows)) or
                        real_fit(c, mat, f, rows, s, pool=pool))
    reused = _evaluate.learning_curve(m, ["x"], cand, spec, fold, full_score=full)
    pd.testing.assert_frame_equal(reused, refit)
    assert len(fitted) == 2 and max(fitted) < len(fold[0])
