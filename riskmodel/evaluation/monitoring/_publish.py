"""The one place monitoring meets the shared disclosure rules (`evaluation._disclosure`).

Every count monitoring stores or publishes, and every figure derived from one, is decided
here: a count from 1 to ``min_count - 1`` is never kept (``"<5"``), nor one the published
totals and the other cells would reveal; totals that are not needed exactly are rounded.
The by-group confusion cells go through the fairness report's own path (cell-key rounding
with permanent per-record keys, :func:`group_cells`), so the two reports agree.
The other monitoring modules import these functions, never ``_disclosure`` itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import (
    CONFUSION_CELLS,
    MIN_FOR_SCORES,
    is_small,
    protect_counts,
    protect_table,
    published_rate,
    rate_interval,
    record_keys,
    small_text,
    suppress,
)

__all__ = ["CELLS", "RATE_CELLS", "cohort_keys", "group_cells", "hidden_counts", "hidden_rows",
           "is_small", "kept", "publish_measures", "publish_ratios", "published_cohort",
           "published_counts", "published_mean", "published_outcomes",
           "published_share", "rounded", "scores_shown",
           "shown_count", "small_text", "suppress"]

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


def published_cohort(ids: np.ndarray, *, min_count: int) -> int:
    """The month's cohort as the fairness report publishes it: its "everyone" cell, rounded
    by the permanent keys of its records (``child_id|as_of``), never the exact count.

    Examples
    --------
    >>> import os
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "doc"
    >>> ids = np.array([f"c{i}|2025-01-01" for i in range(388)])
    >>> n = published_cohort(ids, min_count=5)
    >>> n % 5 == 0 and abs(n - 388) < 5, published_cohort(ids, min_count=1)
    (True, 388)
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    everyone = group_cells(np.zeros(len(ids), int), np.zeros(len(ids), bool),
                           np.zeros(len(ids), bool), ids, min_count=min_count)
    return int(everyone["children"].iloc[0])


def published_outcomes(ids: np.ndarray, had: np.ndarray, *, min_count: int) -> int:
    """How many of the month's records ``ids`` had the outcome (``had``), as published: the
    "everyone" row's children who needed help, rounded by their records' permanent keys as
    :func:`published_cohort` rounds the cohort (the fairness report's cell).

    Examples
    --------
    >>> import os
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "doc"
    >>> ids = np.array([f"c{i}|2025-01-01" for i in range(300)])
    >>> k = published_outcomes(ids, np.arange(300) < 42, min_count=5)
    >>> k % 5 == 0 and abs(k - 42) < 5, published_outcomes(ids, np.arange(300) < 42,
    ...                                                     min_count=1)
    (True, 42)
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    everyone = group_cells(np.zeros(len(ids), int), np.asarray(had, bool),
                           np.zeros(len(ids), bool), ids, min_count=min_count)
    return int(everyone["needed_help"].iloc[0])


def published_mean(value: float | None) -> float | None:
    """A mean over the month's children as published: to two decimals, as the other figures
    taken from the exact records. At full precision a mean is an exact fraction whose
    denominator is the exact cohort (a flag's mean is its count over the cohort), which the
    published cohort (cell-key rounded) must not give back; at two decimals every cohort
    within the rounding fits it (hundreds of children make 0.01 more than one child).

    Examples
    --------
    >>> published_mean(122 / 776), published_mean(None)
    (0.16, None)
    """
    return None if value is None else round(float(value), 2)


def cohort_keys(ids: np.ndarray | None, n: int) -> np.ndarray:
    """The permanent record keys of a month's ``n`` records (``ids``: ``child_id|as_of``,
    as :func:`published_cohort` keys them); without ids, keys of the row positions (stable
    within one file only, for data at hand in a test or already public).

    Examples
    --------
    >>> cohort_keys(np.array(["c1|2025-01-01", "c2|2025-01-01"]), 2).shape
    (2,)
    """
    return record_keys(list(ids) if ids is not None else [str(i) for i in range(n)])


def published_counts(masks: np.ndarray, keys: np.ndarray, *, min_count: int) -> np.ndarray:
    """The published count of each row of ``masks`` (rows x records): its children rounded
    by their cell key, as every report rounds the same children (so the month's whole
    cohort here is :func:`published_cohort`, and a count published twice prints the same).

    Examples
    --------
    >>> keys = cohort_keys(None, 30)
    >>> published_counts(np.ones((1, 30), bool), keys, min_count=5).tolist()[0] % 5
    0
    """
    return protect_counts(np.atleast_2d(np.asarray(masks, bool)), keys, min_count)


def published_share(mask: np.ndarray, keys: np.ndarray, *, min_count: int,
                    within: np.ndarray | None = None) -> float:
    """A share of children as published: the published count of ``mask`` over the published
    count of ``within`` (default everyone), each rounded by its children's cell key, so the
    share times the published whole is a published count and no exact count comes back.
    Every share monitoring publishes about children (mix, bands, capacity, missing) is this.

    Examples
    --------
    >>> keys = cohort_keys(None, 40)
    >>> published_share(np.arange(40) < 10, keys, min_count=1)
    0.25
    >>> s = published_share(np.arange(40) < 12, keys, min_count=5)
    >>> round(s * int(published_counts(np.ones(40, bool), keys, min_count=5)[0]), 9) % 5
    0.0
    """
    whole = np.ones(len(keys), bool) if within is None else np.asarray(within, bool)
    part = np.asarray(mask, bool) & whole
    k, n = published_counts(np.vstack([part, whole]), keys, min_count=min_count)
    return float(published_rate(min(k, n), n))


#: Measures that are rates of published cells: measure -> (numerator, denominator).
RATE_CELLS = {"base_rate": ("needed_help", "children"),
              "precision_at_capacity": ("hits", "flagged"),
              "recall_at_capacity": ("hits", "needed_help")}
_HIDDEN = {"value": math.nan, "low": math.nan, "high": math.nan, "hidden": True}


def scores_shown(cells: Mapping) -> bool:
    """Whether figures computed from the exact records (AUC, calibration error, resampled
    intervals) may be shown for a group: at least ``MIN_FOR_SCORES`` published children who
    had the outcome and as many who did not (the fairness report's rule).

    Examples
    --------
    >>> scores_shown({"needed_help": 20, "did_not_need_help": 400}), scores_shown(
    ...     {"needed_help": 15, "did_not_need_help": 400})
    (True, False)
    """
    return bool(cells["needed_help"] >= MIN_FOR_SCORES
                and cells["did_not_need_help"] >= MIN_FOR_SCORES)


def publish_measures(metrics: dict, cells: Mapping, expected: float, *, min_count: int,
                     confidence: float = 0.95) -> dict:
    """Realised measures as published, from a group's published cells (:func:`group_cells`).

    Rates (:data:`RATE_CELLS`) are ratios of published cells with the fairness report's
    interval for rounded counts (``rate_interval``); outcomes observed over expected is the
    published count who needed help over the summed scores (``expected``), its interval the
    same count's; where :func:`scores_shown`, each interval is widened to the family
    resamples' (rounded to two decimals: siblings share outcomes); AUC and calibration error
    (from the exact records: no count gives them) are rounded to two decimals, interval
    included, and shown only where :func:`scores_shown`.
    With ``min_count`` 1 (data already public) the exact measures are returned unchanged.

    Examples
    --------
    >>> cells = {"children": 400, "needed_help": 40, "did_not_need_help": 360,
    ...          "flagged": 40, "hits": 10}
    >>> exact = {"auc": {"value": 0.71234, "low": 0.65, "high": 0.77},
    ...          "base_rate": {"value": 0.1025, "low": 0.07, "high": 0.13}}
    >>> out = publish_measures(exact, cells, 41.0, min_count=5)
    >>> out["auc"]["value"], out["base_rate"]["value"]
    (0.71, 0.1)
    """
    if min_count <= 1:
        return metrics
    out: dict[str, Any] = {}
    for m in metrics:
        if m in RATE_CELLS or m == "observed_over_expected":
            num, den = RATE_CELLS.get(m, ("needed_help", "children"))
            k, n = float(cells[num]), float(cells[den])
            lo, hi = rate_interval(k, n, base=min_count, confidence=confidence)
            scale = 1.0 if m in RATE_CELLS else (n / expected if expected > 0 else math.nan)
            got = {"value": float(published_rate(k, n)) * scale, "low": float(lo) * scale,
                   "high": float(hi) * scale}
            if scores_shown(cells):  # never narrower than the family resamples allow
                got = _widened(got, metrics[m])
        elif scores_shown(cells):
            got = {k: round(float(v), 2) if k in ("value", "low", "high") and
                   np.isfinite(v) else v for k, v in metrics[m].items()}
        else:
            got = dict(_HIDDEN)
        out[m] = got if np.isfinite(got["value"]) else dict(_HIDDEN)
    return out


def _widened(got: dict, resampled: dict) -> dict:
    """``got``'s interval widened to the resampled one, rounded to two decimals."""
    for end, pick in (("low", min), ("high", max)):
        v = resampled.get(end)
        if v is not None and np.isfinite(v) and np.isfinite(got[end]):
            got[end] = pick(got[end], round(float(v), 2))
    return got


def publish_ratios(characteristics: list[dict], *, min_count: int) -> None:
    """Round (in place) what each group's ``missed_ratio`` and ``oe_ratio`` take from the
    exact records (their resampled ``low``, ``high`` and ``sd_log``) to two decimals, or drop
    it (and the ``outside`` judgement) for a group :func:`scores_shown` does not allow. The
    ratios' values are already ratios of published figures.

    Examples
    --------
    >>> out = [{"groups": [{"needed_help": 10, "did_not_need_help": 90,
    ...         "missed_ratio": {"value": 1.5, "low": 0.812, "high": 2.71, "sd_log": 0.31,
    ...                          "outside": False}}]}]
    >>> publish_ratios(out, min_count=5)
    >>> out[0]["groups"][0]["missed_ratio"]
    {'value': 1.5, 'low': None, 'high': None, 'sd_log': None, 'outside': False}
    """
    if min_count <= 1:
        return
    for ch in characteristics:
        for g in ch["groups"]:
            ok = scores_shown(g) if "needed_help" in g else False
            for key in ("missed_ratio", "oe_ratio"):
                r = g.get(key)
                if not r:
                    continue
                for part in ("low", "high", "sd_log"):
                    r[part] = round(float(r[part]), 2) if ok else None
                r["outside"] = bool(r["outside"]) and ok
                for extra in ("change", "training"):  # the change since training, if judged
                    if extra in r:
                        r[extra] = {k: (round(float(v), 2) if isinstance(v, float) else v)
                                    for k, v in r[extra].items()} if ok else None


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
        size = int(round(float(total)))
        if _nothing_small(counts[col].to_numpy(dtype=float), size, min_count):
            continue  # what ``suppress`` would find too, without its rank tests
        shown = suppress(counts[[col]], count=col, rates=(), total=size, min_count=min_count)
        hidden |= shown[col].map(lambda v: isinstance(v, str)).to_numpy()
    return hidden


def hidden_counts(counts: np.ndarray | list, total: float, *, min_count: int = 5) -> np.ndarray:
    """:func:`hidden_rows` of one list of counts and its published total, without a frame
    when nothing is small (the usual case: the reference counts 12 months of every feature).

    Examples
    --------
    >>> hidden_counts([3, 9, 8], 20).tolist(), hidden_counts([30, 9, 8], 47).tolist()
    ([True, False, True], [False, False, False])
    """
    c = np.asarray(counts, float)
    if _nothing_small(c, int(round(float(total))), min_count):
        return np.zeros(len(c), bool)
    return hidden_rows(pd.DataFrame({"n": c}), {"n": total}, min_count=min_count)


def _nothing_small(counts: np.ndarray, size: int, min_count: int) -> bool:
    """Whether ``suppress`` has nothing to protect in one column of a table of ``size``:
    no row, no row's complement (``size`` minus the row), no remainder (children in no row)
    and not the total itself holds a small count, so no row is hidden.

    Examples
    --------
    >>> _nothing_small(np.array([9.0, 11.0]), 20, 5), _nothing_small(np.array([9.0, 8.0]), 20, 5)
    (True, False)
    """
    if not np.isfinite(counts).all():
        return False
    derived = np.concatenate([counts, size - counts, [size - counts.sum(), size]])
    return not is_small(derived, min_count).any()
