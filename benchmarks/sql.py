"""Read a council from PostgreSQL and from Parquet and build the same training set; time both.

    python3 benchmarks/sql.py                                   # 100,000 children
    python3 benchmarks/sql.py --children 20000 --data /tmp/council-20k

The council is generated once into ``--data`` (``riskmodel synth`` in a separate process) and
reused when the folder holds one. A PostgreSQL server of its own is started in a temporary
folder (``tests/helpers/pg.py``: ``initdb`` + ``pg_ctl`` on 127.0.0.1 and a free port; as root
it runs as the ``postgres`` user) and the four tables are copied into it with COPY (timed apart: a
council's tables are in its database already). Then, alternately:

* **read**: ``read_tables`` only, from the folder, from PostgreSQL with ADBC (columnar) and
  with SQLAlchemy + psycopg (row by row, the fallback);
* **end to end**: what ``riskmodel train`` does before fitting: open the extract (read, check,
  type) and build the training matrix over the packaged escalation spec's as-of schedule
  (``jobs._extract.training_matrix``), from the folder and from a sources.yaml naming the
  database (with the extract date, so the database is read as it stood then).

The two matrices must be identical. The server is stopped and its folder removed at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import pg  # noqa: E402  (tests/helpers/pg.py: the throwaway server)


def ensure_council(folder: Path, children: int, seed: int) -> None:
    if (folder / "children.parquet").exists():
        print(f"reusing the council in {folder}")
        return
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--children", str(children),
                    "--seed", str(seed), "--out", str(folder)], check=True)
    print(f"generated {children:,} children in {time.perf_counter() - t:.0f}s")


def timed(what: str, fn):
    t = time.perf_counter()
    value = fn()
    took = time.perf_counter() - t
    print(f"  {what:<44} {took:7.2f}s", flush=True)
    return value, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--children", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=None,
                    help="council folder (generated when empty)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each timing (best kept)")
    args = ap.parse_args()
    data = args.data or Path(tempfile.gettempdir()) / f"council-{args.children // 1000}k"
    ensure_council(data, args.children, args.seed)

    from riskmodel.data import read_extract_date, read_tables
    from riskmodel.jobs._extract import training_matrix
    from riskmodel.training import load_training_spec

    server = pg.start()
    try:
        _, load = timed("COPY the Parquet tables into PostgreSQL", lambda: pg.load_folder(
            server, data, schema="eh"))
        with server.connect(autocommit=True) as con:
            con.execute("ANALYZE")
        os.environ["PGPASSWORD"] = pg.PASSWORD
        url = server.url(query="schema=eh")
        extract = read_extract_date(data)
        sources = Path(tempfile.mkdtemp()) / "sources.yaml"
        sources.write_text(f"url: {server.url()}\nschema: eh\nextract_date: {extract}\n")
        spec = load_training_spec(None, outcome="escalation")

        best: dict[str, float] = {}
        results: dict[str, pd.DataFrame] = {}
        runs = {
            "read: Parquet folder": lambda: read_tables(data),
            "read: PostgreSQL, ADBC": lambda: read_tables(url + "&reader=adbc"),
            "read: PostgreSQL, ADBC, cut at extract date": lambda: read_tables(
                url + "&reader=adbc", until=extract),
            "read: PostgreSQL, SQLAlchemy + psycopg": lambda: read_tables(
                url + "&reader=sqlalchemy"),
            "end to end: Parquet folder": lambda: training_matrix(data, spec).matrix,
            "end to end: PostgreSQL (sources.yaml, ADBC)": lambda: training_matrix(
                sources, spec).matrix,
        }
        for i in range(args.repeat):
            print(f"run {i + 1} of {args.repeat}")
            for what, fn in runs.items():
                value, took = timed(what, fn)
                best[what] = min(best.get(what, took), took)
                if what.startswith("end to end"):
                    results[what] = value
        matrices = list(results.values())
        pd.testing.assert_frame_equal(matrices[0], matrices[1])
        n = len(matrices[0])
    finally:
        server.stop()

    print(f"\n{args.children:,} children; training matrix {n:,} rows (identical from both); "
          f"COPY into PostgreSQL {load:.1f}s (not counted); best of {args.repeat}:")
    for what, took in best.items():
        print(f"  {what:<44} {took:7.2f}s")
    ratio = best["end to end: PostgreSQL (sources.yaml, ADBC)"] / best[
        "end to end: Parquet folder"]
    print(f"  database / Parquet, end to end: {ratio:.2f}x")


if __name__ == "__main__":
    main()
