"""Binned distributions with no small count, the population stability index and two tests.

A reference distribution is stored as *buckets*: for a number, right-closed ranges between
edges (the reference's deciles, or each distinct value when there are few); for a category,
sets of values. Buckets holding 1 to ``min_count - 1`` children are merged with a neighbour
(:func:`riskmodel.evaluation._disclosure.is_small` decides), so no stored count can single
out a child. A month's values are then counted into the same buckets.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from riskmodel.evaluation.monitoring._publish import is_small

MAX_BINS = 10
SMOOTH = 0.5  # added to every bucket before the PSI's logarithm (an empty bucket is not -inf)


def _merge_small(counts: list[float], groups: list, min_count: int, *, ordered: bool):
    """Merge buckets with a small count into a neighbour (ordered) or into one another."""
    counts, groups = list(counts), [list(g) for g in groups]
    while len(counts) > 1:
        small = np.flatnonzero(is_small(counts, min_count))
        if not len(small):
            break
        i = int(small[np.argmin(np.asarray(counts)[small])])
        if ordered:
            j = i + 1 if i == 0 or (i + 1 < len(counts) and counts[i + 1] <= counts[i - 1]) \
                else i - 1
        else:  # another small bucket first, else the smallest of the rest
            others = [k for k in range(len(counts)) if k != i]
            pool = [k for k in others if k in set(small)] or others
            j = min(pool, key=lambda k: counts[k])
        lo, hi = min(i, j), max(i, j)
        counts[lo] += counts[hi]
        groups[lo] += groups[hi]
        del counts[hi], groups[hi]
    return counts, groups


def numeric_buckets(values, *, min_count: int = 5, max_bins: int = MAX_BINS) -> dict:
    """Buckets of a numeric feature: each distinct value when there are at most ``max_bins``,
    else the deciles; right-closed, the last open-ended; no bucket holds a small count.

    Examples
    --------
    >>> b = numeric_buckets([0] * 50 + [1] * 30 + [2] * 17 + [9] * 3)
    >>> b["edges"], b["counts"]
    ([0.0, 1.0], [50, 30, 20])
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    distinct = np.unique(x)
    if len(distinct) <= max_bins:
        edges = list(distinct[:-1])
    else:
        edges = list(np.unique(np.quantile(x, np.linspace(0, 1, max_bins + 1)[1:-1])))
        edges = [e for e in edges if e < distinct[-1]]
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1)
    # groups hold the index of the upper edge of each bucket (len(edges) = open-ended)
    merged, groups = _merge_small(counts.tolist(), [[i] for i in range(len(counts))],
                                  min_count, ordered=True)
    keep = [max(g) for g in groups][:-1]
    return {"edges": [float(edges[i]) for i in keep], "counts": [int(c) for c in merged],
            "distinct": int(len(distinct))}


def count_numeric(values, edges) -> np.ndarray:
    """Counts of ``values`` in the buckets (right-closed) of ``edges``."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return np.bincount(np.searchsorted(np.asarray(edges, float), x, side="left"),
                       minlength=len(edges) + 1)


def bucket_masks(values, edges) -> np.ndarray:
    """Which of ``values`` fall in each bucket (right-closed) of ``edges``: one row per
    bucket, as :func:`count_numeric` counts them (so the rows' sums are its counts); a
    value that is not finite is in none.

    Examples
    --------
    >>> bucket_masks([0.1, 0.5, float("nan")], [0.2]).astype(int).tolist()
    [[1, 0, 0], [0, 1, 0]]
    """
    x = np.asarray(values, dtype=float)
    at = np.full(len(x), -1)
    ok = np.isfinite(x)
    at[ok] = np.searchsorted(np.asarray(edges, float), x[ok], side="left")
    return at[None, :] == np.arange(len(edges) + 1)[:, None]


def category_buckets(values, *, min_count: int = 5) -> dict:
    """Buckets of a category: one per value, small ones merged; every value seen is listed.

    Examples
    --------
    >>> b = category_buckets(["a"] * 20 + ["b"] * 9 + ["c"] * 2 + ["d"] * 3)
    >>> b["groups"], b["counts"]
    ([['a'], ['b'], ['c', 'd']], [20, 9, 5])
    """
    vals, counts = np.unique(np.asarray([str(v) for v in values], dtype=object),
                             return_counts=True)
    order = np.argsort(-counts, kind="stable")
    merged, groups = _merge_small(counts[order].tolist(), [[str(v)] for v in vals[order]],
                                  min_count, ordered=False)
    return {"groups": [sorted(g) for g in groups], "counts": [int(c) for c in merged],
            "values": sorted(str(v) for v in vals)}


def count_categories(values, groups) -> tuple[np.ndarray, dict]:
    """Counts of ``values`` in the reference's groups, and the values never seen (counted)."""
    index = {v: i for i, g in enumerate(groups) for v in g}
    out = np.zeros(len(groups), dtype=np.int64)
    new: dict[str, int] = {}
    vals, counts = np.unique(np.asarray([str(v) for v in values], dtype=object),
                             return_counts=True)
    for v, c in zip(vals, counts, strict=True):
        if v in index:
            out[index[v]] += c
        else:
            new[str(v)] = int(c)
    return out, new


def psi(reference, current) -> float:
    """Population stability index of two sets of bucket counts (``SMOOTH`` added to each).

    Examples
    --------
    >>> psi([50, 50], [50, 50])
    0.0
    >>> round(psi([50, 50], [80, 20]), 3)
    0.406
    """
    r = np.asarray(reference, float) + SMOOTH
    c = np.asarray(current, float) + SMOOTH
    r, c = r / r.sum(), c / c.sum()
    return float(np.sum((c - r) * np.log(c / r)))


def chi_square(reference, current, *, n_ref: float | None = None,
               n_cur: float | None = None) -> tuple[float, float]:
    """Chi-square test that two sets of bucket counts share one distribution.

    ``n_ref`` and ``n_cur`` are effective sample sizes (families rather than children, since
    siblings share most of their record): the counts are scaled to them before the test.

    Examples
    --------
    >>> stat, p = chi_square([50, 50], [80, 20])
    >>> round(stat, 1), p < 0.001
    (19.8, True)
    """
    r = np.asarray(reference, float)
    c = np.asarray(current, float)
    if n_ref:
        r = r * n_ref / max(r.sum(), 1)
    if n_cur:
        c = c * n_cur / max(c.sum(), 1)
    keep = (r + c) > 0
    if keep.sum() < 2 or r.sum() == 0 or c.sum() == 0:
        return 0.0, 1.0
    table = np.vstack([r[keep], c[keep]])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    return stat, float(stats.chi2.sf(stat, keep.sum() - 1))


def ks_binned(reference, current, *, n_ref: float | None = None,
              n_cur: float | None = None) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic at the reference's bucket edges, and its p.

    The reference is stored binned, so the distance between the two distribution functions
    is measured at the edges only: a lower bound of the full statistic (a conservative test).

    Examples
    --------
    >>> d, p = ks_binned([25, 25, 25, 25], [10, 20, 30, 40])
    >>> round(d, 2), p < 0.05
    (0.2, True)
    """
    r = np.asarray(reference, float)
    c = np.asarray(current, float)
    if r.sum() == 0 or c.sum() == 0:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(r) / r.sum() - np.cumsum(c) / c.sum())))
    n, m = (n_ref or r.sum()), (n_cur or c.sum())
    return d, float(stats.kstwobign.sf(d * math.sqrt(n * m / (n + m))))


def band(value: float, watch: float, act: float) -> str:
    """``stable``, ``watch`` or ``act`` for a PSI.

    Examples
    --------
    >>> band(0.05, 0.1, 0.25), band(0.2, 0.1, 0.25), band(0.3, 0.1, 0.25)
    ('stable', 'watch', 'act')
    """
    if not np.isfinite(value) or value < watch:
        return "stable"
    return "watch" if value < act else "act"
