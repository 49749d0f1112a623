"""Capacity: how many children a panel can take, written as a panel says it.

``"10%"`` (the top tenth of the cohort), ``"500"`` (the top 500 children), ``"25/locality"``
(the top 25 in each locality); for reasons also ``"all"`` and ``"none"``. One parser and one
rule for who is within capacity, used by training, scoring, explanations and fairness.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError

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
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
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


def top_k_flags(score, k: int) -> np.ndarray:
    """Flag the ``k`` highest scores; ties are broken by position so the count is exact.

    Examples
    --------
    >>> top_k_flags([0.1, 0.9, 0.5, 0.9], 2).tolist()
    [False, True, False, True]
    """
    s = np.asarray(score, dtype=float)
    k = int(max(0, min(k, len(s))))
    flags = np.zeros(len(s), dtype=bool)
    if k:
        # lexsort: last key is primary; sort by score descending, then position ascending
        order = np.lexsort((np.arange(len(s)), -s))
        flags[order[:k]] = True
    return flags


def capacity_flags(frame: pd.DataFrame, *, score: str = "score", top_percent: float | None = None,
                   top_n_per_locality: int | None = None, by: str = "locality") -> np.ndarray:
    """Who is in capacity: the top ``top_percent`` % overall, or the top N in each locality.

    Capacity is applied per as-of date when the frame has an ``as_of`` column:
    each month's list is sized to that month's capacity.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"score": [0.1, 0.9, 0.5, 0.7], "locality": ["a", "a", "b", "b"]})
    >>> capacity_flags(f, top_n_per_locality=1).tolist()
    [False, True, False, True]
    >>> capacity_flags(f, top_percent=50).tolist()
    [False, True, False, True]
    """
    if (top_percent is None) == (top_n_per_locality is None):
        raise ValueError("give exactly one of top_percent or top_n_per_locality")
    keys = []
    if "as_of" in frame.columns:
        keys.append("as_of")
    if top_n_per_locality is not None:
        keys.append(by)
    flags = np.zeros(len(frame), dtype=bool)
    if keys:
        groups = frame.groupby(keys, sort=False, observed=True).indices
    else:
        groups = {None: np.arange(len(frame))}
    for idx in groups.values():
        k = top_n_per_locality if top_n_per_locality is not None else int(
            np.ceil(len(idx) * top_percent / 100.0)
        )
        flags[idx[top_k_flags(frame[score].to_numpy()[idx], k)]] = True
    return flags


def selection_flags(frame: pd.DataFrame, selection: Selection, *, score: str = "score",
                    by: str = "locality") -> np.ndarray:
    """Who a selection takes from a frame of scores, at each as-of date if there are several.

    Examples
    --------
    >>> f = pd.DataFrame({"score": [0.1, 0.9, 0.5, 0.7], "locality": ["a", "a", "b", "b"]})
    >>> selection_flags(f, parse_selection("1/locality")).tolist()
    [False, True, False, True]
    >>> selection_flags(f, parse_selection("3")).tolist()
    [False, True, True, True]
    """
    if selection.kind == "percent":
        return capacity_flags(frame, score=score, top_percent=selection.value, by=by)
    if selection.kind == "per_locality":
        return capacity_flags(frame, score=score, top_n_per_locality=int(selection.value), by=by)
    flags = np.zeros(len(frame), dtype=bool)
    groups = (frame.groupby("as_of", sort=False, dropna=False).indices
              if "as_of" in frame.columns else {None: np.arange(len(frame))})
    values = frame[score].to_numpy(dtype=float)
    for idx in groups.values():
        flags[idx[top_k_flags(values[idx], selection.size(len(idx)))]] = True
    return flags
