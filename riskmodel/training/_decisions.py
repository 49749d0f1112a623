"""The training spec's ``decisions:`` choice applied to a training matrix (keep, drop, flag)."""

from __future__ import annotations

import numpy as np
import pandas as pd

OFFERED_HELP = "offered_help"
CHOICES = ("keep", "drop", "flag")


def offered_rows(matrix: pd.DataFrame, offers: pd.DataFrame, *, horizon_months: int
                 ) -> np.ndarray:
    """Which rows of a matrix were offered help that can have changed their outcome.

    A row (a child at as-of date ``t``) is offered help when the child has an offer on a list
    dated ``s`` with ``t - horizon < s < t + horizon``: help, taken to act for the horizon
    after the offer, overlaps the row's outcome window ``(t, t + horizon]``.

    Parameters
    ----------
    matrix : DataFrame
        ``child_id`` and ``as_of``.
    offers : DataFrame
        ``child_id`` and ``as_of`` (the date of the list on which help was offered).
    horizon_months : int

    Returns
    -------
    bool array, one per row of ``matrix``

    Examples
    --------
    >>> m = pd.DataFrame({"child_id": ["C1", "C1", "C1", "C2"],
    ...                   "as_of": pd.to_datetime(["2023-01-01", "2023-07-01", "2024-01-01",
    ...                                            "2023-07-01"])})
    >>> o = pd.DataFrame({"child_id": ["C1"], "as_of": pd.to_datetime(["2023-10-01"])})
    >>> offered_rows(m, o, horizon_months=6).tolist()
    [False, True, True, False]
    """
    rows = pd.DataFrame({"child_id": matrix["child_id"].astype(str).to_numpy(),
                         "t": pd.to_datetime(matrix["as_of"]).to_numpy(),
                         "_i": np.arange(len(matrix))})
    o = pd.DataFrame({"child_id": offers["child_id"].astype(str).to_numpy(),
                      "s": pd.to_datetime(offers["as_of"]).to_numpy()})
    j = rows.merge(o, on="child_id")
    out = np.zeros(len(matrix), bool)
    if j.empty:
        return out
    h = pd.DateOffset(months=int(horizon_months))
    t = pd.DatetimeIndex(j["t"])
    hit = (j["s"].to_numpy() > (t - h).to_numpy()) & (j["s"].to_numpy() < (t + h).to_numpy())
    out[j.loc[hit, "_i"].to_numpy()] = True
    return out


def apply_decisions(matrix: pd.DataFrame, offers: pd.DataFrame, choice: str, *,
                    horizon_months: int) -> tuple[pd.DataFrame, dict]:
    """Apply ``keep``, ``drop`` or ``flag`` to the rows offered help (see ``DecisionsChoice``).

    Returns the matrix (rows dropped, or the ``offered_help`` column added) and a record:
    ``choice``, ``rows``, ``offered_help`` (rows offered help) and ``labelled_offered_help``
    (of them, rows with an observed label).

    Examples
    --------
    >>> m = pd.DataFrame({"child_id": ["C1", "C2"], "as_of": pd.to_datetime(["2023-07-01"] * 2),
    ...                   "label": [0, 1]})
    >>> o = pd.DataFrame({"child_id": ["C1"], "as_of": pd.to_datetime(["2023-07-01"])})
    >>> out, rec = apply_decisions(m, o, "flag", horizon_months=6)
    >>> out["offered_help"].tolist(), rec["offered_help"]
    ([1, 0], 1)
    >>> len(apply_decisions(m, o, "drop", horizon_months=6)[0])
    1
    """
    if choice not in CHOICES:
        raise ValueError(f"decisions choice must be one of {', '.join(CHOICES)}, not {choice!r}")
    hit = offered_rows(matrix, offers, horizon_months=horizon_months)
    labelled = matrix["label"].notna().to_numpy() if "label" in matrix else np.ones(len(hit))
    record = {"choice": choice, "rows": int(len(matrix)), "offered_help": int(hit.sum()),
              "labelled_offered_help": int((hit & labelled.astype(bool)).sum())}
    if choice == "drop":
        return matrix.loc[~hit].reset_index(drop=True), record
    if choice == "flag":
        out = matrix.copy()
        out[OFFERED_HELP] = hit.astype("int8")
        return out, record
    return matrix, record
