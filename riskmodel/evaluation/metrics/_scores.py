"""The quality measures of a score, for a block of resample weights at once.

One definition of each measure: :class:`ScoreCurve` sorts the rows once and reads every
measure off cumulative sums, for a matrix of row weights (resamples x rows). A point estimate
is the same computation with one row of weights; the scalar functions below are that.

- **AUC**: the area under the ROC curve, trapezoids between tied scores (as scikit-learn's
  ``roc_auc_score`` with ``sample_weight``).
- **average precision**: the sum over score thresholds of (recall gained) x precision (as
  scikit-learn's ``average_precision_score``).
- **Brier score**: the weighted mean of ``(p - y)^2``.
- **calibration error**: the weighted mean, over ten bins holding equal weights of children
  in ascending order of score, of ``|mean predicted - observed rate|`` (equal-frequency bins
  keep every bin populated when most probabilities are small).
- **observed over expected**: outcomes observed over the sum of the predicted probabilities.
- **at capacity** (who the capacity rule flags): precision, recall and lift (precision over
  the base rate; 1 = no better than picking children at random).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

CURVE_MEASURES = (
    "base_rate", "auc", "average_precision", "brier", "calibration_error",
    "precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "observed_over_expected",
)
N_BINS = 10


class ScoreCurve:
    """One set of rows sorted once; :meth:`measures` takes a block of resample weights.

    ``dtype`` float32 halves the memory of big blocks (exact for counts of children, ample for
    sums of probabilities); the default float64 keeps point estimates exact.

    Examples
    --------
    >>> c = ScoreCurve(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]),
    ...                np.array([0, 1, 0, 0]))
    >>> m = c.measures(np.ones((1, 4)))
    >>> float(m["auc"][0]), float(m["precision_at_capacity"][0])
    (1.0, 1.0)
    """

    def __init__(self, y: ArrayLike, p: ArrayLike, flags: ArrayLike | None = None, *,
                 rows: ArrayLike | None = None, dtype: type = np.float64,
                 n_bins: int = N_BINS) -> None:
        y = np.asarray(y, dtype=float)
        p = np.asarray(p, dtype=float)
        f: np.ndarray = np.zeros_like(y) if flags is None else np.asarray(flags, dtype=float)
        rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        self.dtype, self.n_bins = dtype, n_bins
        self.desc = rows[np.argsort(-p[rows], kind="stable")]
        self.asc = rows[np.argsort(p[rows], kind="stable")]
        ps = p[self.desc]
        # last position of each run of tied scores: ROC/PR points sit only there
        self.ends = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])
        self.y: np.ndarray = y[self.desc].astype(dtype)
        self.p: np.ndarray = ps.astype(dtype)
        self.f: np.ndarray = f[self.desc].astype(dtype)
        self.yf = self.y * self.f
        self.d2 = ((ps - y[self.desc]) ** 2).astype(dtype)
        self.y_asc, self.p_asc = y[self.asc], p[self.asc]

    def measures(self, W: np.ndarray, *, only: tuple[str, ...] = CURVE_MEASURES
                 ) -> dict[str, np.ndarray]:
        """Each measure (in ``only``) for each row of weights ``W`` (resamples x all rows)."""
        W = np.atleast_2d(np.asarray(W))
        if not len(self.desc):  # no rows (a group's "everyone else" when it is everyone)
            return {m: np.full(len(W), np.nan) for m in only}
        Wd: np.ndarray = np.take(W, self.desc, axis=1).astype(self.dtype, copy=False)
        tp = np.cumsum(Wd * self.y, axis=1)
        cw = np.cumsum(Wd, axis=1)
        tot, pos = cw[:, -1].astype(float), tp[:, -1].astype(float)
        out: dict[str, np.ndarray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            out["base_rate"] = np.where(tot > 0, pos / tot, np.nan)
            if "auc" in only or "average_precision" in only:  # only what is asked for
                out.update(_ranking(tp[:, self.ends], cw[:, self.ends], tot, pos,
                                    precision="average_precision" in only))
            if "brier" in only:
                out["brier"] = np.where(tot > 0, np.sum(Wd * self.d2, axis=1) / tot, np.nan)
            if "observed_over_expected" in only:
                expected = np.cumsum(Wd * self.p, axis=1)[:, -1].astype(float)
                out["observed_over_expected"] = np.where(expected > 0, pos / expected, np.nan)
            if set(only) & {"precision_at_capacity", "recall_at_capacity", "lift_at_capacity"}:
                out.update(_at_capacity(Wd, self.yf, self.f, pos, out["base_rate"]))
        if "calibration_error" in only:
            out["calibration_error"] = self._calibration_error(W)
        return {m: out[m] for m in only}

    def _calibration_error(self, W: np.ndarray) -> np.ndarray:
        """Calibration error over equal-weight bins in ascending score order, per row."""
        nb = self.n_bins
        Wa = np.take(W, self.asc, axis=1).astype(float, copy=False)
        r = len(Wa)
        cum = np.cumsum(Wa, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            bins = np.minimum((cum - Wa / 2) / cum[:, -1:] * nb, nb - 1)
        bins[cum[:, -1] == 0] = 0  # no weight: 0/0 there, and only there
        bins = bins.astype(np.int64)
        key = (bins + nb * np.arange(r)[:, None]).ravel()
        wt = np.bincount(key, weights=Wa.ravel(), minlength=r * nb).reshape(r, nb)
        py = np.bincount(key, weights=(Wa * self.p_asc).ravel(),
                         minlength=r * nb).reshape(r, nb)
        yy = np.bincount(key, weights=(Wa * self.y_asc).ravel(),
                         minlength=r * nb).reshape(r, nb)
        total, gap = _row_sums(wt), np.abs(py - yy)
        sums = _row_sums(gap)  # every bin holds weight (the usual case): the whole row
        for i in np.flatnonzero((total > 0) & ~(wt > 0).all(axis=1)):
            sums[i] = np.sum(gap[i, wt[i] > 0])  # empty bins left out, as ever
        out = np.full(r, np.nan)
        if Wa.shape[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.where(total > 0, sums / total, np.nan)
        return out


def _ranking(tp: np.ndarray, cw: np.ndarray, tot: np.ndarray, pos: np.ndarray, *,
             precision: bool = True) -> dict[str, np.ndarray]:
    """AUC and (with ``precision``) average precision from the cumulative weights at each
    distinct score."""
    neg = tot - pos
    fp = cw - tp
    ok = (pos > 0) & (neg > 0)
    tpr, fpr = _from_zero(tp, pos), _from_zero(fp, neg)
    # summed row by row: a sum along an axis of a matrix adds in another order, and the
    # point estimates and intervals must not move in the last digit between versions
    auc = _row_sums((fpr[:, 1:] - fpr[:, :-1]) * (tpr[:, 1:] + tpr[:, :-1]) / 2)
    out = {"auc": np.where(ok, auc, np.nan)}
    if precision:
        flagged = tp + fp
        prec = np.divide(tp, flagged, out=np.zeros_like(tp), where=flagged > 0)
        ap = _row_sums((tpr[:, 1:] - tpr[:, :-1]) * prec)
        out["average_precision"] = np.where(ok, ap, np.nan)
    return out


def _from_zero(cum: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``cum / total`` per row, after a first column of zeros (the curve's origin)."""
    out = np.zeros((cum.shape[0], cum.shape[1] + 1))
    np.divide(cum, total[:, None], out=out[:, 1:])
    return out


def _at_capacity(Wd: np.ndarray, yf: np.ndarray, f: np.ndarray, pos: np.ndarray,
                 base_rate: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and lift of the flagged rows, per row of weights ``Wd``."""
    return _at_capacity_of(Wd @ yf, Wd @ f, pos, base_rate)


def _at_capacity_of(hits: np.ndarray, flagged: np.ndarray, pos: np.ndarray,
                    base_rate: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and lift from the weight of the flagged rows and of their
    outcomes."""
    hits, flagged = hits.astype(float), flagged.astype(float)
    prec = np.where(flagged > 0, hits / flagged, np.nan)
    return {"precision_at_capacity": prec,
            "recall_at_capacity": np.where(pos > 0, hits / pos, np.nan),
            "lift_at_capacity": np.where((pos > 0) & (flagged > 0), prec / base_rate, np.nan)}


def _row_sums(a: np.ndarray) -> np.ndarray:
    # numpy sums each row of a C-contiguous matrix along it exactly as it sums that row
    # alone (same pairwise order); other layouts may add in another order.
    return np.ascontiguousarray(a).sum(axis=1).astype(float)


def _one(name: str, y: ArrayLike, p: ArrayLike, flags: ArrayLike | None = None,
         sample_weight: ArrayLike | None = None, n_bins: int = N_BINS) -> float:
    y = np.asarray(y, float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    if len(y) == 0:
        return float("nan")
    curve = ScoreCurve(y, p, flags, n_bins=n_bins)
    return float(curve.measures(w[None], only=(name,))[name][0])


def auc(y_true: ArrayLike, y_score: ArrayLike, *, sample_weight: ArrayLike | None = None
        ) -> float:
    """Area under the ROC curve (NaN unless both outcomes occur).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    return _one("auc", y_true, y_score, sample_weight=sample_weight)


def average_precision(y_true: ArrayLike, y_score: ArrayLike, *,
                      sample_weight: ArrayLike | None = None) -> float:
    """Average precision: recall gained at each threshold times the precision there.

    Examples
    --------
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    return _one("average_precision", y_true, y_score, sample_weight=sample_weight)


def brier(y_true: ArrayLike, y_prob: ArrayLike, *, sample_weight: ArrayLike | None = None
          ) -> float:
    """The Brier score: the weighted mean squared gap between probability and outcome.

    Examples
    --------
    >>> brier([0, 1], [0.0, 0.5])
    0.125
    """
    return _one("brier", y_true, y_prob, sample_weight=sample_weight)


def expected_calibration_error(y_true: ArrayLike, y_prob: ArrayLike, *, n_bins: int = N_BINS,
                               sample_weight: ArrayLike | None = None) -> float:
    """Calibration error over ``n_bins`` equal-weight bins of the predicted probability.

    Examples
    --------
    >>> expected_calibration_error([0, 1, 0, 1], [0.0, 1.0, 0.0, 1.0])
    0.0
    """
    return _one("calibration_error", y_true, y_prob, sample_weight=sample_weight, n_bins=n_bins)


def observed_over_expected(y_true: ArrayLike, y_prob: ArrayLike, *,
                           sample_weight: ArrayLike | None = None) -> float:
    """Outcomes observed over the sum of predicted probabilities (1 = right on average).

    Examples
    --------
    >>> observed_over_expected([0, 1, 1, 0], [0.25, 0.25, 0.25, 0.25])
    2.0
    """
    return _one("observed_over_expected", y_true, y_prob, sample_weight=sample_weight)


def at_capacity(y_true: ArrayLike, flags: ArrayLike, *, y_score: ArrayLike | None = None,
                sample_weight: ArrayLike | None = None) -> dict[str, float]:
    """Precision, recall and lift of the children flagged (capacity), and the base rate.

    Examples
    --------
    >>> at_capacity([1, 0, 1, 0], [1, 1, 0, 0])["precision_at_capacity"]
    0.5
    """
    y = np.asarray(y_true, float)
    p = np.zeros(len(y)) if y_score is None else y_score
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    names = ("base_rate", "precision_at_capacity", "recall_at_capacity", "lift_at_capacity")
    got = ScoreCurve(y, p, flags).measures(w[None], only=names)
    return {m: float(v[0]) for m, v in got.items()}


def calibration_slope(y_true: ArrayLike, y_prob: ArrayLike, *,
                      sample_weight: ArrayLike | None = None) -> float:
    """The slope of a logistic regression of the outcome on the logit of the probability.

    1 = the probabilities spread as much as the outcomes do; below 1 = too extreme.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 4000); y = (rng.uniform(size=4000) < p).astype(int)
    >>> 0.85 < calibration_slope(y, p) < 1.15
    True
    """
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    y = np.asarray(y_true, float)
    p = np.clip(np.asarray(y_prob, float), 1e-6, 1 - 1e-6)
    if len(np.unique(y)) < 2:
        return float("nan")
    x = np.log(p / (1 - p))[:, None]
    fit = LogisticRegression(C=np.inf, max_iter=1000).fit(x, y, sample_weight=sample_weight)
    return float(fit.coef_[0, 0])
