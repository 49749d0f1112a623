"""CPU time of the monitoring reference that training logs with each candidate (issue 33).

Builds the training matrix of the packaged escalation spec, fits its candidates on every
labelled row (or loads them from ``--models``, written by an earlier run, so two checkouts
time the same models), then times, with ``time.process_time`` (every thread):

- ``training_reference`` (the rows at the 12 monthly reference dates, early outcomes,
  contacts);
- the model-free part every candidate shares (``TrainingReference.inputs``: each feature's
  buckets and counts per calendar month, the mix, the cohort), where the checkout has it;
- each candidate's ``reference.json`` (``TrainingReference.for_model``), with its SHA-256, so
  two checkouts can be compared byte for byte.

Run it alternately with two checkouts on the path (``PYTHONPATH=/old python3 ...``,
``PYTHONPATH=/new python3 ...``) on a loaded machine:

    python3 -m riskmodel synth --children 10000 --seed 1 --out /tmp/mon/c10k
    python3 benchmarks/reference.py --data /tmp/mon/c10k --models /tmp/mon/models10k.pkl
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import pickle
import time
from pathlib import Path

from riskmodel.jobs import training_matrix
from riskmodel.training import fit_final, load_training_spec


def main() -> None:
    """Time the reference of each candidate (see the module's docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a council extract (riskmodel synth)")
    ap.add_argument("--models", type=Path, help="fitted candidates: read if it exists, "
                    "else written (pickle; a benchmark's own file, never shared)")
    ap.add_argument("--last-test-date", default="2025-04-01",
                    help="the last out-of-time test date (the reference year ends there)")
    args = ap.parse_args()
    spec = load_training_spec(outcome="escalation")
    tm = training_matrix(args.data, spec)
    if args.models is not None and args.models.exists():
        models = pickle.loads(args.models.read_bytes())
    else:
        models = [fit_final(tm.matrix, tm.features, c, spec) for c in spec.candidates]
        if args.models is not None:
            args.models.write_bytes(pickle.dumps(models))
    job = importlib.import_module("riskmodel.jobs.monitor")
    t0 = time.process_time()
    ref = job.training_reference(tm.extract, tm.matrix, tm.features, outcome=spec.outcome,
                                 horizon_months=spec.horizon_months,
                                 test_dates=[args.last_test_date], spec=tm.feature_spec)
    print(f"training_reference ({len(ref.rows):,} rows at 12 dates): "
          f"{time.process_time() - t0:.1f} s CPU", flush=True)
    total = 0.0
    if hasattr(type(ref), "inputs"):  # a checkout that shares the model-free part
        t0 = time.process_time()
        _ = ref.inputs
        total += (spent := time.process_time() - t0)
        print(f"  model-free part, once: {spent:.1f} s CPU", flush=True)
    for cand, model in zip(spec.candidates, models, strict=True):
        t0 = time.process_time()
        text = ref.for_model(model, capacity=spec.capacity.model_dump(), risk_bands_cuts=None,
                             seed=spec.seed)
        total += (spent := time.process_time() - t0)
        print(f"  {cand.name}: {spent:.1f} s CPU, reference.json sha256 "
              f"{hashlib.sha256(text).hexdigest()[:16]}", flush=True)
    print(f"references of {len(models)} candidates: {total:.1f} s CPU")


if __name__ == "__main__":
    main()
