"""Time of a fairness audit and its report on a council-sized table of scores.

    python3 benchmarks/fairness.py                    # 50,000 rows, the shipped policy
    python3 benchmarks/fairness.py --rows 200000 --boot 200
    MLFLOW_TRACKING_URI=sqlite:////tmp/fairrun/mlflow.db \
        python3 benchmarks/fairness.py --run RUN_ID --data /tmp/fairrun/council

The table is made up (the six characteristics of the feature matrix, a probability score and
an outcome drawn from it), so the figures measure the engine, not a model. Printed: seconds
for ``fairness_audit`` (fairlearn's MetricFrame per table, the disclosure plan and the
bootstrap) and for ``write_fairness_report`` (CSV, JSON and the HTML with its charts).

With ``--run`` and ``--data``, ``riskmodel fairness --run`` as a user runs it instead, in a
fresh process from a temporary folder (``python -m`` puts the working folder first on
``sys.path``), ``--rounds`` times: wall time, CPU time (user + system, from ``wait4``: on a
shared machine the steadier figure) and peak resident memory (issue 33: <= 10 s at 10,000
children). ``--checkout DIR`` times another checkout (e.g. the main branch); ``--against
DIR`` times this checkout and DIR alternately, round by round, and prints the ratio of their
CPU times (on a loaded machine the load moves both alike). ``--steps`` runs the job in this
process instead and prints the CPU time (``time.process_time``) of each of its steps: the
imports, MLflow's import, the store, the rebuilt matrix with the stored scores, the audit, the
front door and the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data import DISABILITY, ETHNICITY, SEX
from riskmodel.evaluation import (
    AuditOptions,
    fairness_audit,
    load_fairness_policy,
    write_fairness_report,
)


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 8, rows)
    return pd.DataFrame({
        "ethnicity": rng.choice(ETHNICITY, rows, p=[0.1, 0.06, 0.05, 0.72, 0.03, 0.04]),
        "sex": rng.choice(SEX, rows, p=[0.49, 0.5, 0.01]),
        "disability": rng.choice(DISABILITY, rows, p=[0.8, 0.15, 0.05]),
        "age_band": rng.choice(["unborn", "0-4", "5-7", "8-11", "12-15", "16+"], rows,
                               p=[0.003, 0.354, 0.203, 0.194, 0.172, 0.074]),
        "locality": rng.choice([f"locality {i}" for i in range(1, 9)], rows),
        "imd_quintile": rng.integers(1, 6, rows),
        "score": score,
        "label": (rng.uniform(size=rows) < score).astype(int),
    })


def time_command(run: str, data: Path, checkout: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (GB) of one
    ``riskmodel fairness --run`` in a fresh process."""
    with tempfile.TemporaryDirectory() as cwd:
        cmd = [sys.executable, "-m", "riskmodel", "fairness", "--run", run,
               "--data", str(data.resolve()), "--out", str(Path(cwd) / "report")]
        env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2


def _time_runs(run: str, data: Path, checkout: Path, against: Path | None,
               rounds: int) -> None:
    """``fairness --run`` ``rounds`` times (alternately with ``against``, given one)."""
    cpus: dict[Path, list[float]] = {checkout: [], **({against: []} if against else {})}
    for i in range(rounds):
        for where in cpus:
            wall, cpu, rss = time_command(run, data, where)
            cpus[where].append(cpu)
            print(f"fairness --run, round {i + 1}, {where}: wall {wall:.1f} s, "
                  f"CPU {cpu:.1f} s, peak {rss:.2f} GB", flush=True)
    if against:
        print(f"CPU {checkout} / {against}: "
              f"{sum(cpus[checkout]) / sum(cpus[against]):.2f}")


def _steps(run: str, data: Path) -> None:
    """CPU seconds of each step of ``fairness --run`` in this process (a fresh one: the
    clock counts from the process's start, so the imports include Python's own start)."""
    clock = time.process_time
    marks: list[tuple[str, float]] = [("imports", 0.0)]
    from riskmodel.jobs import fairness_report  # the job and what it imports
    marks.append(("import mlflow", clock()))
    import mlflow  # noqa: F401  (the store's first call imports it)
    marks.append(("the first store call", clock()))
    from riskmodel.store import get_run
    get_run(run)
    names = {"rebuilding": "the extract, matrix and stored scores", "auditing": "the audit",
             "comparing": "the front door", "writing": "the report"}

    def step(message: str) -> None:  # each message starts a step
        marks.append((names.get(message.split(" ")[0], message), clock()))

    options = AuditOptions(label="label", score="score", random_state=0)
    with tempfile.TemporaryDirectory() as out:
        fairness_report(options, Path(out) / "report", run=run, data=data, progress=step)
    marks.append(("end", clock()))
    for (name, t0), (_, t1) in zip(marks, marks[1:], strict=False):
        print(f"{name}: {t1 - t0:.2f} s")
    print(f"total: {marks[-1][1]:.2f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--boot", type=int, default=None, help="Resamples (default: the policy's).")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--run", help="time `riskmodel fairness --run RUN --data DATA` instead")
    ap.add_argument("--data", type=Path, help="the council the run was trained on")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1],
                    help="the riskmodel checkout to time (default: this one)")
    ap.add_argument("--against", type=Path, default=None,
                    help="another checkout, timed alternately with --checkout")
    ap.add_argument("--steps", action="store_true",
                    help="with --run: each step's CPU time, in this process")
    args = ap.parse_args()
    if args.run:
        if args.data is None:
            raise SystemExit("--run needs --data")
        if args.steps:
            _steps(args.run, args.data)
            return
        _time_runs(args.run, args.data, args.checkout, args.against, args.rounds)
        return
    policy = load_fairness_policy()
    if args.boot is not None:
        policy = policy.model_copy(update={"bootstrap": policy.bootstrap.model_copy(
            update={"n": args.boot})})
    frame = table(args.rows, args.seed)
    options = AuditOptions(label="label", score="score", top="10%", policy=policy)
    t0 = time.perf_counter()
    audit = fairness_audit(frame, options)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_fairness_report(audit, out)
    t2 = time.perf_counter()
    tables = len(audit.settings["characteristics"])
    print(f"rows: {args.rows:,}; tables: {tables}; groups: {len(audit.groups) - 1}; "
          f"bootstrap resamples: {policy.bootstrap.n:,}")
    print(f"fairness_audit: {t1 - t0:.1f} s; write_fairness_report: {t2 - t1:.1f} s")


if __name__ == "__main__":
    main()
