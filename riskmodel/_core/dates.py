"""ISO dates from users: one parser, one error message.

Only ``YYYY-MM-DD`` is accepted where a user types a date: ``01/02/2024`` means 1 February
in England and 2 January in the United States, so a date that is not ISO is refused rather
than guessed.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def parse_date(value, what: str) -> pd.Timestamp:
    """Parse a user-given ISO date, to midnight with no time zone.

    Parameters
    ----------
    value : str, date, datetime64 or Timestamp
    what : str
        The option or key it came from, for the error (``"--as-of"``, ``"as_of"``).

    Raises
    ------
    InputError
        ``<what>: '<value>' is not a date (expected YYYY-MM-DD)``.

    Examples
    --------
    >>> parse_date("2024-04-01", "--as-of")
    Timestamp('2024-04-01 00:00:00')
    >>> parse_date("01/04/2024", "--as-of")
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: --as-of: '01/04/2024' is not a date (expected YYYY-MM-DD)
    """
    ts = pd.NaT
    # Numbers are not dates (pandas would read 5 as 5 ns after 1970).
    iso = not isinstance(value, str) or _ISO.match(value.strip())
    if iso and isinstance(value, (str, dt.date, np.datetime64)):
        try:
            ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
        except (ValueError, TypeError):
            ts = pd.NaT
    if pd.isna(ts):
        raise InputError(f"{what}: {value!r} is not a date (expected YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()
