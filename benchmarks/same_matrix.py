"""Check that a speed change left the feature matrix unchanged: build it with two checkouts.

    python3 benchmarks/same_matrix.py --before /work/main --children 3000
    python3 benchmarks/same_matrix.py --before /tmp/old-checkout --data /tmp/council-100k

Runs ``riskmodel build`` (packaged spec, escalation and disengagement, four as-of dates) once
with ``--before`` first on ``PYTHONPATH`` and once with this checkout, on the same council
(generated once by ``riskmodel synth`` when ``--data`` holds none), then compares the two
Parquet files byte for byte and, if they differ, frame by frame. Exit 1 when they differ.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
AS_OF = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"]


def build(checkout: Path, data: Path, outcome: str, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, "-m", "riskmodel", "build", "--data", str(data),
           "--outcome", outcome, "--out", str(out)]
    for d in AS_OF:
        cmd += ["--as-of", d]
    # cwd: ``python -m`` puts the working folder first on sys.path, before PYTHONPATH.
    subprocess.run(cmd, check=True, env=env, cwd=out.parent, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--data", type=Path, help="council folder to reuse or create")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp())
    data = args.data or work / "council"
    if not (data / "children.parquet").exists():
        subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--children",
                        str(args.children), "--out", str(data)], check=True,
                       stdout=subprocess.DEVNULL)
    same = True
    for outcome in ("escalation", "disengagement"):
        a, b = work / f"before-{outcome}.parquet", work / f"after-{outcome}.parquet"
        build(args.before.resolve(), data, outcome, a)
        build(ROOT, data, outcome, b)
        if filecmp.cmp(a, b, shallow=False):
            print(f"{outcome}: byte-identical ({a.stat().st_size:,} bytes)")
            continue
        same = False
        try:
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
            print(f"{outcome}: equal frames, different bytes")
        except AssertionError as exc:
            print(f"{outcome}: DIFFERENT\n{exc}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
