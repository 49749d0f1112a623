"""The published counts of an audit: every count protected by its cell key (``_disclosure``).

Each published row (everyone, each group, each profile category) publishes the cells of its
confusion table, each rounded to a multiple of the policy's ``min_count`` by the cell key of
the children it counts (:func:`riskmodel.evaluation._disclosure.protect_confusion`): how many
(``n``), how many went on to need help (``pos``) or not (``neg``), how many were flagged
(``flag``), and how many were both (``tp``), missed (``miss``) or flagged without needing help
(``fp``); with a mitigation, ``flag2``, ``tp2``, ``miss2`` and ``fp2`` after it. No part is
published larger than its whole, and every published rate is a ratio of two of these cells, so
nothing else about a count can be learnt from the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.evaluation._disclosure import RATES, protect_confusion

# the confusion cells under their short names here
_SHORT = {"children": "n", "needed_help": "pos", "did_not_need_help": "neg", "flagged": "flag",
          "hits": "tp", "missed": "miss", "false_positives": "fp"}


@dataclass(frozen=True)
class PublishedCounts:
    """Protected counts per published row (arrays over rows)."""

    n: np.ndarray
    pos: np.ndarray
    flag: np.ndarray
    tp: np.ndarray
    neg: np.ndarray | None = None
    miss: np.ndarray | None = None
    fp: np.ndarray | None = None
    flag2: np.ndarray | None = None
    tp2: np.ndarray | None = None
    miss2: np.ndarray | None = None
    fp2: np.ndarray | None = None

    def cell(self, name: str, row: slice | int | np.ndarray = slice(None),
             after: bool = False) -> np.ndarray:
        """A published cell by its short name (``flag``, ``tp``, ``miss``, ``fp`` take the
        mitigated flags when ``after``)."""
        if after and name in ("flag", "tp", "miss", "fp"):
            name += "2"
        return np.asarray(getattr(self, name))[row]

    def rate(self, measure: str, row: slice | int | np.ndarray = slice(None),
             after: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) of a rate: two published cells (see ``RATES``)."""
        num, den = RATES[measure]
        d = np.maximum(np.asarray(self.cell(_SHORT[den], row, after), float), 0)
        return np.clip(np.asarray(self.cell(_SHORT[num], row, after), float), 0, d), d


def publish_counts(masks: np.ndarray, y: np.ndarray, f: np.ndarray, keys: np.ndarray,
                   base: int, after: np.ndarray | None = None) -> PublishedCounts:
    """Protect every row's confusion cells by their cell keys (``masks``: rows x children)."""
    y1 = np.asarray(y) == 1
    cells = protect_confusion(masks, y1, np.asarray(f) == 1, keys, base)
    out = {_SHORT[k]: v for k, v in cells.items()}
    if after is not None:
        c2 = protect_confusion(masks, y1, np.asarray(after) == 1, keys, base)
        out.update(flag2=c2["flagged"], tp2=c2["hits"], miss2=c2["missed"],
                   fp2=c2["false_positives"])
    return PublishedCounts(**out)
