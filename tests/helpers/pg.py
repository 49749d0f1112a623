"""A throwaway PostgreSQL server for the SQL tests and the SQL benchmark.

``initdb`` and ``pg_ctl`` build and start a cluster in a temporary folder, on 127.0.0.1 and a
free port, with password (SCRAM) authentication over TCP. ``initdb`` refuses to run as root,
so as root the cluster belongs to the ``postgres`` OS user (Debian's ``postgresql`` package
creates it) and the server programs run through ``runuser``. :meth:`PgServer.stop` (also
registered with :mod:`atexit`) stops the server and removes its folder.

Loading tables into it is done here with psycopg's ``COPY``, never with riskmodel's readers,
so a test that compares the two paths compares two independent pieces of code.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SUPERUSER = "postgres"
PASSWORD = "s3cret-Pa55"  # the test cluster's passwords (never a real one)


def find_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian keeps them off the PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).resolve().parent if which else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """A running server: ``url(user)`` gives a password-free URL to connect with."""

    folder: Path
    bin: Path
    port: int
    as_postgres: bool
    host: str = "127.0.0.1"
    log: Path = field(init=False)

    def __post_init__(self):
        self.log = self.folder / "server.log"

    def url(self, user: str = SUPERUSER, db: str = "postgres", *, password: str | None = None,
            query: str = "") -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@{self.host}:{self.port}/{db}" + (f"?{query}" if query else "")

    def connect(self, user: str = SUPERUSER, db: str = "postgres", **kw):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=user, dbname=db,
                               password=PASSWORD, **kw)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        """Stop the server now (no waiting for clients) and remove its folder. Idempotent."""
        if self.folder.exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "stop", "-D", str(self.folder / "data"), "-m", "immediate",
                          "-w", check=False)
            shutil.rmtree(self.folder, ignore_errors=True)


def start(*, bin_dir: Path | None = None) -> PgServer:
    """Create and start a cluster; raise ``RuntimeError`` (with the server's log) on failure."""
    bin_dir = bin_dir or find_bin()
    if bin_dir is None:
        raise FileNotFoundError("initdb not found (install Debian's postgresql package)")
    as_postgres = os.geteuid() == 0
    # As root the folder is the postgres user's, so it must be where that user can reach it.
    folder = Path(tempfile.mkdtemp(prefix="riskmodel-pg-", dir="/tmp" if as_postgres else None))
    server = PgServer(folder=folder, bin=bin_dir, port=free_port(), as_postgres=as_postgres)
    atexit.register(server.stop)  # also when the interpreter ends without the finalizer
    try:
        pwfile = folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if as_postgres:
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        folder.chmod(0o700)
        server._run("initdb", "-D", str(folder / "data"), "-U", SUPERUSER, "--pwfile", str(pwfile),
                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                    "--locale=C", "--no-sync")
        opts = (f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30 "
                "-c shared_buffers=64MB")
        for attempt in range(3):
            done = server._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(folder / "data"),
                               "-l", str(server.log), "-o", opts, check=False)
            if done.returncode == 0:
                break
            if attempt == 2 or "could not bind" not in _read(server.log):
                raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} "
                                   f"{_read(server.log)[-800:]}")
            server.port = free_port()  # someone took the port meanwhile
            opts = opts.replace(opts.split()[1], str(server.port), 1)
        _wait_ready(server)
        return server
    except BaseException:
        server.stop()
        raise


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


def _wait_ready(server: PgServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.connect().close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ---------------------------------------------------------------- loading -------------------

_PG_TYPES = {"date": "date", "int": "integer", "text": "text"}


def _column_type(table: str, col: str) -> str:
    from riskmodel.data._contract import DATE_COLUMNS

    if col in DATE_COLUMNS[table]:
        return "date"
    if col == "imd_decile":
        return "integer"
    return "text"


def load_folder(server: PgServer, folder: Path, *, db: str = "postgres", schema: str = "public",
                tables=None) -> None:
    """Copy the Parquet tables of ``folder`` into ``schema`` with typed columns (COPY).

    By default every contract table the folder holds (the optional ones only if present).
    """
    from riskmodel.data._contract import TABLES

    if tables is None:
        tables = [t for t in TABLES if (folder / f"{t}.parquet").exists()]
    with server.connect(db=db, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for table in tables:
            df = pd.read_parquet(folder / f"{table}.parquet")
            copy_frame(con, df, schema, table,
                       {c: _column_type(table, c) for c in df.columns})


def copy_frame(con, df: pd.DataFrame, schema: str, table: str, types: dict[str, str]) -> None:
    """Create ``schema.table`` with ``types`` and COPY ``df`` into it as CSV (empty → NULL)."""
    cols = ", ".join(f'"{c}" {types.get(c, "text")}' for c in df.columns)
    con.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
    con.execute(f'CREATE TABLE "{schema}"."{table}" ({cols})')
    names = ", ".join(f'"{c}"' for c in df.columns)
    df = df.assign(**{c: df[c].astype("Int64") for c, t in types.items() if t == "integer"})
    body = df.to_csv(index=False, header=False, date_format="%Y-%m-%d")
    with con.cursor() as cur, cur.copy(
            f'COPY "{schema}"."{table}" ({names}) FROM STDIN WITH (FORMAT csv)') as cp:
        cp.write(body)
