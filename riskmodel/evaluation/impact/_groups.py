"""The effect by characteristic: the same cut-off, the child-months of one group at a time.

Each group (a value of one of the fairness policy's characteristics, carried in the scores
files) is judged at the bandwidths of the whole council, so the groups are compared on the
same children near the edge. A group is estimated only when it has enough child-months and
escalations near the cut-off each side (:data:`MIN_NEAR`, :data:`MIN_ESCALATIONS`, counted
through the shared disclosure path and rounded as every count of the report); otherwise it
gets words, not numbers. Published per group: its child-months near the cut-off each side
(rounded) and the risk ratios of being listed and of being offered help with their
intervals; never a count of escalations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from riskmodel.evaluation.impact._effects import fuzzy_effects, sharp_effects

#: Child-months within the bandwidth each side of the cut-off a group needs to be estimated.
MIN_NEAR = 200
#: Escalations within the bandwidth each side of the cut-off a group needs to be estimated.
MIN_ESCALATIONS = 20

TOO_SMALL = ("Too few child-months near the cut-off to estimate (a group needs {near} each "
             "side within the bandwidth and {events} escalations each side); the group is "
             "part of the council's estimate.")
FAILED = "The effect could not be estimated for this group (its outcomes near the cut-off " \
         "are too uniform)."


def _rr(effects: list[dict], of: str) -> dict:
    e = next(e for e in effects if (e["of"], e["scale"]) == (of, "risk_ratio"))
    return {"estimate": e["estimate"], "low": e["low"], "high": e["high"]}


def _shortfall(g: pd.DataFrame, h: float, count: Callable[[np.ndarray], int]) -> float:
    """How many times more child-months near the cut-off the rows ``g`` need to be estimated:
    the largest of MIN_NEAR and MIN_ESCALATIONS over the rounded counts each side within
    ``h`` (at most 1: enough)."""
    x, y = g["x"].to_numpy(float), g["y"].to_numpy(float) > 0
    need = 1.0
    for side in ((x > 0) & (x < h), (x <= 0) & (x > -h)):
        for n, least in ((count(side), MIN_NEAR), (count(side & y), MIN_ESCALATIONS)):
            need = max(need, least / n if n > 0 else np.inf)
    return need


def enough_near(g: pd.DataFrame, h: float, count: Callable[[np.ndarray], int]) -> bool:
    """At least MIN_NEAR child-months and MIN_ESCALATIONS escalations each side within ``h``
    (the rounded counts).

    Examples
    --------
    >>> g = pd.DataFrame({"x": [-0.1, 0.1] * 500, "y": [0.0, 1.0] * 500})
    >>> enough_near(g, 1.0, lambda m: int(np.sum(m)))
    False
    """
    return _shortfall(g, h, count) <= 1.0


def months_for_enough(g: pd.DataFrame, h: float, count: Callable[[np.ndarray], int],
                      months: int) -> int | None:
    """The months of lists like these that would give enough child-months near the cut-off
    (:func:`enough_near`), if each month adds as many; None if no month adds any.

    Examples
    --------
    >>> g = pd.DataFrame({"x": [-0.1, 0.1] * 50, "y": [1.0] * 100})
    >>> months_for_enough(g, 1.0, lambda m: int(np.sum(m)), 6)
    24
    """
    need = _shortfall(g, h, count)
    return int(np.ceil(months * need)) if np.isfinite(need) else None


def _one_group(g: pd.DataFrame, bw: dict, count: Callable[[np.ndarray], int]) -> dict:
    """One group's row: its rounded child-months near the cut-off and its two risk ratios,
    or words when it is too small."""
    h = max(bw["listed"], bw["offered"])
    x = g["x"].to_numpy(float)
    row: dict = {"n_below": count((x <= 0) & (x > -h)), "n_above": count((x > 0) & (x < h))}
    if not enough_near(g, min(bw["listed"], bw["offered"]), count):
        return {**row, "listed": None, "offered": None,
                "words": TOO_SMALL.format(near=MIN_NEAR, events=MIN_ESCALATIONS)}
    listed = _rr(sharp_effects(g, bw["listed"], bw["listed_pilot"]), "listed")
    offered = _rr(fuzzy_effects(g, bw["offered"], bw["offered_pilot"]), "offered")
    if listed["estimate"] is None and offered["estimate"] is None:
        return {**row, "listed": None, "offered": None, "words": FAILED}
    return {**row, "listed": listed, "offered": offered, "words": None}


def effects_by_group(t: pd.DataFrame, characteristics: list[str], bandwidths: dict,
                     count: Callable[[np.ndarray], int]) -> list[dict]:
    """The effects of being listed and of being offered help within each group.

    Parameters
    ----------
    t : DataFrame
        The judged child-months (``x``, ``listed``, ``offered``, ``y``, ``family_id``) with
        a column ``by_<characteristic>`` for each characteristic.
    characteristics : list of str
        The characteristics, in the order to report them (the fairness policy's).
    bandwidths : dict
        :func:`rd_effects`' ``bandwidths`` (``listed``, ``listed_pilot``, ``offered``,
        ``offered_pilot``): each group is judged at the council's.
    count : callable
        A boolean mask over ``t``'s rows -> its published (rounded) count.

    Returns
    -------
    list of dict
        ``{characteristic, group, n_below, n_above, listed, offered, words}``: ``listed``
        and ``offered`` are ``{estimate, low, high}`` risk ratios, or None with ``words``
        saying why.

    Examples
    --------
    >>> rng = np.random.default_rng(6); n = 20000; x = rng.uniform(-1, 1, n)
    >>> off = (x > 0) & (rng.uniform(size=n) < 0.8)
    >>> y = (rng.uniform(size=n) < 0.3 * np.where(off, 0.5, 1.0)).astype(float)
    >>> t = pd.DataFrame({"x": x, "listed": x > 0, "offered": off, "y": y,
    ...     "family_id": np.arange(n), "by_sex": np.where(np.arange(n) < 60, "unknown", "f")})
    >>> bw = {"listed": 0.5, "listed_pilot": 0.8, "offered": 0.5, "offered_pilot": 0.8}
    >>> rows = effects_by_group(t, ["sex"], bw, lambda m: int(np.sum(m)))
    >>> [(r["group"], r["words"] is None) for r in rows]
    [('f', True), ('unknown', False)]
    """
    out = []
    for c in characteristics:
        col = f"by_{c}"
        if col not in t:
            continue
        values = t[col].astype("string")
        for value in sorted(values.dropna().unique()):
            mask = (values == value).fillna(False).to_numpy(bool)
            g = t[mask].reset_index(drop=True)
            sub = _one_group(g, bandwidths, _within(mask, count))
            out.append({"characteristic": c, "group": str(value), **sub})
    return out


def _within(mask: np.ndarray, count: Callable[[np.ndarray], int]
            ) -> Callable[[np.ndarray], int]:
    """A count over the group's rows, made by widening its mask to all the rows (so the
    count's cell key is the same as for any other report of the same child-months)."""
    where = np.flatnonzero(mask)

    def inner(m: np.ndarray) -> int:
        full = np.zeros(len(mask), bool)
        full[where[np.asarray(m, bool)]] = True
        return count(full)
    return inner
