"""Cohorts and labels at as-of dates, and the one place the rules of time are written.

A :class:`Session` holds one DuckDB connection for one build: the contract tables (typed
views that read the DataFrames in place), the as-of dates with the start of every window,
and the horizon of the labels. Feature builders never read the raw tables; they read
:meth:`Session.known`, which returns only what was known before each as-of date, and
:meth:`Session.attributes`, a child's family, locality and IMD decile at each date:

- contacts and ACE factors whose ``recorded_date`` is before *t*; a contact's MASH rating
  and outcome only once they were filled in (their own recorded date, else the contact's
  ``recorded_date`` plus the feature spec's ``knowledge.lag_days``);
- episodes whose start was known before *t* (``start_recorded_date``, else ``start_date``
  plus the lag), the triage level likewise, with ``end_date``, ``closure_reason`` and
  ``triage_end`` blanked unless the episode had closed before *t* (``end_date < t``);
- family, locality and IMD decile from ``children_history`` valid from before *t*, else
  today's value only where ``knowledge.current_values`` allows it.

Labels read the raw episodes, but only inside (*t*, *t* + horizon].
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel.data import (
    COLUMNS,
    DATE_COLUMNS,
    EARLY_HELP_SERVICES,
    HISTORY_ATTRIBUTES,
    KNOWN_DATES,
    SOCIAL_CARE_SERVICES,
    TABLES,
    DuckTables,
    complete_tables,
    date_bounds,
    duckdb_connect,
    extract_date_of,
    history_holds,
)
from riskmodel.features._spec_parts import KnowledgeSpec
from riskmodel.features._windows import window_months

_TYPES = {
    table: {**{c: "DATE" for c in DATE_COLUMNS[table]},
            **({"imd_decile": "INTEGER"} if "imd_decile" in COLUMNS[table] else {})}
    for table in TABLES
}


def _cast_sql(source: str, columns: list[str], types: dict[str, str], dates: list[str]) -> str:
    """``source``'s columns as the session reads them: ``types``, dates as DATE, text."""
    cols = []
    for col in columns:
        sqltype = types.get(col, "DATE" if col in dates else "VARCHAR")
        cols.append(f'CAST("{col}" AS {sqltype}) AS "{col}"')
    return f'SELECT {", ".join(cols)} FROM "{source}"'


#: Cohort rows per slice for each MB of DuckDB's memory share: a slice's widest query (the
#: contact counts, about 125 aggregates per row) fits in the share (docs/performance.md).
SLICE_ROWS_PER_MB = 300

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6,
          "mib": 2**20, "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12, "tib": 2**40}


def memory_mb(setting: str) -> float:
    """A DuckDB memory setting (``"1GB"``, ``"953.6 MiB"``) in MB (10**6 bytes).

    >>> memory_mb("1GB"), memory_mb("953.6 MiB")
    (1000.0, 999.9)
    """
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", setting)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(f"memory setting {setting!r} not understood")
    return round(float(m.group(1)) * _UNITS[m.group(2).lower()] / 1e6, 1)


def slice_rows(memory_mb: float) -> int:
    """Cohort rows per slice for a DuckDB memory share of ``memory_mb`` MB.

    >>> slice_rows(1000.0)
    300000
    """
    return max(1000, int(memory_mb * SLICE_ROWS_PER_MB))


class Params:
    """Named parameters for one SQL statement: ``q(value)`` returns a placeholder."""

    def __init__(self):
        self.values: dict[str, object] = {}

    def __call__(self, value) -> str:
        key = f"p{len(self.values)}"
        self.values[key] = value
        return f"${key}"


def _check_tables(tables) -> None:
    if isinstance(tables, DuckTables):
        return  # checked and complete when they were loaded
    if not isinstance(tables, dict):
        raise InputError("tables: expected a dict of the four contract tables")
    for table in TABLES:
        if table not in tables:
            raise InputError(f"{table}: table missing (expected {', '.join(TABLES)})")
        missing = [c for c in COLUMNS[table] if c not in tables[table].columns]
        if missing:
            raise InputError(f"{table}.{missing[0]}: column missing")


def check_as_of(tables, as_of_dates, extract_date) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """Parse and check the as-of dates; return them sorted and the extract date."""
    if isinstance(as_of_dates, (str, _dt.date, np.datetime64)):
        as_of_dates = [as_of_dates]
    dates = sorted({parse_date(d, "as_of") for d in as_of_dates})
    if not dates:
        raise InputError("as_of: no as-of date given")
    extract = (extract_date_of(tables) if extract_date is None
               else parse_date(extract_date, "extract_date"))
    first, _ = date_bounds(tables, KNOWN_DATES)
    for d in dates:
        if d > extract:
            raise InputError(f"as_of: {d.date()} is after the extract date {extract.date()}")
        if first is None or d <= first:
            shown = "none" if first is None else str(pd.Timestamp(first).date())
            raise InputError(
                f"as_of: {d.date()} is not after the first record (first recorded date {shown})"
            )
    return dates, extract


def check_horizon(horizon_months) -> int:
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) \
            or not 1 <= horizon_months <= 120:
        raise InputError(f"horizon_months: expected a whole number of months 1-120, "
                         f"got {horizon_months!r}")
    return horizon_months


class Session:
    """One DuckDB connection holding the tables, as-of dates and cohort of one build."""

    def __init__(self, tables, as_of_dates: list[pd.Timestamp], *, windows: Iterable[str],
                 horizon_months: int, extract_date: pd.Timestamp,
                 knowledge: KnowledgeSpec | None = None):
        self.windows = [w for w in windows if window_months(w) is not None]
        self.extract_date = extract_date
        self.knowledge = knowledge or KnowledgeSpec()
        # Where each changeable attribute comes from at the as-of dates: the history, today's
        # value (where the spec allows it) or nowhere (its features are switched off).
        last = max(as_of_dates)
        current = self.knowledge.current_values
        self.attribute_source = {
            a: "history" if history_holds(tables, a, before=last)
            else "current" if getattr(current, a) == "current" else None
            for a in HISTORY_ATTRIBUTES
        }
        # Memory limit and spill folder from the machine (out-of-core), no progress bar;
        # tables kept in DuckDB are read in their own database.
        self.con = tables.cursor() if isinstance(tables, DuckTables) else duckdb_connect()
        try:
            self._load(tables)
            asof = pd.DataFrame({"as_of": pd.to_datetime(as_of_dates)})
            for w in self.windows:
                asof[f"ws_{w}"] = asof["as_of"] - pd.DateOffset(months=window_months(w))
            self._asof = asof
            self._horizon = pd.DataFrame({
                "as_of": asof["as_of"],
                "h_end": asof["as_of"] + pd.DateOffset(months=horizon_months),
            })
            self._set_dates(list(range(len(asof))))
            self._make_cohort()
        except BaseException:
            self.con.close()
            raise

    # -- plumbing ----------------------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.con.close()

    def run(self, sql: str, q: Params | None = None):
        return self.con.execute(sql, q.values if q is not None and q.values else None)

    def _table(self, name: str, df: pd.DataFrame, types: dict[str, str] | None = None, *,
               view: bool = False):
        """Give DuckDB ``df`` as ``name``, dates as DATE, the rest as text.

        With ``view``, DuckDB reads the frame in place through Arrow (no copy of millions
        of rows; the frame must outlive the session); otherwise the rows are copied in.
        """
        types = types or {}
        raw = f"_raw_{name}"
        try:
            self.con.register(raw, pa.Table.from_pandas(df, preserve_index=False))
        except (pa.ArrowException, TypeError, ValueError):
            self.con.register(raw, df)  # odd object columns: let DuckDB scan pandas
        dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c].dtype)]
        kind = "VIEW" if view else "TABLE"
        self.con.execute(f'CREATE TEMP {kind} "{name}" AS '
                         f'{_cast_sql(raw, list(df.columns), types, dates)}')
        if not view:
            self.con.unregister(raw)

    def _load(self, tables) -> None:
        for table in TABLES:
            if isinstance(tables, DuckTables):  # the typed views of the database, read in place
                cols = list(COLUMNS[table])
                self.run(f"CREATE TEMP VIEW {table}_typed AS "
                         f"{_cast_sql(tables.view(table), cols, _TYPES[table], [])}")
                continue
            df = tables[table].loc[:, list(COLUMNS[table])]
            self._table(f"{table}_typed", df, _TYPES[table], view=True)
        lag = self.knowledge.lag_days

        def later(own: str, anchor: str, days: int, floor: str) -> str:
            # Its own recorded date, else the anchor plus the spec's lag; never before floor.
            return f"greatest({floor}, coalesce({own}, {anchor} + {int(days)}))"

        self.run("CREATE TEMP VIEW children AS SELECT * FROM children_typed")
        self.run("CREATE TEMP VIEW ace_factors AS SELECT * FROM ace_factors_typed")
        self.run("CREATE TEMP VIEW children_history AS SELECT * FROM children_history_typed")
        self.run(
            "CREATE TEMP VIEW contacts AS SELECT *, "
            f"{later('mash_rag_recorded_date', 'recorded_date', lag.mash_rag, 'recorded_date')}"
            " AS rag_known, "
            f"{later('outcome_recorded_date', 'recorded_date', lag.outcome, 'recorded_date')} "
            "AS outcome_known FROM contacts_typed")
        start = later("start_recorded_date", "start_date", lag.episode_start, "start_date")
        self.run(
            f"CREATE TEMP VIEW episodes AS SELECT *, {start} AS start_known, "
            f"{later('triage_start_recorded_date', 'start_date', lag.triage_start, start)} "
            "AS triage_known FROM episodes_typed")
        self._table("v_early_help", pd.DataFrame({"service": list(EARLY_HELP_SERVICES)}))
        self._table("v_social_care", pd.DataFrame({"service": list(SOCIAL_CARE_SERVICES)}))
        self._first_known = False
        self._attributes = False

    def window_columns(self, alias: str = "d") -> str:
        return "".join(f", {alias}.ws_{w}" for w in self.windows)

    # -- the rules of time -------------------------------------------------------------------

    def known(self, table: str, driver: str = "cohort") -> str:
        """SQL for the rows of ``table`` known at each as-of date of ``driver``.

        ``driver`` is a table with ``as_of`` and the window starts, and ``child_id`` unless
        it is ``"asof_dates"`` (then rows of every child are returned, with their ``child_id``).
        """
        per_child = driver != "asof_dates"
        head = "d.*" if per_child else "d.*, x.child_id"
        child = " AND x.child_id = d.child_id" if per_child else ""
        if table == "contacts":
            # A MASH rating or outcome filled in later is blank until it was (knowledge dates).
            return (
                f"SELECT {head}, x.contact_id, x.contact_date, x.recorded_date, x.source, "
                "x.need, CASE WHEN x.rag_known < d.as_of THEN x.mash_rag END AS mash_rag, "
                "CASE WHEN x.outcome_known < d.as_of THEN x.outcome END AS outcome "
                f"FROM {driver} d JOIN contacts x ON x.recorded_date < d.as_of{child}"
            )
        if table == "ace_factors":
            return (
                f"SELECT {head}, x.factor, x.recorded_date FROM {driver} d "
                f"JOIN ace_factors x ON x.recorded_date < d.as_of{child}"
            )
        if table == "episodes":
            # An episode is known once its start was recorded (a backdated one later than
            # its start_date); a closure only once it happened before t, so an open episode
            # at t does not reveal its future end.
            closed = "x.end_date < d.as_of"
            return (
                f"SELECT {head}, x.episode_id, x.service, x.start_date, "
                "CASE WHEN x.triage_known < d.as_of THEN x.triage_start END AS triage_start, "
                f"CASE WHEN {closed} THEN x.end_date END AS end_date, "
                f"CASE WHEN {closed} THEN x.closure_reason END AS closure_reason, "
                f"CASE WHEN {closed} THEN x.triage_end END AS triage_end, "
                f"x.service IN (SELECT service FROM v_early_help) AS early_help "
                f"FROM {driver} d JOIN episodes x ON x.start_known < d.as_of{child}"
            )
        raise ValueError(table)

    def known_children(self, driver: str = "asof_dates") -> str:
        """SQL for the children known to services before each as-of date of ``driver``.

        Known means a contact or ACE recorded, or an episode started, before *t*. With a
        ``driver`` holding ``child_id``, its rows for known children are kept; with
        ``"asof_dates"``, every known child is returned with its ``child_id``.
        """
        if not self._first_known:
            # The day each child first became known to services: their first recorded
            # contact or ACE, or first episode start.
            self.run(
                "CREATE TEMP TABLE first_known AS SELECT child_id, min(d) AS first_date FROM ("
                "SELECT child_id, recorded_date AS d FROM contacts UNION ALL "
                "SELECT child_id, recorded_date FROM ace_factors UNION ALL "
                "SELECT child_id, start_known FROM episodes) GROUP BY child_id"
            )
            self._first_known = True
        if driver == "asof_dates":
            return ("SELECT d.*, k.child_id FROM asof_dates d "
                    "JOIN first_known k ON k.first_date < d.as_of")
        return (f"SELECT d.* FROM {driver} d JOIN first_known k "
                "ON k.child_id = d.child_id AND k.first_date < d.as_of")

    def attributes(self) -> str:
        """A table of each child's ``family_id``, ``locality`` and ``imd_decile`` at each t.

        One row per as-of date and child (``as_of``, ``child_id``, the three attributes).
        Each value is the latest ``children_history`` value valid from before *t* where the
        history dates that attribute; else today's value (``children``) where the feature
        spec's ``knowledge.current_values`` says ``current``; else empty.
        """
        if not self._attributes:
            cols = []
            for a in HISTORY_ATTRIBUTES:
                src = self.attribute_source[a]
                cols.append(f"h.{a} AS {a}" if src == "history" else
                            f"ch.{a} AS {a}" if src == "current" else
                            f"CAST(NULL AS {'INTEGER' if a == 'imd_decile' else 'VARCHAR'}) "
                            f"AS {a}")
            latest = ", ".join(f"arg_max(x.{a}, x.valid_from) FILTER (WHERE x.{a} IS NOT NULL) "
                               f"AS {a}" for a in HISTORY_ATTRIBUTES)
            self.run(
                "CREATE TEMP TABLE child_attributes AS "
                f"WITH h AS (SELECT d.as_of, x.child_id, {latest} FROM asof_dates d "
                "JOIN children_history x ON x.valid_from < d.as_of GROUP BY d.as_of, x.child_id) "
                f"SELECT d.as_of, ch.child_id, {', '.join(cols)} "
                "FROM asof_dates d CROSS JOIN children ch "
                "LEFT JOIN h ON h.as_of = d.as_of AND h.child_id = ch.child_id"
            )
            self._attributes = True
        return "child_attributes"

    def _make_cohort(self) -> None:
        # Every child with an early-help episode open at t (started before t, not known to
        # have closed before t).
        self.run(
            "CREATE TEMP TABLE cohort AS SELECT DISTINCT e.as_of, e.child_id"
            f"{self.window_columns('e')} FROM ({self.known('episodes', 'asof_dates')}) e "
            "WHERE e.early_help AND e.end_date IS NULL"
        )

    # -- slices of the cohort (out-of-core) ----------------------------------------------

    def _set_dates(self, rows: list[int]) -> None:
        """Point ``asof_dates`` and ``horizon`` at the as-of dates in ``rows`` (positions)."""
        for name, frame in (("asof_dates", self._asof), ("horizon", self._horizon)):
            self.run(f"DROP TABLE IF EXISTS {name}")
            self._table(name, frame.iloc[rows].reset_index(drop=True))
        self._attributes = False  # child_attributes is per as-of date of asof_dates

    def _temp_tables(self) -> set[str]:
        return {r[0] for r in self.run(
            "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}

    def _drop_since(self, before: set[str], keep: Iterable[str] = ()) -> None:
        for name in sorted(self._temp_tables() - before - set(keep)):
            self.run(f'DROP TABLE "{name}"')

    def slices(self, rows: int | None = None, keep: Iterable[str] = ()
               ) -> Iterator[int]:
        """Work through the cohort a slice at a time; yields the number of slices, once a slice.

        While a slice is worked on, ``asof_dates`` and ``horizon`` hold its as-of dates and
        ``cohort`` its rows: consecutive as-of dates whose cohorts together have at most
        ``rows`` rows (by default :func:`slice_rows` of DuckDB's memory share), or, for a
        date whose cohort alone is larger, a range of its child ids. Tables created while a
        slice is worked on are dropped after it (``child_attributes`` once the slices of its
        dates are done; ``first_known`` and the tables named in ``keep`` are kept). Slices
        come in the order of ``as_of`` then ``child_id``, so their rows, each sorted so, one
        after another are the whole cohort sorted so. Afterwards the session holds every
        date and the whole cohort again.
        """
        rows, keep = rows or slice_rows(self.memory_limit_mb()), tuple(keep)
        self.run("ALTER TABLE cohort RENAME TO whole_cohort")
        plan = self._slice_plan(rows)
        outer, dates = self._temp_tables(), None
        for group, lower, upper in plan:
            if group != dates:
                self._drop_since(outer, keep=("first_known", *keep))
                self._set_dates(group)
                dates = group
            inner = self._temp_tables()
            q = Params()
            conds = [f"child_id >= {q(lower)}"] if lower is not None else []
            conds += [f"child_id < {q(upper)}"] if upper is not None else []
            self.run("CREATE TEMP TABLE cohort AS SELECT * FROM whole_cohort WHERE as_of IN "
                     f"(SELECT as_of FROM asof_dates){''.join(' AND ' + c for c in conds)}", q)
            yield len(plan)
            self._drop_since(inner, keep=("first_known", "child_attributes", *keep))
        self._drop_since(outer, keep=("first_known", *keep))
        self._set_dates(list(range(len(self._asof))))
        self.run("ALTER TABLE whole_cohort RENAME TO cohort")

    def _slice_plan(self, rows: int) -> list[tuple[list[int], str | None, str | None]]:
        """(positions of the as-of dates, lowest child id, child id above) of every slice."""
        counts = {pd.Timestamp(d): n for d, n in self.run(
            "SELECT as_of, count(*) FROM whole_cohort GROUP BY as_of").fetchall()}
        plan: list[tuple[list[int], str | None, str | None]] = []
        group: list[int] = []
        total = 0
        for i, as_of in enumerate(self._asof["as_of"]):
            n = counts.get(pd.Timestamp(as_of), 0)
            if group and total + n > rows:
                plan.append((group, None, None))
                group, total = [], 0
            if n > rows:
                plan += [([i], lo, hi) for lo, hi in self._child_ranges(as_of, n, rows)]
            else:
                group.append(i)
                total += n
        return plan + [(group, None, None)] if group else plan

    def _child_ranges(self, as_of: pd.Timestamp, n: int, rows: int
                      ) -> list[tuple[str | None, str | None]]:
        """Ranges ``[lower, upper)`` of child ids splitting the ``n`` cohort rows at
        ``as_of`` into slices of at most ``rows`` rows (``None``: unbounded)."""
        step = math.ceil(n / math.ceil(n / rows))
        q = Params()
        cuts = [r[0] for r in self.run(
            "SELECT child_id FROM (SELECT child_id, row_number() OVER (ORDER BY child_id) - 1 "
            f"AS i FROM whole_cohort WHERE as_of = {q(as_of.date())}) "
            f"WHERE i > 0 AND i % {int(step)} = 0 ORDER BY child_id", q).fetchall()]
        bounds: list[str | None] = [None, *cuts, None]
        return list(zip(bounds[:-1], bounds[1:], strict=True))

    def memory_limit_mb(self) -> float:
        """DuckDB's memory share on this session's connection, in MB."""
        return memory_mb(self.run("SELECT current_setting('memory_limit')").fetchone()[0])

    # -- labels (the future, inside (t, t+h] only) -------------------------------------------


def open_session(tables, as_of_dates, *, windows=(), horizon_months=6, extract_date=None,
                 knowledge: KnowledgeSpec | None = None):
    """Check the inputs and open a :class:`Session` (use it as a context manager)."""
    tables = complete_tables(tables) if isinstance(tables, dict) else tables
    _check_tables(tables)
    horizon_months = check_horizon(horizon_months)
    dates, extract = check_as_of(tables, as_of_dates, extract_date)
    return Session(tables, dates, windows=windows, horizon_months=horizon_months,
                   extract_date=extract, knowledge=knowledge)


def finish_keys(df: pd.DataFrame) -> pd.DataFrame:
    df["as_of"] = pd.to_datetime(df["as_of"]).astype("datetime64[ns]")
    for col in ("child_id", "family_id"):
        df[col] = df[col].astype("string")
    return df
