"""The input contract as pandera schemas: per-column types, allowed values, keys.

The schemas check *raw* tables as a council stores them (CSV strings, Parquet
or DuckDB types) after :func:`normalise_table` has trimmed text and turned
blank cells into missing values. Every check is vectorised, so a council of a
few million rows is checked in seconds. Cross-table keys and the rules of time
are checked with plain pandas in :mod:`riskmodel.data._validate`.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputWarning
from riskmodel.data._contract import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    COLUMNS,
    CONTACT_OUTCOMES,
    DATE_COLUMNS,
    DISABILITY,
    ETHNICITY,
    MASH_RAG,
    NEEDS,
    OPTIONAL_COLUMNS,
    SERVICES,
    SEX,
    SOURCES,
    TRIAGE_LEVELS,
)

if TYPE_CHECKING:
    import pandera.pandas as pa

# Allowed values of each category column.
ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("children", "sex"): SEX,
    ("children", "ethnicity"): ETHNICITY,
    ("children", "disability"): DISABILITY,
    ("contacts", "source"): SOURCES,
    ("contacts", "need"): NEEDS,
    ("contacts", "mash_rag"): MASH_RAG,
    ("contacts", "outcome"): CONTACT_OUTCOMES,
    ("ace_factors", "factor"): ACE_FACTORS,
    ("episodes", "service"): SERVICES,
    ("episodes", "closure_reason"): CLOSURE_REASONS,
    ("episodes", "triage_start"): TRIAGE_LEVELS,
    ("episodes", "triage_end"): TRIAGE_LEVELS,
}
# Columns that may be empty; every other contract column is required in every row.
# Every optional column (OPTIONAL_COLUMNS) may be empty, and so may end_date (open episodes).
# closure_reason is checked against end_date in _validate (on early-help episodes).
NULLABLE: frozenset[tuple[str, str]] = frozenset(
    {(t, c) for t, cols in OPTIONAL_COLUMNS.items() for c in cols} | {("episodes", "end_date")}
)
# Id columns that must be unique within their table.
UNIQUE: frozenset[tuple[str, str]] = frozenset({
    ("children", "child_id"),
    ("contacts", "contact_id"),
    ("episodes", "episode_id"),
})
IMD_RANGE = (1, 10)
# Parseable dates outside these bounds are typos (and would overflow nanosecond datetimes).
DATE_MIN = pd.Timestamp("1900-01-01")
DATE_MAX = pd.Timestamp("2200-01-01")

# Check names: the validator turns each into a one-line message.
CHECK_DATE = "iso_date"
CHECK_WHOLE = "whole_number"
CHECK_IMD_RANGE = "imd_range"
CHECK_ALLOWED = "allowed_value"


def _is_text(s: pd.Series) -> bool:
    if pd.api.types.is_object_dtype(s.dtype):
        # Parquet DATE columns arrive as objects holding datetime.date: not text.
        return pd.api.types.infer_dtype(s, skipna=True) not in _DATE_OBJECTS
    return pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype)


_DATE_OBJECTS = frozenset({"date", "datetime", "datetime64", "empty"})


def normalise_table(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Keep the contract columns present, trim text and make blank cells missing.

    Ids and category values become strings (an integer id in Parquet is the
    same id as its text in a CSV); dates and ``imd_decile`` keep their stored
    type for the checks to parse. The index becomes the row position.
    """
    cols = [c for c in COLUMNS[table] if c in df.columns]
    out = df.loc[:, cols].reset_index(drop=True)
    for col in cols:
        s = out[col]
        if col in DATE_COLUMNS[table] or col == "imd_decile":
            if not _is_text(s):
                if pd.api.types.is_object_dtype(s.dtype) and col != "imd_decile":
                    # datetime.date objects (Parquet DATE): datetimes once, not per check.
                    out[col] = pd.to_datetime(s)
                continue
            s = s.astype("string")
        elif pd.api.types.is_float_dtype(s.dtype) and _whole(s):
            # Integer ids stored as floats (because of a missing value) read as "12", not "12.0".
            s = s.astype("Int64").astype("string")
            if col.endswith("_id") and s.notna().any():
                _warn_decimal_ids(table, col, int(s.notna().sum()), f"{s.dropna().iloc[0]}.0")
        else:
            s = s.astype("string")
        s = s.str.strip()
        if col.endswith("_id"):
            s = _whole_number_ids(s, table, col)
        out[col] = s.where(s != "", pd.NA)
    return out


_DECIMAL_ID = r"^(\d+)\.0+$"


def _whole_number_ids(s: pd.Series, table: str, col: str) -> pd.Series:
    """Ids a spreadsheet turned into decimals ("1000.0") read as the whole number ("1000")."""
    decimal = s.str.match(_DECIMAL_ID).fillna(False)
    n = int(decimal.sum())
    if n:
        _warn_decimal_ids(table, col, n, str(s[decimal].iloc[0]))
        s = s.where(~decimal, s.str.replace(_DECIMAL_ID, r"\1", regex=True))
    return s


def _warn_decimal_ids(table: str, col: str, n: int, example: str) -> None:
    warnings.warn(InputWarning(
        f"{table}.{col}: {n:,} id(s) written as decimals (e.g. {example!r}) were read as whole "
        f"numbers ({example.split('.')[0]!r}); a spreadsheet probably changed them, so check "
        "the export"), stacklevel=3)


def _whole(s: pd.Series) -> bool:
    v = s.dropna().to_numpy()
    return bool(np.all(np.mod(v, 1) == 0))


def parse_dates(s: pd.Series) -> pd.Series:
    """Parse ISO dates to naive day-precision datetimes; anything else becomes NaT.

    Text is parsed once per distinct value (dates repeat a lot), so millions of
    rows parse quickly. Timezones are dropped keeping the local date; dates
    outside 1900-2200 become NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        parsed = s
    elif _is_text(s):
        codes, uniques = pd.factorize(s.astype("string"))
        dates = pd.to_datetime(
            pd.Series(np.asarray(uniques, dtype=object)), format="ISO8601", errors="coerce"
        )
        if len(uniques) == 0:  # every cell empty (an optional column left out)
            parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        else:
            parsed = pd.Series(dates.to_numpy().take(codes), index=s.index)
            parsed[codes < 0] = pd.NaT
        # An object column of date/Timestamp objects (e.g. from Parquet) parses the same way.
        parsed = pd.to_datetime(parsed, errors="coerce")
    else:
        parsed = pd.to_datetime(s, errors="coerce")
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    parsed = parsed.where((parsed >= DATE_MIN) & (parsed < DATE_MAX))
    return parsed.dt.floor("D").astype("datetime64[ns]")


def _is_date(s: pd.Series) -> pd.Series:
    # One check for unparseable, impossible and out-of-range dates: the validator tells
    # them apart from the few failing values, so millions of good ones are parsed once.
    return parse_dates(s).notna() | s.isna()


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Float64")


def _is_whole_number(s: pd.Series) -> pd.Series:
    num = _numeric(s)
    return (num.notna() & (num % 1 == 0)).fillna(False) | s.isna()


def _in_imd_range(s: pd.Series) -> pd.Series:
    num = _numeric(s)
    lo, hi = IMD_RANGE
    # Non-numbers are the whole-number check's to report.
    return (num.isna() | ((num >= lo) & (num <= hi))).fillna(True)


def _column(table: str, col: str) -> pa.Column:
    import pandera.pandas as pa

    key = (table, col)
    checks: list[pa.Check] = []
    if col in DATE_COLUMNS[table]:
        checks = [pa.Check(_is_date, name=CHECK_DATE)]
    elif col == "imd_decile":
        checks = [
            pa.Check(_is_whole_number, name=CHECK_WHOLE),
            pa.Check(_in_imd_range, name=CHECK_IMD_RANGE),
        ]
    elif key in ALLOWED:
        allowed = ALLOWED[key]
        checks = [
            pa.Check(lambda s, a=allowed: s.isin(a), name=CHECK_ALLOWED),
        ]
    return pa.Column(
        checks=checks, nullable=key in NULLABLE, unique=key in UNIQUE,
        required=col not in OPTIONAL_COLUMNS[table], name=col,
    )


def _schema(table: str) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {col: _column(table, col) for col in COLUMNS[table]},
        name=table,
        strict=False,  # extra columns are allowed and ignored
        ordered=False,
    )


@cache
def schemas() -> dict[str, pa.DataFrameSchema]:
    """One pandera schema per contract table, for tables passed through
    :func:`normalise_table`; built (and pandera imported) on first use, so a clean extract
    checked in DuckDB (:mod:`riskmodel.data._fastload`) never imports pandera."""
    return {table: _schema(table) for table in COLUMNS}


def __getattr__(name: str) -> object:
    if name == "SCHEMAS":  # the name the schemas had when built on import
        return schemas()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
