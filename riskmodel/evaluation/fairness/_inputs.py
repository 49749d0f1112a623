"""Reading the audited table: the label and score columns, and the rule that flags children."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from riskmodel._core.capacity import parse_selection, top_k_flags
from riskmodel._core.errors import InputError


def _example_rows(frame: pd.DataFrame, mask) -> str:
    """Up to three rows where ``mask`` holds, by ``child_id`` when there is one."""
    idx = np.flatnonzero(np.asarray(mask))[:3]
    if "child_id" in frame.columns:
        ids = [str(v) for v in frame["child_id"].to_numpy()[idx]]
    else:
        ids = [str(i + 1) for i in idx]
    return ", ".join(ids)


def require_column(frame: pd.DataFrame, column: str, what: str, source: str) -> None:
    """Fail with one line naming the input, the column and the columns there are."""
    if column not in frame.columns:
        shown_cols = ", ".join(map(str, list(frame.columns)[:12]))
        raise InputError(f"{source}: no {what} column {column!r} (columns: {shown_cols})")


def label_values(frame: pd.DataFrame, label: str, source: str) -> np.ndarray:
    """The label as floats: 0, 1, or NaN where it is not yet known."""
    raw = frame[label]
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        raw = raw.astype("Int64")
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.notna() & ~values.isin([0, 1]) | (raw.notna() & values.isna())
    if bad.any():
        raise InputError(f"{source}: column {label!r} must be 0/1 (or empty when unknown); "
                         f"other values in rows {_example_rows(frame, bad)}")
    return values.to_numpy(dtype=float, na_value=np.nan)


def score_values(frame: pd.DataFrame, score: str, source: str) -> np.ndarray:
    """The score as floats; every row must hold a finite number."""
    values = pd.to_numeric(frame[score], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise InputError(f"{source}: column {score!r} must hold a number in every row; "
                         f"missing or not a number in rows {_example_rows(frame, bad)}")
    return values.to_numpy(dtype=float)


def parse_top(top) -> tuple[str, float]:
    """``"10%"`` -> ``("percent", 10.0)``; ``250`` or ``"250"`` -> ``("count", 250)``.

    Examples
    --------
    >>> parse_top("10%"), parse_top(250)
    (('percent', 10.0), ('count', 250.0))
    """
    try:
        sel = parse_selection(top)
    except InputError:
        sel = None
    if sel is None or sel.kind not in ("percent", "overall"):
        raise InputError(f"--top: expected a percentage such as '10%' or a number of children "
                         f"such as '250', got {top!r}")
    return ("percent", float(sel.value)) if sel.kind == "percent" else ("count", float(sel.value))


def flag_scores(frame: pd.DataFrame, scores: np.ndarray, *, threshold=None, top=None
                ) -> tuple[np.ndarray, str]:
    """Who the rule flags, and the rule in words.

    ``top`` flags the highest scores (ties broken by row order so the count is exact), within
    each as-of date when the frame has an ``as_of`` column; ``threshold`` flags
    ``score >= threshold``.
    """
    if (threshold is None) == (top is None):
        raise InputError("fairness: give exactly one of --threshold or --top")
    if threshold is not None:
        try:
            t = float(threshold)
        except (TypeError, ValueError):
            raise InputError(f"--threshold: expected a number, got {threshold!r}") from None
        return scores >= t, f"score \u2265 {t:g}"
    kind, amount = parse_top(top)
    flags = np.zeros(len(scores), bool)
    by_date = "as_of" in frame.columns
    groups = (frame.groupby("as_of", sort=False, dropna=False).indices if by_date
              else {None: np.arange(len(scores))})
    for idx in groups.values():
        k = math.ceil(len(idx) * amount / 100) if kind == "percent" else int(amount)
        flags[idx[top_k_flags(scores[idx], k)]] = True
    what = f"top {amount:g}%" if kind == "percent" else f"top {int(amount)}"
    return flags, f"{what} by score" + (" at each as-of date" if by_date else "")
