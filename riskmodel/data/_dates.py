"""The dates of an extract: when its records start, and the date it was taken."""

from __future__ import annotations

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.data._duck import DuckTables

# Dates that say when something became known (the first record) or happened (the extract).
KNOWN_DATES = (("contacts", "recorded_date"), ("ace_factors", "recorded_date"),
                ("episodes", "start_date"))
EVENT_DATES = KNOWN_DATES + (("contacts", "contact_date"), ("episodes", "end_date"))


def date_bounds(tables, columns) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The earliest and latest date in ``columns`` (``(table, column)`` pairs) of ``tables``.

    Tables kept in DuckDB (:class:`~riskmodel.data.DuckTables`) are asked in SQL.

    Examples
    --------
    >>> date_bounds({"contacts": pd.DataFrame({"recorded_date": ["2021-04-03", None]})},
    ...             [("contacts", "recorded_date")])
    (Timestamp('2021-04-03 00:00:00'), Timestamp('2021-04-03 00:00:00'))
    """
    if isinstance(tables, DuckTables):
        return tables.date_bounds(columns)
    lows, highs = [], []
    for table, col in columns:
        s = pd.to_datetime(tables[table][col], errors="coerce")
        if s.notna().any():
            lows.append(s.min())
            highs.append(s.max())
    return (min(lows) if lows else None, max(highs) if highs else None)


def first_record_date(tables) -> pd.Timestamp | None:
    """When the records start: the earliest recorded contact or ACE factor or episode start.

    Examples
    --------
    >>> t = {"contacts": pd.DataFrame({"recorded_date": ["2021-04-03"]}),
    ...      "ace_factors": pd.DataFrame({"recorded_date": [None]}),
    ...      "episodes": pd.DataFrame({"start_date": ["2021-05-01"]})}
    >>> first_record_date(t)
    Timestamp('2021-04-03 00:00:00')
    """
    first, _ = date_bounds(tables, KNOWN_DATES)
    return None if first is None else pd.Timestamp(first).normalize()


def extract_date_of(tables) -> pd.Timestamp:
    """The latest event or recording date in the tables (the extract's effective date).

    Examples
    --------
    >>> t = {"contacts": pd.DataFrame({"recorded_date": ["2024-01-02"],
    ...                                "contact_date": ["2024-01-01"]}),
    ...      "ace_factors": pd.DataFrame({"recorded_date": [None]}),
    ...      "episodes": pd.DataFrame({"start_date": ["2023-05-01"], "end_date": ["2024-03-09"]})}
    >>> extract_date_of(t)
    Timestamp('2024-03-09 00:00:00')
    """
    _, latest = date_bounds(tables, EVENT_DATES)
    if latest is None:
        raise InputError("contacts/episodes: no dated rows, so there is no extract date")
    return pd.Timestamp(latest).normalize()
