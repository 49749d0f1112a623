"""Score a built matrix and write the scores, the rejected rows and an audit line."""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel._core.fingerprint import frame_fingerprint, sha256_file
from riskmodel._core.io import atomic_path
from riskmodel._core.version import __version__
from riskmodel.scoring._score import DEFAULT_CHUNK_SIZE, REJECTED_SCHEMA, SCORE_SCHEMA, CohortScorer
from riskmodel.scoring._write import (
    audit_bytes,
    fsync,
    output_paths,
    remove_stale_temporaries,
    stream_batches,
)


@dataclass
class ScoreRun:
    """What a scoring run wrote: the three paths, the counts and the audit record."""

    scores: Path
    rejected: Path
    audit: Path
    counts: dict
    record: dict


def matrix_fingerprint(matrix) -> str:
    """A SHA-256 of a matrix (a Parquet file's bytes, or a DataFrame's rows); never rows."""
    if isinstance(matrix, pd.DataFrame):
        return frame_fingerprint(matrix)
    return sha256_file(Path(matrix))


def score_matrix(matrix, loaded_model, *, out: str | os.PathLike, top=None, explain_top=None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, data_fingerprint: str | None = None,
                 audit: dict | None = None) -> ScoreRun:
    """Score a built matrix and write the scores, the rejected rows and an audit line.

    Parameters
    ----------
    matrix : DataFrame or path
        As for :func:`score_cohort`.
    loaded_model : LoadedModel
    out : path
        ``scores.parquet`` or ``scores.csv``. Beside it go ``<name>.rejected.<suffix>``
        (rows that could not be scored, with the reason) and ``scoring-audit.jsonl``.
    top, explain_top, chunk_size
        As for :func:`score_cohort`.
    data_fingerprint : str, optional
        Recorded in the audit line; default: a hash of the matrix.
    audit : dict, optional
        More fields for the audit line (never child-level data).

    Returns
    -------
    ScoreRun
    """
    t0 = time.perf_counter()
    paths = output_paths(out)
    remove_stale_temporaries(paths.values())
    scorer = CohortScorer(matrix, loaded_model, top=top, explain_top=explain_top,
                          chunk_size=chunk_size)
    counts = scorer.counts
    if counts["rows_in"] != counts["scored"] + counts["rejected"]:  # a bug, never a user error
        raise AssertionError(f"scoring lost rows: {counts}")
    meta = getattr(loaded_model, "meta", None) or {}
    as_of = scorer.as_of.to_pandas().dropna()
    suffix = paths["scores"].suffix
    # Every file is written to a hidden temporary first; the renames happen together when
    # the blocks exit (scores, rejected rows, then the audit line that says the run finished).
    # Scores and rejected rows hold child ids: private to the owner. The audit holds none.
    with atomic_path(paths["audit"]) as tmp_audit, \
            atomic_path(paths["rejected"], private=True) as tmp_rejected, \
            atomic_path(paths["scores"], private=True) as tmp_scores:
        n_rejected = stream_batches([scorer.rejected_batch()], REJECTED_SCHEMA, tmp_rejected,
                                    suffix=suffix)
        n_scored = stream_batches(scorer.batches(), SCORE_SCHEMA, tmp_scores, suffix=suffix)
        if (n_scored, n_rejected) != (counts["scored"], counts["rejected"]):
            raise AssertionError(f"wrote {n_scored} + {n_rejected} rows for {counts}")
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
            "reasons_for": scorer.explain.describe() if scorer.explain else "in capacity",
            "counts": counts,
            "rejected_reasons": scorer.rejected_reasons(),
            "outputs": {"scores": paths["scores"].name, "rejected": paths["rejected"].name,
                        "scores_sha256": sha256_file(tmp_scores)},
            "timings": {k: round(v, 2) for k, v in scorer.timings.items()},
            **(audit or {}),
        }
        record["seconds"] = round(time.perf_counter() - t0, 2)
        tmp_audit.write_bytes(audit_bytes(record, paths["audit"]))
        fsync(tmp_audit)
    return ScoreRun(scores=paths["scores"], rejected=paths["rejected"], audit=paths["audit"],
                    counts=counts, record=record)
