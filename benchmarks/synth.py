"""Time the synthetic council: wall time and peak memory of generating and writing it.

    python3 benchmarks/synth.py --children 100000
    python3 benchmarks/synth.py --children 1000000 --calibration

Prints the wall time of the simulation and of writing, the peak resident memory of the
process, the rows written, the truth's AUC (with and without the latent term) and, with
``--calibration``, the calibration table (target against generated).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write into (default: a temporary folder)")
    parser.add_argument("--calibration", action="store_true",
                        help="also print the calibration table")
    args = parser.parse_args(argv)

    from riskmodel.data import simulate_council
    from riskmodel.data.synth._council import write_council

    t0 = time.perf_counter()
    council = simulate_council(args.children, seed=args.seed)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "council"
        write_council(council, out)
        t2 = time.perf_counter()
        size = sum(p.stat().st_size for p in Path(out).iterdir()) / 2**20
    print(f"children: {args.children:,}  seed: {args.seed}")
    print(f"simulate: {t1 - t0:.1f} s   write: {t2 - t1:.1f} s   total: {t2 - t0:.1f} s")
    print(f"peak memory (max RSS): {_peak_mib():,.0f} MiB   on disk: {size:,.1f} MiB")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in council.manifest["rows"].items()))
    for name, auc in council.manifest["truth"]["auc"].items():
        print(f"truth AUC {name}: {auc['auc_truth']:.4f} (without latent "
              f"{auc['auc_without_latent']:.4f}, gap {auc['gap']:+.4f}; rate {auc['rate']:.3f}"
              f", {auc['rows']:,} rows)")
    if args.calibration:
        with pd.option_context("display.width", 200, "display.max_rows", 200):
            print(pd.DataFrame(council.manifest["calibration"]).to_string(index=False))


if __name__ == "__main__":
    main()
