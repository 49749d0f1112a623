"""Read the contract tables (four, and the optional ``ace_factors`` and ``children_history``)
from a folder of Parquet/CSV files, a DuckDB file or a database (a URL or a sources.yaml; see
:mod:`riskmodel.data._sql`)."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
from pathlib import Path
from typing import Literal, overload

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.data._contract import (
    COLUMNS,
    DATE_COLUMNS,
    EMPTY_AS_UNKNOWN,
    OPTIONAL_COLUMNS,
    OPTIONAL_TABLES,
    TABLES,
)
from riskmodel.data._duck import DuckTables
from riskmodel.data._files import SUFFIXES, _find, _near_misses
from riskmodel.data._schemas import normalise_table, parse_dates
from riskmodel.data._sources import DatabaseSource, as_source
from riskmodel.data._tolerant import is_staff_header

# Separators a spreadsheet may use instead of commas, and how to name them in a message.
_OTHER_SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)"}


def _missing_table(folder: Path, table: str) -> InputError:
    # Point at a near miss (Children.CSV, children.xlsx) rather than only saying "missing".
    near = _near_misses(folder, table)
    hint = ""
    if near:
        hint = f" (found {', '.join(near[:3])}; names are lower-case, .parquet or .csv)"
    return InputError(f"{table}: no {table}.parquet or {table}.csv in {folder}{hint}")


def _check_csv_text(p: Path, table: str) -> None:
    """Raise when a CSV is not UTF-8 text separated by commas, saying which it is."""
    with open(p, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise InputError(f"{table}: {p.name} is empty (no header line)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{table}: {p.name} is UTF-16 text, not UTF-8; save it as CSV UTF-8")
    header = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if "," not in header:
        for sep, name in _OTHER_SEPARATORS.items():
            if sep in header:
                raise InputError(
                    f"{table}: {p.name} is separated by {name}, not commas; "
                    "save it as comma-separated CSV"
                )


def _not_utf8(p: Path, table: str) -> InputError:
    data = p.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start:exc.start + 1].hex()
        return InputError(
            f"{table}: {p.name} is not UTF-8 text (byte 0x{byte} on line {line}, perhaps "
            "Windows-1252 or Latin-1); save it as CSV UTF-8"
        )
    return InputError(f"{table}: {p.name} is not UTF-8 text; save it as CSV UTF-8")


def _read_csv(p: Path, table: str) -> pd.DataFrame:
    _check_csv_text(p, table)
    try:
        # Everything is read as text: the checks parse dates and numbers themselves, so
        # "007" stays an id and a bad date is reported rather than guessed.
        df = pd.read_csv(
            p, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8",
        )
        # Staff names are dropped as the file is read, never passed on (usecols would let
        # a row with too many cells through).
        return df.drop(columns=[c for c in df.columns if is_staff_header(c)])
    except UnicodeDecodeError:
        raise _not_utf8(p, table) from None
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).split()).removeprefix("Error tokenizing data. C error: ")
        raise InputError(f"{table}: cannot read {p.name} as CSV ({detail})") from None


def _read_file(p: Path, table: str) -> pd.DataFrame:
    try:
        if p.suffix == ".csv":
            return _read_csv(p, table)
        # DATE columns as datetimes, not a Python date object per cell (parsed later anyway)
        return pd.read_parquet(p, to_pandas_kwargs={"date_as_object": False})
    except InputError:
        raise
    except PermissionError:
        raise InputError(f"{table}: cannot read {p.name} (permission denied)") from None
    except Exception as exc:  # pyarrow and pandas raise many types for a damaged file
        detail = " ".join(str(exc).split())[:120]
        kind = "Parquet" if p.suffix == ".parquet" else "CSV"
        raise InputError(
            f"{table}: cannot read {p.name} as {kind} ({type(exc).__name__}: {detail})"
        ) from None


def _read_duckdb(path: Path) -> dict[str, pd.DataFrame]:
    import duckdb

    from riskmodel.data._engine import duckdb_connect

    if path.stat().st_size == 0:
        raise InputError(f"data: {path} is an empty file, not a DuckDB database")
    try:
        con = duckdb_connect(str(path), read_only=True)
    except Exception as exc:  # duckdb raises several types for a bad file
        detail = " ".join(str(exc).split())[:160]
        # Keep duckdb's reason only when it adds something (e.g. the file is locked).
        detail = "" if "not a valid DuckDB database" in detail else f" ({detail})"
        raise InputError(f"data: {path} is not a DuckDB database{detail}") from None
    try:
        rows = con.execute("select table_name from information_schema.tables").fetchall()
        present = {r[0] for r in rows}
        tables = {}
        for table in TABLES:
            if table not in present:
                if table in OPTIONAL_TABLES:
                    continue  # no ACE factors or history: see OPTIONAL_TABLES
                held = ", ".join(sorted(present)[:6]) or "no tables"
                raise InputError(f"{table}: table missing from {path} (it holds {held})")
            try:
                tables[table] = con.table(table).df()
            except duckdb.Error as exc:
                detail = " ".join(str(exc).split())[:120]
                raise InputError(f"{table}: cannot read table from {path} ({detail})") from None
        return tables
    finally:
        con.close()


def read_tables(path: str | os.PathLike, *, until=None) -> dict[str, pd.DataFrame]:
    """Read the raw contract tables, as stored, without checking them.

    Parameters
    ----------
    path : str, path-like or DatabaseSource
        A folder holding ``children``, ``contacts``, ``episodes`` and (optional)
        ``ace_factors`` and ``children_history`` as ``.parquet`` or ``.csv`` files
        (Parquet wins when both exist), or a DuckDB database file holding tables of
        those names. CSV
        files must be UTF-8 and comma-separated; they are read as text. Or a
        database: a URL (``postgresql://reader@host/db?schema=early_help``) or
        a ``sources.yaml`` (see :func:`as_source` and docs/sql.md); only the
        contract columns are read from it.
    until : str, date or None, keyword-only
        For a database only: the extract date, to read it as it stood then
        (see :func:`riskmodel.data._sql.read_database`). Files are an extract
        already and are read whole.

    Returns
    -------
    dict of str to DataFrame
        One DataFrame per table present, with every stored column (extra columns
        are kept here and ignored by the checks); no ``ace_factors`` or
        ``children_history`` key when the extract has none.

    Raises
    ------
    InputError
        When the path or a table is missing or a file cannot be read; the
        message names the table and the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_tables(pathlib.Path(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: children: no children.parquet or children.csv in ...
    """
    source = as_source(path)
    if isinstance(source, DatabaseSource):
        from riskmodel.data._sql import read_database

        return read_database(source, until=until)
    path = source
    if not path.exists():
        raise InputError(f"data: {path} does not exist")
    if path.is_file():
        return _read_single_file(path)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        p = _find(path, table)
        if p is None:
            if table in OPTIONAL_TABLES and not _near_misses(path, table):
                continue  # no ACE factors or history: see OPTIONAL_TABLES
            raise _missing_table(path, table)
        tables[table] = _read_file(p, table)
    return tables


def _read_single_file(path: Path) -> dict[str, pd.DataFrame]:
    """A DuckDB database file; a workbook or a single table is refused in one line."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise InputError(
            f"data: {path} is an Excel workbook; bring it in first with riskmodel import "
            "annex-a (Ofsted Annex A lists) or riskmodel import extract --mapping (a "
            "sheet per table), then give the folder it writes")
    if path.suffix.lower() in SUFFIXES:
        ext = path.suffix.lower()
        required = ", ".join(f"{t}{ext}" for t in TABLES if t not in OPTIONAL_TABLES)
        optional = ", ".join(f"{t}{ext}" for t in OPTIONAL_TABLES)
        raise InputError(f"data: {path} is a single table; give the folder holding "
                         f"{required} (and {optional} where held)")
    return _read_duckdb(path)


def read_extract_date(path: str | os.PathLike) -> str | None:
    """The ``extract_date`` in the folder's ``manifest.json``, if it has one.

    A synthetic council (and any extract a council documents the same way)
    records the date it was taken; checks default to it instead of today.
    For a database it is the ``extract_date:`` of its sources.yaml, if any.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> read_extract_date(d) is None
    True
    >>> _ = (d / "manifest.json").write_text(json.dumps({"extract_date": "2025-12-31"}))
    >>> read_extract_date(d)
    '2025-12-31'
    """
    source = as_source(path)
    if isinstance(source, DatabaseSource):
        return None if source.extract_date is None else source.extract_date.isoformat()
    manifest = source / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("extract_date")
    except (ValueError, AttributeError) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise InputError(f"manifest.json: not a JSON object in {path} ({detail})") from None
    return None if value is None else str(value)


def coerce_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give checked tables their contract types.

    Ids and category values become trimmed strings (``string`` dtype, blank
    cells missing), dates naive ``datetime64[ns]`` at day precision and
    ``imd_decile`` ``Int64``. Only contract columns are kept, in contract
    order, with a fresh index. Optional columns left out become empty columns,
    a missing ``ace_factors`` or ``children_history`` an empty table; an empty
    ``sex`` or ``ethnicity`` is ``"unknown"`` and an empty ``family_id`` the
    child's own id (a family of one). Values that do not parse become missing,
    so call this on tables that passed :func:`validate_tables`.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = {t: pd.DataFrame({c: [] for c in cols}) for t, cols in COLUMNS.items()}
    >>> raw["children"] = pd.DataFrame({"child_id": [" c1"], "family_id": ["f1"],
    ...     "date_of_birth": ["2015-03-02"], "sex": ["female"], "ethnicity": ["white"],
    ...     "disability": ["none"], "locality": ["north"], "imd_decile": ["3"]})
    >>> children = coerce_tables(raw)["children"]
    >>> children.loc[0, "child_id"], str(children["date_of_birth"].dtype)
    ('c1', 'datetime64[ns]')
    """
    out = {}
    for table in COLUMNS:
        raw = tables.get(table)
        if raw is None and table in OPTIONAL_TABLES:
            raw = _empty(table)
        out[table] = _coerce_table(normalise_table(raw, table), table)
    return out


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in COLUMNS[table]})


def _coerce_table(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """One normalised table (:func:`normalise_table`, a frame of its own) in contract types."""
    cols = COLUMNS[table]
    for col in OPTIONAL_COLUMNS[table]:
        if col not in df.columns:  # an optional column left out reads as empty
            df[col] = pd.Series(pd.NA, index=df.index, dtype="string")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{table}.{missing[0]}: column missing")
    for col in cols:
        if col in DATE_COLUMNS[table]:
            df[col] = parse_dates(df[col])
        elif col == "imd_decile":
            df[col] = pd.to_numeric(df[col], errors="coerce").round().astype("Int64")
        else:
            df[col] = df[col].astype("string")
        if (table, col) in EMPTY_AS_UNKNOWN:
            df[col] = df[col].fillna("unknown")
    if table == "children":  # no family recorded: a family of one
        df["family_id"] = df["family_id"].fillna(df["child_id"])
    return df.loc[:, list(cols)]


@overload
def load_tables(path: str | os.PathLike, *, extract_date: str | dt.date | None = None,
                in_duckdb: Literal[False] = False) -> dict[str, pd.DataFrame]: ...


@overload
def load_tables(path: str | os.PathLike, *, extract_date: str | dt.date | None = None,
                in_duckdb: bool) -> dict[str, pd.DataFrame] | DuckTables: ...


def load_tables(path: str | os.PathLike, *, extract_date: str | dt.date | None = None,
                in_duckdb: bool = False) -> dict[str, pd.DataFrame] | DuckTables:
    """Read, check and type the contract tables; raise on the first problem.

    Parameters
    ----------
    path : str, path-like or DatabaseSource
        As for :func:`read_tables`.
    extract_date : str, date or None, keyword-only
        The date the extract was taken; no record may come after it. Defaults
        to the folder's ``manifest.json`` ``extract_date`` (a sources.yaml's
        ``extract_date``), else today. A database given one is read as it
        stood on that date (``until`` of :func:`read_tables`).
    in_duckdb : bool, default False, keyword-only
        When the extract is clean and read by the SQL pass (Parquet or DuckDB file), keep
        the typed tables in its DuckDB database: a :class:`~riskmodel.data.DuckTables`
        (a mapping giving the same frames on demand; close it when done). Otherwise, and
        for every other extract, the dict of frames.

    Returns
    -------
    dict of str to DataFrame, or DuckTables
        The typed tables (see :func:`coerce_tables`).

    Raises
    ------
    InputError
        With the first problem found and how many others there are.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council, load_tables
    >>> out = generate_council(n_children=300, seed=1, out=tempfile.mkdtemp())
    >>> sorted(load_tables(out))
    ['ace_factors', 'children', 'children_history', 'contacts', 'episodes']
    """
    from riskmodel.data._validate import check_tables

    path = as_source(path)
    if extract_date is None:
        extract_date = read_extract_date(path)
    fast = _clean_in_duckdb(path, extract_date, in_duckdb)
    if fast is not None:
        return fast
    # Not plainly clean (or not read by DuckDB here): the detailed checks say what is wrong.
    tables = read_tables(path, until=extract_date)
    problems, checked = check_tables(tables, extract_date=extract_date)
    if problems:
        more = len(problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''}; " \
            f"`riskmodel validate {path}` lists them)" if more else ""
        raise InputError(problems[0] + tail)
    del tables  # the raw frames: free them before the typed copies are made
    # The checked tables are normalised already: type them, not the raw ones again.
    return {t: _coerce_table(checked[t] if t in checked else normalise_table(_empty(t), t), t)
            for t in COLUMNS}


def _clean_in_duckdb(path: Path | DatabaseSource, extract_date: str | dt.date | None,
                     in_duckdb: bool = False) -> dict[str, pd.DataFrame] | DuckTables | None:
    """The tables read, checked and typed in DuckDB (:func:`riskmodel.data._fastload.
    clean_tables`) when the extract is a Parquet folder or DuckDB file and clean, else None."""
    from riskmodel.data._fastload import clean_tables
    from riskmodel.data._validate import _extract_date

    if isinstance(path, DatabaseSource) or not path.exists():
        return None
    try:
        extract = _extract_date(extract_date)
    except InputError:
        return None  # said by the detailed path, after what it reads first
    return clean_tables(path, extract, in_duckdb=in_duckdb)
