"""Capacity: how many children a panel can take, one value type (:class:`Capacity`).

``"10%"`` (the top tenth of the cohort), ``"500"`` (the top 500 children), ``"25/locality"``
(the top 25 in each locality); for reasons also ``"all"`` and ``"none"``. One parser, one
rule for who is within capacity and one way to say it, used by training, scoring,
explanations, fairness, monitoring and the command line. The spec's keys (``top_percent``,
``top_n_per_locality``) are read and written here and in the training spec's schema only.
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


#: The keys of a capacity in a training spec and a model's metadata (``capacity:``).
PERCENT_KEY, PER_LOCALITY_KEY = "top_percent", "top_n_per_locality"


@dataclass(frozen=True)
class Capacity:
    """How many children a panel can take: one value, compared by value.

    ``kind`` is ``percent`` (the top ``value`` % of the cohort), ``overall`` (the top
    ``value`` children), ``per_locality`` (the top ``value`` in each locality), or, for
    reasons only, ``all`` and ``none``. It selects (:meth:`select`, :meth:`flags`), says
    itself in words (:meth:`describe`, :meth:`words`, :meth:`option`) and reads and writes
    the spec's keys (:meth:`from_spec`, :meth:`to_spec`); nothing else phrases a capacity.

    Examples
    --------
    >>> Capacity.parse("10%") == Capacity.from_spec({"top_percent": 10})
    True
    >>> Capacity.parse("25/locality").words()
    'top 25 in each locality'
    >>> Capacity.parse(500).option()
    '500'
    """

    kind: str
    value: float = 0.0

    @classmethod
    def parse(cls, value: object, *, option: str = "--top", allow_all: bool = False) -> Capacity:
        """Read a capacity as a panel writes it (see :func:`parse_selection`)."""
        return parse_selection(value, option=option, allow_all=allow_all)

    @classmethod
    def from_spec(cls, capacity: object) -> Capacity:
        """The capacity of a spec's or a model's ``capacity`` (a dict or a spec object).

        Raises
        ------
        InputError
            When it records no capacity.
        """
        if capacity is not None and not isinstance(capacity, dict):
            capacity = capacity.model_dump() if hasattr(capacity, "model_dump") else vars(capacity)
        capacity = capacity or {}
        if capacity.get(PERCENT_KEY) is not None:
            return cls("percent", float(capacity[PERCENT_KEY]))
        if capacity.get(PER_LOCALITY_KEY) is not None:
            return cls("per_locality", int(capacity[PER_LOCALITY_KEY]))
        raise InputError("model: its metadata records no capacity; give one with --top")

    def to_spec(self) -> dict:
        """The spec's keys for this capacity (a percent or a number per locality)."""
        if self.kind == "percent":
            return {PERCENT_KEY: self.value, PER_LOCALITY_KEY: None}
        if self.kind == "per_locality":
            return {PERCENT_KEY: None, PER_LOCALITY_KEY: int(self.value)}
        raise ValueError(f"a {self.kind} capacity has no training-spec form")

    @property
    def per_locality(self) -> bool:
        """Whether every locality gets its own list (else one list for the whole cohort)."""
        return self.kind == "per_locality"

    def describe(self) -> str:
        """Short words: ``top 10%``, ``top 500``, ``top 25 per locality``."""
        if self.kind == "percent":
            return f"top {self.value:g}%"
        if self.kind == "overall":
            return f"top {int(self.value):,}"
        if self.kind == "per_locality":
            return f"top {int(self.value):,} per locality"
        return self.kind

    def words(self) -> str:
        """The rule as a panel says it, written in every scores row and the audit."""
        if self.kind == "per_locality":
            return f"top {int(self.value):,} in each locality"
        if self.kind in ("percent", "overall"):
            return f"{self.describe()} of the whole cohort"
        return self.describe()

    def option(self) -> str:
        """The command-line form: ``10%``, ``500``, ``25/locality`` (:meth:`parse` reads it)."""
        if self.kind == "percent":
            return f"{self.value:g}%"
        if self.kind == "per_locality":
            return f"{int(self.value)}/locality"
        return str(int(self.value)) if self.kind == "overall" else self.kind

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

    def select(self, frame: pd.DataFrame, *, score: str = "score",
               by: str = "locality") -> np.ndarray:
        """Who it takes from a frame of scores, at each as-of date if there are several."""
        return selection_flags(frame, self, score=score, by=by)


#: The name scoring and fairness have used for a capacity.
Selection = Capacity


def parse_selection(value: object, *, option: str = "--top",
                    allow_all: bool = False) -> Capacity:
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


def capacity_from_meta(capacity: object) -> Capacity:
    """The capacity a model was trained and judged with (its training spec's ``capacity``)."""
    return Capacity.from_spec(capacity)


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
            np.ceil(len(idx) * float(top_percent or 0.0) / 100.0)
        )
        flags[idx[top_k_flags(frame[score].to_numpy()[idx], k)]] = True
    return flags


def selection_flags(frame: pd.DataFrame, selection: Capacity, *, score: str = "score",
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
    if selection.kind in ("percent", "per_locality"):
        return capacity_flags(frame, score=score, by=by, **selection.to_spec())
    flags = np.zeros(len(frame), dtype=bool)
    groups = (frame.groupby("as_of", sort=False, dropna=False).indices
              if "as_of" in frame.columns else {None: np.arange(len(frame))})
    values = frame[score].to_numpy(dtype=float)
    for idx in groups.values():
        flags[idx[top_k_flags(values[idx], selection.size(len(idx)))]] = True
    return flags
