"""The pass decision's own measures: relative calibration, the paired gain over a baseline,
and, when a bar is not met, what it would take (a power calculation, families and dates apart).

Every interval here resamples *families* (siblings share outcomes) on the final period's
fixed dates, with the same resamples for every candidate so a comparison with the baseline is
paired on the same rows (docs/training.md, "The pass decision").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

#: Two-sided 95% percentile intervals: a ``min_`` bar is judged on the 2.5th percentile.
LEVEL = 0.95

#: The calibration bars, judged as tolerances on the estimate (not on an interval's end):
#: at a council's size their interval is wider than the tolerance (docs/training.md).
TOLERANCES = ("observed_expected", "observed_expected_at_capacity", "calibration_slope")


def family_weights(groups, *, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap weights, one row per resample: each family drawn with replacement.

    Examples
    --------
    >>> w = family_weights(["a", "a", "b"], n_boot=3, seed=0)
    >>> w.shape, bool((w[:, 0] == w[:, 1]).all())
    ((3, 3), True)
    """
    codes = pd.factorize(np.asarray(groups), sort=False)[0]
    n = int(codes.max()) + 1 if len(codes) else 0
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot) if n else np.zeros((n_boot, 0))
    return draws[:, codes].astype(float)


def _interval(value: float, boots: np.ndarray) -> tuple[float, float]:
    boots = boots[np.isfinite(boots)]
    if not len(boots) or not np.isfinite(value):
        return float("nan"), float("nan")
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(boots, [tail, 100 - tail])
    return float(min(low, value)), float(max(high, value))


def _weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC (ties counted half) of one score under each row of ``weights``."""
    order = np.argsort(-score, kind="stable")
    ys, ss, w = y[order], score[order], weights[:, order]
    ends = np.flatnonzero(np.r_[ss[1:] != ss[:-1], True])
    tp = np.cumsum(w * ys, axis=1)[:, ends]
    fp = np.cumsum(w * (1 - ys), axis=1)[:, ends]
    pos, neg = tp[:, -1:], fp[:, -1:]
    tpr = np.hstack([np.zeros_like(pos), tp]) / np.where(pos > 0, pos, np.nan)
    fpr = np.hstack([np.zeros_like(neg), fp]) / np.where(neg > 0, neg, np.nan)
    return np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)


def _slope(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
    """Calibration slope: logistic regression of the outcome on the score's log-odds
    (weighted Newton steps on intercept and slope)."""
    p = np.clip(score, 1e-6, 1 - 1e-6)
    x = np.log(p / (1 - p))
    beta = np.array([0.0, 1.0])
    X = np.column_stack([np.ones_like(x), x])
    for _ in range(25):
        mu = expit(X @ beta)
        grad = X.T @ (w * (y - mu))
        hess = (X * (w * mu * (1 - mu))[:, None]).T @ X
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return float("nan")
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[1])


def relative_calibration(y, score, flags, weights: np.ndarray) -> pd.DataFrame:
    """Observed over expected (overall and in capacity) and the calibration slope, with
    95% intervals from the resample ``weights``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.01, 0.3, 4000); y = (rng.uniform(size=4000) < p).astype(float)
    >>> w = family_weights(np.arange(4000), n_boot=50, seed=0)
    >>> m = relative_calibration(y, 1.5 * p, p > 0.25, w).set_index("metric")
    >>> bool(m.loc["observed_expected", "high"] < 0.8)
    True
    """
    y, p = np.asarray(y, float), np.asarray(score, float)
    f = np.asarray(flags, float)
    rows = []
    for name, mask in (("observed_expected", np.ones_like(p)),
                       ("observed_expected_at_capacity", f)):
        value = float((y * mask).sum() / (p * mask).sum()) if (p * mask).sum() else np.nan
        boots = (weights @ (y * mask)) / np.where(weights @ (p * mask) > 0,
                                                  weights @ (p * mask), np.nan)
        rows.append((name, value, *_interval(value, boots)))
    value = _slope(y, p, np.ones_like(p))
    boots = np.array([_slope(y, p, w) for w in weights])
    rows.append(("calibration_slope", value, *_interval(value, boots)))
    return pd.DataFrame([{"metric": m, "value": v, "low": lo, "high": hi, "n": len(y)}
                         for m, v, lo, hi in rows])


def paired_auc_gain(y, score, baseline, weights: np.ndarray) -> dict:
    """The AUC of ``score`` less the AUC of ``baseline`` on the same rows, with a paired 95%
    interval (both AUCs from each resample).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(size=3000); y = (rng.uniform(size=3000) < p).astype(float)
    >>> g = paired_auc_gain(y, p, rng.uniform(size=3000), family_weights(
    ...     np.arange(3000), n_boot=50, seed=0))
    >>> bool(g["low"] > 0.2)
    True
    """
    y = np.asarray(y, float)
    ones = np.ones((1, len(y)))
    s, b = np.asarray(score, float), np.asarray(baseline, float)
    value = float(_weighted_auc(y, s, ones)[0] - _weighted_auc(y, b, ones)[0])
    boots = _weighted_auc(y, s, weights) - _weighted_auc(y, b, weights)
    low, high = _interval(value, boots)
    return {"value": value, "low": low, "high": high, "n": len(y)}


def half_widths(families: pd.DataFrame, both: pd.DataFrame) -> pd.DataFrame:
    """Split each metric's interval half-width into a family part and a date part:
    ``families`` resampled families only, ``both`` families and dates together; the date
    part is what adding the dates contributes (variances add).

    Examples
    --------
    >>> f = pd.DataFrame({"metric": ["auc"], "value": [0.74], "low": [0.70], "high": [0.78]})
    >>> b = pd.DataFrame({"metric": ["auc"], "value": [0.74], "low": [0.69], "high": [0.79]})
    >>> half_widths(f, b).round(3).to_dict("records")
    [{'metric': 'auc', 'family_half_width': 0.04, 'date_half_width': 0.03}]
    """
    f = families.set_index("metric")
    b = both.set_index("metric").reindex(f.index)
    hf = (f["high"] - f["low"]) / 2
    hb = (b["high"] - b["low"]) / 2
    hd = np.sqrt(np.clip(hb ** 2 - hf ** 2, 0, None))
    return pd.DataFrame({"metric": f.index, "family_half_width": hf.to_numpy(),
                         "date_half_width": hd.to_numpy()})
