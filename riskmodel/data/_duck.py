"""Checked, typed contract tables that stay in the DuckDB database that checked them.

:func:`riskmodel.data.load_tables` with ``in_duckdb=True`` returns a :class:`DuckTables`
when the SQL pass (:mod:`riskmodel.data._fastload`) finds the extract clean: the typed
tables are views (``typed_<table>``) in that pass's DuckDB database, read in place by the
feature session, so the build never holds the extract as pandas frames. It is a read-only
mapping of table name to DataFrame for every other reader: a table asked for by name is
turned into the frame :func:`riskmodel.data.load_tables` would have given (once, then kept).
The few questions a build asks of the whole extract are answered in SQL (:meth:`date_bounds`)
or on the first rows (:meth:`head`, for the "does any row hold it" questions of
:func:`riskmodel.data.missing_inputs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from riskmodel.data._contract import TABLES


def quoted(name: str) -> str:
    """``name`` as a DuckDB identifier (double quotes, any inside doubled)."""
    return '"' + name.replace('"', '""') + '"'


class DuckTables(Mapping[str, pd.DataFrame]):
    """The typed contract tables as views of one DuckDB connection (``typed_<table>``).

    Parameters
    ----------
    con : DuckDBPyConnection
        The connection holding a view ``typed_<table>`` for every table of the contract;
        closed by :meth:`close`.
    to_frame : callable
        Turns an Arrow table of a typed view into the frame ``load_tables`` gives.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council, load_tables
    >>> out = generate_council(n_children=200, seed=1, out=tempfile.mkdtemp())
    >>> t = load_tables(out, in_duckdb=True)
    >>> isinstance(t, DuckTables), len(t["children"]), sorted(t) == sorted(TABLES)
    (True, 200, True)
    >>> t.close()
    """

    def __init__(self, con: duckdb.DuckDBPyConnection,
                 to_frame: Callable[[pa.Table], pd.DataFrame]) -> None:
        self.con = con
        self._to_frame = to_frame
        self._frames: dict[str, pd.DataFrame] = {}
        self._heads: dict[int, dict[str, pd.DataFrame]] = {}

    @staticmethod
    def view(table: str) -> str:
        """The name of ``table``'s typed view in the connection."""
        return f"typed_{table}"

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise KeyError(table)
        if table not in self._frames:
            self._frames[table] = self._to_frame(self._arrow(f"SELECT * FROM {self.view(table)}"))
        return self._frames[table]

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)

    def _arrow(self, sql: str) -> pa.Table:
        # A cursor of its own: the connection may hold an unfinished result of the checks.
        with self.con.cursor() as cur:
            return cur.sql(sql).to_arrow_table()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the same database (its temporary tables are its own)."""
        return self.con.cursor()

    def head(self, rows: int) -> dict[str, pd.DataFrame]:
        """Some rows of every table: the first ``rows`` of each record table, and the
        children among the first ``rows`` or named by those rows.

        Any subset of rows will do for "does a row known in time hold it": a row of the
        subset that holds an input holds it in the whole extract.
        """
        if rows not in self._heads:
            self._heads[rows] = self._head(rows)
        return dict(self._heads[rows])

    def _head(self, rows: int) -> dict[str, pd.DataFrame]:
        out = {t: self._to_frame(self._arrow(f"SELECT * FROM {self.view(t)} LIMIT {int(rows)}"))
               for t in TABLES if t != "children"}
        ids = pa.table({"child_id": pa.array(pd.concat(
            [df["child_id"] for df in out.values()]).dropna().unique(), pa.string())})
        with self.con.cursor() as cur:  # the ids as a table: a long IN list costs seconds
            cur.register("_head_ids", ids)
            out["children"] = self._to_frame(cur.sql(
                f"SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER () AS _n "
                f"FROM {self.view('children')}) WHERE _n <= {int(rows)} "
                "OR child_id IN (SELECT child_id FROM _head_ids) ORDER BY _n").to_arrow_table())
        return out

    def date_bounds(self, columns: Iterable[tuple[str, str]],
                    ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The earliest and latest date in ``columns`` (``(table, column)`` pairs)."""
        parts = [f"SELECT min({quoted(c)}) AS lo, max({quoted(c)}) AS hi FROM {self.view(t)}"
                 for t, c in columns]
        bounds = self._arrow(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(parts)})")
        lo, hi = (bounds.column(i)[0].as_py() for i in (0, 1))
        return (None if lo is None else pd.Timestamp(lo),
                None if hi is None else pd.Timestamp(hi))

    def close(self) -> None:
        """Close the connection (the frames already made are kept)."""
        self.con.close()
