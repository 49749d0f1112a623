"""``riskmodel score``: features for a date, scores for every child, files and an audit line."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .._errors import InputError
from .._io import atomic_path
from ._cohort import DEFAULT_CHUNK_SIZE, REJECTED_SCHEMA, SCORE_SCHEMA, CohortScorer
from ._select import parse_selection
from ._write import (
    audit_bytes,
    fsync,
    output_paths,
    readable_like_a_new_file,
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def matrix_fingerprint(matrix) -> str:
    """A SHA-256 of a matrix (a Parquet file's bytes, or a DataFrame's rows); never rows."""
    if isinstance(matrix, pd.DataFrame):
        rows = np.sort(pd.util.hash_pandas_object(matrix, index=False).to_numpy())
        h = hashlib.sha256(",".join(map(str, matrix.columns)).encode())
        h.update(rows.tobytes())
        return h.hexdigest()
    return _sha256(Path(matrix))


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
    with atomic_path(paths["audit"]) as tmp_audit, \
            atomic_path(paths["rejected"]) as tmp_rejected, \
            atomic_path(paths["scores"]) as tmp_scores:
        for tmp in (tmp_audit, tmp_rejected, tmp_scores):
            readable_like_a_new_file(tmp)
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
                        "scores_sha256": _sha256(tmp_scores)},
            "timings": {k: round(v, 2) for k, v in scorer.timings.items()},
            **(audit or {}),
        }
        record["seconds"] = round(time.perf_counter() - t0, 2)
        tmp_audit.write_bytes(audit_bytes(record, paths["audit"]))
        fsync(tmp_audit)
    return ScoreRun(scores=paths["scores"], rejected=paths["rejected"], audit=paths["audit"],
                    counts=counts, record=record)


def score(data, model_uri: str = "models:/escalation@champion", as_of=None, *,
          out: str | os.PathLike, top=None, explain_top=None,
          chunk_size: int = DEFAULT_CHUNK_SIZE, extract_date=None) -> ScoreRun:
    """Score every child open to early help at ``as_of`` with a registered model.

    Loads the model (checking its checksum), reads and checks the council's extract,
    builds the features for the date with the model's own feature spec (labels are not
    needed, so the date may be the extract date), scores every child in the cohort and
    writes the scores, the rejected rows and an audit line (see :func:`score_matrix`).

    Parameters
    ----------
    data : path
        The council extract: a folder of Parquet/CSV tables or a DuckDB file.
    model_uri : str, default="models:/escalation@champion"
        ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
    as_of : str or date, optional
        The as-of date; default: the extract date.
    out : path
        ``scores.parquet`` or ``scores.csv``.
    top, explain_top, chunk_size
        As for :func:`score_cohort`.
    extract_date : str or date, optional
        Default: ``manifest.json``'s ``extract_date`` in ``data``, else the latest date in
        the tables.

    Returns
    -------
    ScoreRun

    Examples
    --------
    >>> run = score("council/", "models:/escalation@champion", "2025-12-01",
    ...             out="scores.parquet")  # doctest: +SKIP
    >>> run.counts  # doctest: +SKIP
    {'rows_in': 2210, 'scored': 2210, 'rejected': 0, 'in_capacity': 221, 'explained': 221}
    """
    from ..data import load_tables, read_extract_date
    from ..features import build_matrix
    from ..features._spec import FeatureSpec
    from ..training import latest_date, load_model
    from ..training._train import data_fingerprint

    # Bad options fail before any slow work.
    output_paths(out)
    if top is not None:
        parse_selection(top)
    if explain_top is not None:
        parse_selection(explain_top, option="--explain-top", allow_all=True)
    loaded = load_model(model_uri)
    meta = loaded.meta
    try:
        fspec = FeatureSpec.model_validate(meta["feature_spec"])
    except Exception as exc:  # pydantic error or a missing key: an unusable artefact
        detail = " ".join(str(exc).split())[:160]
        raise InputError(f"model: {model_uri} (version {loaded.version}) has no usable "
                         f"feature spec ({detail})") from None
    if extract_date is None and Path(data).is_dir():
        extract_date = read_extract_date(data)
    tables = load_tables(data, extract_date=extract_date)
    extract = pd.Timestamp(extract_date) if extract_date is not None else latest_date(tables)
    when = extract if as_of is None else _date("--as-of", as_of)
    if when > extract:
        raise InputError(f"--as-of: {when.date()} is after the extract date {extract.date()}; "
                         "the data cannot describe children at a later date")
    matrix = build_matrix(tables, [when], outcome=meta["outcome"], spec=fspec,
                          horizon_months=int(meta["horizon_months"]), extract_date=extract)
    if len(matrix) == 0:
        raise InputError(f"data: no child has an early-help episode open on {when.date()} "
                         f"in {data}; nothing to score")
    missing = [f for f in loaded.features if f not in matrix.columns]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise InputError(
            f"model: {model_uri} (version {loaded.version}) was trained on features this data "
            f"does not give: {', '.join(missing[:3])}{more}; retrain it on this extract or "
            "score with the model that matches"
        )
    return score_matrix(
        matrix, loaded, out=out, top=top, explain_top=explain_top, chunk_size=chunk_size,
        data_fingerprint=data_fingerprint(tables),
        audit={"model_uri": model_uri, "extract_date": str(extract.date())},
    )


def _date(option: str, value) -> pd.Timestamp:
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise InputError(f"{option}: {value!r} is not a date (expected YYYY-MM-DD)")
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise InputError(f"{option}: {value!r} is not a date (expected YYYY-MM-DD)") from None
