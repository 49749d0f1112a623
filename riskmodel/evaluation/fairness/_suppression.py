"""The published counts of an audit: every count rounded by its cell key (see ``_disclosure``).

Each published row (everyone, each group, each profile category) publishes at most four
counts of its children, each rounded to a multiple of the policy's ``min_count`` by the cell
key of the children it counts: how many (``n``), how many went on to need help (``pos``), how
many were flagged (``flag``) and how many were both (``tp``); with a mitigation, ``flag2`` and
``tp2`` after it. Every published rate is a ratio of two of these, so nothing else about a
count can be learnt from the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.evaluation._disclosure import cell_keys, round_counts


@dataclass(frozen=True)
class PublishedCounts:
    """Rounded counts per published row (arrays over rows)."""

    n: np.ndarray
    pos: np.ndarray
    flag: np.ndarray
    tp: np.ndarray
    flag2: np.ndarray | None = None
    tp2: np.ndarray | None = None

    def rate(self, measure: str, row=slice(None), after: bool = False):
        """(numerator, denominator) of a rate, from published counts only."""
        n, pos = self.n[row], self.pos[row]
        flag = (self.flag2 if after else self.flag)[row]
        tp = (self.tp2 if after else self.tp)[row]
        parts = {
            "base_rate": (pos, n), "selection_rate": (flag, n),
            "true_positive_rate": (tp, pos), "false_negative_rate": (pos - tp, pos),
            "false_positive_rate": (flag - tp, n - pos), "precision": (tp, flag),
        }
        k, d = parts[measure]
        d = np.maximum(np.asarray(d, float), 0)
        return np.clip(np.asarray(k, float), 0, d), d


def publish_counts(masks: np.ndarray, y: np.ndarray, f: np.ndarray, keys: np.ndarray,
                   base: int, after: np.ndarray | None = None) -> PublishedCounts:
    """Round every row's counts by its cell keys (``masks``: rows x audited children)."""
    m = np.asarray(masks, bool).astype(np.int64)
    y1 = np.asarray(y) == 1

    def count(members):
        sel = np.asarray(members, bool)
        exact = m @ sel.astype(np.int64)
        return round_counts(exact, cell_keys(masks, keys, sel), base)

    everyone = np.ones(len(y), bool)
    f1 = np.asarray(f) == 1
    out = {"n": count(everyone), "pos": count(y1), "flag": count(f1), "tp": count(y1 & f1)}
    if after is not None:
        a1 = np.asarray(after) == 1
        out["flag2"], out["tp2"] = count(a1), count(y1 & a1)
    return PublishedCounts(**out)
