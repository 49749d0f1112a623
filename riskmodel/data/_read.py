"""Read the four contract tables from a folder of Parquet/CSV files or a DuckDB file."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._errors import InputError
from ._contract import COLUMNS, DATE_COLUMNS, TABLES


def _find(folder: Path, table: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        p = folder / f"{table}{suffix}"
        if p.exists():
            return p
    return None


def read_tables(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Read the raw contract tables, as stored, without checking them.

    Parameters
    ----------
    path : str or path-like
        A folder holding ``children``, ``contacts``, ``ace_factors`` and
        ``episodes`` as ``.parquet`` or ``.csv`` files, or a DuckDB database
        file holding tables of those names.

    Returns
    -------
    dict of str to DataFrame

    Raises
    ------
    InputError
        When the path or a table is missing or cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"data: {path} does not exist")
    tables: dict[str, pd.DataFrame] = {}
    if path.is_file():
        import duckdb

        try:
            con = duckdb.connect(str(path), read_only=True)
        except Exception as exc:  # duckdb raises several types for a bad file
            raise InputError(f"data: {path} is not a DuckDB database ({exc})") from None
        try:
            rows = con.execute("select table_name from information_schema.tables").fetchall()
            present = {r[0] for r in rows}
            for table in TABLES:
                if table not in present:
                    raise InputError(f"{table}: table missing from {path}")
                tables[table] = con.execute(f'select * from "{table}"').df()
        finally:
            con.close()
        return tables
    for table in TABLES:
        p = _find(path, table)
        if p is None:
            raise InputError(f"{table}: no {table}.parquet or {table}.csv in {path}")
        try:
            if p.suffix == ".parquet":
                tables[table] = pd.read_parquet(p)
            else:
                tables[table] = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
        except Exception as exc:
            raise InputError(f"{table}: cannot read {p.name} ({type(exc).__name__})") from None
    return tables


def coerce_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give checked tables their contract types: ids as strings, dates as datetimes.

    Only contract columns are kept, in contract order.
    """
    out = {}
    for table, cols in COLUMNS.items():
        df = tables[table].loc[:, list(cols)].copy()
        for col in cols:
            if col in DATE_COLUMNS[table]:
                df[col] = pd.to_datetime(df[col], errors="coerce").astype("datetime64[ns]")
            elif col == "imd_decile":
                df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
            else:
                df[col] = df[col].astype("string").str.strip()
                df[col] = df[col].where(df[col] != "", pd.NA)
        out[table] = df.reset_index(drop=True)
    return out


def load_tables(path: str | os.PathLike, *, extract_date=None) -> dict[str, pd.DataFrame]:
    """Read, check and type the contract tables; raise on the first problems.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council, load_tables
    >>> out = generate_council(n_children=300, seed=1, out=tempfile.mkdtemp())
    >>> sorted(load_tables(out))
    ['ace_factors', 'children', 'contacts', 'episodes']
    """
    from ._validate import validate_tables

    tables = read_tables(path)
    problems = validate_tables(tables, extract_date=extract_date)
    if problems:
        raise InputError(problems[0])
    return coerce_tables(tables)
