"""Score a built matrix; write the scores, rejected rows, locality lists and an audit line."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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


def matrix_fingerprint(matrix) -> str:
    """A SHA-256 of a matrix (a Parquet file's bytes, or a DataFrame's rows); never rows."""
    if isinstance(matrix, pd.DataFrame):
        return frame_fingerprint(matrix)
    return sha256_file(Path(matrix))


def score_matrix(matrix, loaded_model, *, out: str | os.PathLike,
                 options: ScoreOptions | None = None, data_fingerprint: str | None = None,
                 audit: dict | None = None, started: float | None = None,
                 timings: dict | None = None, not_scored: pd.DataFrame | None = None
                 ) -> ScoreRun:
    """Score a built matrix and write the scores, the rejected rows and an audit line.

    Parameters
    ----------
    matrix : DataFrame or path
        As for :func:`score_cohort`.
    loaded_model : LoadedModel
    out : path
        ``scores.parquet``, ``scores.csv`` (UTF-8 with a byte-order mark, for Excel) or
        ``scores.xlsx``. Beside it go ``<name>.rejected.<suffix>`` (rows that could not be
        scored, with the reason) and ``scoring-audit.jsonl``.
    options : ScoreOptions, optional
        Capacity, who gets reasons, chunk size, one CSV per locality (``by_locality``:
        each locality's children, every column, rank order, written as
        ``<name>.locality-<locality>.csv`` beside the scores file, private like it; lists an
        earlier run wrote for a locality not in this cohort are removed) and characteristics.
    data_fingerprint : str, optional
        Recorded in the audit line; default: a hash of the matrix.
    audit : dict, optional
        More fields for the audit line (never child-level data).
    started : float, optional
        ``time.perf_counter()`` when the whole job began (the audit's ``seconds`` then
        covers loading the model, reading the extract and building the features too);
        default: when this function began.
    timings : dict, optional
        Seconds of earlier steps of the job, recorded in the audit's ``timings``.
    not_scored : DataFrame, optional
        Children open at the date who are not in the matrix (``child_id``, ``locality``,
        ``reason``; e.g. an episode not yet known then): listed in the rejected file with
        their reason, so every open child is scored or named; counted in the audit's
        ``not_scored`` (by reason), apart from ``counts``, which are the matrix's.

    Returns
    -------
    ScoreRun
    """
    t0 = time.perf_counter() if started is None else started
    options = (options or ScoreOptions()).check()
    by_locality = options.by_locality
    paths = output_paths(out)
    remove_stale_temporaries(paths.values())
    t_score = time.perf_counter()
    scorer = CohortScorer(matrix, loaded_model, top=options.top, explain_top=options.explain_top,
                          chunk_size=options.chunk_size,
                          with_characteristics=options.with_characteristics)
    counts = scorer.counts
    if counts["rows_in"] != counts["scored"] + counts["rejected"]:  # a bug, never a user error
        raise AssertionError(f"scoring lost rows: {counts}")
    check_xlsx_size(max(counts["scored"], counts["rejected"]), paths["scores"])
    per_locality = scorer.by_locality()
    lists = (locality_paths(paths["scores"], [k for k, v in per_locality.items() if v["scored"]])
             if by_locality else {})
    stale = stale_locality_files(paths["scores"], lists.values()) if by_locality else []
    meta = getattr(loaded_model, "meta", None) or {}
    as_of = scorer.as_of.to_pandas().dropna()
    suffix = paths["scores"].suffix
    t_write = time.perf_counter()
    # Every file is written to a hidden temporary first; the renames happen together when
    # the blocks exit (scores, rejected rows, locality lists, then the audit line that says
    # the run finished). Files with child ids are private to the owner; the audit holds none.
    with contextlib.ExitStack() as stack:
        tmp_audit = stack.enter_context(atomic_path(paths["audit"]))
        tmp_lists = {name: stack.enter_context(atomic_path(path, private=True))
                     for name, path in lists.items()}
        tmp_rejected = stack.enter_context(atomic_path(paths["rejected"], private=True))
        tmp_scores = stack.enter_context(atomic_path(paths["scores"], private=True))
        named = _named_batches(not_scored, as_of.iloc[0] if len(as_of) else None)
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
        record = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "riskmodel_version": __version__,
            "model": {"name": getattr(loaded_model, "name", None),
                      "version": getattr(loaded_model, "version", None),
                      "run_id": getattr(loaded_model, "run_id", None),
                      "candidate": meta.get("candidate"), "kind": meta.get("kind"),
                      "trained_on_fingerprint": meta.get("data_fingerprint")},
            "outcome": meta.get("outcome"),
            "horizon_months": meta.get("horizon_months"),
            "as_of": str(as_of.iloc[0].date()) if len(as_of) else None,
            "data_fingerprint": data_fingerprint or matrix_fingerprint(matrix),
            "capacity": scorer.capacity.describe(),
            "capacity_rule": scorer.capacity_rule(),
            "reasons_for": scorer.explain.describe() if scorer.explain else "in capacity",
            "reasons_left_out": scorer.common_record(),
            "risk_bands": scorer.bands_record(),
            "counts": counts,
            "by_locality": per_locality,
            "rejected_reasons": scorer.rejected_reasons(),
            "not_scored": ({} if not_scored is None or not n_named else
                           not_scored["reason"].value_counts().sort_index().to_dict()),
            "with_characteristics": bool(options.with_characteristics),
            "outputs": {"scores": paths["scores"].name, "rejected": paths["rejected"].name,
                        "scores_sha256": sha256_file(tmp_scores),
                        "by_locality": sorted(p.name for p in lists.values())},
            **(audit or {}),
        }
        steps = {**(timings or {}), **scorer.timings,
                 "score": t_write - t_score, "write": time.perf_counter() - t_write}
        record["timings"] = {k: round(v, 2) for k, v in steps.items()}
        record["seconds"] = round(time.perf_counter() - t0, 2)
        tmp_audit.write_bytes(audit_bytes(record, paths["audit"]))
        fsync(tmp_audit)
    for old in stale:  # last month's list for a locality with no child this month
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return ScoreRun(scores=paths["scores"], rejected=paths["rejected"], audit=paths["audit"],
                    counts=counts, record=record, by_locality=per_locality, localities=lists,
                    capacity=scorer.capacity)


def _named_batches(named: pd.DataFrame | None, as_of) -> list:
    """Open children not in the matrix, as rows of the rejected file (with their reason)."""
    import pyarrow as pa

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
