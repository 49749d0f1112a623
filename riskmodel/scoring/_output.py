"""Score a built matrix; write the scores, rejected rows, locality lists and an audit line."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from riskmodel._core.capacity import Capacity
from riskmodel._core.fingerprint import frame_fingerprint, sha256_file
from riskmodel._core.io import atomic_path
from riskmodel._core.version import __version__
from riskmodel.scoring._options import ScoreOptions
from riskmodel.scoring._score import (
    NO_LOCALITY,
    REJECTED_SCHEMA,
    CohortScorer,
)
from riskmodel.scoring._write import (
    audit_bytes,
    check_xlsx_size,
    fsync,
    locality_paths,
    output_paths,
    remove_stale_temporaries,
    stale_locality_files,
    stream_batches,
    stream_split,
)


@dataclass
class ScoreRun:
    """What a scoring run wrote: the paths, the counts and the audit record.

    ``counts`` are the whole cohort's (``rows_in``, ``scored``, ``rejected``,
    ``in_capacity``, ``explained``); ``by_locality`` holds the same (but ``explained``) for
    each locality; ``localities`` the per-locality lists written (``--by-locality``).
    """

    scores: Path
    rejected: Path
    audit: Path
    counts: dict
    record: dict
    by_locality: dict = field(default_factory=dict)
    localities: dict = field(default_factory=dict)
    capacity: Capacity | None = None


def matrix_fingerprint(matrix: pd.DataFrame | str | os.PathLike) -> str:
    """A SHA-256 of a matrix (a Parquet file's bytes, or a DataFrame's rows); never rows."""
    if isinstance(matrix, pd.DataFrame):
        return frame_fingerprint(matrix)
    return sha256_file(Path(matrix))


def score_matrix(matrix: pd.DataFrame | str | os.PathLike, loaded_model: Any, *,
                 out: str | os.PathLike, options: ScoreOptions | None = None,
                 data_fingerprint: str | None = None, audit: dict | None = None,
                 started: float | None = None, timings: dict | None = None,
                 not_scored: pd.DataFrame | None = None) -> ScoreRun:
    """Score a built matrix and write the scores, the rejected rows and an audit line.

    Parameters
    ----------
    matrix : DataFrame or path
        As for :func:`score_cohort`.
    loaded_model : LoadedModel
    out : path
        ``scores.parquet``, ``scores.csv`` (UTF-8 with a BOM, for Excel) or ``scores.xlsx``;
        beside it ``<name>.rejected.<suffix>`` (rows not scored, why) and ``scoring-audit.jsonl``.
    options : ScoreOptions, optional
        Capacity, who gets reasons, chunk size, one CSV per locality (``by_locality``: each
        locality's children in rank order, as ``<name>.locality-<locality>.csv``, private;
        an earlier run's lists for a locality not in this cohort are removed), characteristics.
    data_fingerprint : str, optional
        Recorded in the audit line; default: a hash of the matrix.
    audit : dict, optional
        More fields for the audit line (never child-level data).
    started : float, optional
        ``time.perf_counter()`` when the whole job began (the audit's ``seconds`` then cover
        loading the model and building the features too); default: when this one began.
    timings : dict, optional
        Seconds of earlier steps of the job, recorded in the audit's ``timings``.
    not_scored : DataFrame, optional
        Children open at the date but not in the matrix (``child_id``, ``locality``,
        ``reason``; e.g. an episode not yet known then): named in the rejected file, so every
        open child is scored or named; counted by reason in the audit's ``not_scored``.

    Returns
    -------
    ScoreRun
    """
    t0 = time.perf_counter() if started is None else started
    options = (options or ScoreOptions()).check()
    paths = _fresh_paths(out)
    t_score = time.perf_counter()
    scorer = _scorer(matrix, loaded_model, options)
    counts, per_locality = _checked_counts(scorer, paths["scores"])
    lists, stale = _locality_lists(paths["scores"], per_locality, options.by_locality)
    t_write = time.perf_counter()
    # Hidden temporaries, renamed together as the blocks exit, the audit line (run finished) last.
    with contextlib.ExitStack() as stack:
        tmp_audit = stack.enter_context(atomic_path(paths["audit"]))
        tmp_scores = _write_tables(stack, scorer, paths, lists, per_locality, not_scored)
        record = _audit_record(scorer, loaded_model, options, paths, lists, {
            "data_fingerprint": data_fingerprint or matrix_fingerprint(matrix),
            "scores_sha256": sha256_file(tmp_scores), "counts": counts,
            "by_locality": per_locality, "not_scored": _by_reason(not_scored)}, audit)
        _write_audit(tmp_audit, paths["audit"], record, t0, {
            **(timings or {}), **scorer.timings,
            "score": t_write - t_score, "write": time.perf_counter() - t_write})
    _remove(stale)  # last month's lists for a locality with no child this month
    return ScoreRun(scores=paths["scores"], rejected=paths["rejected"], audit=paths["audit"],
                    counts=counts, record=record, by_locality=per_locality, localities=lists,
                    capacity=scorer.capacity)


def _fresh_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The output paths, once temporaries a killed earlier run left beside them are removed."""
    paths = output_paths(out)
    remove_stale_temporaries(paths.values())
    return paths


def _scorer(matrix: pd.DataFrame | str | os.PathLike, loaded_model: Any,
            options: ScoreOptions) -> CohortScorer:
    """The cohort scored with the options' capacity, reasons, chunk size and characteristics."""
    return CohortScorer(matrix, loaded_model, top=options.top, explain_top=options.explain_top,
                        chunk_size=options.chunk_size,
                        with_characteristics=options.with_characteristics)


def _write_audit(tmp: Path, path: Path, record: dict, t0: float,
                 steps: dict[str, float]) -> None:
    """Time the record, then write the audit log with it appended to the temporary ``tmp``."""
    record["timings"] = {k: round(v, 2) for k, v in steps.items()}
    record["seconds"] = round(time.perf_counter() - t0, 2)
    tmp.write_bytes(audit_bytes(record, path))
    fsync(tmp)


def _remove(files: list[Path]) -> None:
    """Delete the files that still exist."""
    for old in files:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def _checked_counts(scorer: CohortScorer, scores: Path) -> tuple[dict, dict]:
    """The cohort's and each locality's counts, once checked that no row was lost."""
    counts = scorer.counts
    if counts["rows_in"] != counts["scored"] + counts["rejected"]:  # a bug, never a user error
        raise AssertionError(f"scoring lost rows: {counts}")
    check_xlsx_size(max(counts["scored"], counts["rejected"]), scores)
    return counts, scorer.by_locality()


def _locality_lists(scores: Path, per_locality: dict,
                    by_locality: bool) -> tuple[dict[str, Path], list[Path]]:
    """The locality lists to write (localities with a scored child) and stale ones to remove."""
    if not by_locality:
        return {}, []
    lists = locality_paths(scores, [k for k, v in per_locality.items() if v["scored"]])
    return lists, stale_locality_files(scores, lists.values())


def _write_tables(stack: contextlib.ExitStack, scorer: CohortScorer, paths: dict[str, Path],
                  lists: dict[str, Path], per_locality: dict,
                  not_scored: pd.DataFrame | None) -> Path:
    """Write locality lists, rejected rows and scores to temporaries; the scores' temporary."""
    counts = scorer.counts
    suffix = paths["scores"].suffix
    # Files with child ids are private to the owner; the audit (written after) holds none.
    tmp_lists = {name: stack.enter_context(atomic_path(path, private=True))
                 for name, path in lists.items()}
    tmp_rejected = stack.enter_context(atomic_path(paths["rejected"], private=True))
    tmp_scores = stack.enter_context(atomic_path(paths["scores"], private=True))
    named = _named_batches(not_scored, _first_as_of(scorer))
    n_rejected = stream_batches([scorer.rejected_batch(), *named], REJECTED_SCHEMA,
                                tmp_rejected, suffix=suffix, sheet="rejected")
    n_scored = stream_batches(scorer.batches(), scorer.schema, tmp_scores, suffix=suffix)
    n_named = sum(b.num_rows for b in named)
    if (n_scored, n_rejected) != (counts["scored"], counts["rejected"] + n_named):
        raise AssertionError(f"wrote {n_scored} + {n_rejected} rows for {counts}")
    if lists:
        written = stream_split(scorer.batches(), scorer.schema, "locality", tmp_lists,
                               missing=NO_LOCALITY)
        if any(n != per_locality[k]["scored"] for k, n in written.items()):
            raise AssertionError(f"wrote {written} rows for {per_locality}")
    return tmp_scores


def _audit_record(scorer: CohortScorer, loaded_model: Any, options: ScoreOptions,
                  paths: dict[str, Path], lists: dict[str, Path], facts: dict[str, Any],
                  audit: dict | None) -> dict:
    """The audit line (but its timings): model, options, ``facts`` and outputs; never ids."""
    meta = getattr(loaded_model, "meta", None) or {}
    as_of = _first_as_of(scorer)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "riskmodel_version": __version__,
        "model": {"name": getattr(loaded_model, "name", None),
                  "version": getattr(loaded_model, "version", None),
                  "run_id": getattr(loaded_model, "run_id", None),
                  "candidate": meta.get("candidate"), "kind": meta.get("kind"),
                  "trained_on_fingerprint": meta.get("data_fingerprint")},
        "outcome": meta.get("outcome"),
        "horizon_months": meta.get("horizon_months"),
        "as_of": None if as_of is None else str(as_of.date()),
        "data_fingerprint": facts["data_fingerprint"],
        "capacity": scorer.capacity.describe(),
        "capacity_rule": scorer.capacity_rule(),
        "reasons_for": scorer.explain.describe() if scorer.explain else "in capacity",
        "reasons_left_out": scorer.common_record(),
        "risk_bands": scorer.bands_record(),
        "counts": facts["counts"],
        "by_locality": facts["by_locality"],
        "rejected_reasons": scorer.rejected_reasons(),
        "not_scored": facts["not_scored"],
        "with_characteristics": bool(options.with_characteristics),
        "outputs": {"scores": paths["scores"].name, "rejected": paths["rejected"].name,
                    "scores_sha256": facts["scores_sha256"],
                    "by_locality": sorted(p.name for p in lists.values())},
        **(audit or {}),
    }


def _first_as_of(scorer: CohortScorer) -> Any:
    """The cohort's as-of date (a Timestamp), or None when no row has one."""
    as_of = scorer.as_of.to_pandas().dropna()
    return as_of.iloc[0] if len(as_of) else None


def _by_reason(named: pd.DataFrame | None) -> dict:
    """How many open children the matrix left out, by reason (for the audit; no ids)."""
    if named is None or not len(named):
        return {}
    return named["reason"].value_counts().sort_index().to_dict()


def _named_batches(named: pd.DataFrame | None, as_of: Any) -> list[pa.RecordBatch]:
    """Open children not in the matrix, as rows of the rejected file (with their reason)."""
    if named is None or not len(named):
        return []
    day = None if as_of is None else pd.Timestamp(as_of).date()
    return [pa.RecordBatch.from_arrays([
        pa.array(named["child_id"].astype(str).tolist(), type=pa.string()),
        pa.array([None if pd.isna(v) else str(v) for v in named["locality"]],
                 type=pa.string()),
        pa.array([day] * len(named), type=pa.date32()),
        pa.array(named["reason"].astype(str).tolist(), type=pa.string()),
    ], schema=REJECTED_SCHEMA)]
