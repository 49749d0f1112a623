"""Whether two checkouts train the same models: a whole ``riskmodel train`` dumped, then compared.

Run ``dump`` once per checkout, each in its own process with that checkout first on the path,
then ``compare`` the two dumps: the leaderboard, per-date metrics, selection values, learning
curve, regrets, half-widths and every candidate's test predictions exactly
(``assert_frame_equal(check_exact=True)``), each final model's JSON, and the SHA-256 of every
file the run logged to MLflow (``model.json`` without its ``git_commit``, which names the
checkout)::

    python3 -m riskmodel synth --children 5000 --seed 1 --out /tmp/c5k
    cd /tmp && PYTHONPATH=/old/checkout python3 benchmarks/training_identity.py dump \\
        --data /tmp/c5k --out /tmp/old.pkl
    cd /tmp && PYTHONPATH=/new/checkout python3 benchmarks/training_identity.py dump \\
        --data /tmp/c5k --out /tmp/new.pkl
    python3 benchmarks/training_identity.py compare /tmp/old.pkl /tmp/new.pkl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import tempfile
import time
from pathlib import Path

LOGGED = (".json", ".csv", ".parquet", ".html", ".txt")


def _digest(path: Path) -> str:
    """A logged file's SHA-256 (a ``model.json`` without the commit of its checkout)."""
    data = path.read_bytes()
    if path.name == "model.json":
        model = json.loads(data)
        model["meta"].pop("git_commit", None)
        data = json.dumps(model, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def dump(data: str, out: str) -> None:
    """Train on ``data`` (MLflow in a temporary folder) and pickle what must not change."""
    work = Path(tempfile.mkdtemp(prefix="riskmodel-identity-"))
    os.chdir(work)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    import riskmodel
    from riskmodel.jobs import train

    t0, c0 = time.perf_counter(), time.process_time()
    res = train(data)
    print(f"{riskmodel.__file__}: wall {time.perf_counter() - t0:.1f}s "
          f"CPU {time.process_time() - c0:.1f}s")
    kept: dict = {"leaderboard": res.leaderboard(), "per_date": res.per_date(),
                  "curve": res.learning_curve, "chosen": res.chosen, "notes": res.notes}
    for r in res.candidates:
        kept.update({f"{r.name}.pred": r.predictions, f"{r.name}.selection": r.selection_metrics,
                     f"{r.name}.metrics": r.metrics, f"{r.name}.model": r.model.to_dict(),
                     f"{r.name}.half": r.half_widths, f"{r.name}.regret": r.regret})
    files: dict[str, list[str]] = {}
    for path in sorted(work.rglob("*")):
        if path.is_file() and path.suffix in LOGGED:
            files.setdefault(path.name, []).append(_digest(path))
    kept["files"] = {name: sorted(d) for name, d in files.items()}
    Path(out).write_bytes(pickle.dumps(kept))


def compare(a_path: str, b_path: str) -> list:
    """What differs between two dumps (empty: identical)."""
    import pandas as pd

    a, b = (pickle.loads(Path(p).read_bytes()) for p in (a_path, b_path))
    bad: list = [("keys", sorted(a.keys() ^ b.keys()))] if a.keys() != b.keys() else []
    for key in sorted(a.keys() & b.keys()):
        x, y = a[key], b[key]
        if isinstance(x, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(x, y, check_exact=True)
            except AssertionError as exc:
                bad.append((key, str(exc)[:300]))
        elif key == "files":
            bad += [(key, name) for name in sorted(x.keys() | y.keys())
                    if x.get(name) != y.get(name)]
        elif x != y and not (x != x and y != y):  # NaN equals NaN here
            bad.append((key, "differs"))
    print("files compared:", ", ".join(sorted(a["files"])))
    print("IDENTICAL" if not bad else bad)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--data", required=True)
    d.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = parser.parse_args()
    if args.what == "dump":
        dump(args.data, str(Path(args.out).resolve()))
    elif compare(args.a, args.b):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
