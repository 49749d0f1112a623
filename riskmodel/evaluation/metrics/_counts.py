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
the cumulative weights instead of a pass over every row, with the same boundaries. Every
set of rows (everyone, each group, each group's rest) is laid end to end, so a block of
resamples costs a fixed number of numpy calls rather than a few dozen per set. The
property test ``tests/test_metrics_counts.py`` holds every measure of every set equal, bit
for bit, to the row-weight definition.
"""

from __future__ import annotations

import numpy as np

from riskmodel.evaluation.metrics._scores import (
    ScoreCurve,
    _at_capacity_of,
    _row_sums,
)

_RANKED = ("auc", "average_precision")
_CAPACITY = ("precision_at_capacity", "recall_at_capacity", "lift_at_capacity")


class _Layout:
    """Rows of several sets end to end (each set in its own order), each row's family, and
    where each set starts."""

    def __init__(self, codes: np.ndarray, per_set: list[np.ndarray]) -> None:
        self.codes = np.concatenate(per_set) if per_set else np.empty(0, np.intp)
        self.start = np.r_[0, np.cumsum([len(x) for x in per_set])].astype(np.intp)
        self.family = np.asarray(codes)[self.codes] if len(self.codes) else self.codes

    def cumsum(self, whole: np.ndarray) -> np.ndarray:
        """Cumulative counts along the layout, after a first column of zeros (whole
        numbers: a set's own sums are differences, exactly)."""
        return _cumsum0(np.take(whole, self.family, axis=1))

    def totals(self, cum: np.ndarray) -> np.ndarray:
        """Each set's total (resamples x sets)."""
        return cum[:, self.start[1:]] - cum[:, self.start[:-1]]

    def own_cumsum(self, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each set's own cumulative counts (restarting at each set, after a first column of
        zeros) and each set's total, from the counts ``taken`` along the layout: the set
        before is taken off at each set's first row before one cumulative sum (whole
        numbers: exact)."""
        r, n_sets = len(taken), len(self.start) - 1
        totals = np.zeros((r, n_sets), dtype=np.int64)
        filled = np.flatnonzero(np.diff(self.start) > 0)
        if not len(filled):
            return np.zeros((r, taken.shape[1] + 1), dtype=taken.dtype), totals
        firsts = self.start[filled]
        totals[:, filled] = np.add.reduceat(taken, firsts, axis=1)
        kept = taken[:, firsts]
        before = np.zeros((r, len(filled)), dtype=np.int64)  # the running sum there: the
        before[:, 1:] = totals[:, filled[:-1]]                # previous set's own total
        taken[:, firsts] = kept - before
        cum = _cumsum0(taken)
        taken[:, firsts] = kept
        return cum, totals


class CountSets:
    """Several :class:`ScoreCurve` (sets of rows, one precision and number of bins) measured
    together from blocks of family counts.

    ``codes`` is each row's family; :meth:`measures` takes a block of family counts
    (resamples x families, whole numbers) and gives, for each curve, what
    :meth:`ScoreCurve.measures` gives for the row weights ``counts[:, codes]``: the integer
    sums for every set in one pass, the AUC's steps and the calibration bins of every set in
    one pass. Outcomes must be 0 or 1 (:func:`counts_apply`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=50); y = (rng.uniform(size=50) < p).astype(float)
    >>> codes = rng.integers(0, 20, 50)
    >>> curves = [ScoreCurve(y, p, p > 0.8, rows=np.arange(30)), ScoreCurve(y, p)]
    >>> C = rng.multinomial(20, np.full(20, 0.05), size=4).astype(float)
    >>> fast = CountSets(curves, codes).measures(C, [("auc",)] * 2)
    >>> [bool((f["auc"] == c.measures(C[:, codes], only=("auc",))["auc"]).all())
    ...  for f, c in zip(fast, curves)]
    [True, True]
    """

    def __init__(self, curves: list[ScoreCurve], codes: np.ndarray) -> None:
        if len({np.dtype(c.dtype) for c in curves}) > 1 or len({c.n_bins for c in curves}) > 1:
            raise ValueError("CountSets measures curves of one precision and number of bins")
        self.curves = curves
        self.dtype = curves[0].dtype if curves else np.float64
        self.n_bins = curves[0].n_bins if curves else 10
        nonempty = [len(c.desc) > 0 for c in curves]
        self.empty = ~np.array(nonempty, bool)
        desc = [c.desc if ok else c.desc[:0] for c, ok in zip(curves, nonempty, strict=True)]
        self.desc = _Layout(codes, desc)
        positive = [np.asarray(c.y)[:len(d)] == 1 for c, d in zip(curves, desc, strict=True)]
        self.pos = _Layout(codes, [d[q] for d, q in zip(desc, positive, strict=True)])
        self.flag = _Layout(codes, [d[np.asarray(c.f) == 1] for c, d in zip(curves, desc,
                                                                            strict=True)])
        self.hit = _Layout(codes, [d[np.asarray(c.yf) == 1] for c, d in zip(curves, desc,
                                                                           strict=True)])
        self._ends(curves, desc, positive)
        self.p = np.concatenate([np.asarray(c.p) for c in curves] or [np.empty(0)])
        self.d2 = np.concatenate([np.asarray(c.d2) for c in curves] or [np.empty(0)])
        self.asc = _Layout(codes, [c.asc for c in curves])
        self.p_asc = np.concatenate([c.p_asc for c in curves] or [np.empty(0)])
        y_asc = np.concatenate([np.asarray(c.y_asc) == 1 for c in curves] or [np.empty(0, bool)])
        self.asc_pos = _Layout(codes, [self.asc.codes[y_asc]])
        self.before = np.r_[0, np.cumsum(y_asc)]  # positives (ascending) before each row

    def _ends(self, curves: list[ScoreCurve], desc: list[np.ndarray],
              positive: list[np.ndarray]) -> None:
        """Where each set's runs of tied scores end, in the layouts (for the AUC's steps)."""
        ends = [c.ends if len(d) else c.ends[:0] for c, d in zip(curves, desc, strict=True)]
        n_ends = np.array([len(e) for e in ends], np.intp)
        self.end_set = np.repeat(np.arange(len(curves)), n_ends)
        self.end_start = np.r_[0, np.cumsum(n_ends)].astype(np.intp)
        local = np.concatenate(ends or [np.empty(0, np.intp)]).astype(np.intp)
        self.end_at = self.desc.start[self.end_set] + local + 1  # cumulative index after it
        ups = np.concatenate([np.cumsum(q)[e] for q, e in zip(positive, ends, strict=True)]
                             or [np.empty(0, np.intp)]).astype(np.intp)
        # no positive yet: the layout's first column, always 0 (a set's own cumulative sums
        # start from the set before's total, not from 0)
        self.end_pos = np.where(ups > 0, self.pos.start[self.end_set] + ups, 0)

    def measures(self, counts: np.ndarray, only: list[tuple[str, ...]], *,
                 whole: np.ndarray | None = None) -> list[dict[str, np.ndarray]]:
        """Each curve's measures (``only[i]`` for curve ``i``) for a block of family counts
        (resamples x families); ``whole``: the same counts as integers, if already made."""
        counts = np.atleast_2d(counts)
        r, asked = len(counts), set().union(*only) if only else set()
        whole = whole_counts(counts, len(self.desc.codes)) if whole is None else whole
        wd = np.take(whole, self.desc.family, axis=1)
        cw, tot_w = self.desc.own_cumsum(wd)
        cp, pos_w = self.pos.own_cumsum(np.take(whole, self.pos.family, axis=1))
        tot, pos = tot_w.astype(float), pos_w.astype(float)  # resamples x sets
        out: dict[str, np.ndarray] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            out["base_rate"] = np.where(tot > 0, pos / tot, np.nan)
            if asked & {"observed_over_expected", "brier"}:
                out.update(self._float_sums(wd, tot, pos, asked))
            if asked & set(_CAPACITY):
                hits = self.hit.totals(self.hit.cumsum(whole))
                flagged = self.flag.totals(self.flag.cumsum(whole))
                out.update(_at_capacity_of(hits, flagged, pos, out["base_rate"]))
            ranked = self._ranking(cw, cp, tot, pos, asked) if asked & set(_RANKED) else {}
        if "calibration_error" in asked:
            out["calibration_error"] = self._calibration(whole)
        return [{m: (ranked[m][i] if m in ranked else out[m][:, i]) if not self.empty[i]
                 else np.full(r, np.nan) for m in o} for i, o in enumerate(only)]

    def _ranking(self, cw: np.ndarray, cp: np.ndarray, tot: np.ndarray, pos: np.ndarray,
                 asked: set[str]) -> dict[str, list[np.ndarray]]:
        """AUC and average precision of every set, the steps of all sets in one pass and each
        set's sum of them on its own (as :func:`_ranking` adds one set's). The cumulative
        weights stay whole numbers: divided in double precision they give the same rates as
        in the curve's precision."""
        tp = np.take(cp, self.end_pos, axis=1)  # each set's own cumulative sums
        fp = np.take(cw, self.end_at, axis=1) - tp
        neg = tot - pos
        ok = (pos > 0) & (neg > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            tpr = tp / np.take(pos, self.end_set, axis=1)
            fpr = fp / np.take(neg, self.end_set, axis=1)
        # each step against the one before it in its set; the first against the origin (0)
        steps = self._step(fpr, np.subtract) * self._step(tpr, np.add) / 2
        spans = list(zip(self.end_start[:-1], self.end_start[1:], strict=True))
        out = {"auc": [np.where(ok[:, i], _row_sums(steps[:, a:b]), np.nan)
                       for i, (a, b) in enumerate(spans)]}
        if "average_precision" in asked:
            tp_: np.ndarray = tp.astype(self.dtype)
            flagged: np.ndarray = (tp + fp).astype(self.dtype)
            prec = np.divide(tp_, flagged, out=np.zeros_like(tp_), where=flagged > 0)
            rise = self._step(tpr, np.subtract) * prec
            out["average_precision"] = [np.where(ok[:, i], _row_sums(rise[:, a:b]), np.nan)
                                        for i, (a, b) in enumerate(spans)]
        return out

    def _step(self, a: np.ndarray, op: np.ufunc) -> np.ndarray:
        """``op`` of each step and the one before it in its set; a set's first step is
        against the origin, 0, which leaves it as it is (``x - 0 == x + 0 == x``)."""
        out = np.empty_like(a)
        op(a[:, 1:], a[:, :-1], out=out[:, 1:])
        firsts = self.end_start[:-1][np.diff(self.end_start) > 0]
        out[:, firsts] = a[:, firsts]
        return out

    def _float_sums(self, wd: np.ndarray, tot: np.ndarray, pos: np.ndarray,
                    asked: set[str]) -> dict[str, np.ndarray]:
        """Brier score and observed over expected: sums of probabilities in each set's
        precision and order (as :meth:`ScoreCurve.measures` adds them)."""
        if np.dtype(self.dtype) != np.float64:
            wd = wd.astype(self.dtype)
        spans = list(zip(self.desc.start[:-1], self.desc.start[1:], strict=True))
        out = {}
        if "brier" in asked:
            out["brier"] = np.stack([np.sum(wd[:, a:b] * self.d2[a:b], axis=1)
                                     for a, b in spans], axis=1) / tot
            out["brier"] = np.where(tot > 0, out["brier"], np.nan)
        if "observed_over_expected" in asked:
            expected = self._expected(wd, spans)
            out["observed_over_expected"] = np.where(expected > 0, pos / expected, np.nan)
        return out

    def _expected(self, wd: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
        """Each set's sum of weight times probability, added row by row in its order: in
        double precision one count of every set at once (``bincount`` adds each bin's
        weights in order, as a cumulative sum does), in single precision set by set."""
        r, n_sets = len(wd), len(spans)
        if np.dtype(self.dtype) == np.float64:
            key = np.repeat(np.arange(r * n_sets), np.tile(np.diff(self.desc.start), r))
            return np.bincount(key, weights=(wd * self.p).ravel(),
                               minlength=r * n_sets).reshape(r, n_sets)
        return np.stack([np.cumsum(wd[:, a:b] * self.p[a:b], axis=1)[:, -1]
                         if b > a else np.zeros(r, self.dtype)
                         for a, b in spans], axis=1).astype(float)

    def _calibration(self, whole: np.ndarray) -> np.ndarray:
        """The calibration error of every set (resamples x sets), all bins in one pass."""
        nb, r, n_sets = self.n_bins, len(whole), len(self.curves)
        wa = np.take(whole, self.asc.family, axis=1)
        cum = _cumsum0(wa)
        base = cum[:, self.asc.start[:-1]]  # resamples x sets
        total = self.asc.totals(cum)
        starts = _bin_starts(cum, wa, base, total, self.asc.start, nb)  # r x sets x nb+1
        flat_starts = starts.reshape(r, -1)
        rows = np.arange(r)[:, None]
        wt = np.diff(cum[rows, flat_starts].reshape(r, n_sets, nb + 1), axis=2)
        cy = self.asc_pos.cumsum(whole)
        yy = np.diff(cy[rows, self.before[flat_starts]].reshape(r, n_sets, nb + 1), axis=2)
        lengths = np.diff(starts, axis=2).ravel()
        key = np.repeat(np.arange(r * n_sets * nb), lengths)
        # the layout's rows of each resample in order, so each bin adds its rows in order
        py = np.bincount(key, weights=(wa * self.p_asc).ravel(), minlength=r * n_sets * nb)
        return _calibration_error(wt.reshape(-1, nb).astype(float),
                                  py.reshape(-1, nb), yy.reshape(-1, nb).astype(float)
                                  ).reshape(r, n_sets)


def _calibration_error(wt: np.ndarray, py: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Per row of bins: weighted mean gap between predicted and observed, over the bins that
    hold weight (as :meth:`ScoreCurve._calibration_error` ends)."""
    total, gap = _row_sums(wt), np.abs(py - yy)
    sums = _row_sums(gap)  # every bin holds weight (the usual case): the whole row
    for i in np.flatnonzero((total > 0) & ~(wt > 0).all(axis=1)):
        sums[i] = np.sum(gap[i, wt[i] > 0])  # empty bins left out, as ever
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, sums / total, np.nan)


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
    """Whether :class:`CountSets` can measure these outcomes (all 0 or 1).

    Examples
    --------
    >>> counts_apply(np.array([0.0, 1.0])), counts_apply(np.array([0.5]))
    (True, False)
    """
    return bool(np.isin(np.asarray(y), (0, 1)).all())


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


def _cumsum0(a: np.ndarray) -> np.ndarray:
    """Cumulative sums along each row, after a first column of zeros."""
    out = np.zeros((a.shape[0], a.shape[1] + 1), dtype=a.dtype)
    np.cumsum(a, axis=1, out=out[:, 1:])
    return out


def _bin_starts(cum: np.ndarray, wa: np.ndarray, base: np.ndarray, total: np.ndarray,
                start: np.ndarray, nb: int) -> np.ndarray:
    """(resamples x sets x nb + 1): where each set's calibration bins start in the layout,
    and where the set ends. A row's bin is ``(cum - w / 2) / total * nb`` (at most
    ``nb - 1``), which never falls along a set, so bin ``b`` starts at the first row whose
    cumulative weight reaches the bin's threshold, or at the next row."""
    r, n_sets = total.shape
    starts = np.empty((r, n_sets, nb + 1), dtype=np.intp)
    starts[:] = start[:-1][None, :, None]
    starts[:, :, nb] = start[1:][None, :]
    ok = total > 0
    if not ok.any() or not wa.shape[1]:
        return starts
    t = _thresholds(np.where(ok, total, 1).astype(float).ravel(), nb).reshape(r, n_sets, -1)
    # the first row whose (set's own) cumulative weight reaches t (whole numbers: ceil(t)),
    # every resample's layout laid end to end (each shifted past the last) for one search
    ends = cum[:, -1].astype(np.int64)
    shift = np.r_[0, np.cumsum(ends + 1)[:-1]]
    need = np.ceil(np.where(ok[:, :, None], t, 0)).astype(np.int64) + (
        base.astype(np.int64) + shift[:, None])[:, :, None]
    m = cum.shape[1] - 1
    at = np.searchsorted((cum[:, 1:] + shift[:, None]).ravel(), need.ravel())
    at = at.reshape(r, n_sets, nb - 1) - (np.arange(r) * m)[:, None, None]
    at = np.minimum(at, start[1:][None, :, None] - 1)
    rows = np.arange(r)[:, None, None]
    x = (cum[rows, at + 1] - base[:, :, None]) - wa[rows, at] / 2  # that row's place
    inside = np.where(x >= t, at, at + 1)
    starts[:, :, 1:nb] = np.where(ok[:, :, None], inside, starts[:, :, nb:nb + 1])
    return starts


__all__ = ["CountSets", "counts_apply", "whole_counts"]
