"""The bootstrap: fairlearn's resamples as row weights, and percentile intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from riskmodel.evaluation.fairness._measures import MEASURES, Prepared, group_measures


def bootstrap_weights(n: int, n_boot: int, random_state: int, clusters=None):
    """Row weights of each resample, as fairlearn's MetricFrame draws them.

    fairlearn seeds one ``RandomState`` per resample from ``default_rng(random_state)`` and
    resamples rows with ``DataFrame.sample(frac=1, replace=True)``; the same draws here give
    the same resampled rows. With ``clusters`` (family ids), whole clusters are drawn.
    """
    seeds = np.random.default_rng(int(random_state)).integers(
        low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32)
    if clusters is None:
        for seed in seeds:
            idx = np.random.RandomState(seed).choice(n, size=n, replace=True)
            yield np.bincount(idx, minlength=n).astype(float)
    else:
        codes, uniq = pd.factorize(pd.Series(clusters), use_na_sentinel=False)
        k = len(uniq)
        for seed in seeds:
            idx = np.random.RandomState(seed).choice(k, size=k, replace=True)
            yield np.bincount(idx, minlength=k).astype(float)[codes]


def quantiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column over the resamples (rows); infinite values and
    resamples where a measure is not defined are left out."""
    q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        samples = np.where(np.isinf(samples), np.nan, samples)
        lo, hi = np.nanquantile(samples, q, axis=0)
    return lo, hi


def resample_measures(tables, preps: dict[str, Prepared], prep_all: Prepared, y, f, s, weights,
                      n_boot: int, probabilities: bool):
    """Every measure on every resample, for each table and for everyone.

    ``weights`` yields each resample's row weights (:func:`bootstrap_weights`), so every table
    is measured on the *same* resamples. Returns ``boot`` (by table key: resamples x groups x
    measures) and ``boot_all`` (resamples x measures).
    """
    boot = {t.key: np.empty((n_boot, len(t.groups), len(MEASURES))) for t in tables}
    boot_all = np.empty((n_boot, len(MEASURES)))
    for b, w in enumerate(weights):
        boot_all[b] = group_measures(y, f, s, prep_all, w, probabilities)[0]
        for t in tables:
            boot[t.key][b] = group_measures(y, f, s, preps[t.key], w, probabilities)
    return boot, boot_all
