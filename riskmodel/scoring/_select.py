"""Who is in capacity, who gets reasons, and the ranks and bands they are read from.

A selection is written the way a panel talks about capacity: ``"10%"`` (the top tenth
of the cohort), ``"500"`` (the top 500 children), ``"25/locality"`` (the top 25 in each
locality); for reasons also ``"all"`` and ``"none"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import InputError

_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
_COUNT = re.compile(r"^(\d+)$")
_PER_LOCALITY = re.compile(r"^(\d+)\s*(?:/|per)\s*locality$")


@dataclass(frozen=True)
class Selection:
    """The top of the ranking: ``kind`` is percent, overall, per_locality, all or none."""

    kind: str
    value: float = 0.0

    def describe(self) -> str:
        if self.kind == "percent":
            return f"top {self.value:g}%"
        if self.kind == "overall":
            return f"top {int(self.value):,}"
        if self.kind == "per_locality":
            return f"top {int(self.value):,} per locality"
        return self.kind

    def size(self, n: int) -> int:
        """How many of ``n`` ranked children an overall selection holds."""
        if self.kind == "percent":
            return int(math.ceil(n * self.value / 100.0))
        if self.kind == "overall":
            return min(int(self.value), n)
        return n if self.kind == "all" else 0

    def flags(self, rank: np.ndarray, rank_in_locality: np.ndarray, *, scale: int = 1,
              n: int | None = None) -> np.ndarray:
        """Who the selection takes (``scale=2``: the selection twice as large).

        ``rank`` and ``rank_in_locality`` start at 1 (1 = highest score).
        """
        n = len(rank) if n is None else n
        if self.kind == "per_locality":
            return rank_in_locality <= scale * int(self.value)
        if self.kind == "all":
            return np.ones(len(rank), dtype=bool)
        return rank <= scale * self.size(n)


def parse_selection(value, *, option: str = "--top", allow_all: bool = False) -> Selection:
    """Read a capacity or reasons option: ``"10%"``, ``"500"``, ``"25/locality"``.

    ``allow_all`` also accepts ``"all"`` and ``"none"`` (or 0), as ``--explain-top`` does.

    Examples
    --------
    >>> parse_selection("10%").describe(), parse_selection(500).describe()
    ('top 10%', 'top 500')
    >>> parse_selection("25/locality").describe()
    'top 25 per locality'
    >>> parse_selection("none", option="--explain-top", allow_all=True).kind
    'none'
    """
    if isinstance(value, bool):
        raise InputError(f"{option}: expected a number of children, a percent or N/locality")
    if isinstance(value, int | np.integer):
        value = str(int(value))
    text = str(value).strip().lower()
    if allow_all and text in ("all", "none", "0"):
        return Selection("all" if text == "all" else "none")
    if m := _PERCENT.match(text):
        pct = float(m.group(1))
        if 0 < pct <= 100:
            return Selection("percent", pct)
    elif m := _COUNT.match(text):
        if int(m.group(1)) >= 1:
            return Selection("overall", int(m.group(1)))
    elif m := _PER_LOCALITY.match(text):
        if int(m.group(1)) >= 1:
            return Selection("per_locality", int(m.group(1)))
    extra = ", 'all' or 'none'" if allow_all else ""
    raise InputError(
        f"{option}: {value!r} is not a selection; expected a number of children (500), "
        f"a percent (10%) or a number per locality (25/locality){extra}"
    )


def capacity_from_meta(capacity: dict | None) -> Selection:
    """The capacity a model was trained and judged with (its training spec's ``capacity``)."""
    capacity = capacity or {}
    if capacity.get("top_percent") is not None:
        return Selection("percent", float(capacity["top_percent"]))
    if capacity.get("top_n_per_locality") is not None:
        return Selection("per_locality", int(capacity["top_n_per_locality"]))
    raise InputError("model: its metadata records no capacity; give one with --top")


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


def bands(capacity: Selection, rank: np.ndarray, rank_in_locality: np.ndarray) -> np.ndarray:
    """``high`` = in capacity, ``medium`` = the next capacity-sized slice, ``low`` = the rest."""
    high = capacity.flags(rank, rank_in_locality)
    medium = capacity.flags(rank, rank_in_locality, scale=2) & ~high
    return np.where(high, "high", np.where(medium, "medium", "low"))
