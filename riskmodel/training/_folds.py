"""The as-of schedule (from the data) and rolling-origin temporal folds with a gap before the
final period (no training row's outcome window reaches its test date)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.training._spec import TrainingSpec

#: A schedule never starts earlier than this many months after the first record, even when
#: the longest feature window does not fit (the 12-month windows are then observed).
MIN_WARM_UP_MONTHS = 12


@dataclass
class DatePlan:
    """Which as-of dates choose the model, which are left out as the gap, which are final."""

    selection: list[pd.Timestamp]
    gap: list[pd.Timestamp]
    final: list[pd.Timestamp]

    def describe(self, horizon_months: int) -> str:
        """The dates in words, with the gap between choice and final period.

        Examples
        --------
        >>> d = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"])
        >>> DatePlan([d[0]], [d[1]], [d[2]]).describe(6)[:48]
        'selection dates 2024-01-01 to 2024-01-01; gap of'
        """
        def span(ds: list[pd.Timestamp]) -> str:
            return f"{ds[0].date()} to {ds[-1].date()}" if ds else "none"

        text = f"selection dates {span(self.selection)}"
        if self.final:
            last = self.selection[-1] + pd.DateOffset(months=horizon_months)
            gap = ", ".join(str(d.date()) for d in self.gap) or "none"
            text += (f"; gap of {len(self.gap)} date(s) ({gap}) "
                     f"so the last selection date's {horizon_months}-month window ends "
                     f"{last.date()}, by the first final date; final period {span(self.final)}")
        return text


def _ready(t: pd.Timestamp, horizon_months: int, lag_days: int) -> pd.Timestamp:
    """When the outcome of as-of date ``t`` is known: the window's end plus the lag."""
    return t + pd.DateOffset(months=horizon_months) + pd.Timedelta(days=lag_days)


def plan_dates(dates, *, n_folds: int, holdout: int, horizon_months: int,
               lag_days: int = 0) -> DatePlan:
    """Split the as-of dates: the last ``holdout`` are the final period; the selection dates
    are the last ``n_folds`` whose outcome window ends by the first final date (the dates in
    between are the gap); the first selection date must have a date whose outcome was known
    before it to train on.

    Examples
    --------
    >>> d = list(pd.date_range("2022-01-01", periods=12, freq="QS"))
    >>> p = plan_dates(d, n_folds=3, holdout=4, horizon_months=6)
    >>> [str(x.date()) for x in p.selection], [str(x.date()) for x in p.gap]
    (['2023-01-01', '2023-04-01', '2023-07-01'], ['2023-10-01'])
    """
    dates = sorted(pd.Timestamp(d) for d in dates)
    final = dates[len(dates) - holdout:] if holdout else []
    before = dates[:len(dates) - holdout] if holdout else dates
    if final:
        fits = [d for d in before
                if d + pd.DateOffset(months=horizon_months) <= final[0]]
    else:
        fits = before
    selection = fits[-n_folds:] if len(fits) >= n_folds else []
    ok = bool(selection) and any(_ready(d, horizon_months, lag_days) <= selection[0]
                                 for d in dates)
    if not ok:
        held = f", {holdout} final date(s) and the gap between them" if holdout else ""
        raise InputError(
            f"{len(dates)} as-of date(s) with observed outcomes are too few for {n_folds} "
            f"selection dates{held}, with earlier dates to train on")
    gap = [d for d in before if selection[-1] < d]
    return DatePlan(selection=selection, gap=gap, final=final)


def _grid_start(day: pd.Timestamp, every_months: int) -> pd.Timestamp:
    """The first date on the calendar grid (1 January and every ``every_months``) on or after
    ``day``."""
    t = pd.Timestamp(year=day.year, month=1, day=1)
    while t < day:
        t = t + pd.DateOffset(months=every_months)
    return t


def _dates(start: pd.Timestamp, end: pd.Timestamp, spec: TrainingSpec,
           extract: pd.Timestamp) -> list[pd.Timestamp]:
    dates, t = [], start
    while t <= end and _ready(t, spec.horizon_months, spec.as_of.recording_lag_days) <= extract:
        dates.append(t)
        t = t + pd.DateOffset(months=spec.as_of.every_months)
    return dates


def as_of_schedule(spec: TrainingSpec, extract_date, *, records_start=None,
                   longest_window_months: int | None = None,
                   notes: list[str] | None = None) -> list[pd.Timestamp]:
    """The as-of dates of a spec whose outcome windows, plus the recording lag, have closed by
    ``extract_date``.

    Without ``as_of.start`` the schedule starts at ``records_start`` plus the warm-up
    (``as_of.warm_up_months``, else ``longest_window_months``); when that leaves too few dates
    for the splits it starts earlier, down to 12 months after the first record, and says so
    in ``notes``.

    Examples
    --------
    >>> from riskmodel.training import load_training_spec
    >>> s = load_training_spec(outcome="escalation")
    >>> dates = as_of_schedule(s, "2025-12-31", records_start="2021-04-03",
    ...                        longest_window_months=12)
    >>> str(dates[0].date()), str(dates[-1].date()), len(dates)
    ('2022-07-01', '2025-04-01', 12)
    """
    extract = pd.Timestamp(extract_date)
    sched = spec.as_of
    end = pd.Timestamp(sched.end) if sched.end else extract
    if sched.start is not None:
        start = pd.Timestamp(sched.start)
        if records_start is not None and start <= pd.Timestamp(records_start):
            raise InputError(
                f"{spec.source}: key 'as_of.start': {start.date()} is not after the first "
                f"record ({pd.Timestamp(records_start).date()}); leave it out (or null) to "
                "start from the data")
        return _dates(start, end, spec, extract)
    if records_start is None:
        raise InputError(f"{spec.source}: key 'as_of.start': not set and no records to "
                         "start the schedule from")
    first = pd.Timestamp(records_start)
    warm = sched.warm_up_months if sched.warm_up_months is not None else \
        (longest_window_months or MIN_WARM_UP_MONTHS)
    floor = min(warm, MIN_WARM_UP_MONTHS)
    for months in range(warm, floor - 1, -1):
        start = _grid_start(first + pd.DateOffset(months=months), sched.every_months)
        dates = _dates(start, end, spec, extract)
        try:
            plan_dates(dates, n_folds=spec.splits.n_folds, holdout=spec.splits.holdout,
                       horizon_months=spec.horizon_months,
                       lag_days=sched.recording_lag_days)
        except InputError:
            continue
        if months < warm and notes is not None:
            notes.append(f"as-of dates start {start.date()}, {months} months after the first "
                         f"record ({first.date()}): the {warm}-month feature windows are "
                         f"fully observed only from {(first + pd.DateOffset(months=warm)).date()}")
        return dates
    raise InputError(
        f"{spec.source}: key 'as_of': records from {first.date()} to {extract.date()} leave "
        f"too few as-of dates for splits.n_folds {spec.splits.n_folds}, splits.holdout "
        f"{spec.splits.holdout} and a {spec.horizon_months}-month horizon plus "
        f"{sched.recording_lag_days} days' recording lag (even starting {floor} months after "
        "the first record)")


def temporal_folds(as_of: pd.Series | pd.DatetimeIndex, *, n_folds: int, horizon_months: int,
                   holdout: int = 0, lag_days: int = 0,
                   ) -> list[tuple[np.ndarray, np.ndarray, pd.Timestamp]]:
    """Rolling-origin folds: (train index, test index, test date) for the selection dates,
    then the final period's dates (see :func:`plan_dates`; the gap dates are tested on by
    no fold).

    A fold tests on the rows of one as-of date T and trains on exactly the rows whose outcome
    was recorded by T (t + horizon + lag ≤ T), as the model a council deploys at T is trained
    on every past row whose outcome is known, including the earlier rows of the children and
    siblings it then scores. No training row's outcome window reaches T, so no outcome of a
    test row (after T) is in a training label, and no row at or after T - horizon - lag, of
    a test family or any other, is trained on.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.to_datetime(["2020-01-01", "2020-07-01", "2021-01-01", "2021-07-01"] * 2)
    >>> folds = temporal_folds(d, n_folds=2, horizon_months=6)
    >>> [(tr.tolist(), te.tolist()) for tr, te, _ in folds]
    [([0, 1, 4, 5], [2, 6]), ([0, 1, 2, 4, 5, 6], [3, 7])]
    """
    as_of = pd.DatetimeIndex(pd.to_datetime(as_of))
    dates = sorted(as_of.unique())
    try:
        plan = plan_dates(dates, n_folds=n_folds, holdout=holdout,
                          horizon_months=horizon_months, lag_days=lag_days)
    except InputError as exc:
        raise InputError(f"training: {exc} (start the schedule earlier)") from None
    # Shift the few distinct dates, not every row: DateOffset arithmetic is not vectorised.
    codes = pd.Index(dates).get_indexer(as_of)
    ready = np.array([_ready(d, horizon_months, lag_days) for d in dates])
    folds = []
    for test_date in plan.selection + plan.final:
        test = np.flatnonzero(as_of == test_date)
        train = np.flatnonzero(ready[codes] <= test_date)
        if len(train) == 0:
            raise InputError(
                f"training: no training rows before test date {test_date.date()} "
                f"(the schedule must start more than {horizon_months} months earlier)")
        folds.append((train, test, test_date))
    return folds


def recent_calibration_rows(as_of, *, n_dates: int, horizon_months: int,
                            lag_days: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows to calibrate on out of time: the latest ``n_dates`` as-of dates of a training set,
    predicted by a model fitted on the dates whose outcomes were known by the first of them
    (t + horizon + lag ≤ its date), as a council would recalibrate on its latest year.

    Returns ``(fit_rows, calibration_rows)`` (positions), or None when there are too few
    dates to leave ``n_dates`` out with earlier dates to fit on.

    Examples
    --------
    >>> d = pd.to_datetime(["2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01",
    ...                     "2023-01-01"] * 2)
    >>> fit, cal = recent_calibration_rows(d, n_dates=2, horizon_months=6)
    >>> fit.tolist(), cal.tolist()
    ([0, 1, 5, 6], [3, 4, 8, 9])
    """
    as_of = pd.DatetimeIndex(pd.to_datetime(as_of))
    dates = sorted(as_of.unique())
    if n_dates < 1 or len(dates) <= n_dates:
        return None
    first = dates[len(dates) - n_dates]
    known = [d for d in dates if _ready(d, horizon_months, lag_days) <= first]
    if not known:
        return None
    return (np.flatnonzero(as_of.isin(known)), np.flatnonzero(as_of >= first))
