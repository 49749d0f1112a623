"""Read the contract tables from a database: PostgreSQL (tested) or any SQLAlchemy URL.

Columnar first: for PostgreSQL, ADBC (``adbc-driver-postgresql``) reads each table straight
into Arrow; when it is not installed, or for any other database, SQLAlchemy and pandas read
it (psycopg 3 for PostgreSQL). Either way only the contract columns are selected, inside one
read-only snapshot, and with an extract date only the rows known by then (a database is live;
an extract is a copy taken once). The raw frames then go through the same checks and typing as
files (:func:`riskmodel.data.validate_tables`, :func:`riskmodel.data.load_tables`). An optional
table (``ace_factors``, ``children_history``) that the database does not have under its
contract name, and that no sources.yaml names, is read as absent, as a missing file is.

Every value a council's query needs is bound as a parameter, never formatted into the SQL, and
every message masks the password (:func:`riskmodel.data._sources.mask`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from typing import Any

import pandas as pd

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel.data._contract import COLUMNS, OPTIONAL_TABLES, RECORDED_DATES, TABLES
from riskmodel.data._sources import DatabaseSource, TableSource, mask, password_for

log = logging.getLogger(__name__)

# The knowledge date of each table: rows recorded after the extract date are left out.
KNOWN_BY = {"contacts": "recorded_date", "ace_factors": "recorded_date",
            "episodes": "start_date", "children": "date_of_birth",
            "children_history": "valid_from"}
# A row's own knowledge date where the extract has one (a backdated episode entered after the
# extract date was not on the system then, whatever start_date it carries).
ROW_KNOWN_BY = {"episodes": "start_recorded_date"}
# Values filled in after their row was recorded: one recorded after the extract date was not
# known then, so it (and its date) is read as empty, as a later closure is.
LATE_VALUES = {(table, when): value for (table, value), when in RECORDED_DATES.items()
               if (table, when) not in ROW_KNOWN_BY.items()}
# An unborn child's expected date of birth may follow the extract by up to a year.
DOB_AHEAD = dt.timedelta(days=366)
# On an episode still open at the extract date, what was recorded at its close is not known yet.
CLOSE_COLUMNS = ("end_date", "closure_reason", "triage_end")
UNTIL = "riskmodel_until"
# Seconds to wait for a PostgreSQL server before giving up (libpq's own default is forever,
# so an unreachable host behind a firewall would hang a scheduled job); ?connect_timeout=N wins.
CONNECT_TIMEOUT = "30"
DOB_UNTIL = "riskmodel_dob_until"

# SQLSTATE classes (PostgreSQL's, and ODBC's for SQL Server).
_NO_TABLE = {"42P01", "3F000", "42S02"}
_NO_COLUMN = {"42703", "42S22"}
_DENIED = {"42501"}
_LOGIN = {"28P01", "28000", "3D000"}
_CANCELLED = {"57014", "HYT00", "HYT01"}
_TYPES = {"42883", "42804", "22007", "22008"}


# ---------------------------------------------------------------- readers -------------------

class _Reader:
    """One open connection: ``columns`` of a query, ``frame`` of a query, ``close``."""

    name = ""
    dialect: Any

    def columns(self, sql: str, params: dict) -> list[str]:
        raise NotImplementedError

    def frame(self, sql: str, params: dict) -> pd.DataFrame:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def has_table(self, name: tuple[str, ...]) -> bool:
        """Whether a table or view ``name`` exists (visible or not to this user)."""
        raise NotImplementedError


# PostgreSQL's catalogue says whether a relation exists without failing (and so without
# aborting the read's one transaction); it sees tables the user may not SELECT from, so one
# without permission is still reported as such by the read itself.
_PG_EXISTS = "SELECT to_regclass(CAST(:relation AS text)) IS NOT NULL AS found"


def _pg_relation(name: tuple[str, ...], dialect) -> str:
    return ".".join(dialect.identifier_preparer.quote_identifier(p) for p in name)


def _is_postgres(url) -> bool:
    return url.get_backend_name() in ("postgresql", "postgres")


class _Adbc(_Reader):
    """PostgreSQL through ADBC: results arrive as Arrow (COPY binary), not row by row."""

    name = "adbc"

    def __init__(self, source: DatabaseSource):
        import adbc_driver_postgresql.dbapi as adbc
        from sqlalchemy.dialects import postgresql

        self.dialect = postgresql.psycopg.dialect(paramstyle="numeric_dollar")
        # libpq reads the URL; it finds a missing password in PGPASSWORD or ~/.pgpass itself.
        url = source.url
        if "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": CONNECT_TIMEOUT})
        self.con = adbc.connect(libpq_uri(url))
        self._run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", {}).close()

    def _run(self, sql: str, params: dict):
        from sqlalchemy import text

        compiled = text(sql).bindparams(**params).compile(dialect=self.dialect)
        values = compiled.construct_params()
        cur = self.con.cursor()
        try:
            order = compiled.positiontup or []
            if order:
                cur.execute(str(compiled), tuple(values[k] for k in order))
            else:
                cur.execute(str(compiled))
        except BaseException:
            cur.close()
            raise
        return cur

    def columns(self, sql, params):
        cur = self._run(sql, params)
        try:
            return [d[0] for d in cur.description or ()]
        finally:
            cur.close()

    def frame(self, sql, params):
        cur = self._run(sql, params)
        try:
            table = cur.fetch_arrow_table()
        finally:
            cur.close()
        return table.to_pandas()

    def rollback(self):
        self.con.rollback()

    def close(self):
        self.con.close()

    def has_table(self, name):
        found = self.frame(_PG_EXISTS, {"relation": _pg_relation(name, self.dialect)})
        return bool(found["found"].iloc[0])


class _Alchemy(_Reader):
    """Any database SQLAlchemy reaches (psycopg 3 for PostgreSQL), read with pandas."""

    name = "sqlalchemy"

    def __init__(self, source: DatabaseSource):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        url = source.url
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if _is_postgres(url) and "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": CONNECT_TIMEOUT})
        if url.password is None and not _is_postgres(url):
            password = password_for(url)  # libpq finds PostgreSQL's own
            if password is not None:
                url = url.set(password=password)
        self.password = url.password
        self.engine = create_engine(url, poolclass=NullPool)
        self.dialect = self.engine.dialect
        self.con = self.engine.connect()
        if _is_postgres(url):
            self.con.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def columns(self, sql, params):
        from sqlalchemy import text

        result = self.con.execute(text(sql).bindparams(**params))
        try:
            return list(result.keys())
        finally:
            result.close()

    def frame(self, sql, params):
        from sqlalchemy import text

        return pd.read_sql(text(sql).bindparams(**params), self.con)

    def rollback(self):
        self.con.rollback()

    def close(self):
        try:
            self.con.close()
        finally:
            self.engine.dispose()

    def has_table(self, name):
        from sqlalchemy import inspect, text

        if _is_postgres(self.engine.url):
            rel = _pg_relation(name, self.dialect)
            return bool(self.con.execute(text(_PG_EXISTS), {"relation": rel}).scalar())
        schema = ".".join(name[:-1]) or None  # "db.schema" for SQL Server's three parts
        return inspect(self.con).has_table(name[-1], schema=schema)


def libpq_uri(url) -> str:
    """``url`` as libpq reads a URI: percent-encoded (a space is ``%20``; libpq does not read
    ``+`` as a space, as SQLAlchemy's own rendering would write it).

    Examples
    --------
    >>> from sqlalchemy.engine import make_url
    >>> u = "postgresql+psycopg://me:p%40ss@db:5433/eh?options=-c statement_timeout=5"
    >>> libpq_uri(make_url(u))
    'postgresql://me:p%40ss@db:5433/eh?options=-c%20statement_timeout%3D5'
    """
    from urllib.parse import quote

    auth = ""
    if url.username:
        auth = quote(url.username, safe="")
        if url.password:
            auth += ":" + quote(url.password, safe="")
        auth += "@"
    host = f"[{url.host}]" if url.host and ":" in url.host else (url.host or "")
    port = f":{url.port}" if url.port else ""
    db = "/" + quote(url.database, safe="") if url.database else ""
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                     for k, values in url.query.items()
                     for v in ((values,) if isinstance(values, str) else values))
    return f"postgresql://{auth}{host}{port}{db}" + (f"?{query}" if query else "")


def _adbc_available() -> bool:
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _connect(source: DatabaseSource) -> _Reader:
    postgres = _is_postgres(source.url)
    if source.reader == "adbc" and not (postgres and _adbc_available()):
        why = "for PostgreSQL only" if not postgres else "not installed (adbc-driver-postgresql)"
        raise InputError(f"data: reader=adbc is {why}; leave reader out to use SQLAlchemy")
    use_adbc = source.reader == "adbc" or (
        source.reader == "auto" and postgres and _adbc_available())
    try:
        return _Adbc(source) if use_adbc else _Alchemy(source)
    except ImportError as exc:  # a SQLAlchemy dialect's driver (pyodbc, ...) is missing
        detail = mask(" ".join(str(exc).split()))[:160]
        raise InputError(f"data: cannot use {source.url.drivername} ({detail}); "
                         "install its driver") from None
    except InputError:
        raise
    except Exception as exc:
        raise _connect_error(source, exc) from None


# ---------------------------------------------------------------- errors --------------------

def _chain(exc: BaseException) -> list[BaseException]:
    """The error and those it wraps (the driver's, causes, contexts), each once."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = getattr(cur, "orig", None) or cur.__cause__ or cur.__context__
    return seen


def _sqlstate(exc: BaseException) -> str | None:
    for e in _chain(exc):
        state = getattr(e, "sqlstate", None)
        if state:
            return str(state)
        args = getattr(e, "args", ())
        if type(e).__module__.startswith("pyodbc") and args and isinstance(args[0], str):
            return args[0]
    m = re.search(r"SQLSTATE: (\w{5})", str(exc))
    return m[1] if m else None


def _reason(exc: BaseException, source: DatabaseSource, *secrets) -> str:
    """The driver's own words, one line, without SQL text, parameters or passwords."""
    inner = _chain(exc)[-1]
    diag = getattr(inner, "diag", None)
    text = getattr(diag, "message_primary", None) if diag is not None else None
    if not text:
        text = str(inner)
        m = re.search(r"(?:ERROR|FATAL):\s+(.*)", text)
        if m:
            text = m[1]
        else:
            text = re.sub(r"^\w+: (\[libpq\] )?", "", text.strip())
            text = text.split("\n")[0]
            text = re.sub(r"^(Failed to connect|connection failed): ", "", text)
            text = re.sub(r'^connection to server at "[^"]*"( \([^)]*\))?, port \d+ failed: ',
                          "", text)
        text = text.split("\n")[0].split("[SQL:")[0]
    text = " ".join(text.split()).rstrip(".")
    return mask(text, source.password, *secrets)[:200] or type(inner).__name__


def _dropped(exc: BaseException) -> bool:
    """The server ended a connection it had accepted (stopped, restarted, terminated it)."""
    state = _sqlstate(exc) or ""
    words = str(_chain(exc)[-1]).lower()
    return (state.startswith("57P") or "terminating connection" in words
            or "server closed the connection" in words or "shutting down" in words
            or "connection already closed" in words or "connection has been closed" in words)


def _connect_error(source: DatabaseSource, exc: BaseException) -> InputError:
    u = source.url
    state = _sqlstate(exc)
    who = f" as {u.username}" if u.username else ""
    where = f"{u.host or 'localhost'} port {u.port or 'default'}" if u.host or u.port else \
        str.__str__(source)
    if _dropped(exc):
        return InputError(f"data: the database at {where} closed the connection while "
                          f"riskmodel was starting to check the tables ({_reason(exc, source)}"
                          "); it may have stopped or restarted: nothing was used, run it again "
                          "when it is back")
    hint = "check the host, port and database name"
    if state in _LOGIN or "password" in str(exc).lower():
        if source.password is not None:
            hint = ("the password given in the URL was refused: check it, or leave it out of "
                    "the URL and use " + ("PGPASSWORD or ~/.pgpass" if _is_postgres(u) else
                                          "RISKMODEL_DB_PASSWORD or ~/.pgpass"))
        else:
            hint = ("the password comes from PGPASSWORD or ~/.pgpass" if _is_postgres(u) else
                    "the password comes from RISKMODEL_DB_PASSWORD or ~/.pgpass")
    return InputError(f"data: cannot connect to the database at {where}, database "
                      f"{u.database or '(default)'}{who} ({_reason(exc, source)}); {hint}")


def _lost(exc: BaseException) -> bool:
    state = _sqlstate(exc) or ""
    words = str(_chain(exc)[-1]).lower()
    return (state.startswith(("08", "57P")) or "terminating connection" in words
            or "server closed the connection" in words or "connection is closed" in words
            or "no connection to the server" in words or "connection already closed" in words
            or "connection has been closed" in words or "lost" in words and "connection" in words)


def _read_error(source: DatabaseSource, src: TableSource, exc: BaseException, *,
                probing: bool, until) -> InputError:
    table, state = src.table, _sqlstate(exc)
    reason = _reason(exc, source)
    where = source.where()
    if _lost(exc) and probing:
        return InputError(f"{table}: the connection to {where} was lost while checking the "
                          f"tables, at {src.describe()} ({reason}); the database may have "
                          "stopped or restarted: nothing was used, run it again")
    if _lost(exc):
        return InputError(f"{table}: the connection to {where} was lost while reading "
                          f"{src.describe()} ({reason}); nothing was used: run it again")
    if state in _CANCELLED:
        return InputError(f"{table}: the database cancelled reading {src.describe()} "
                          f"({reason}); a statement_timeout may be too short for this table")
    if state in _DENIED:
        user = source.url.username or "the database user"
        return InputError(f"{table}: permission denied reading {src.describe()} ({reason}); "
                          f"{user} needs SELECT on it")
    if src.query is not None:
        return InputError(f"{table}: the query for {table} in "
                          f"{source.origin or 'sources.yaml'} failed ({reason})")
    if state in _NO_TABLE:
        return InputError(f"{table}: no table or view {src.describe()} in {where} "
                          f"({reason}); map it in sources.yaml (docs/sql.md)")
    if state in _TYPES and until is not None and not probing:
        return InputError(f"{table}: cannot compare its dates with the extract date {until} "
                          f"in the database ({reason}); store them as DATE or cast them in "
                          "a sources.yaml query")
    return InputError(f"{table}: cannot read {src.describe()} from {where} ({reason})")


# ---------------------------------------------------------------- SQL -----------------------

def _from(src: TableSource, dialect: Any) -> str:
    """The relation, or the query as a subquery, to select ``FROM``."""
    if src.name is None:  # a TableSource has a name or a query
        return f"({src.query}) AS t"
    q = dialect.identifier_preparer.quote
    return ".".join(q(p) for p in src.name) + " AS t"


def _bound(sql: str, src: TableSource, extra: dict, until) -> dict:
    """The parameters ``sql`` uses, from the table's and riskmodel's own."""
    from sqlalchemy import text

    used = set(text(sql).compile().params)
    given = dict(src.parameters)
    if until is not None:
        given.setdefault("extract_date", until)
    given.update(extra)
    missing = sorted(used - set(given))
    if missing:
        name = missing[0]
        hint = ("give --extract-date or extract_date: in sources.yaml"
                if name == "extract_date" else "add it under parameters: in sources.yaml")
        raise InputError(f"{src.table}: the query uses :{name}, which has no value; {hint}")
    return {k: v for k, v in given.items() if k in used}


def _select(src: TableSource, present: list[str], dialect, until) -> tuple[str, dict]:
    """``SELECT`` the contract columns found (matched ignoring case), cut at ``until``."""
    q = dialect.identifier_preparer.quote
    found = {}
    lower = {c.lower(): c for c in reversed(present)}
    for col in COLUMNS[src.table]:
        stored = col if col in present else lower.get(col)
        if stored is not None:
            found[col] = f"t.{q(stored)}"
    extra: dict = {}
    where = []
    if until is not None:
        known = KNOWN_BY[src.table]
        if known in found:
            name = DOB_UNTIL if src.table == "children" else UNTIL
            extra[name] = until + DOB_AHEAD if src.table == "children" else until
            where.append(f"({found[known]} IS NULL OR {found[known]} <= :{name})")
        row_known = ROW_KNOWN_BY.get(src.table)
        if row_known in found:
            extra[UNTIL] = until
            where.append(f"({found[row_known]} IS NULL OR {found[row_known]} <= :{UNTIL})")
        for (table, when), value in LATE_VALUES.items():
            if table == src.table and when in found:
                extra[UNTIL] = until
                later = f"{found[when]} > :{UNTIL}"
                for col in (value, when):
                    if col in found:
                        found[col] = f"CASE WHEN {later} THEN NULL ELSE {found[col]} END"
        if src.table == "episodes" and "end_date" in found:
            closed_later = f"{found['end_date']} > :{UNTIL}"
            extra[UNTIL] = until
            for col in CLOSE_COLUMNS:
                if col in found:
                    found[col] = f"CASE WHEN {closed_later} THEN NULL ELSE {found[col]} END"
    if not found:
        return "", {}
    cols = ", ".join(f"{expr} AS {q(col)}" for col, expr in found.items())
    sql = f"SELECT {cols} FROM {_from(src, dialect)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, _bound(sql, src, extra, until)


# ---------------------------------------------------------------- public --------------------

def read_database(source: DatabaseSource, *, until: Any = None) -> dict[str, pd.DataFrame]:
    """Read the raw contract tables from a database, as stored, without checking them.

    Parameters
    ----------
    source : DatabaseSource
        From :func:`riskmodel.data.as_source` (a URL or a sources.yaml).
    until : str, date or None, keyword-only
        The extract date. When given, only what was known by then is read: contacts and ACE
        factors recorded by that date, episodes started (and, where ``start_recorded_date``
        is held, entered) by it (one that closed after it is read as open), children born by
        a year after it, history rows valid from it; a MASH rating, outcome or triage level
        whose knowledge date (``mash_rag_recorded_date``, ...) follows it is read as empty.

    Returns
    -------
    dict of str to DataFrame
        One frame per table with the contract columns the database has (a missing one is
        then reported by the checks, as for files); no key for an optional table the
        database does not have and no sources.yaml names.

    Raises
    ------
    InputError
        One line naming the table: cannot connect (host and port), no such table or view,
        permission denied, the connection lost or the read cancelled, a query that failed.
        Passwords are masked.

    Examples
    --------
    >>> from riskmodel.data import as_source
    >>> read_database(as_source("postgresql://reader@127.0.0.1:1/caseload"))
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: data: cannot connect to the database at 127.0.0.1 port 1, ...
    """
    day = None if until is None else parse_date(until, "extract date").date()
    started = time.perf_counter()
    reader = _connect(source)
    try:
        tables = _read_planned(source, reader, _plan_reads(source, reader, day), day)
    finally:
        try:
            reader.close()
        except Exception:  # a dropped connection cannot be closed cleanly; nothing to keep
            pass
    rows = ", ".join(f"{t} {len(df):,}" for t, df in tables.items())
    log.info("read %s from %s with %s in %.1fs (rows: %s)", ", ".join(tables), source,
             reader.name, time.perf_counter() - started, rows)
    return tables


def _plan_reads(source: DatabaseSource, reader: _Reader, day: dt.date | None
                ) -> dict[str, tuple[str, dict[str, Any]]]:
    """The query of each table, from a look at every table before reading any."""
    plans = {}
    for table in TABLES:
        src = source.tables.get(table)
        if src is None:
            continue  # an optional table sources.yaml says the council does not hold
        probe = f"SELECT * FROM {_from(src, reader.dialect)} WHERE 1 = 0"
        try:
            if _absent(reader, src):
                continue
            present = reader.columns(probe, _bound(probe, src, {}, day))
        except InputError:
            raise
        except Exception as exc:
            raise _read_error(source, src, exc, probing=True, until=day) from None
        plans[table] = _select(src, present, reader.dialect, day)
    return plans


def _read_planned(source: DatabaseSource, reader: _Reader,
                  plans: dict[str, tuple[str, dict[str, Any]]], day: dt.date | None
                  ) -> dict[str, pd.DataFrame]:
    """Run each planned query (a table with no contract column found reads as empty)."""
    tables = {}
    for table, (sql, params) in plans.items():
        src = source.tables[table]
        if not sql:
            tables[table] = pd.DataFrame()
            continue
        try:
            tables[table] = reader.frame(sql, params)
        except Exception as exc:
            raise _read_error(source, src, exc, probing=False, until=day) from None
    return tables


def _absent(reader: _Reader, src: TableSource) -> bool:
    """An optional table under its contract name that the database does not have."""
    if src.table not in OPTIONAL_TABLES or src.mapped or src.name is None:
        return False
    return not reader.has_table(src.name)
