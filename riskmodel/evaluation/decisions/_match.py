"""Checking a panel's decisions against the scores (the month's list) they answer."""

from __future__ import annotations

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.data import row_names

STORED_COLUMNS = ("child_id", "scoring_month", "decision", "reason", "decision_date", "listed",
                  "addition", "as_of")


def list_month(scores: pd.DataFrame, source: str = "scores") -> tuple[pd.Timestamp, str]:
    """The as-of date of a scores table (one list) and its month, ``YYYY-MM``.

    Examples
    --------
    >>> list_month(pd.DataFrame({"child_id": ["C1", "C2"], "as_of": ["2025-12-31", "2025-12-31"]}))
    (Timestamp('2025-12-31 00:00:00'), '2025-12')
    """
    if "as_of" not in scores.columns or "child_id" not in scores.columns:
        raise InputError(f"{source}: not a scores file (no child_id and as_of columns)")
    dates = pd.to_datetime(scores["as_of"], errors="coerce").dropna().unique()
    if len(dates) != 1:
        raise InputError(f"{source}: expected one list (one as_of date), found {len(dates)}")
    when = pd.Timestamp(dates[0]).normalize()
    return when, when.strftime("%Y-%m")


def listed_flags(scores: pd.DataFrame) -> pd.Series:
    """``in_capacity`` as booleans, whether read from Parquet, CSV (text) or Excel.

    Examples
    --------
    >>> listed_flags(pd.DataFrame({"in_capacity": ["True", "False", "1"]})).tolist()
    [True, False, True]
    """
    v = scores["in_capacity"]
    if v.dtype == bool:
        return v
    return v.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def match_decisions(decisions: pd.DataFrame, scores: pd.DataFrame, *, sent=None,
                    stored: pd.DataFrame | None = None, source: str = "decisions",
                    scores_name: str = "the scores") -> pd.DataFrame:
    """Check decisions against the scores they answer and mark the panels' additions.

    Parameters
    ----------
    decisions : DataFrame
        As :func:`riskmodel.data.read_decisions` returns it (``_row`` optional).
    scores : DataFrame
        One list: ``child_id``, ``as_of`` and ``in_capacity`` (the children on the list).
    sent : datetime, optional
        When the list was sent (the scoring run's audit ``when``); a decision dated before
        that day is an error.
    stored : DataFrame, optional
        Decisions already recorded for these scores: a child decided again is a duplicate.
    source, scores_name : str
        How the decisions and the scores are named in messages.

    Returns
    -------
    DataFrame
        The decisions with ``listed`` (the child was on the list: ``in_capacity``),
        ``addition`` (a child the panel added: in the scores but not on the list) and
        ``as_of`` (the list's date).

    Raises
    ------
    InputError
        One line naming the rows: a month other than the list's, a child not in the scores,
        the same child decided twice, a decision dated before the list was sent.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, False, False]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C3"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "offered"], "reason": "",
    ...                   "decision_date": pd.NaT})
    >>> match_decisions(d, s)[["child_id", "listed", "addition"]].values.tolist()
    [['C1', True, False], ['C3', False, True]]
    """
    d = decisions.copy().reset_index(drop=True)
    if "_row" not in d:
        d["_row"] = range(2, len(d) + 2)
    as_of, month = list_month(scores, scores_name)
    _check_rows(d, scores, stored, month, as_of, source, scores_name)
    if sent is not None:
        _check_sent(d, sent, source)
    listed = dict(zip(scores["child_id"].astype(str), listed_flags(scores), strict=True))
    d["listed"] = d["child_id"].map(listed).astype(bool)
    d["addition"] = ~d["listed"]
    d["as_of"] = as_of
    return d


def _check_rows(d: pd.DataFrame, scores: pd.DataFrame, stored: pd.DataFrame | None,
                month: str, as_of: pd.Timestamp, source: str, scores_name: str) -> None:
    """Raise on a row of another month, a child not in the scores, or one decided twice."""
    wrong = d["scoring_month"] != month
    if wrong.any():
        other = d.loc[wrong, "scoring_month"].iloc[0]
        raise InputError(f"{source}: scoring_month {other} is not the month of the list in "
                         f"{scores_name} ({month}) in {row_names(d, wrong)}")
    ids = set(scores["child_id"].astype(str))
    unknown = ~d["child_id"].isin(ids)
    if unknown.any():
        raise InputError(f"{source}: child not in {scores_name} (not open to early help on "
                         f"{as_of.date()}) in {row_names(d, unknown)}")
    dup = d["child_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(f"{source}: the same child decided twice in {row_names(d, dup)}")
    if stored is not None and len(stored):
        again = d["child_id"].isin(set(stored["child_id"].astype(str)))
        if again.any():
            raise InputError(f"{source}: a decision is already recorded for these children in "
                             f"{row_names(d, again)} (give --replace to replace the recorded "
                             "decisions with this file)")


def _check_sent(d: pd.DataFrame, sent: object, source: str) -> None:
    """Raise on a decision dated before the day the list was sent."""
    day = pd.Timestamp(sent).tz_localize(None).normalize() if pd.Timestamp(sent).tzinfo \
        else pd.Timestamp(sent).normalize()
    early = d["decision_date"].notna() & (d["decision_date"] < day)
    if early.any():
        first = d.loc[early, "decision_date"].iloc[0].date()
        raise InputError(f"{source}: decision_date {first} is before the list was sent "
                         f"({day.date()}, by the scoring audit) in {row_names(d, early)}")
