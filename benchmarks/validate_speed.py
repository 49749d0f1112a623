"""How long reading and checking a council extract takes.

Generates a synthetic council (or uses the folder given), writes a CSV copy of it, then
times each step for Parquet and CSV and prints the figures.

    python3 benchmarks/validate_speed.py --children 100000
    python3 benchmarks/validate_speed.py --data path/to/extract
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from riskmodel.data import (
    coerce_tables,
    generate_council,
    read_extract_date,
    read_tables,
    summarise_tables,
    validate_tables,
)


def _cpu() -> float:
    # This process and finished children: on a shared machine CPU time is steadier than wall.
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(label: str, fn):
    start, cpu = time.perf_counter(), _cpu()
    result = fn()
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    print(f"  {label:<20}{wall:7.2f} s wall {cpu:7.2f} s cpu")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, help="an existing extract folder (Parquet/CSV)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="riskmodel-validate-"))
    data = args.data
    if data is None:
        start = time.perf_counter()
        data = generate_council(args.children, seed=args.seed, out=work / "council")
        print(f"generated {args.children:,} children in {time.perf_counter() - start:.1f} s")
    extract_date = read_extract_date(data)

    csv = work / "csv"
    csv.mkdir()
    for name, df in read_tables(data).items():
        df.to_csv(csv / f"{name}.csv", index=False)

    for label, folder in (("parquet", data), ("csv", csv)):
        print(f"{label}: {folder}  (load average {os.getloadavg()[0]:.1f})")
        # The first call in a process also imports pandera's backends; the CLI figure
        # below is the whole command, cold, as a user runs it.
        tables = _timed("read_tables", lambda f=folder: read_tables(f))
        rows = sum(len(df) for df in tables.values())
        problems = _timed("validate_tables",
                          lambda t=tables: validate_tables(t, extract_date=extract_date))
        _timed("coerce_tables", lambda t=tables: coerce_tables(t))
        _timed("summarise_tables", lambda t=tables: summarise_tables(t))
        print(f"  {rows:,} rows in all; {len(problems)} problem(s)")
        for p in problems[:5]:
            print("   ", p)
        cmd = [sys.executable, "-m", "riskmodel", "validate", str(folder)]
        if extract_date:
            cmd += ["--extract-date", extract_date]
        _timed("riskmodel validate", lambda c=cmd: subprocess.run(c, check=True,
                                                                  capture_output=True))


if __name__ == "__main__":
    main()
