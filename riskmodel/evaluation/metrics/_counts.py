"""The bootstrap's measures from blocks of cluster counts (resamples x families), with the
same values as :meth:`ScoreCurve.measures` on the row weights those counts give
(``counts[:, codes]``).

A resample gives every row of a family that family's count, so the integer parts of every
measure (the weight and the outcomes above each distinct score, the flagged rows and their
outcomes, the weight in each calibration bin) are sums of whole numbers: they are taken in
integers, straight from the counts (the outcomes' from the positive rows alone), which is
exact in any order, instead of in floating point over a copy of the whole weight matrix.
The sums of probabilities keep their order and precision (each added row by row, as the
curve's cumulative sum adds it), and the calibration bins are found by a binary search of
the cumulative weights instead of a pass over every row, with the same boundaries. The
property test ``tests/test_metrics_counts.py`` holds every measure of every set equal, bit
for bit, to the row-weight definition.
"""

from __future__ import annotations

import numpy as np

from riskmodel.evaluation.metrics._scores import (
    ScoreCurve,
    _at_capacity_of,
    _ranking,
    _row_sums,
)

_RANKED = ("auc", "average_precision")
_CAPACITY = ("precision_at_capacity", "recall_at_capacity", "lift_at_capacity")


class CountCurve:
    """A :class:`ScoreCurve` measured from family counts.

    ``codes`` is each row's family; :meth:`measures` takes a block of family counts
    (resamples x families, whole numbers) and gives what :meth:`ScoreCurve.measures` gives
    for the row weights ``counts[:, codes]``. Outcomes must be 0 or 1 (:func:`counts_apply`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=50); y = (rng.uniform(size=50) < p).astype(float)
    >>> codes = rng.integers(0, 20, 50)
    >>> curve = ScoreCurve(y, p, p > 0.8, rows=np.arange(30))
    >>> C = rng.multinomial(20, np.full(20, 0.05), size=4).astype(float)
    >>> fast = CountCurve(curve, codes).measures(C, only=("auc",))["auc"]
    >>> bool((fast == curve.measures(C[:, codes], only=("auc",))["auc"]).all())
    True
    """

    def __init__(self, curve: ScoreCurve, codes: np.ndarray) -> None:
        codes = np.asarray(codes)
        self.curve = c = curve
        self.desc_codes = codes[c.desc]
        positive = np.asarray(c.y) == 1
        self.positive_codes = self.desc_codes[positive]
        # among the positives, how many lie at or above each run of tied scores' end
        self.positive_ends = np.cumsum(positive)[c.ends] if len(c.desc) else c.ends[:0]
        self.flag_codes = self.desc_codes[np.asarray(c.f) == 1]
        self.hit_codes = self.desc_codes[np.asarray(c.yf) == 1]
        self.asc_codes = codes[c.asc]
        self.y_asc = np.asarray(c.y_asc) == 1

    def measures(self, counts: np.ndarray, *, only: tuple[str, ...],
                 whole: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each measure in ``only`` for a block of family counts (resamples x families);
        ``whole`` is the same counts as integers (given, it is not converted again)."""
        c = self.curve
        counts = np.atleast_2d(counts)
        r = len(counts)
        if not len(c.desc):
            return {m: np.full(r, np.nan) for m in only}
        whole = whole_counts(counts, len(c.desc)) if whole is None else whole
        wd = np.take(whole, self.desc_codes, axis=1)
        cw = np.cumsum(wd, axis=1)
        tot = cw[:, -1].astype(float)
        tp = _at(np.cumsum(np.take(whole, self.positive_codes, axis=1), axis=1),
                 self.positive_ends)
        pos = tp[:, -1].astype(float)
        out: dict[str, np.ndarray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            out["base_rate"] = np.where(tot > 0, pos / tot, np.nan)
            if set(only) & set(_RANKED):
                out.update(_ranking(tp.astype(c.dtype), cw[:, c.ends].astype(c.dtype),
                                    tot, pos, precision="average_precision" in only))
            if "brier" in only or "observed_over_expected" in only:
                out.update(_float_sums(c, wd, tot, pos, only))
            if set(only) & set(_CAPACITY):
                hits = np.take(whole, self.hit_codes, axis=1).sum(axis=1)
                flagged = np.take(whole, self.flag_codes, axis=1).sum(axis=1)
                out.update(_at_capacity_of(hits, flagged, pos, out["base_rate"]))
        if "calibration_error" in only:
            out["calibration_error"] = calibration_of_counts(
                np.take(whole, self.asc_codes, axis=1), c.p_asc, self.y_asc, c.n_bins)
        return {m: out[m] for m in only}


def whole_counts(counts: np.ndarray, n_rows: int) -> np.ndarray:
    """``counts`` as integers, 32-bit when every sum of ``n_rows`` of them fits.

    Examples
    --------
    >>> whole_counts(np.array([[2.0, 0.0]]), 10).dtype
    dtype('int32')
    """
    counts = np.asarray(counts)
    big = float(counts.max()) * max(n_rows, 1) if counts.size else 0.0
    return counts.astype(np.int32 if big < 2**31 else np.int64)


def counts_apply(y: np.ndarray) -> bool:
    """Whether :class:`CountCurve` can measure these outcomes (all 0 or 1).

    Examples
    --------
    >>> counts_apply(np.array([0.0, 1.0])), counts_apply(np.array([0.5]))
    (True, False)
    """
    return bool(np.isin(np.asarray(y), (0, 1)).all())


def _at(cum: np.ndarray, upto: np.ndarray) -> np.ndarray:
    """``cum`` (resamples x items) at ``upto`` items (0: none), per resample."""
    padded = np.zeros((cum.shape[0], cum.shape[1] + 1), dtype=cum.dtype)
    padded[:, 1:] = cum
    return padded[:, upto]


def _float_sums(c: ScoreCurve, wd: np.ndarray, tot: np.ndarray, pos: np.ndarray,
                only: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The Brier score and observed over expected: sums of probabilities, in the curve's
    precision and order (as :meth:`ScoreCurve.measures` adds them)."""
    # whole numbers times float64 are float64 products as the row weights give them
    w = wd if np.dtype(c.dtype) == np.float64 else wd.astype(c.dtype)
    out = {}
    if "brier" in only:
        out["brier"] = np.where(tot > 0, np.sum(w * c.d2, axis=1) / tot, np.nan)
    if "observed_over_expected" in only:
        expected = np.cumsum(w * c.p, axis=1)[:, -1].astype(float)
        out["observed_over_expected"] = np.where(expected > 0, pos / expected, np.nan)
    return out


def _thresholds(total: np.ndarray, nb: int) -> np.ndarray:
    """(resamples x nb - 1): for bin ``b`` (1 to nb - 1), the least half-whole weight ``x``
    with ``x / total * nb >= b`` as the row-weight definition computes it (``total`` > 0)."""
    b = np.arange(1, nb)[None, :]
    t = total[:, None]
    near = np.ceil(2 * b * t / nb) / 2
    found = np.full(near.shape, np.inf)
    for step in (1.0, 0.5, 0.0, -0.5, -1.0):  # the last candidate that is in: the least
        x = near + step
        with np.errstate(divide="ignore", invalid="ignore"):
            found = np.where((x >= 0) & (x / t * nb >= b), x, found)
    return found


def calibration_of_counts(wa: np.ndarray, p_asc: np.ndarray, y_asc: np.ndarray,
                          nb: int) -> np.ndarray:
    """The calibration error of ``ScoreCurve`` for whole-number row weights ``wa``
    (resamples x rows, ascending score), with the bins found by a binary search.

    A row's bin is ``(cum - w / 2) / total * nb`` (at most ``nb - 1``), which never falls
    along a row, so bin ``b`` starts at the first row where that reaches ``b``: the first row
    whose cumulative weight reaches the bin's threshold, or the next. Rows of no weight add
    nothing to any bin, so only the weighted rows' bins matter.

    Examples
    --------
    >>> w = np.array([[1.0, 2.0, 0.0, 1.0]]); p = np.array([0.1, 0.2, 0.3, 0.4])
    >>> y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> c = ScoreCurve(y, p, n_bins=2)
    >>> bool(calibration_of_counts(w, p, y, 2)[0] == c.measures(w, only=("calibration_error",))
    ...      ["calibration_error"][0])
    True
    """
    r, m = wa.shape
    if not m:
        return np.full(r, np.nan)
    cum = _cumsum0(wa)  # resamples x (rows + 1), whole numbers from 0
    starts = _bin_starts(cum, wa, nb)
    rows = np.arange(r)[:, None]
    wt = (cum[rows, starts[:, 1:]] - cum[rows, starts[:, :-1]]).astype(float)
    # the positive rows' weight in each bin, from the positive rows alone
    positive = np.asarray(y_asc) == 1
    before = np.r_[0, np.cumsum(positive)]  # positives before each row
    cy = _cumsum0(wa[:, positive])
    yy = (cy[rows, before[starts[:, 1:]]] - cy[rows, before[starts[:, :-1]]]).astype(float)
    key = np.repeat(np.arange(r * nb), np.diff(starts, axis=1).ravel())
    py = np.bincount(key, weights=(wa * p_asc).ravel(), minlength=r * nb).reshape(r, nb)
    total, gap = _row_sums(wt), np.abs(py - yy)
    sums = _row_sums(gap)  # every bin holds weight (the usual case): the whole row
    for i in np.flatnonzero((total > 0) & ~(wt > 0).all(axis=1)):
        sums[i] = np.sum(gap[i, wt[i] > 0])  # empty bins left out, as ever
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, sums / total, np.nan)


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums along each row, after a first column of zeros."""
    out = np.zeros((a.shape[0], a.shape[1] + 1), dtype=a.dtype)
    np.cumsum(a, axis=1, out=out[:, 1:])
    return out


def _bin_starts(cum: np.ndarray, wa: np.ndarray, nb: int) -> np.ndarray:
    """(resamples x nb + 1): the first row of each calibration bin, and the end."""
    r, m = wa.shape
    total = cum[:, -1]
    ok = total > 0
    starts = np.zeros((r, nb + 1), dtype=np.intp)
    starts[:, nb] = m
    if not ok.any():
        return starts
    t = _thresholds(np.where(ok, total, 1).astype(float), nb)
    # the first row whose cumulative weight reaches t (whole numbers: reaches ceil(t)),
    # every resample's row laid end to end (each shifted past the last) for one search
    shift = np.r_[0, np.cumsum(total.astype(np.int64) + 1)[:-1]]
    need = np.ceil(np.where(ok[:, None], t, 0)).astype(cum.dtype) + shift[:, None]
    at = np.searchsorted((cum[:, 1:] + shift[:, None]).ravel(), need.ravel())
    at = np.minimum(at.reshape(r, nb - 1) - (np.arange(r) * m)[:, None], m - 1)
    rows = np.arange(r)[:, None]
    x = cum[rows, at + 1] - wa[rows, at] / 2  # that row's place: in the bin, or the next is
    starts[:, 1:nb] = np.where(x >= t, at, at + 1)
    starts[~ok, 1:nb] = m
    return starts


__all__ = ["CountCurve", "calibration_of_counts", "counts_apply"]
