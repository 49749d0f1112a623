"""Out-of-time calibration: a count that grows with the as-of date (a window truncated at the
first record) must not leave the model over-predicting the dates after training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.training import Candidate, fit_candidate, load_training_spec

DRIFT = 0.1  # standard deviations a quarter


def _drifting_council(n_dates: int, per_date: int, seed: int) -> pd.DataFrame:
    """Risk depends on ``z`` only; the recorded count ``x`` grows by a tenth of a standard
    deviation a quarter (as an `all` window does while the records fill up)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2020-01-01", periods=n_dates, freq="QS")
    rows = []
    for i, d in enumerate(dates):
        z = rng.normal(size=per_date)
        p = 1 / (1 + np.exp(-(-2.5 + 1.2 * z)))
        rows.append(pd.DataFrame({"as_of": d, "x": z + DRIFT * i,
                                  "label": (rng.random(per_date) < p).astype(int),
                                  "family_id": [f"{i}-{k}" for k in range(per_date)]}))
    return pd.concat(rows, ignore_index=True)


def _observed_expected(calibration_dates: int | None) -> float:
    m = _drifting_council(n_dates=14, per_date=1500, seed=1)
    train = m[m.as_of < m.as_of.unique()[-3]].reset_index(drop=True)  # a gap, then the future
    future = m[m.as_of == m.as_of.max()]
    spec = load_training_spec(outcome="escalation").model_copy(
        update={"calibration": "sigmoid", "calibration_dates": calibration_dates})
    est = fit_candidate(Candidate(name="lr", kind="logistic", params={"C": 1.0}), train,
                        ["x"], np.arange(len(train)), spec)
    return float(future.label.mean() / est.predict_proba(future[["x"]])[:, 1].mean())


@pytest.mark.slow  # about 50 s on a loaded 2-core machine
def test_calibrating_on_the_latest_dates_follows_the_drift():
    recent = _observed_expected(4)
    pooled = _observed_expected(None)
    # Pooled over every date, the calibrator learns the average date's level and the model
    # over-predicts the future; out of time it learns how far predictions run ahead.
    assert 0.8 <= recent <= 1.25, recent
    assert abs(np.log(recent)) < abs(np.log(pooled)) - 0.1, (recent, pooled)


def test_days_since_look_back_only_as_far_as_the_longest_window():
    """A contact or closure older than the longest window (36 months) is as if none: the
    days-since features would otherwise grow with the records, as-of date after date."""
    from riskmodel.features import build_matrix

    from helpers.day_tables import EXTRACT, HORIZON, day, to_tables

    t = 1900
    council = {
        "children": [{"child_id": c, "family_id": f"f{c}", "date_of_birth": 0, "sex": "male",
                      "ethnicity": "white", "disability": "none", "locality": "north",
                      "imd_decile": 3} for c in ("old", "new")],
        "contacts": [{"contact_id": f"k{c}", "child_id": c, "contact_date": t - ago,
                      "recorded_date": t - ago, "source": "police", "need": "neglect",
                      "mash_rag": "red", "outcome": "early_help"}
                     for c, ago in (("old", 1500), ("new", 400))],
        "ace_factors": [],
        "episodes": [{"episode_id": f"e{c}{i}", "child_id": c, "service": "targeted_support",
                      "start_date": start, "end_date": end, "closure_reason": reason,
                      "triage_start": "green", "triage_end": "green"}
                     for c, ago in (("old", 1400), ("new", 300))
                     for i, (start, end, reason) in enumerate(
                         [(t - ago - 60, t - ago, "needs_met"), (t - 100, None, None)])],
    }
    m = build_matrix(to_tables(council), [day(t)], outcome="escalation",
                     horizon_months=HORIZON, extract_date=EXTRACT).set_index("child_id")
    assert m.loc["new", "contacts_last_all_days"] == 400
    assert m.loc["new", "episodes_lastclosure_all_days"] == 300
    for col in ("contacts_last_all_days", "episodes_lastclosure_all_days"):
        assert m.loc["old", f"{col}_missing"] == 1, col
