"""Time and peak memory of building a feature matrix for a synthetic council.

    python3 benchmarks/features.py --children 100000
    python3 benchmarks/features.py --children 1000000 --data /tmp/council-1m --statements

The council is generated once into ``--data`` (by ``riskmodel synth`` in a separate
process, so its memory is not counted) and reused when the folder already holds one. The
figures printed are for this process: reading and checking the tables (``load_tables``,
keeping a clean extract's tables in DuckDB as ``riskmodel build`` does; ``--frames`` hands
them over as pandas frames, as the other jobs do), then ``build_matrix`` (cohort, labels
and every feature of the packaged spec). Peak memory is the process's resident-set
high-water mark, which includes the tables in memory. With ``--skip-checks`` the tables are
read and typed without the contract checks (``read_tables`` + ``coerce_tables``), so the
peak is that of the build itself.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_AS_OF = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"]


def peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


class RssSampler:
    """The highest resident set size seen while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        import psutil

        self._proc, self.start, self.peak = psutil.Process(), 0.0, 0.0
        self.start = self.peak = self._proc.memory_info().rss / 1024**3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss / 1024**3)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def statement_cpu() -> dict[str, float]:
    """Time every statement of the feature session (``Session.run``) from now on.

    Returns the dict it fills: CPU seconds by the table a statement creates (else the
    statement's first words). A statement's result fetched later is not counted.
    """
    import re

    from riskmodel.features._session import Session

    spent: dict[str, float] = {}
    run = Session.run

    def timed(self, sql, q=None):
        cpu = time.process_time()
        try:
            return run(self, sql, q)
        finally:
            made = re.search(r"(?:TABLE|VIEW|INTO) (\w+)", sql)
            key = made.group(1) if made else " ".join(sql.split()[:4])
            spent[key] = spent.get(key, 0.0) + time.process_time() - cpu

    Session.run = timed  # type: ignore[method-assign]
    return spent


def ensure_council(folder: Path, children: int, seed: int) -> None:
    if (folder / "children.parquet").exists():
        print(f"reusing the council in {folder}")
        return
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--children", str(children),
                    "--seed", str(seed), "--out", str(folder)], check=True)
    print(f"generated {children:,} children in {time.perf_counter() - started:.1f} s "
          "(separate process; not counted below)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", action="append", dest="as_of",
                        help=f"as-of date (repeatable); default {' '.join(DEFAULT_AS_OF)}")
    parser.add_argument("--outcome", default="escalation")
    parser.add_argument("--data", type=Path, help="council folder to reuse or create")
    parser.add_argument("--skip-checks", action="store_true",
                        help="read and type the tables without the contract checks")
    parser.add_argument("--frames", action="store_true",
                        help="hand the checked tables over as pandas frames (as train does) "
                             "instead of keeping them in DuckDB (as riskmodel build does)")
    parser.add_argument("--statements", action="store_true",
                        help="also print the CPU of the feature session's costliest statements "
                             "(summed over the slices of the cohort), by the table each creates")
    args = parser.parse_args(argv)
    as_of = args.as_of or DEFAULT_AS_OF
    folder = args.data or Path(tempfile.mkdtemp()) / f"council-{args.children}"
    ensure_council(folder, args.children, args.seed)

    from riskmodel.data import coerce_tables, load_tables, read_tables
    from riskmodel.features import build_matrix, feature_columns

    started, cpu = time.perf_counter(), time.process_time()
    tables: Any
    if args.skip_checks:
        how, tables = "read_tables + coerce_tables", coerce_tables(read_tables(folder))
    elif args.frames:
        how, tables = "load_tables", load_tables(folder)
    else:
        how, tables = "load_tables(in_duckdb=True)", load_tables(folder, in_duckdb=True)
    loaded, loaded_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{how}: {loaded:.1f} s (CPU {loaded_cpu:.1f} s), peak memory so far "
          f"{peak_rss_gb():.2f} GB")

    spent = statement_cpu() if args.statements else {}
    started, cpu = time.perf_counter(), time.process_time()
    with RssSampler() as rss:
        matrix = build_matrix(tables, as_of, outcome=args.outcome)
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"build_matrix: {len(matrix):,} rows x {len(feature_columns(matrix))} features "
          f"for {len(as_of)} as-of dates in {built:.1f} s (CPU {built_cpu:.1f} s)")
    print(f"during build_matrix: RSS {rss.start:.2f} GB before, {rss.peak:.2f} GB at most "
          f"(+{rss.peak - rss.start:.2f} GB)")
    print(f"peak memory (RSS high-water mark): {peak_rss_gb():.2f} GB")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {seconds:6.2f} s CPU  {name}")


if __name__ == "__main__":
    main()
