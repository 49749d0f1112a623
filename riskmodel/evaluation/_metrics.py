"""Model quality metrics with family-clustered bootstrap intervals.

Every metric is reported beside the base rate, with a 95% interval from a
bootstrap that resamples *families* (siblings share outcomes, so resampling
children would make intervals too narrow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel._core.capacity import capacity_flags, top_k_flags

__all__ = ["capacity_flags", "evaluate_predictions", "top_k_flags"]

METRICS = (
    "base_rate", "auc", "average_precision", "brier", "calibration_error",
    "precision_at_capacity", "recall_at_capacity", "lift_at_capacity",
)


def expected_calibration_error(y_true, y_prob, *, n_bins: int = 10, sample_weight=None) -> float:
    """Expected calibration error over equal-frequency bins of the predicted probability.

    The weighted mean, over bins holding equal numbers of children, of
    ``|mean predicted - observed rate|``. Equal-frequency bins keep every bin
    populated when most probabilities are small, as they are here.

    Examples
    --------
    >>> expected_calibration_error([0, 1, 0, 1], [0.0, 1.0, 0.0, 1.0], n_bins=2)
    0.0
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_prob, dtype=float)
    w = np.ones_like(p) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if len(p) == 0 or w.sum() == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    cum = np.cumsum(w[order])
    bins = np.minimum((cum - w[order] / 2) / cum[-1] * n_bins, n_bins - 1).astype(int)
    wt = np.bincount(bins, weights=w[order], minlength=n_bins)
    py = np.bincount(bins, weights=(w * p)[order], minlength=n_bins)
    yy = np.bincount(bins, weights=(w * y)[order], minlength=n_bins)
    keep = wt > 0
    return float(np.sum(np.abs(py[keep] - yy[keep])) / wt.sum())


class _Sorted:
    """Scores sorted once; every bootstrap resample only changes the weights."""

    def __init__(self, y, p, flags):
        order = np.argsort(-p, kind="stable")
        self.y, self.p, self.f = y[order], p[order], flags[order]
        self.order = order
        # last position of each run of tied scores: ROC/PR points sit only there
        self.ends = np.flatnonzero(np.r_[self.p[1:] != self.p[:-1], True])
        self.y0, self.p0 = y, p

    def metrics(self, w_orig) -> dict[str, float]:
        w = w_orig[self.order]
        y, p, f = self.y, self.p, self.f
        tot = w.sum()
        pos = (w * y).sum()
        neg = tot - pos
        out = {"base_rate": pos / tot if tot else np.nan}
        tp = np.cumsum(w * y)[self.ends]
        fp = np.cumsum(w * (1 - y))[self.ends]
        if pos > 0 and neg > 0:
            tpr, fpr = np.r_[0.0, tp / pos], np.r_[0.0, fp / neg]
            out["auc"] = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
            flagged = tp + fp
            prec = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
            out["average_precision"] = float(np.sum(np.diff(np.r_[0.0, tp / pos]) * prec))
        else:
            out["auc"] = out["average_precision"] = np.nan
        out["brier"] = float(np.sum(w * (p - y) ** 2) / tot) if tot else np.nan
        out["calibration_error"] = expected_calibration_error(self.y0, self.p0,
                                                              sample_weight=w_orig)
        n_flag = (w * f).sum()
        hits = (w * f * y).sum()
        out["precision_at_capacity"] = hits / n_flag if n_flag else np.nan
        out["recall_at_capacity"] = hits / pos if pos else np.nan
        # How many times the base rate the flagged children's rate is (1 = no better than
        # picking children at random): a bar a council can set whatever its base rate.
        out["lift_at_capacity"] = (out["precision_at_capacity"] / out["base_rate"]
                                   if pos and n_flag else np.nan)
        return out


def evaluate_predictions(y_true, y_prob, *, flags, groups=None, dates=None, n_boot: int = 200,
                         random_state: int = 0) -> pd.DataFrame:
    """All quality metrics with family-clustered bootstrap 95% intervals.

    With ``dates``, each resample also draws the as-of dates with replacement, so the interval
    holds the date-to-date variation of a model's quality as well as the sampling of families
    (a model that was good on one quarter and poor on the next gets a wide interval).

    Parameters
    ----------
    y_true : array-like of {0, 1}
    y_prob : array-like of float
        Calibrated probabilities.
    flags : array-like of bool
        Who is in capacity (see :func:`capacity_flags`); held fixed across resamples.
    groups : array-like, optional
        Cluster ids (families); rows are resampled by cluster. Default: each row.
    dates : array-like, optional
        Each row's as-of date; the dates are resampled too (see above).
    n_boot : int, default=200
    random_state : int, default=0

    Returns
    -------
    DataFrame
        One row per metric: ``metric``, ``value``, ``low``, ``high``, ``n``. The interval is
        the 2.5th to 97.5th percentile of the resamples, widened where needed to contain the
        estimate itself.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500); y = (rng.uniform(size=500) < p).astype(int)
    >>> m = evaluate_predictions(y, p, flags=p > 0.9, n_boot=50).set_index("metric")
    >>> bool(m.loc["auc", "low"] < m.loc["auc", "value"] < m.loc["auc", "high"])
    True
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_prob, dtype=float)
    f = np.asarray(flags, dtype=float)
    if groups is None:
        codes = np.arange(len(y))
    else:
        codes = pd.factorize(np.asarray(groups), sort=False)[0]
    n_clusters = codes.max() + 1 if len(codes) else 0
    date_codes = None if dates is None else pd.factorize(np.asarray(dates), sort=False)[0]
    n_dates = 0 if date_codes is None or not len(date_codes) else date_codes.max() + 1
    sorted_ = _Sorted(y, p, f)
    point = sorted_.metrics(np.ones_like(y))
    rng = np.random.default_rng(random_state)
    boots = {m: [] for m in METRICS}
    for _ in range(n_boot if n_clusters else 0):
        counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters))
        w = counts[codes].astype(float)
        if n_dates > 1:
            w *= rng.multinomial(n_dates, np.full(n_dates, 1.0 / n_dates))[date_codes]
        for m, v in sorted_.metrics(w).items():
            boots[m].append(v)
    rows = []
    for m in METRICS:
        b = np.asarray(boots[m], dtype=float)
        b = b[np.isfinite(b)]
        low, high = (np.quantile(b, [0.025, 0.975]) if len(b) else (np.nan, np.nan))
        if np.isfinite(point[m]) and len(b):
            # Resampling biases some metrics (calibration error is always pushed up by the
            # extra noise), so a percentile interval can miss the estimate; widen it to hold it.
            low, high = min(low, point[m]), max(high, point[m])
        rows.append({"metric": m, "value": point[m], "low": low, "high": high, "n": len(y)})
    return pd.DataFrame(rows)
