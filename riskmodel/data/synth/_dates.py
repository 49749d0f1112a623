"""Day numbers and dates for the synthetic council.

The simulation counts time in whole days since 1970-01-01 (``int64`` day numbers), so that
dates are plain integers it can add, compare and sort. These helpers turn options into day
numbers and back, do calendar arithmetic on them (whole months, ages in whole years) and give
the quarterly as-of dates of the truth.
"""

from __future__ import annotations

import numpy as np

import riskmodel.data.synth._params as P
from riskmodel._core.dates import parse_date

_BIG = np.int64(1 << 20)  # > any day number we use; keys are child * _BIG + day
_INF = np.int64(1 << 19)
_EPOCH = np.datetime64("1970-01-01", "D")
_YEAR = 365.25
_ADULT = 6574 - 30  # no new contacts in the month before the 18th birthday
_PREBIRTH = 180     # household events reach an unborn child in the last 180 days


def _day(value, name: str) -> int:
    days = np.datetime64(parse_date(value, f"--{name}").date(), "D") - _EPOCH
    return int(days // np.timedelta64(1, "D"))


def _dates(days: np.ndarray) -> np.ndarray:
    return _EPOCH + days.astype("timedelta64[D]")


def _is_first_of_month(days: np.ndarray) -> np.ndarray:
    d = _dates(days)
    return d == d.astype("datetime64[M]").astype("datetime64[D]")


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Add whole months to first-of-month days."""
    d = _dates(days).astype("datetime64[M]") + months
    return (d.astype("datetime64[D]") - _EPOCH).astype(np.int64)


def _months_before(days: np.ndarray, months: int) -> np.ndarray:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    d = _dates(days)
    month = d.astype("datetime64[M]")
    day = (d - month.astype("datetime64[D]")).astype(np.int64)
    earlier = month - months
    length = ((earlier + 1).astype("datetime64[D]") - earlier.astype("datetime64[D]")).astype(
        np.int64)
    out = earlier.astype("datetime64[D]") + np.minimum(day, length - 1)
    return (out - _EPOCH).astype(np.int64)


def _age_years(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Age in whole years at ``at`` (negative before birth)."""
    d, a = _dates(dob), _dates(at)
    dy, ay = d.astype("datetime64[Y]"), a.astype("datetime64[Y]")
    dm, am = d.astype("datetime64[M]"), a.astype("datetime64[M]")
    before = ((am - ay) < (dm - dy)) | (((am - ay) == (dm - dy)) & ((a - am) < (d - dm)))
    return (ay - dy).astype(np.int64) - before


def _age_band(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index into ``AGE_BANDS`` (0 = unborn)."""
    age = _age_years(dob, at)
    band = np.searchsorted(np.asarray(P.AGE_BAND_START[1:]), age, side="right")
    return np.where(at < dob, 0, band)


def _quarters(start: int, end: int) -> np.ndarray:
    months = np.arange(_dates(np.array([start])).astype("datetime64[M]")[0],
                       _dates(np.array([end])).astype("datetime64[M]")[0] + 1)
    months = months[months.astype(np.int64) % 3 == 0]
    days = (months.astype("datetime64[D]") - _EPOCH).astype(np.int64)
    return days[(days > start) & (days <= end)]
