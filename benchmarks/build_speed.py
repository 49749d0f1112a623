"""`riskmodel build` against a hand-written DuckDB query of the core aggregates, run alternately.

    python3 benchmarks/build_speed.py --children 100000 --data /tmp/council-100k
    python3 benchmarks/build_speed.py --children 1000000 --data /tmp/council-1m --rounds 1

The council is generated once into ``--data`` (``riskmodel synth`` in a separate process,
not counted) and reused when the folder holds one. Each round runs, one after the other,
each in a fresh process:

* **build**: ``riskmodel build`` as a user runs it (read, contract checks, typing, the
  packaged spec's features over the as-of dates, the matrix written to Parquet);
* **reference**: this file with ``--reference``: one DuckDB query straight over the Parquet
  files of what the build's core is: the cohort (early-help episodes known and open at each
  as-of date), contact counts per window by source, need, MASH rating and outcome (known by
  recorded date), episode counts per window and ACE flags, fetched into pandas and written
  to Parquet.

Printed per run and as the median over rounds: wall time, CPU time (user + system of the
process, from ``wait4``: on a shared machine the CPU time is the steadier figure) and peak
resident memory. The ratio build / reference is the figure of issue 33 (goal <= 1.0).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_AS_OF = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"]
WINDOWS = {"3m": 3, "12m": 12, "36m": 36}


def ensure_council(folder: Path, children: int, seed: int) -> None:
    if (folder / "children.parquet").exists():
        print(f"reusing the council in {folder}")
        return
    subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--children", str(children),
                    "--seed", str(seed), "--out", str(folder)], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"generated {children:,} children in {folder} (not counted)")


def reference_sql(folder: Path, as_of: list[str]) -> str:
    """The hand-written core aggregates over the Parquet files of ``folder``."""
    import duckdb

    def values(col: str) -> list[str]:
        rows = duckdb.sql(f"SELECT DISTINCT {col} FROM '{folder}/contacts.parquet' "
                          f"WHERE {col} IS NOT NULL ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def inw(col: str, w: str) -> str:
        return "TRUE" if w == "all" else f"{col} >= d.as_of - INTERVAL {WINDOWS[w]} MONTH"

    counts = []
    for w in [*WINDOWS, "all"]:
        counts.append(f'count(*) FILTER (WHERE {inw("x.recorded_date", w)}) AS "total_{w}"')
        for col in ("source", "need", "mash_rag", "outcome"):
            known = "" if col in ("source", "need") else f" AND x.{col}_recorded_date < d.as_of"
            for v in values(col):
                counts.append(f"count(*) FILTER (WHERE x.{col} = '{v}'{known} AND "
                              f'{inw("x.recorded_date", w)}) AS "{col}_{v}_{w}"')
    dates = ", ".join(f"DATE '{d}'" for d in as_of)
    eh = "('early_help_pathway', 'fsw_intervention', 'targeted_support')"
    return f"""
    WITH d AS (SELECT unnest([{dates}]) AS as_of),
    ep AS (SELECT * FROM '{folder}/episodes.parquet'),
    cohort AS (SELECT DISTINCT d.as_of, e.child_id FROM d JOIN ep e
               ON coalesce(e.start_recorded_date, e.start_date) < d.as_of
               AND (e.end_date IS NULL OR e.end_date >= d.as_of) AND e.service IN {eh}),
    con AS (SELECT d.as_of, d.child_id, {", ".join(counts)} FROM cohort d
            JOIN '{folder}/contacts.parquet' x
            ON x.child_id = d.child_id AND x.recorded_date < d.as_of GROUP BY ALL),
    epi AS (SELECT d.as_of, d.child_id,
            count(*) FILTER (WHERE x.service IN {eh} AND x.end_date < d.as_of) AS prior_all,
            count(*) FILTER (WHERE x.service NOT IN {eh}) AS socialcare_all
            FROM cohort d JOIN ep x ON x.child_id = d.child_id
            AND coalesce(x.start_recorded_date, x.start_date) < d.as_of GROUP BY ALL),
    ace AS (SELECT d.as_of, d.child_id, count(DISTINCT x.factor) AS aces FROM cohort d
            JOIN '{folder}/ace_factors.parquet' x ON x.child_id = d.child_id
            AND x.recorded_date < d.as_of GROUP BY ALL)
    SELECT * FROM cohort LEFT JOIN con USING (as_of, child_id)
    LEFT JOIN epi USING (as_of, child_id) LEFT JOIN ace USING (as_of, child_id)
    ORDER BY as_of, child_id"""


def run_reference(folder: Path, as_of: list[str], out: Path) -> None:
    import duckdb

    frame = duckdb.sql(reference_sql(folder, as_of)).df()
    frame.to_parquet(out, index=False)
    print(f"reference: {len(frame):,} rows x {frame.shape[1]} columns")


def timed(cmd: list[str], checkout: Path, cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (GB) of one process."""
    # cwd: ``python -m`` puts the working folder first on sys.path, before PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, help="council folder to reuse or create")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the riskmodel checkout to time (default: this one)")
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.data or Path(tempfile.mkdtemp()) / f"council-{args.children}"
    if args.reference:
        run_reference(folder, DEFAULT_AS_OF, args.reference)
        return
    ensure_council(folder, args.children, args.seed)
    out, folder = Path(tempfile.mkdtemp()), folder.resolve()
    print(f"timing {args.checkout.resolve()}")
    build = [sys.executable, "-m", "riskmodel", "build", "--data", str(folder),
             "--outcome", "escalation", "--out", str(out / "matrix.parquet")]
    for d in DEFAULT_AS_OF:
        build += ["--as-of", d]
    reference = [sys.executable, str(Path(__file__).resolve()), "--data", str(folder),
                 "--reference", str(out / "reference.parquet")]
    runs: dict[str, list[tuple[float, float, float]]] = {"build": [], "reference": []}
    for i in range(args.rounds):
        for name, cmd in (("build", build), ("reference", reference)):
            runs[name].append(timed(cmd, args.checkout.resolve(), out))
            wall, cpu, rss = runs[name][-1]
            print(f"round {i + 1} {name:9s}: wall {wall:6.1f} s  CPU {cpu:6.1f} s  "
                  f"peak {rss:.2f} GB", flush=True)
    med = {k: [statistics.median(r[j] for r in v) for j in range(3)] for k, v in runs.items()}
    for name, (wall, cpu, rss) in med.items():
        print(f"median {name:9s}: wall {wall:6.1f} s  CPU {cpu:6.1f} s  peak {rss:.2f} GB")
    print(f"build / reference: wall {med['build'][0] / med['reference'][0]:.2f}x, "
          f"CPU {med['build'][1] / med['reference'][1]:.2f}x")


if __name__ == "__main__":
    main()
