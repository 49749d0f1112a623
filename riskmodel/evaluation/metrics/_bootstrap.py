"""The bootstrap: blocks of resample weights (whole families, and as-of dates), the measures
of :class:`ScoreCurve` over every block, and percentile intervals.

Siblings share outcomes, so resampling children would make intervals too narrow: whole
families are drawn with replacement (as multinomial counts, given to their rows). With dates,
each resample also draws the as-of dates, so an interval holds the date-to-date variation of a
model's quality too. Blocks of resamples are matrices of weights, so a month of 100,000
children takes a second or two rather than half a minute.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from riskmodel.evaluation.metrics._counts import CountSets, counts_apply
from riskmodel.evaluation.metrics._scores import CURVE_MEASURES, ScoreCurve

BLOCK = 16


def cluster_codes(groups: ArrayLike | None, n: int) -> np.ndarray:
    """Each row's cluster index (factorised ``groups``; each row its own without).

    Examples
    --------
    >>> cluster_codes(["a", "b", "a"], 3).tolist()
    [0, 1, 0]
    """
    if groups is None:
        return np.arange(n)
    return pd.factorize(np.asarray(groups), sort=False)[0]


def resample_counts(codes: np.ndarray, n_boot: int, seed: int, *,
                    date_codes: np.ndarray | None = None, block: int = BLOCK
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks of resample counts (resamples x clusters) and each row's cluster: the draws of
    :func:`resample_weights`, before they are given to the rows (``counts[:, rows]``).

    Without dates a cluster is a family; with two or more dates, a family on one date, whose
    count is its family's count times its date's.

    Examples
    --------
    >>> C, rows = next(resample_counts(np.array([0, 0, 1]), 4, seed=0))
    >>> C.shape, rows.tolist(), C.sum(axis=1).tolist()
    ((4, 2), [0, 0, 1], [2.0, 2.0, 2.0, 2.0])
    """
    codes = np.asarray(codes)
    k = int(codes.max()) + 1 if len(codes) else 0
    n_dates = 0 if date_codes is None or not len(date_codes) else int(date_codes.max()) + 1
    pairs = fam = day = codes
    if n_dates > 1 and k:  # clusters: each family on each of its dates
        pairs = np.unique(codes.astype(np.int64) * n_dates + np.asarray(date_codes),
                          return_inverse=True)[1].reshape(-1)
        fam, day = np.zeros(pairs.max() + 1, np.intp), np.zeros(pairs.max() + 1, np.intp)
        fam[pairs], day[pairs] = codes, date_codes
    rng = np.random.default_rng(seed)
    done = 0
    while k and done < n_boot:
        m = min(block, n_boot - done)
        if n_dates > 1:  # one family draw, then one date draw, per resample
            rows = []
            for _ in range(m):
                families = rng.multinomial(k, np.full(k, 1.0 / k))
                dates = rng.multinomial(n_dates, np.full(n_dates, 1.0 / n_dates))
                rows.append(families[fam] * dates[day])
            yield np.vstack(rows).astype(float), pairs
        else:
            yield rng.multinomial(k, np.full(k, 1.0 / k), size=m).astype(float), codes
        done += m


def resample_weights(codes: np.ndarray, n_boot: int, seed: int, *,
                     date_codes: np.ndarray | None = None,
                     block: int = BLOCK) -> Iterator[np.ndarray]:
    """Blocks of resample weights (resamples x rows): each family's count, given to its rows,
    times each as-of date's count when ``date_codes`` name two or more dates.

    Examples
    --------
    >>> blocks = list(resample_weights(np.array([0, 0, 1]), 20, seed=0))
    >>> [b.shape for b in blocks], bool((blocks[0][:, 0] == blocks[0][:, 1]).all())
    ([(16, 3), (4, 3)], True)
    """
    for counts, rows in resample_counts(codes, n_boot, seed, date_codes=date_codes,
                                        block=block):
        yield counts[:, rows]


def fairlearn_counts(n: int, n_boot: int, random_state: int,
                     clusters: ArrayLike | None = None
                     ) -> tuple[Iterator[np.ndarray], np.ndarray]:
    """Each resample's cluster counts as fairlearn's ``MetricFrame`` draws them, and each
    row's cluster (``counts[codes]`` are :func:`fairlearn_weights`' row weights).

    Examples
    --------
    >>> counts, codes = fairlearn_counts(3, 2, 0, clusters=["a", "a", "b"])
    >>> [c.tolist() for c in counts], codes.tolist()
    ([[1.0, 1.0], [0.0, 2.0]], [0, 0, 1])
    """
    seeds = np.random.default_rng(int(random_state)).integers(
        low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32)
    if clusters is None:
        codes, k = np.arange(n), n
    else:
        codes, uniq = pd.factorize(pd.Series(clusters), use_na_sentinel=False)
        k = len(uniq)

    def draws() -> Iterator[np.ndarray]:
        for seed in seeds:
            idx = np.random.RandomState(seed).choice(k, size=k, replace=True)
            yield np.bincount(idx, minlength=k).astype(float)

    return draws(), np.asarray(codes)


def fairlearn_weights(n: int, n_boot: int, random_state: int,
                      clusters: ArrayLike | None = None) -> Iterator[np.ndarray]:
    """Row weights of each resample, drawn as fairlearn's ``MetricFrame`` draws them.

    fairlearn seeds one ``RandomState`` per resample from ``default_rng(random_state)`` and
    resamples rows with ``DataFrame.sample(frac=1, replace=True)``; the same draws here give
    the same resampled rows (so the fairness report's intervals can be checked against
    fairlearn's). With ``clusters`` (family ids), whole clusters are drawn.

    Examples
    --------
    >>> [float(w.sum()) for w in fairlearn_weights(5, 2, 0)]
    [5.0, 5.0]
    """
    counts, codes = fairlearn_counts(n, n_boot, random_state, clusters)
    for c in counts:
        yield c[codes]


def percentile_interval(samples: np.ndarray, confidence: float = 0.95
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column over the resamples (rows); infinite values and
    resamples where a measure is not defined are left out.

    Examples
    --------
    >>> lo, hi = percentile_interval(np.arange(101.0)[:, None], 0.9)
    >>> round(float(lo[0]), 6), round(float(hi[0]), 6)
    (5.0, 95.0)
    """
    q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        samples = np.where(np.isinf(samples), np.nan, samples)
        lo, hi = np.nanquantile(samples, q, axis=0)
    return lo, hi


def bootstrap_sets(y: ArrayLike, p: ArrayLike, flags: ArrayLike, codes: ArrayLike,
                   sets: list[np.ndarray], *, n_boot: int, seed: int = 0,
                   measures: tuple[str, ...] = CURVE_MEASURES,
                   date_codes: np.ndarray | None = None,
                   dtype: type = np.float32) -> list[dict[str, np.ndarray]]:
    """Each measure over the same ``n_boot`` family resamples, for each set of rows (aligned:
    position ``i`` of every array is resample ``i``; a measure a resample cannot give is NaN).

    Leave ``calibration_error`` out of ``measures`` when it is not needed: the slowest
    measure, and biased in small groups, where observed over expected says the same.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.5, 400); y = (rng.uniform(size=400) < p).astype(float)
    >>> a, b = bootstrap_sets(y, p, p > 0.45, np.arange(400), [np.arange(200), np.arange(400)],
    ...                       n_boot=20, measures=("auc",))
    >>> len(a["auc"]), len(b["auc"])
    (20, 20)

    A set with no rows (everyone else, when a group is everyone) has no measure:

    >>> none = bootstrap_sets(y, p, p > 0.45, np.arange(400), [np.arange(0)], n_boot=3)[0]
    >>> bool(np.isnan(none["auc"]).all()), len(none["auc"])
    (True, 3)
    """
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    f = np.asarray(flags, float)
    curves = [ScoreCurve(y, p, f, rows=np.asarray(rows), dtype=dtype) for rows in sets]
    draws: list[dict[str, list]] = [{m: [] for m in measures} for _ in curves]
    by_counts = counts_apply(y)  # whole-number sums straight from the family counts
    counted: list[CountSets] = []

    def block_measures(C: np.ndarray, rows: np.ndarray, pool: ThreadPoolExecutor
                       ) -> Iterator[dict[str, np.ndarray]]:
        if not by_counts:
            W = C[:, rows]
            return pool.map(lambda c: c.measures(W, only=measures), curves)
        if not counted:
            counted.append(CountSets(curves, rows))
        return iter(counted[0].measures(C, [measures] * len(curves)))

    # numpy's sums and sorts release the GIL: the sets share the machine's cores
    with ThreadPoolExecutor(max_workers=min(len(os.sched_getaffinity(0)), 4)) as pool:
        for C, rows in resample_counts(np.asarray(codes), n_boot, seed, date_codes=date_codes):
            for d, got in zip(draws, block_measures(C, rows, pool), strict=True):
                for m, v in got.items():
                    d[m].append(v)
    return [{m: (np.concatenate(d[m]) if d[m] else np.empty(0)) for m in measures}
            for d in draws]


def bootstrap(y: ArrayLike, p: ArrayLike, flags: ArrayLike, codes: ArrayLike, *, n_boot: int,
              seed: int = 0,
              measures: tuple[str, ...] = CURVE_MEASURES) -> dict[str, np.ndarray]:
    """Each measure over ``n_boot`` family resamples of all rows (non-finite ones dropped).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.5, 400); y = (rng.uniform(size=400) < p).astype(float)
    >>> b = bootstrap(y, p, p > 0.45, np.arange(400), n_boot=50)
    >>> len(b["auc"]), bool(0.6 < np.median(b["auc"]) < 0.9)
    (50, True)
    """
    draws = bootstrap_sets(y, p, flags, codes, [np.arange(np.asarray(y).shape[0])],
                           n_boot=n_boot,
                           seed=seed, measures=measures)[0]
    return {m: v[np.isfinite(v)] for m, v in draws.items()}
