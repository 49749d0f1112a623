"""Write scores, rejected rows and the audit record so a crash never leaves a bad file.

Each file is streamed into a hidden temporary file in the same folder
(``.tmp-<name>.<random>``) and renamed over the target only once it is complete, so a
reader sees either the previous file or the new one, never a half-written or mixed one.
A scoring run writes all three temporary files first and renames them together at the end
(scores, then rejected rows, then the audit log), so a run killed before that leaves every
previous output untouched. A killed run leaves only hidden temporary files, which no
reader globbing ``*.parquet``, ``*.csv`` or ``*.jsonl`` picks up and which the next run
removes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskmodel._core.errors import InputError
from riskmodel._core.io import atomic_path

SUFFIXES = (".parquet", ".csv")
AUDIT_NAME = "scoring-audit.jsonl"


def output_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The scores file, its rejected-rows file and the folder's audit log.

    Examples
    --------
    >>> {k: v.name for k, v in output_paths("run/scores.csv").items()}
    {'scores': 'scores.csv', 'rejected': 'scores.rejected.csv', 'audit': 'scoring-audit.jsonl'}
    """
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"--out: {out.name} must end in .parquet or .csv")
    if out.is_dir():
        raise InputError(f"--out: {out} is a folder; give a file name such as scores.parquet")
    return {"scores": out, "rejected": out.with_name(f"{out.stem}.rejected{out.suffix}"),
            "audit": out.with_name(AUDIT_NAME)}


def remove_stale_temporaries(paths: Iterable[Path]) -> int:
    """Delete temporary files an earlier, killed run left for these outputs."""
    removed = 0
    for path in paths:
        if not path.parent.is_dir():
            continue
        for tmp in path.parent.glob(f".tmp-{path.name}.*"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed += 1
    return removed


def stream_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                   path: str | os.PathLike, *, suffix: str) -> int:
    """Stream record batches into ``path`` as Parquet or CSV (by ``suffix``); return the rows.

    ``path`` is a temporary file: the caller renames it into place once everything is
    written (see :func:`riskmodel._core.io.atomic_path`).
    """
    rows = 0
    if suffix.lower() == ".csv":
        writer = pacsv.CSVWriter(str(path), schema)
    else:
        writer = pq.ParquetWriter(str(path), schema, compression="zstd")
    try:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        writer.close()
    fsync(path)
    return rows


def write_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                  path: str | os.PathLike) -> int:
    """Stream record batches into a Parquet or CSV file atomically; return the row count."""
    path = Path(path)
    with atomic_path(path) as tmp:
        return stream_batches(batches, schema, tmp, suffix=path.suffix)


def fsync(path: str | os.PathLike) -> None:
    """Flush a file's bytes to disk: a rename is only as durable as the bytes behind it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def audit_bytes(record: dict, path: str | os.PathLike) -> bytes:
    """The audit log at ``path`` with ``record`` appended as one JSON line."""
    path = Path(path)
    old = path.read_bytes() if path.is_file() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return old + json.dumps(record, sort_keys=True, default=str).encode("utf-8") + b"\n"


def append_audit(record: dict, path: str | os.PathLike) -> Path:
    """Add one JSON line to the audit log, rewriting it atomically (it stays small)."""
    path = Path(path)
    data = audit_bytes(record, path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        fsync(tmp)
    return path


def read_audit(path: str | os.PathLike) -> list[dict]:
    """Every record of an audit log, oldest first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / AUDIT_NAME
    >>> _ = append_audit({"scored": 3}, p); _ = append_audit({"scored": 4}, p)
    >>> [r["scored"] for r in read_audit(p)]
    [3, 4]
    """
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
