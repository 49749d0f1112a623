"""Where an extract lives: a folder or DuckDB file, or a database (a URL or a sources.yaml).

A database source is a :class:`DatabaseSource`: a ``str`` whose text is its URL with any
password masked (``postgresql://alice:***@db/caseload``), so printing it, putting it in an
f-string, a log line, an MLflow tag or a report never shows the password. The real URL stays
inside the object, for :mod:`riskmodel.data._sql` alone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskmodel._core.errors import InputError, InputWarning
from riskmodel._core.spec import load_spec
from riskmodel.data._contract import OPTIONAL_TABLES, TABLES

# A URL starts with a scheme and "://" (postgresql://, mssql+pyodbc://).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# user:password@ inside any URL in a message.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<pw>[^\s@]*)@")
# password=... in a libpq or ODBC connection string.
_KEYWORD_PW = re.compile(r"(?i)\b(password|pwd)\s*=\s*('[^']*'|\"[^\"]*\"|[^\s;]+)")
# Query keys of a URL that are riskmodel's, not the driver's.
OWN_KEYS = ("schema", "sources", "reader")
READERS = ("auto", "adbc", "sqlalchemy")


def mask(text: str, *secrets: str | None) -> str:
    """``text`` with every URL password, ``password=`` value and given secret as ``***``.

    Examples
    --------
    >>> mask("cannot reach postgresql://alice:hunter2@db:5432/eh (timeout)")
    'cannot reach postgresql://alice:***@db:5432/eh (timeout)'
    >>> mask("host=db password=hunter2 user=alice")
    'host=db password=*** user=alice'
    >>> mask("FATAL: hunter2 rejected", "hunter2")
    'FATAL: *** rejected'
    """
    text = _USERINFO.sub(lambda m: f"{m['head']}:***@", str(text))
    text = _KEYWORD_PW.sub(lambda m: f"{m[1]}=***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# ---------------------------------------------------------------- sources.yaml --------------

class TableEntry(BaseModel):
    """One contract table in sources.yaml: a table or view name, or a SELECT."""

    model_config = ConfigDict(extra="forbid")
    table: str | None = None
    query: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one(self):
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table: NAME or query: SELECT ...")
        return self


class SourcesFile(BaseModel):
    """The contents of a sources.yaml (see docs/sql.md)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    # The key is "schema", as in the URL; the attribute is not, as BaseModel has a schema().
    db_schema: str | None = Field(default=None, alias="schema")
    extract_date: dt.date | None = None
    reader: Literal["auto", "adbc", "sqlalchemy"] = "auto"
    parameters: dict[str, Any] = Field(default_factory=dict)
    # An optional table may be given as null: the council does not hold it.
    tables: dict[Literal[TABLES],  # type: ignore[valid-type]
                 TableEntry | None] = Field(default_factory=dict)

    @field_validator("tables", mode="before")
    @classmethod
    def _names(cls, value):
        # "children: early_help.kids" is short for "children: {table: early_help.kids}".
        if isinstance(value, dict):
            return {k: {"table": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


@dataclass(frozen=True)
class TableSource:
    """Where one contract table is read from: a relation ``name`` (``schema.table``) or a
    ``query``, with the ``parameters`` bound to its ``:name`` placeholders."""

    table: str
    name: tuple[str, ...] | None = None
    query: str | None = None
    parameters: tuple[tuple[str, Any], ...] = ()
    # Named in sources.yaml, not found under its contract name: an optional table a
    # sources.yaml names must exist (a typo would silently switch features off).
    mapped: bool = True

    def describe(self) -> str:
        """``early_help.children`` or ``the query for children``."""
        if self.name is not None:
            return ".".join(self.name)
        return f"the query for {self.table}"


class DatabaseSource(str):
    """A database holding the contract tables (``tables``: where each is read from; an
    optional table given as null in sources.yaml has no entry).

    Its text (what ``str()``, f-strings, logs and reports see) is the URL with the password
    masked; :attr:`url` is SQLAlchemy's URL object (its ``repr`` masks too). Build one with
    :func:`as_source`.

    Examples
    --------
    >>> src = as_source("postgresql://alice:hunter2@db.example:5432/caseload?schema=early_help")
    >>> print(src)
    postgresql://alice:***@db.example:5432/caseload?schema=early_help
    >>> print(f"reading {src}")
    reading postgresql://alice:***@db.example:5432/caseload?schema=early_help
    >>> src.tables["children"].describe()
    'early_help.children'
    """

    url: Any
    tables: dict[str, TableSource]
    extract_date: dt.date | None
    reader: str
    origin: str | None

    def __new__(cls, url, tables: dict[str, TableSource], *, extract_date=None,
                reader: str = "auto", origin: str | None = None, shown: str | None = None):
        self = super().__new__(cls, mask(shown if shown is not None else
                                         url.render_as_string(hide_password=False),
                                         url.password))
        self.url = url
        self.tables = tables
        self.extract_date = extract_date
        self.reader = reader
        self.origin = origin
        return self

    def __repr__(self) -> str:
        return f"DatabaseSource({str.__str__(self)!r})"

    def __reduce__(self):  # pickling (another process) never carries the password out
        return (str, (str.__str__(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def password(self) -> str | None:
        """The password written in the URL, if any (never shown)."""
        return self.url.password

    def where(self) -> str:
        """``host:port/database`` (or the URL's text when it has no host), for messages."""
        u = self.url
        if u.host:
            port = f":{u.port}" if u.port else ""
            return f"{u.host}{port}/{u.database or ''}"
        return str.__str__(self)


def is_database(data) -> bool:
    """Whether ``data`` names a database (a URL, a sources.yaml or a :class:`DatabaseSource`).

    Examples
    --------
    >>> is_database("postgresql://db/caseload"), is_database("extract/")
    (True, False)
    """
    if isinstance(data, DatabaseSource):
        return True
    if isinstance(data, str) and _URL.match(data):
        return True
    return _is_sources_file(data)


def _is_sources_file(data) -> bool:
    if not isinstance(data, (str, os.PathLike)):
        return False
    p = Path(data)
    return p.suffix.lower() in (".yaml", ".yml") and p.is_file()


def as_source(data) -> DatabaseSource | Path:
    """Read what ``--data`` names: a :class:`DatabaseSource`, else the path as a ``Path``.

    Parameters
    ----------
    data : str, path-like or DatabaseSource
        A folder or DuckDB file (returned as a ``Path``, unchanged); a SQLAlchemy database URL
        such as ``postgresql://user@host:5432/db?schema=early_help`` (tables found by their
        contract names; ``?sources=FILE`` maps them instead, ``?reader=sqlalchemy`` skips the
        columnar reader); or a ``sources.yaml`` holding ``url:`` and ``tables:``.

    Raises
    ------
    InputError
        When the URL or the sources.yaml cannot be read; the message never shows a password.

    Examples
    --------
    >>> as_source("council/")
    PosixPath('council')
    >>> as_source("postgresql://reader@localhost/caseload").tables["episodes"].describe()
    'episodes'
    """
    if isinstance(data, DatabaseSource):
        return data
    if isinstance(data, str) and _URL.match(data):
        return from_url(data)
    if _is_sources_file(data):
        return from_sources_file(data)
    return Path(data)


def _make_url(text: str, where: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise InputError(f"{where}: cannot read the database URL {mask(text)} "
                         f"({mask(' '.join(str(exc).split()))[:120]})") from None


def _relation(name: str, where: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in name.split("."))
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InputError(f"{where}: '{name}' is not a table name (NAME or SCHEMA.NAME)")
    return parts


def _tables(schema: str | None, entries: dict, parameters: dict, where: str):
    out = {}
    for table in TABLES:
        mapped = table in entries
        entry = entries.get(table)
        if mapped and entry is None:
            if table not in OPTIONAL_TABLES:
                raise InputError(f"{where}: tables.{table} is null, but {table} is required "
                                 f"(only {' and '.join(OPTIONAL_TABLES)} may be left out)")
            continue  # "children_history: null": the council holds none
        if entry is None:
            entry = TableEntry(table=table if schema is None else f"{schema}.{table}")
        elif isinstance(entry, str):
            entry = TableEntry(table=entry)
        params = {**parameters, **entry.parameters}
        if entry.table is not None:
            name = _relation(entry.table, f"{where}: tables.{table}")
            if len(name) == 1 and schema is not None:
                name = (schema, *name)
            out[table] = TableSource(table, name=name, mapped=mapped)
        else:
            query = (entry.query or "").strip().rstrip(";").strip()
            if not query:
                raise InputError(f"{where}: tables.{table}.query is empty")
            out[table] = TableSource(table, query=query, parameters=tuple(params.items()))
    return out


def from_url(text: str, *, sources: SourcesFile | None = None,
             origin: str | None = None) -> DatabaseSource:
    """A :class:`DatabaseSource` from a URL (``?schema=``, ``?sources=``, ``?reader=``)."""
    url = _make_url(text, "data")
    own = {k: url.query[k] for k in OWN_KEYS if k in url.query}
    for k, v in own.items():
        if not isinstance(v, str) or not v.strip():
            raise InputError(f"data: give ?{k}= once, with a value, in {mask(text)}")
    url = url.difference_update_query(OWN_KEYS)
    if url.password:
        warnings.warn(InputWarning(
            "data: the database URL holds a password, which others can read in the process "
            "list, the shell's history and logs; put it in PGPASSWORD or ~/.pgpass instead "
            "(docs/sql.md)"), stacklevel=2)
    if "sources" in own:
        if sources is not None:
            raise InputError(f"{origin}: a sources file cannot name another (?sources=)")
        path = Path(own["sources"]).expanduser()
        sources = _load_sources(path)
        origin = str(path)
    sources = sources or SourcesFile()
    schema = own.get("schema", sources.db_schema)
    reader = own.get("reader", sources.reader)
    if reader not in READERS:
        raise InputError(f"data: ?reader={reader} is not one of {', '.join(READERS)}")
    tables = _tables(schema, sources.tables, sources.parameters, origin or "data")
    shown = url.render_as_string(hide_password=False)
    query = [f"{k}={own[k]}" for k in ("schema", "sources", "reader") if k in own]
    if query:
        shown += ("&" if "?" in shown else "?") + "&".join(query)
    return DatabaseSource(url, tables, extract_date=sources.extract_date, reader=reader,
                          origin=origin, shown=shown)


def _load_sources(path: Path) -> SourcesFile:
    if not path.is_file():
        raise InputError(f"sources: {path} does not exist")
    return load_spec(path, SourcesFile)


def from_sources_file(path: str | os.PathLike) -> DatabaseSource:
    """A :class:`DatabaseSource` from a sources.yaml (its ``url:`` and ``tables:``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sources.yaml"
    >>> _ = p.write_text('''
    ... url: postgresql://reader@db.example/caseload
    ... schema: early_help
    ... parameters: {since: 2019-04-01}
    ... tables:
    ...   contacts: mash.contacts
    ...   episodes:
    ...     query: SELECT * FROM eh.episodes WHERE start_date >= :since
    ... ''')
    >>> src = from_sources_file(p)
    >>> src.tables["children"].describe(), src.tables["contacts"].describe()
    ('early_help.children', 'mash.contacts')
    >>> dict(src.tables["episodes"].parameters)
    {'since': datetime.date(2019, 4, 1)}
    """
    path = Path(path)
    sources = _load_sources(path)
    if not sources.url:
        raise InputError(f"{path}: no url: (e.g. url: postgresql://reader@host/database)")
    if _URL.match(sources.url) is None:
        raise InputError(f"{path}: url: {mask(sources.url)} is not a database URL "
                         "(e.g. postgresql://reader@host/database)")
    return from_url(sources.url, sources=sources, origin=str(path))


def password_for(url) -> str | None:
    """A password for ``url`` when it has none: ``RISKMODEL_DB_PASSWORD``, else the first
    matching line of the ``.pgpass``-format file (``PGPASSFILE``, else ``~/.pgpass``).

    Used for databases that libpq does not reach (PostgreSQL's own drivers read
    ``PGPASSWORD`` and ``.pgpass`` themselves).

    Examples
    --------
    >>> import tempfile, os, pathlib
    >>> from sqlalchemy.engine import make_url
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "pass"
    >>> _ = f.write_text("other:*:*:*:no\\ndb.example:1433:caseload:reader:pa\\\\:ss\\n")
    >>> os.environ["PGPASSFILE"] = str(f)
    >>> password_for(make_url("mssql+pyodbc://reader@db.example:1433/caseload"))
    'pa:ss'
    >>> del os.environ["PGPASSFILE"]
    """
    if os.environ.get("RISKMODEL_DB_PASSWORD"):
        return os.environ["RISKMODEL_DB_PASSWORD"]
    passfile = Path(os.environ.get("PGPASSFILE") or Path.home() / ".pgpass").expanduser()
    try:
        lines = passfile.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    want = [url.host or "localhost", str(url.port or "*"), url.database or "",
            url.username or ""]
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.replace("\\:", ":").replace("\\\\", "\\")
                  for f in re.split(r"(?<!\\):", line, maxsplit=4)]
        if len(fields) != 5:
            continue
        if all(f == "*" or w == "*" or f == w for f, w in zip(fields[:4], want, strict=True)):
            return fields[4]
    return None
