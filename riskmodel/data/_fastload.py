"""The contract checks as SQL: read, check and type a clean extract inside DuckDB.

A folder of Parquet files or a DuckDB file is read straight into DuckDB and checked there,
one pass per table plus one for the keys, against the same definitions the detailed checks
(:mod:`riskmodel.data._validate`, the pandera schemas of :mod:`riskmodel.data._schemas`)
read: required, nullable and unique columns, allowed values, date and IMD ranges, the rules
of time and the extract date. When every table is clean, the typed tables come out of
DuckDB as Arrow and become the frames :func:`~riskmodel.data.load_tables` returns, without
the raw and normalised pandas copies. When anything is not plainly clean (a problem, a cell
the detailed path would trim or rewrite with a warning, a column stored in a type this pass
does not read, a file DuckDB cannot open), :func:`clean_tables` gives ``None`` and the
detailed path runs, producing its one-line messages and warnings: the SQL pass never has to
say what is wrong, only that nothing is.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel.data._contract import (
    COLUMNS,
    DATE_COLUMNS,
    EARLY_HELP_SERVICES,
    EMPTY_AS_UNKNOWN,
    OPTIONAL_COLUMNS,
    OPTIONAL_TABLES,
    RECORDED_DATES,
    TABLES,
)
from riskmodel.data._duck import DuckTables, quoted
from riskmodel.data._engine import duckdb_connect
from riskmodel.data._files import _find, _near_misses
from riskmodel.data._schemas import ALLOWED, DATE_MAX, DATE_MIN, IMD_RANGE, NULLABLE, UNIQUE
from riskmodel.data._validate import _NOT_BEFORE as NOT_BEFORE
from riskmodel.data._validate import DOB_AHEAD, _warn_near_misses

# Text the detailed path would change (an empty cell, spaces to trim: any character Python's
# str.strip removes) or warn about (an id a spreadsheet wrote as a decimal): not plainly clean.
_EDGE_SPACE = r"[\pZ\t-\r\x1c-\x1f\x85]"
_TRIMMED = f"^{_EDGE_SPACE}|{_EDGE_SPACE}$"
_DECIMAL_ID = r"^\pN+\.0+$"
_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
              "USMALLINT", "UINTEGER", "UBIGINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sources(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str] | None:
    """``{table: SQL relation}`` for the tables held, or None when the detailed path must
    read them (a CSV, a required table missing, a near miss of an optional one)."""
    if path.is_file():
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".parquet", ".csv") \
                or path.stat().st_size == 0:
            return None
        con.execute(f"ATTACH {_literal(str(path))} AS src (TYPE duckdb, READ_ONLY)")
        held = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = 'src' AND table_schema = 'main'").fetchall()}
        found = {t: f"src.main.{quoted(t)}" for t in TABLES if t in held}
    else:
        found = {}
        for table in TABLES:
            p = _find(path, table)
            if p is None and (table not in OPTIONAL_TABLES or _near_misses(path, table)):
                return None
            if p is not None:
                if p.suffix != ".parquet":
                    return None
                found[table] = f"read_parquet({_literal(str(p))})"
    if any(t not in found for t in TABLES if t not in OPTIONAL_TABLES):
        return None
    return found


def _column_expr(table: str, col: str, sqltype: str | None) -> str | None:
    """The column as the checks read it, or None when this pass does not read its type.

    Text is kept as stored (a cell the detailed path would change fails :func:`_text_checks`),
    dates become day-precision timestamps, ``imd_decile`` keeps its stored number.
    """
    c = quoted(col)
    if sqltype is None:  # an optional column left out: empty
        return ("CAST(NULL AS TIMESTAMP)" if col in DATE_COLUMNS[table]
                else "CAST(NULL AS BIGINT)" if col == "imd_decile" else "CAST(NULL AS VARCHAR)")
    if col in DATE_COLUMNS[table]:
        return f"CAST(CAST({c} AS DATE) AS TIMESTAMP)" if sqltype in _DATE_TYPES else None
    if col == "imd_decile":
        return c if sqltype in _INT_TYPES + _FLOAT_TYPES else None
    return c if sqltype == "VARCHAR" else None


def _text_checks(table: str, stored: dict[str, str]) -> list[str]:
    """Conditions on a cell the detailed path would rewrite or warn about.

    A record table's ``child_id`` needs none: :func:`_keys_clean` finds every one of them,
    byte for byte, among the children's ids, which have passed the same checks, so an id with
    an edge space, an empty one or a decimal one is an unknown child there (the detailed
    path then reports or rewrites it). At 1,000,000 children this is 1.5 s of the contacts.
    """
    checks = []
    for col in COLUMNS[table]:
        c = quoted(col)
        if col == "child_id" and table != "children":
            continue
        # A category column's allowed values have neither (its allowed-value check holds);
        # a unique id is looked at in its scan (:func:`_scan_ids`).
        if stored.get(col) == "VARCHAR" and (table, col) not in ALLOWED \
                and (table, col) not in UNIQUE:
            checks.append(f"{c} = '' OR regexp_matches({c}, {_literal(_TRIMMED)})")
            if col.endswith("_id"):
                checks.append(f"contains({c}, '.') AND regexp_matches({c}, "
                              f"{_literal(_DECIMAL_ID)})")
        if col == "imd_decile" and stored.get(col) in _FLOAT_TYPES:
            checks.append(f"isnan({c}) OR {c} <> round({c})")
    return checks


def _category_checks(table: str) -> list[str]:
    """Conditions on a category column's values (one column each), each true on a value the
    detailed checks would report: a value not allowed, or none where one is required."""
    checks = []
    for col in COLUMNS[table]:
        if (table, col) not in ALLOWED:
            continue
        c = quoted(col)
        bad = [f"{c} NOT IN ({', '.join(map(_literal, ALLOWED[(table, col)]))})"]
        if (table, col) not in NULLABLE:
            bad.append(f"{c} IS NULL")
        checks.append(" OR ".join(bad))
    return checks


def _contract_checks(table: str, extract: pd.Timestamp) -> list[str]:
    """Conditions, each true on a row the detailed checks would report (one table), but
    those on a category column's values (:func:`_category_checks`)."""
    checks = []
    for col in COLUMNS[table]:
        c = quoted(col)
        if (table, col) in ALLOWED:
            continue
        if (table, col) not in NULLABLE:
            checks.append(f"{c} IS NULL")
        if col in DATE_COLUMNS[table]:
            checks.append(f"{c} < TIMESTAMP '{DATE_MIN:%Y-%m-%d}' "
                          f"OR {c} >= TIMESTAMP '{DATE_MAX:%Y-%m-%d}'")
            # No event after the extract; a date of birth not more than DOB_AHEAD after it.
            ahead = DOB_AHEAD if col == "date_of_birth" else pd.Timedelta(0)
            checks.append(f"{c} > TIMESTAMP '{extract + ahead:%Y-%m-%d %H:%M:%S}'")
        if col == "imd_decile":
            checks.append(f"{c} < {IMD_RANGE[0]} OR {c} > {IMD_RANGE[1]}")
    return checks + _time_checks(table)


def _time_checks(table: str) -> list[str]:
    """The rules of time within one row (``_validate._time_problems``); the closure reason
    of an early-help episode is :data:`_REASONS`' (it depends on the whole table)."""
    checks = []
    if table == "contacts":
        checks.append("recorded_date < contact_date")
    if table == "episodes":
        checks += ["end_date < start_date", "end_date IS NULL AND closure_reason IS NOT NULL"]
    for (t, value), when in RECORDED_DATES.items():
        if t != table:
            continue
        before = NOT_BEFORE.get(when)
        if before is not None:
            checks.append(f"{quoted(when)} < {quoted(before)}")
        if (table, value) in NULLABLE:
            checks.append(f"{quoted(when)} IS NOT NULL AND {quoted(value)} IS NULL")
    return checks


_EARLY_HELP = f"service IN ({', '.join(map(_literal, EARLY_HELP_SERVICES))})"
# A closed early-help episode without a reason is a problem only when the extract records
# reasons on early-help episodes at all: both must hold.
_REASONS = (f"bool_or({_EARLY_HELP} AND closure_reason IS NOT NULL)",
            f"bool_or({_EARLY_HELP} AND end_date IS NOT NULL AND closure_reason IS NULL)")


def _table_clean(con: duckdb.DuckDBPyConnection, table: str, source: str,
                 extract: pd.Timestamp) -> bool:
    """One pass over a table: whether nothing in it is refused, rewritten or warned about.

    Creates the view ``v_<table>`` (contract columns as the checks read them) on the way.
    """
    stored = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    cols = []
    for col in COLUMNS[table]:
        if col not in stored and col not in OPTIONAL_COLUMNS[table]:
            return False  # a required column missing
        expr = _column_expr(table, col, stored.get(col))
        if expr is None:
            return False
        cols.append(f"{expr} AS {quoted(col)}")
    con.execute(f"CREATE VIEW v_{table} AS SELECT {', '.join(cols)} FROM {source}")
    conds = _text_checks(table, stored) + _contract_checks(table, extract)
    # One filter, not an aggregate per condition: a filter's OR and AND look at a condition
    # only on the rows still undecided (a decimal id's regex only on ids holding a dot), and
    # it stops at the first row found.
    if _row(con, f"SELECT count(*) FROM (SELECT 1 FROM v_{table} WHERE "
                 f"{' OR '.join(f'({c})' for c in conds) or 'false'} LIMIT 1)")[0]:
        return False
    if not _categories_clean(con, table):
        return False
    if table not in OPTIONAL_TABLES and not _row(
            con, f"SELECT count(*) FROM (SELECT 1 FROM v_{table} LIMIT 1)")[0]:
        return False  # a required table without a row
    if table == "episodes" and not _row(
            con, f"SELECT coalesce(NOT ({_REASONS[0]} AND {_REASONS[1]}), true) FROM v_{table}"
    )[0]:
        return False
    return all(_unique(con, table, c) for c in COLUMNS[table] if (table, c) in UNIQUE)


def _categories_clean(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Every category column holds allowed values only, judged on its distinct values (one
    grouping set per column): a dozen values looked at instead of a test of every row
    (15.8 million contacts, four categories: 0.5 s against 2.0 s)."""
    cols = [col for col in COLUMNS[table] if (table, col) in ALLOWED]
    if not cols:
        return True
    sets = ", ".join(f"({quoted(col)})" for col in cols)
    # grouping(c) = 0 on the rows grouped by c (elsewhere c is NULL for the other sets).
    bad = " OR ".join(f"(grouping({quoted(col)}) = 0 AND ({check}))"
                      for col, check in zip(cols, _category_checks(table), strict=True))
    return not _row(con, f"SELECT count(*) FROM (SELECT 1 FROM v_{table} "
                         f"GROUP BY GROUPING SETS ({sets}) HAVING {bad} LIMIT 1)")[0]


def _unique(con: duckdb.DuckDBPyConnection, table: str, col: str) -> bool:
    """No value of ``col`` twice, and none empty, with a space at an edge or a decimal: one scan
    (:func:`_scan_ids`), then, only when the values did not come in increasing order, a
    ``GROUP BY``. Not ``count(DISTINCT)``: DuckDB spills a grouping larger than its memory
    to disk, but not a distinct count (5,000,000 children: 79 million contact ids ran out of
    the 1 GB)."""
    increasing = _scan_ids(con, table, col)
    if increasing is None:
        return False
    if increasing:
        return True
    c = quoted(col)
    return not _row(con, f"SELECT count(*) FROM (SELECT {c} FROM v_{table} WHERE {c} IS NOT "
                         f"NULL GROUP BY {c} HAVING count(*) > 1)")[0]


# Small batches: with 1,048,576 rows the 1,000,000-child build peaked 0.1-0.3 GB higher later
# on (memory the scan's batches left with the allocator), for no less CPU.
_BATCH_ROWS = 1 << 16


def _scan_ids(con: duckdb.DuckDBPyConnection, table: str, col: str) -> bool | None:
    """One scan of an id column (its values not null): None when one is empty, has a space
    at an edge or is written as a decimal (:func:`_plain`), else whether each value follows
    the one before in byte order.

    Increasing values have no repeat, whatever order the scan gives them in, so no hash
    table of every value is needed (15.8 million contact ids: 1.0 s against 4.1 s for the
    ``GROUP BY``, and 0.1 s for the edges and dots against 2.2 s for the regular expressions
    in SQL).
    """
    c = quoted(col)
    last, increasing = None, True
    with con.cursor() as cur:
        for batch in cur.sql(f"SELECT {c} FROM v_{table} WHERE {c} IS NOT NULL"
                             ).to_arrow_reader(_BATCH_ROWS):
            ids, n = batch.column(0), batch.num_rows
            if n == 0:
                continue
            if not _plain(ids):
                return None
            if increasing and last is not None:
                increasing = pc.less(last, ids[0]).as_py()
            if increasing and n > 1:
                increasing = pc.all(pc.less(ids.slice(0, n - 1), ids.slice(1))).as_py()
            last = ids[n - 1]
    return increasing


# Bytes that may start or end a text with a space at an edge: an ASCII space (tab to carriage
# return, file to unit separator, space) or any byte of a non-ASCII character.
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[[*range(0x09, 0x0E), *range(0x1C, 0x21), *range(0x80, 0x100)]] = True


def _plain(ids: pa.Array) -> bool:
    """No id empty, with a space at an edge (:data:`_TRIMMED`) or written as a decimal
    (:data:`_DECIMAL_ID`): the regular expressions are run only on the ids whose first or
    last byte may be a space, and on a batch only when a dot is somewhere in it."""
    if len(ids) == 0:
        return True
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
        _, offsets_buf, data_buf = ids.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=width)[ids.offset:ids.offset + len(ids) + 1]
        starts, ends = offsets[:-1], offsets[1:]
        if data_buf is None or bool((ends == starts).any()):
            return False  # an empty text
        data = np.frombuffer(data_buf, dtype=np.uint8)
        edges = ids.filter(pa.array(_EDGE_BYTES[data[starts]] | _EDGE_BYTES[data[ends - 1]]))
        dotted = bool((data[starts[0]:ends[-1]] == ord(".")).any())
    else:
        edges, dotted = ids, True
    return not (pc.any(pc.or_(pc.equal(edges, ""), pc.match_substring_regex(edges, _TRIMMED))
                       ).as_py() or dotted and pc.any(pc.match_substring_regex(
                           ids, _DECIMAL_ID)).as_py())


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The one row an aggregate query returns."""
    row = con.execute(sql).fetchone()
    assert row is not None  # an aggregate without GROUP BY always has one row
    return row


def _keys_clean(con: duckdb.DuckDBPyConnection, held: list[str]) -> bool:
    """Every child id known in children; one history row per child and valid_from."""
    # One anti-join of every record table's child ids: the children's ids hashed once, not
    # once per table (1,000,000 children: 0.8 s against 1.1 s).
    ids = " UNION ALL ".join(f"SELECT child_id FROM v_{t}" for t in held if t != "children")
    if ids and _row(con, f"SELECT count(*) FROM (SELECT 1 FROM ({ids}) x ANTI JOIN v_children "
                         "c USING (child_id) WHERE x.child_id IS NOT NULL LIMIT 1)")[0]:
        return False
    if "children_history" in held:
        twice = _row(
            con, "SELECT count(*) FROM (SELECT child_id, valid_from FROM v_children_history "
            "WHERE child_id IS NOT NULL AND valid_from IS NOT NULL GROUP BY ALL "
            "HAVING count(*) > 1)")[0]
        if twice:
            return False
    return True


def _typed_sql(table: str) -> str:
    """The typed table (``coerce_tables``' types) from the view of a clean table."""
    cols = []
    for col in COLUMNS[table]:
        c = quoted(col)
        if col == "imd_decile":
            c = f"CAST({c} AS BIGINT)"
        elif (table, col) in EMPTY_AS_UNKNOWN:
            c = f"coalesce({c}, 'unknown')"
        elif table == "children" and col == "family_id":  # a family of one
            c = "coalesce(family_id, child_id)"
        elif col in DATE_COLUMNS[table]:
            c = f"CAST({c} AS TIMESTAMP_NS)"
        cols.append(f"{c} AS {quoted(col)}")
    return f"SELECT {', '.join(cols)} FROM v_{table}"


def _frame(arrow: pa.Table) -> pd.DataFrame:
    """An Arrow table as the frame ``coerce_tables`` gives: ``string``, ``Int64``, ns dates."""
    mapping = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow"),
               pa.int64(): pd.Int64Dtype()}
    # No self_destruct: the string columns keep the Arrow buffers (zero copy from large_string).
    return arrow.to_pandas(types_mapper=mapping.get, split_blocks=True)


def _empty_view(con: duckdb.DuckDBPyConnection, table: str) -> None:
    cols = ", ".join(f"{_column_expr(table, c, None)} AS {quoted(c)}" for c in COLUMNS[table])
    con.execute(f"CREATE VIEW v_{table} AS SELECT {cols} LIMIT 0")


def clean_tables(path: Path, extract: pd.Timestamp, *, in_duckdb: bool = False
                 ) -> dict[str, pd.DataFrame] | DuckTables | None:
    """The typed contract tables of a clean extract, checked and typed in DuckDB, or None.

    Parameters
    ----------
    path : Path
        A folder of ``.parquet`` tables or a DuckDB database file (anything else: None).
    extract : Timestamp
        The extract date: no record may follow it.
    in_duckdb : bool, default False
        Keep the typed tables in the DuckDB database that checked them
        (:class:`~riskmodel.data._duck.DuckTables`, to be closed by the caller) instead of
        turning them into pandas frames.

    Returns
    -------
    dict of str to DataFrame, DuckTables or None
        The frames :func:`~riskmodel.data.coerce_tables` gives for the same tables (a
        missing optional table empty), with the same warnings about near-miss column names;
        None when the detailed checks must run: a problem, a cell they would rewrite or warn
        about, a type or file this pass does not read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskmodel.data import generate_council
    >>> out = pathlib.Path(generate_council(n_children=200, seed=1, out=tempfile.mkdtemp()))
    >>> tables = clean_tables(out, pd.Timestamp("2025-12-31"))
    >>> sorted(tables) == sorted(TABLES), str(tables["contacts"]["contact_date"].dtype)
    (True, 'datetime64[ns]')
    >>> (out / "children.parquet").unlink()
    >>> clean_tables(out, pd.Timestamp("2025-12-31")) is None
    True
    """
    con = duckdb_connect()
    # Text as large_string: what pandas' Arrow-backed strings hold, so no copy to convert.
    con.execute("SET arrow_large_buffer_size = true")
    kept = False
    try:
        if not _clean_views(con, path, extract):
            return None
        if in_duckdb:
            kept = True
            return DuckTables(con, _frame)
        return {table: _frame(con.sql(f"SELECT * FROM {DuckTables.view(table)}")
                              .to_arrow_table()) for table in TABLES}
    except duckdb.OutOfMemoryException:
        raise  # not the extract's fault: the pandas path would need far more memory still
    except (duckdb.Error, OSError):
        return None  # a file DuckDB cannot read: the detailed path says why
    finally:
        if not kept:
            con.close()


def _clean_views(con: duckdb.DuckDBPyConnection, path: Path, extract: pd.Timestamp) -> bool:
    """Check the extract; when it is clean, create every table's typed view."""
    sources = _sources(con, path)
    if sources is None:
        return False
    for table, source in sources.items():
        if not _table_clean(con, table, source, extract):
            return False
    if not _keys_clean(con, list(sources)):
        return False
    for table, source in sources.items():  # said as the detailed path says it, once clean
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        _warn_near_misses(table, pd.DataFrame(columns=names))
    for table in TABLES:
        if table not in sources:
            _empty_view(con, table)
        con.execute(f"CREATE VIEW {DuckTables.view(table)} AS {_typed_sql(table)}")
    return True
