"""DuckDB connections sized to the machine: a memory limit and a temporary folder to spill to.

Every DuckDB connection of a build (the feature session, the reader of DuckDB files) is
opened here, so a join or aggregate larger than its share of memory spills to disk
(out-of-core) instead of failing or swapping. ``RISKMODEL_DUCKDB_MEMORY`` (e.g. ``1GB``)
and ``RISKMODEL_DUCKDB_TEMP`` (a folder) override what is read from the machine.
"""

from __future__ import annotations

import os
import tempfile

import duckdb
import psutil

# DuckDB's share of the memory available when the connection opens (the rest is for the
# finished matrix and any pandas tables held beside it), at most MEMORY_CAP_MB: beyond that
# a build spills to disk instead. With the cap, the 1,000,000-child build peaks at 1.65 GB
# instead of 2.18 GB, for the same matrix (docs/performance.md).
MEMORY_SHARE = 0.5
MEMORY_FLOOR_MB = 256
MEMORY_CAP_MB = 1024


def duckdb_settings() -> dict[str, str]:
    """The ``memory_limit`` and ``temp_directory`` a new connection gets on this machine.

    Examples
    --------
    >>> s = duckdb_settings()
    >>> s["memory_limit"].endswith("MB"), "riskmodel-duckdb" in s["temp_directory"]
    (True, True)
    """
    limit = os.environ.get("RISKMODEL_DUCKDB_MEMORY")
    if not limit:
        available = psutil.virtual_memory().available / 1024**2
        share = min(MEMORY_CAP_MB, int(available * MEMORY_SHARE))
        limit = f"{max(MEMORY_FLOOR_MB, share)}MB"
    temp = os.environ.get("RISKMODEL_DUCKDB_TEMP") or os.path.join(
        tempfile.gettempdir(), f"riskmodel-duckdb-{os.getpid()}")
    return {"memory_limit": limit, "temp_directory": temp}


def duckdb_connect(database: str = ":memory:", *, read_only: bool = False
            ) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with :func:`duckdb_settings` and no progress bar.

    Examples
    --------
    >>> con = duckdb_connect()
    >>> con.execute("SELECT current_setting('memory_limit') <> ''").fetchone()
    (True,)
    >>> con.close()
    """
    con = duckdb.connect(database, read_only=read_only)
    for key, value in duckdb_settings().items():
        con.execute(f"SET {key} = '{value}'")
    try:
        # No progress bar: it would print into the command's output.
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # in a Jupyter kernel without ipywidgets the bar is off and cannot be set
    return con
