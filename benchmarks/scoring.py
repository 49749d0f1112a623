"""Scoring at scale: time and peak memory for a 1,000,000-child cohort.

    python benchmarks/scoring.py                     # 1,000,000 children (about 15 minutes)
    python benchmarks/scoring.py --children 100000   # a quicker look

What it does:

1. Builds a realistic model and matrix (cached in ``--workdir``): a synthetic council of
   ``--council-children`` children, the packaged escalation spec's training matrix, and
   the packaged LightGBM candidate (its shape as ``training/escalation.yaml`` sets it, with
   the spec's calibration) fitted on it. The cohort to score is made by sampling rows of
   the real built matrix (with new child ids) up to ``--children`` rows, stored as
   Parquet; building features is not part of any timing below.
2. Speed, in one process, alternating so both see the same machine load: raw LightGBM
   ``predict`` on the matrix already converted to a float array, against
   ``CohortScorer`` on the matrix as ``build_matrix`` returns it (a DataFrame), without
   reasons: conversion, rejection checks, margin, calibration, ranks, ventiles, bands and
   capacity. ``--repeats`` pairs; the ratio of each pair (and their median, the figure
   judged against the target, as the machine's load moves between pairs), the best of
   each, and the ratio of CPU times.
3. Reasons for the top 10% (the packaged capacity): the second pass of a default run (and
   the first pass's count of the values nearly every child shares, which only a run with
   reasons makes), and the three TreeSHAP routes on the same rows (vectorised tables,
   LightGBM ``pred_contrib``, shap ``TreeExplainer``), timed on a sample and projected.
4. Peak memory, each in a fresh process: the whole run (scores, reasons for the top 10%,
   files written) from the Parquet matrix, streamed in chunks, at two cohort sizes to show
   memory stays flat; and from a DataFrame held in memory.

Figures print as they come and are saved to ``<workdir>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _status_gb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1e6  # kB
    except OSError:
        pass
    return None


def peak_rss_gb() -> float:
    """This process's peak resident memory (GB).

    Linux's VmHWM belongs to the process's own address space; ``ru_maxrss`` would also count
    the parent's memory at the time it started this process.
    """
    peak = _status_gb("VmHWM")
    return peak if peak is not None else (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)  # kB on Linux


def reset_peak() -> None:
    """Restart the peak-memory count from the current use (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def load(workdir: Path):
    from riskmodel.models import model_from_dict
    from riskmodel.store import LoadedModel

    payload = json.loads((workdir / "model.json").read_text())
    return LoadedModel(model=model_from_dict(payload["model"]), meta=payload["meta"],
                       name="benchmark", version="1", run_id="benchmark")


# ------------------------------------------------------------------ preparation -------------

def prepare(workdir: Path, *, council_children: int, sizes: list[int]) -> None:
    from riskmodel._core.fingerprint import tables_fingerprint as data_fingerprint
    from riskmodel.data import generate_council
    from riskmodel.jobs import training_matrix
    from riskmodel.scoring import band_cut_points
    from riskmodel.training import fit_final, load_training_spec

    workdir.mkdir(parents=True, exist_ok=True)
    council = workdir / f"council-{council_children}"
    spec = load_training_spec(outcome="escalation")
    cand = next(c for c in spec.candidates if c.kind == "lightgbm")
    cached = workdir / "model.json"
    if cached.exists() and json.loads(cached.read_text())["meta"].get("params") != cand.params:
        cached.unlink()  # the packaged spec changed: train its shape again
        for old in workdir.glob("matrix-*.parquet"):
            old.unlink()
    if not cached.exists():
        t0 = time.perf_counter()
        if not (council / "manifest.json").exists():
            generate_council(n_children=council_children, seed=1, out=council)
        tm = training_matrix(council, spec)
        tables, matrix, features, fspec = tm.extract.tables, tm.matrix, tm.features, tm.feature_spec
        model = fit_final(matrix, features, cand, spec)
        meta = {"outcome": spec.outcome, "horizon_months": spec.horizon_months,
                "features": features, "feature_spec": fspec.model_dump(mode="json"),
                "capacity": spec.capacity.model_dump(), "candidate": cand.name,
                "kind": cand.kind, "data_fingerprint": data_fingerprint(tables),
                "params": cand.params, "risk_bands": band_cut_points(matrix["label"])}
        (workdir / "model.json").write_text(json.dumps({"model": model.to_dict(),
                                                        "meta": meta}))
        keep = ["child_id", "family_id", "as_of", "label", "locality", *features]
        matrix[keep].to_parquet(workdir / "pool.parquet")
        print(f"prepared: council of {council_children:,}, training matrix "
              f"{len(matrix):,} x {len(features)} features, LightGBM {cand.params} "
              f"({time.perf_counter() - t0:.0f}s)", flush=True)
    pool = pd.read_parquet(workdir / "pool.parquet")
    for n in sizes:
        path = workdir / f"matrix-{n}.parquet"
        if path.exists():
            continue
        rng = np.random.default_rng(n)
        m = pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)
        m["child_id"] = pd.array([f"B{i:07d}" for i in range(n)], dtype="str")
        m["family_id"] = m["child_id"]
        m["as_of"] = pool["as_of"].max()
        m["label"] = pd.array([pd.NA] * n, dtype="Int64")
        m.to_parquet(path, row_group_size=50_000)
        print(f"sampled a cohort of {n:,} children from {len(pool):,} built rows", flush=True)


# ------------------------------------------------------------------ stages ------------------

def stage_speed(workdir: Path, n: int, repeats: int) -> dict:
    from riskmodel.scoring._score import CohortScorer

    loaded = load(workdir)
    features = list(loaded.model.feature_names_in_)
    booster = loaded.model.base_.booster_
    matrix = pd.read_parquet(workdir / f"matrix-{n}.parquet")
    threads = int(loaded.model.base_.n_jobs)  # the scorer uses the model's own setting
    t0 = time.perf_counter()
    booster.predict(matrix[features], num_threads=threads)  # LightGBM converting the frame
    given_frame = time.perf_counter() - t0
    t0 = time.perf_counter()
    X = np.ascontiguousarray(matrix[features].to_numpy(np.float64))
    convert = time.perf_counter() - t0
    raw, ours, raw_cpu, ours_cpu, steps = [], [], [], [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        booster.predict(X, num_threads=threads)
        raw.append(time.perf_counter() - t0)
        raw_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        scorer = CohortScorer(matrix, loaded, explain_top="none")
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(time.process_time() - c0)
        steps.append(scorer.timings)
    assert scorer.counts["scored"] == n
    best = min(range(repeats), key=lambda i: ours[i])
    each = [o / r for o, r in zip(ours, raw, strict=True)]
    return {"rows": n, "features": len(features), "threads": threads,
            "raw_predict_s": min(raw),
            "raw_predict_all_s": raw, "scoring_s": min(ours), "scoring_all_s": ours,
            "ratio": min(ours) / min(raw), "ratio_each_repeat": each,
            "ratio_median": float(np.median(each)),
            "cpu_ratio": sum(ours_cpu) / sum(raw_cpu), "raw_cpu_s": raw_cpu,
            "scoring_cpu_s": ours_cpu,
            "scoring_steps_s": steps[best], "dataframe_to_float_whole_s": convert,
            "raw_predict_given_dataframe_s": given_frame}


def stage_reasons(workdir: Path, n: int, sample: int) -> dict:
    from riskmodel.models._contributions import _SHAP_CACHE, _vectorised, feature_contributions
    from riskmodel.scoring._score import CohortScorer

    loaded = load(workdir)
    features = list(loaded.model.feature_names_in_)
    matrix = pd.read_parquet(workdir / f"matrix-{n}.parquet")
    t0 = time.perf_counter()
    scorer = CohortScorer(matrix, loaded)  # the default run: reasons for those in capacity
    total = time.perf_counter() - t0
    explained = scorer.counts["explained"]
    top = matrix.iloc[scorer.rows[scorer.explained][:sample]][features]
    _SHAP_CACHE.clear()
    t0 = time.perf_counter()
    _vectorised(loaded.model.base_.booster_)
    build = time.perf_counter() - t0
    per_row = {}
    t0 = time.perf_counter()
    ref = feature_contributions(loaded.model, top, method="vectorised")
    per_row["vectorised"] = (time.perf_counter() - t0) / len(top)
    small = top.iloc[: max(1, sample // 4)]
    for method in ("lightgbm", "shap"):
        t0 = time.perf_counter()
        got = feature_contributions(loaded.model, small, method=method)
        per_row[method] = (time.perf_counter() - t0) / len(small)
        assert np.allclose(got.to_numpy(), ref.iloc[: len(small)].to_numpy(), atol=1e-9)
    t0 = time.perf_counter()
    CohortScorer(matrix, loaded, explain_top="none")
    without = time.perf_counter() - t0
    return {"rows": n, "explained": explained, "run_with_reasons_s": total,
            "run_without_reasons_s": without,
            "steps_s": scorer.timings, "reasons_s": scorer.timings["second_pass"],
            "treeshap_sample_rows": {"vectorised": len(top), "lightgbm": len(small),
                                     "shap": len(small)},
            "treeshap_tables_build_s": build,
            "treeshap_ms_per_row": {k: v * 1000 for k, v in per_row.items()},
            "treeshap_projected_s": {k: v * explained + (build if k == "vectorised" else 0)
                                     for k, v in per_row.items()}}


def stage_file(workdir: Path, n: int, source: str) -> dict:
    from riskmodel.scoring import score_matrix

    loaded = load(workdir)
    path = workdir / f"matrix-{n}.parquet"
    before = peak_rss_gb()
    t_read, read_peak, held = 0.0, None, None
    if source == "dataframe":
        import pyarrow as pa

        t0 = time.perf_counter()
        matrix = pd.read_parquet(path)
        t_read = time.perf_counter() - t0
        read_peak = peak_rss_gb()  # reading Parquet into pandas briefly holds two copies
        pa.default_memory_pool().release_unused()  # Arrow keeps freed pages otherwise
        held = _status_gb("VmRSS")
        reset_peak()  # from here on: the matrix held in memory, and scoring it
    else:
        matrix = path
    out = workdir / "out" / f"scores-{n}-{source}.parquet"
    t0 = time.perf_counter()
    run = score_matrix(matrix, loaded, out=out, data_fingerprint="benchmark")
    seconds = time.perf_counter() - t0
    return {"rows": n, "source": source, "seconds": seconds, "read_matrix_s": t_read,
            "counts": run.counts, "steps_s": run.record["timings"],
            "peak_rss_gb": peak_rss_gb(), "rss_after_imports_gb": before,
            "peak_rss_reading_matrix_gb": read_peak, "rss_holding_matrix_gb": held,
            "scores_mb": out.stat().st_size / 1e6}


def run_stage(args: list[str]) -> dict:
    """Run one stage in a fresh Python so its peak memory is its own."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"stage {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--council-children", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("benchmark-scoring"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", type=int, default=2_000,
                        help="rows timed for each TreeSHAP route (pred_contrib and shap "
                             "take a quarter of them)")
    parser.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.stage:
        name, n = a.stage[0], int(a.stage[1])
        if name == "speed":
            result = stage_speed(a.workdir, n, a.repeats)
        elif name == "reasons":
            result = stage_reasons(a.workdir, n, a.sample)
        else:
            result = stage_file(a.workdir, n, a.stage[2])
        print(json.dumps(result))
        return

    n = a.children
    small = max(n // 4, 1)
    prepare(a.workdir, council_children=a.council_children, sizes=sorted({small, n}))
    common = ["--workdir", str(a.workdir), "--repeats", str(a.repeats),
              "--sample", str(a.sample)]
    results = {"children": n, "machine": {"cpus": os.cpu_count()}}
    results["speed"] = s = run_stage([*common, "--stage", "speed", str(n)])
    print(f"\nscores for {n:,} children ({s['features']} features, LightGBM on "
          f"{s['threads']} thread(s) as the model is set), best of {a.repeats}:\n"
          f"  raw LightGBM predict on a ready float array  {s['raw_predict_s']:7.1f} s\n"
          f"  CohortScorer on the DataFrame (no reasons)   {s['scoring_s']:7.1f} s  "
          f"= {s['ratio']:.2f}x raw\n"
          f"  paired repeats: "
          f"{', '.join(f'{r:.2f}' for r in s['ratio_each_repeat'])} (median "
          f"{s['ratio_median']:.2f}); CPU time {s['cpu_ratio']:.2f}x raw\n"
          f"  (for comparison, LightGBM predict given the DataFrame itself, converting it: "
          f"{s['raw_predict_given_dataframe_s']:.1f} s once)\n"
          f"  steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in s["scoring_steps_s"].items()),
          flush=True)
    results["reasons"] = r = run_stage([*common, "--stage", "reasons", str(n)])
    print(f"\nreasons for the top 10% ({r['explained']:,} children): "
          f"{r['reasons_s']:.1f} s (whole run with reasons {r['run_with_reasons_s']:.1f} s, "
          f"without {r['run_without_reasons_s']:.1f} s)\n"
          f"  TreeSHAP routes on {r['treeshap_sample_rows']['vectorised']:,} of those rows "
          f"(tables built once in {r['treeshap_tables_build_s']:.1f} s), "
          "ms per row [projected for all of them]: "
          + "; ".join(f"{k} {v:.2f} [{r['treeshap_projected_s'][k]:.0f} s]"
                      for k, v in r["treeshap_ms_per_row"].items()), flush=True)
    results["memory"] = []
    for size, source in ((small, "parquet"), (n, "parquet"), (n, "dataframe")):
        f = run_stage([*common, "--stage", "file", str(size), source])
        results["memory"].append(f)
        held = ""
        if f["peak_rss_reading_matrix_gb"] is not None:
            held = (f"; {f['rss_holding_matrix_gb']:.2f} GB holding the matrix before "
                    f"scoring; reading it into pandas peaked at "
                    f"{f['peak_rss_reading_matrix_gb']:.2f} GB, not counted)")
        print(f"\nwhole run, {size:,} children from a {source} (scores + reasons for "
              f"{f['counts']['explained']:,} + files): {f['seconds']:.1f} s, "
              f"peak memory {f['peak_rss_gb']:.2f} GB "
              f"({f['rss_after_imports_gb']:.2f} GB after imports{held})", flush=True)
    (a.workdir / "results.json").write_text(json.dumps(results, indent=1))
    ok = (s["ratio_median"] <= 1.3, r["reasons_s"] <= 60,
          all(m["peak_rss_gb"] <= 2.0 for m in results["memory"]))
    print(f"\ntargets: scoring <= 1.3x raw predict (median of paired repeats): "
          f"{'met' if ok[0] else 'MISSED'}; "
          f"reasons for the top 10% <= 60 s: {'met' if ok[1] else 'MISSED'}; "
          f"peak memory <= 2 GB: {'met' if ok[2] else 'MISSED'}  "
          f"(results in {a.workdir / 'results.json'})")


if __name__ == "__main__":
    main()
