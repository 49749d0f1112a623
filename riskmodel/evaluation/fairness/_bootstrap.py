"""AUC and calibration of every group, from the metrics kernel: point values and the same
resamples for every table (fairlearn's draws, so the intervals can be checked against it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from riskmodel.evaluation.fairness._groups import GroupTable
from riskmodel.evaluation.fairness._measures import MEASURES, SCORE_MEASURES
from riskmodel.evaluation.metrics import (
    CountSets,
    ScoreCurve,
    counts_apply,
    fairlearn_counts,
    percentile_interval,
)

__all__ = ["SCORE_MEASURES", "group_scores", "quantiles"]
BLOCK = 16


def quantiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's percentile interval of each column over the resamples (rows)."""
    return percentile_interval(samples, confidence)


def _blocks(weights: Iterable[np.ndarray], block: int = BLOCK) -> Iterator[np.ndarray]:
    rows: list[np.ndarray] = []
    for w in weights:
        rows.append(w)
        if len(rows) == block:
            yield np.vstack(rows)
            rows = []
    if rows:
        yield np.vstack(rows)


def group_scores(tables: list[GroupTable], y: np.ndarray, f: np.ndarray, s: np.ndarray, *,
                 probabilities: bool, n_boot: int = 0, random_state: int = 0,
                 clusters: pd.Series | None = None, rest: tuple[str, ...] = ()
                 ) -> tuple[dict, dict]:
    """The score measures (:data:`SCORE_MEASURES`) of everyone and of every group.

    Returns ``point`` (by table key: groups x measures; ``"__all__"``: measures) and ``boot``
    (the same with resamples first; empty without ``n_boot``), every table measured on the
    *same* resamples. ``rest`` names the score measures a group is compared on with the
    rest of the cohort (everyone else): for each group of a table compared so, the rest is
    measured too (key ``"<table>\\0rest"``), on those measures only (the others are NaN:
    nothing reads them, and they would cost as much again as the groups').
    """
    kernel = tuple(str(MEASURES[m].score) for m in SCORE_MEASURES)
    wanted = kernel if probabilities else tuple(
        k for m, k in zip(SCORE_MEASURES, kernel, strict=True) if not MEASURES[m].probabilities)
    keys = [("__all__", 0)] + [(t.key, i) for t in tables for i in range(len(t.groups))]
    rows = [np.arange(len(y))] + [np.flatnonzero(t.codes == i)
                                  for t in tables for i in range(len(t.groups))]
    shape = {t.key: len(t.groups) for t in tables}
    n_sets = len(rows)
    for t in tables if rest else ():
        if t.reference is None:
            keys += [(f"{t.key}\0rest", i) for i in range(len(t.groups))]
            rows += [np.flatnonzero(t.codes != i) for i in range(len(t.groups))]
            shape[f"{t.key}\0rest"] = len(t.groups)
    curves = [ScoreCurve(y, s, f, rows=r) for r in rows]
    of_rest = tuple(k for m, k in zip(SCORE_MEASURES, kernel, strict=True)
                    if m in rest and k in wanted)

    def measure(W: np.ndarray) -> list[np.ndarray]:
        out = []
        for j, c in enumerate(curves):
            got = c.measures(W, only=wanted if j < n_sets else of_rest)
            out.append(np.stack([got.get(k, np.full(len(W), np.nan)) for k in kernel], axis=1))
        return out

    point = _assemble(keys, measure(np.ones((1, len(y)))), shape, squeeze=True)
    boot: dict = {}
    if n_boot:
        counts, codes = fairlearn_counts(len(y), n_boot, random_state, clusters)
        if counts_apply(y):  # whole-number sums straight from the family counts
            sets = CountSets(curves, codes)
            only = [wanted] * n_sets + [of_rest] * (len(curves) - n_sets)
            draws = [_by_counts(sets, C, only, kernel) for C in _blocks(counts)]
        else:
            draws = [measure(C[:, codes]) for C in _blocks(counts)]
        stacked = [np.concatenate([d[j] for d in draws]) for j in range(len(curves))]
        boot = _assemble(keys, stacked, shape, squeeze=False)
    return point, boot


def _by_counts(sets: CountSets, C: np.ndarray, only: list[tuple[str, ...]],
               kernel: tuple[str, ...]) -> list[np.ndarray]:
    """Each set's measures (resamples x ``kernel``) for a block of family counts ``C``."""
    return [np.stack([got.get(k, np.full(len(C), np.nan)) for k in kernel], axis=1)
            for got in sets.measures(C, only)]


def _assemble(keys: list[tuple[str, int]], values: list[np.ndarray], shape: dict[str, int], *,
              squeeze: bool) -> dict:
    """Per-set arrays (resamples x measures) as tables of groups."""
    out: dict = {}
    for (key, i), v in zip(keys, values, strict=True):
        if key == "__all__":
            out[key] = v[0] if squeeze else v
            continue
        if key not in out:
            n = v.shape[0]
            out[key] = np.empty((shape[key], v.shape[1]) if squeeze
                                else (n, shape[key], v.shape[1]))
        if squeeze:
            out[key][i] = v[0]
        else:
            out[key][:, i] = v
    return out
