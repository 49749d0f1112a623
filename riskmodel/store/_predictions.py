"""A candidate's out-of-time test scores, stored in its run so a review need not refit it.

The artefact (``test_predictions.parquet``) holds three columns and nothing else: ``row``
(the row's position in the training matrix's labelled rows, which only the extract the run
was trained on can turn back into a child), ``fold`` (the row's test date, an as-of date
every report shows) and ``score``. No child id, family id or date of birth is written. The
file's metadata holds one SHA-256 of the labelled rows' keys in order (``rows_sha256``), so a
reader can tell that a rebuilt matrix lines up with the stored rows before joining them, and
the names of the matrix columns the predictions carried (``columns``: names, never values).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.store._runs import download

#: The artefact's name in a candidate run.
TEST_PREDICTIONS = "test_predictions.parquet"
#: The only columns the artefact may hold.
COLUMNS = ("row", "fold", "score")
_DIGEST_KEY = b"riskmodel.rows_sha256"
_COLUMNS_KEY = b"riskmodel.columns"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class StoredPredictions:
    """A run's stored test scores: ``frame`` (``row``, ``fold``, ``score``), the digest
    of the labelled rows' keys they were taken on (``rows_sha256``) and the matrix columns
    the predictions carried beside the score (``columns``)."""

    frame: pd.DataFrame
    rows_sha256: str
    columns: tuple[str, ...] = ()


def predictions_bytes(frame: pd.DataFrame, *, rows_sha256: str,
                      columns: Sequence[str] = ()) -> bytes:
    """The artefact's bytes for a frame of ``row``, ``fold`` and ``score`` only.

    Anything else (a child id, a date of birth, an extra column) is refused: the artefact is
    logged to MLflow, where nothing identifying may go.

    Parameters
    ----------
    frame : DataFrame
        Exactly the columns ``row`` (non-negative integers), ``fold`` (ISO dates) and
        ``score`` (numbers).
    rows_sha256 : str
        The digest of the labelled rows' keys (64 hex characters).
    columns : sequence of str, optional
        Names of the matrix columns the predictions carried (kept as names only).

    Returns
    -------
    bytes
        A Parquet file.

    Examples
    --------
    >>> f = pd.DataFrame({"row": [3, 0], "fold": ["2024-01-01"] * 2, "score": [0.2, 0.7]})
    >>> back = read_predictions_bytes(predictions_bytes(f, rows_sha256="0" * 64))
    >>> back.frame.equals(f), back.rows_sha256 == "0" * 64
    (True, True)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check(frame, rows_sha256)
    table = pa.Table.from_pandas(frame[list(COLUMNS)], preserve_index=False)
    table = table.replace_schema_metadata({
        _DIGEST_KEY: rows_sha256.encode(),
        _COLUMNS_KEY: json.dumps([str(c) for c in columns]).encode()})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _check(frame: pd.DataFrame, rows_sha256: str) -> None:
    """Refuse a frame that is not (row, fold, score), or a digest that is not one."""
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"stored test predictions: columns must be {COLUMNS}, "
                         f"not {tuple(frame.columns)}")
    if not pd.api.types.is_integer_dtype(frame["row"]) or (frame["row"] < 0).any():
        raise ValueError("stored test predictions: 'row' must be non-negative integers")
    if not pd.api.types.is_float_dtype(frame["score"]):
        raise ValueError("stored test predictions: 'score' must be numbers")
    folds = frame["fold"].astype(str).unique()
    if not all(_ISO_DATE.fullmatch(f) for f in folds):
        raise ValueError("stored test predictions: 'fold' must be ISO dates")
    if not re.fullmatch(r"[0-9a-f]{64}", rows_sha256):
        raise ValueError("stored test predictions: rows_sha256 must be a SHA-256 hex digest")


def read_predictions_bytes(data: bytes) -> StoredPredictions:
    """The frame and digest of an artefact's bytes (see :func:`predictions_bytes`).

    Examples
    --------
    >>> f = pd.DataFrame({"row": [1], "fold": ["2024-01-01"], "score": [0.5]})
    >>> read_predictions_bytes(predictions_bytes(f, rows_sha256="a" * 64)).frame.row.tolist()
    [1]
    """
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    meta = table.schema.metadata or {}
    digest = meta.get(_DIGEST_KEY, b"").decode()
    columns = tuple(json.loads(meta.get(_COLUMNS_KEY, b"[]")))
    frame = table.to_pandas()
    frame["row"] = frame["row"].astype(np.int64)
    frame["fold"] = frame["fold"].astype(str)
    return StoredPredictions(frame=frame[list(COLUMNS)], rows_sha256=digest, columns=columns)


def read_test_predictions(run_id: str) -> StoredPredictions | None:
    """A candidate run's stored test scores, or None for a run trained before they were
    stored (the caller then refits, as before).

    Examples
    --------
    >>> stored = read_test_predictions("3f1c2a9b0d6e4c1f9a7b5e3d2c1b0a98")  # doctest: +SKIP
    """
    with tempfile.TemporaryDirectory() as tmp:
        local = download(run_id, TEST_PREDICTIONS, tmp)
        return None if local is None else read_predictions_bytes(local.read_bytes())
