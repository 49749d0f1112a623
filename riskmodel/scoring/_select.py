"""Ranks and ventiles of a scored cohort, and the capacity rule in words.

Who is within capacity is :mod:`riskmodel._core.capacity`'s rule; risk bands are fixed
cut-points on the probability (:mod:`riskmodel.scoring._bands`), not a slice of the ranking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel._core.capacity import Capacity, Selection, capacity_from_meta, parse_selection

__all__ = ["Capacity", "Selection", "capacity_from_meta", "parse_selection", "rank_rows",
           "ventiles"]


def rank_rows(score: np.ndarray, margin: np.ndarray, locality) -> tuple[np.ndarray, ...]:
    """Rank rows highest first: overall, within locality, and the order itself.

    Ties in the calibrated score (isotonic calibration makes steps) are broken by the base
    model's margin, which the score follows, then by row position, so the ranking is total
    and reproducible.

    Returns
    -------
    rank, rank_in_locality : int64 arrays, 1 = highest
    order : int64 array
        Row positions from highest to lowest.
    """
    n = len(score)
    pos = np.arange(n)
    order = np.argsort(-margin, kind="stable")
    if np.any(np.diff(score[order]) > 0):
        # The score does not follow the margin (a decreasing calibration): sort by it first.
        order = np.lexsort((pos, -margin, -score))  # the last key is the primary one
    rank = np.empty(n, dtype=np.int64)
    rank[order] = pos + 1
    codes, _ = pd.factorize(pd.Series(locality, copy=False), use_na_sentinel=False)
    codes_in_order = codes[order]
    by_loc = np.argsort(codes_in_order, kind="stable")
    grouped = codes_in_order[by_loc]
    starts = np.searchsorted(grouped, grouped, side="left")
    rank_in_locality = np.empty(n, dtype=np.int64)
    rank_in_locality[order[by_loc]] = pos - starts + 1
    return rank, rank_in_locality, order


def ventiles(rank: np.ndarray) -> np.ndarray:
    """Ventile 1-20 from the overall rank: 20 holds the highest-scored 5% (sizes differ by ≤1).

    Examples
    --------
    >>> ventiles(np.arange(1, 41)).tolist()[:4], ventiles(np.arange(1, 41)).tolist()[-2:]
    ([20, 20, 19, 19], [1, 1])
    """
    n = len(rank)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    return (1 + (n - rank) * 20 // n).astype(np.int8)


