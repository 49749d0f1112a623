"""The one place monitoring meets the shared disclosure rules (`evaluation._disclosure`).

Every count monitoring stores or publishes, and every figure derived from one, is decided
here: a count from 1 to ``min_count - 1`` is never kept (``"<5"``), nor one the published
totals and the other cells would reveal; totals that are not needed exactly are rounded.
The by-group confusion cells go through the fairness report's own path (cell-key rounding
with permanent per-record keys, :func:`group_cells`), so the two reports agree.
The other monitoring modules import these functions, never ``_disclosure`` itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import (
    CONFUSION_CELLS,
    is_small,
    protect_table,
    small_text,
    suppress,
)

__all__ = ["CELLS", "group_cells", "hidden_rows", "is_small", "kept", "rounded", "shown_count",
           "small_text", "suppress"]

#: The confusion cells a by-group table publishes (the fairness report's).
CELLS = tuple(CONFUSION_CELLS)


def group_cells(groups: np.ndarray, needed: np.ndarray, flagged: np.ndarray, ids: np.ndarray,
                *, min_count: int) -> pd.DataFrame:
    """The by-group confusion table as the fairness report publishes it: every cell rounded
    by the permanent keys of its records (``ids``: ``child_id|as_of``, as the fairness report
    identifies a record), the rates from the published cells; ``"all"`` first.

    Examples
    --------
    >>> import os
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "doc"
    >>> g = np.array(["a"] * 20 + ["b"] * 10)
    >>> t = group_cells(g, np.arange(30) % 3 == 0, np.arange(30) % 2 == 0,
    ...                 np.array([f"c{i}|2025-01-01" for i in range(30)]), min_count=5)
    >>> t["group"].tolist(), bool((t[list(CELLS)] % 5 == 0).all().all())
    (['all', 'a', 'b'], True)
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    return protect_table(groups, np.asarray(needed, bool), np.asarray(flagged, bool),
                         list(ids), base=min_count)


def kept(count, min_count: int):
    """A count, or None when it is small (1 to ``min_count - 1``).

    Examples
    --------
    >>> kept(3, 5), kept(0, 5), kept(12, 5)
    (None, 0, 12)
    """
    return None if is_small([count], min_count)[0] else int(count)


def shown_count(value, min_count: int):
    """A count as published: ``"<5"`` when small or already hidden (None).

    Examples
    --------
    >>> shown_count(3, 5), shown_count(None, 5), shown_count(40, 5)
    ('<5', '<5', 40)
    """
    if value is None:
        return small_text(min_count)
    return small_text(min_count) if is_small([value], min_count)[0] else int(value)


def rounded(count, base: int = 10):
    """A large total published to the nearest ``base`` (small ones as ``"<5"``-style text).

    Examples
    --------
    >>> rounded(2347), rounded(3)
    (2350, '<5')
    """
    if is_small([count], 5)[0]:
        return small_text(5)
    return int(base * round(float(count) / base))


def hidden_rows(counts: pd.DataFrame, totals: dict, *, min_count: int = 5) -> np.ndarray:
    """Rows of a table of counts that may not be published: a count from 1 to
    ``min_count - 1``, or one that the published total and the other rows would reveal
    (the shared ``suppress``, column by column).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [3, 9, 8]})
    >>> hidden_rows(t, {"n": 20}).tolist()
    [True, False, True]
    """
    hidden = np.zeros(len(counts), bool)
    for col, total in totals.items():
        shown = suppress(counts[[col]], count=col, rates=(), total=int(round(float(total))),
                         min_count=min_count)
        hidden |= shown[col].map(lambda v: isinstance(v, str)).to_numpy()
    return hidden
