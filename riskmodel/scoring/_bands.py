"""Risk bands: fixed cut-points on the calibrated probability, set when the model is trained.

A band says how likely the outcome is, not where the child sits in this month's list:
``high`` = at least twice the base rate (the share of children in the training data who
had the outcome within the horizon), ``medium`` = at least the base rate, ``low`` = below
it. The cut-points are worked out once, from the training labels, and stored in the
model's metadata (``risk_bands``), so a band means the same every month and whatever the
capacity (``--top``) is. Capacity is a separate flag, ``in_capacity``.

Models registered before cut-points were stored have none: their bands use the same
multiples of the base rate measured on their out-of-time test dates (recorded in every
model's ``test_metrics``), and, for a model with no metadata at all, of the scored
cohort's mean calibrated probability. The run says which was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

HIGH_MULTIPLE = 2.0
MEDIUM_MULTIPLE = 1.0
BAND_NAMES = ("high", "medium", "low")
FROM_MODEL = "cut-points stored with the model at training"
FROM_TEST_METRICS = "fallback: the base rate of the model's test dates"
FROM_COHORT = "fallback: this cohort's mean score"


def band_cut_points(labels) -> dict:
    """The band cut-points for a model, from its training labels (stored with the model).

    Parameters
    ----------
    labels : array-like of 0/1
        The training matrix's labels; missing ones (windows not yet observed) are ignored.

    Returns
    -------
    dict
        ``rule``, ``base_rate``, ``high`` (twice the base rate) and ``medium`` (the base
        rate), and ``n`` (the labelled rows the base rate is measured on).

    Examples
    --------
    >>> band_cut_points([0, 0, 0, 1, None])
    {'rule': 'multiples of the base rate', 'base_rate': 0.25, 'high': 0.5, 'medium': 0.25, \
'n': 4}
    """
    y = pd.to_numeric(pd.Series(labels, dtype="object"), errors="coerce").dropna()
    base = float(y.mean()) if len(y) else math.nan
    return {"rule": "multiples of the base rate", "base_rate": base,
            "high": HIGH_MULTIPLE * base, "medium": MEDIUM_MULTIPLE * base, "n": int(len(y))}


@dataclass(frozen=True)
class BandCuts:
    """Cut-points on the calibrated probability and where they came from."""

    high: float
    medium: float
    base_rate: float
    source: str

    def describe(self) -> str:
        """The rule in words, with the numbers.

        Examples
        --------
        >>> BandCuts(0.14, 0.07, 0.07, FROM_MODEL).describe()
        'high: score >= 0.140 (2x the base rate 0.070), medium: >= 0.070, low: below'
        """
        return (f"high: score >= {self.high:.3f} ({HIGH_MULTIPLE:g}x the base rate "
                f"{self.base_rate:.3f}), medium: >= {self.medium:.3f}, low: below")

    def record(self) -> dict:
        """For the audit line (no child-level data)."""
        return {"high": self.high, "medium": self.medium, "base_rate": self.base_rate,
                "source": self.source, "rule": self.describe()}

    @property
    def fallback(self) -> bool:
        return self.source != FROM_MODEL


def _usable(value) -> bool:
    try:
        return math.isfinite(float(value)) and 0 < float(value) < 1
    except (TypeError, ValueError):
        return False


def cuts_from_meta(meta: dict | None, score: np.ndarray) -> BandCuts:
    """The band cut-points of a loaded model, or the documented fallback.

    Parameters
    ----------
    meta : dict
        The model's metadata (``risk_bands``, else ``test_metrics``'s ``base_rate``).
    score : array
        The scored cohort's calibrated probabilities (used only by the last fallback).

    Returns
    -------
    BandCuts

    Examples
    --------
    >>> cuts_from_meta({"risk_bands": band_cut_points([0, 0, 0, 1])}, np.zeros(3)).high
    0.5
    >>> cuts_from_meta({"test_metrics": [{"metric": "base_rate", "value": 0.1}]},
    ...                np.zeros(3)).source == FROM_TEST_METRICS
    True
    """
    meta = meta or {}
    stored = meta.get("risk_bands") or {}
    if _usable(stored.get("base_rate")) and _usable(stored.get("high")) \
            and _usable(stored.get("medium")):
        return BandCuts(high=float(stored["high"]), medium=float(stored["medium"]),
                        base_rate=float(stored["base_rate"]), source=FROM_MODEL)
    base = next((row.get("value") for row in meta.get("test_metrics") or []
                 if isinstance(row, dict) and row.get("metric") == "base_rate"), None)
    if base is not None and _usable(base):
        rate, source = float(base), FROM_TEST_METRICS
    else:
        rate = float(np.mean(score)) if len(score) else math.nan
        source = FROM_COHORT
    return BandCuts(high=HIGH_MULTIPLE * rate, medium=MEDIUM_MULTIPLE * rate, base_rate=rate,
                    source=source)


def risk_bands(score: np.ndarray, cuts: BandCuts) -> np.ndarray:
    """``high`` / ``medium`` / ``low`` for each calibrated probability.

    Parameters
    ----------
    score : array
        Calibrated probabilities.
    cuts : BandCuts
        From :func:`cuts_from_meta`.

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> risk_bands(np.array([0.3, 0.14, 0.1, 0.01]), BandCuts(0.14, 0.07, 0.07, FROM_MODEL))
    array(['high', 'high', 'medium', 'low'], dtype='<U6')
    """
    score = np.asarray(score, dtype=float)
    return np.where(score >= cuts.high, "high",
                    np.where(score >= cuts.medium, "medium", "low"))
