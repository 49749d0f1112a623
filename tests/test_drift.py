"""Out-of-time calibration: a count that grows with the as-of date (a window truncated at the
first record) must not leave the model over-predicting the dates after training."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def test_calibrating_on_the_latest_dates_follows_the_drift():
    recent = _observed_expected(4)
    pooled = _observed_expected(None)
    # Pooled over every date, the calibrator learns the average date's level and the model
    # over-predicts the future; out of time it learns how far predictions run ahead.
    assert 0.8 <= recent <= 1.25, recent
    assert abs(np.log(recent)) < abs(np.log(pooled)) - 0.1, (recent, pooled)
