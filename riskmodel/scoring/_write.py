"""Write scores, rejected rows and the audit record so a crash never leaves a bad file.

Each file is streamed into a hidden temporary file in the same folder
(``.tmp-<name>.<random>``) and renamed over the target only once it is complete, so a
reader sees either the previous file or the new one, never a half-written or mixed one.
A scoring run writes all three temporary files first and renames them together at the end
(scores, then rejected rows, then the audit log), so a run killed before that leaves every
previous output untouched. A killed run leaves only hidden temporary files, which no
reader globbing ``*.parquet``, ``*.csv`` or ``*.jsonl`` picks up and which the next run
removes.

Formats: Parquet, CSV (UTF-8 with a byte-order mark, so Excel opens the "—" in the reasons
correctly on a double-click) and Excel ``.xlsx`` (openpyxl, streamed row by row). A
locality's list (``--by-locality``) is always CSV.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskmodel._core.errors import InputError
from riskmodel._core.io import atomic_path

SUFFIXES = (".parquet", ".csv", ".xlsx")
AUDIT_NAME = "scoring-audit.jsonl"
BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark: Excel reads the file as UTF-8
XLSX_MAX_ROWS = 1_048_576  # Excel's limit, the header row included
LOCALITY_TAG = ".locality-"


def output_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The scores file, its rejected-rows file and the folder's audit log.

    Examples
    --------
    >>> {k: v.name for k, v in output_paths("run/scores.csv").items()}
    {'scores': 'scores.csv', 'rejected': 'scores.rejected.csv', 'audit': 'scoring-audit.jsonl'}
    """
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise InputError(f"--out: {out.name} must end in .parquet, .csv or .xlsx")
    if out.is_dir():
        raise InputError(f"--out: {out} is a folder; give a file name such as scores.parquet")
    return {"scores": out, "rejected": out.with_name(f"{out.stem}.rejected{out.suffix}"),
            "audit": out.with_name(AUDIT_NAME)}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"


def locality_paths(scores: str | os.PathLike, localities: Iterable[str]) -> dict[str, Path]:
    """One CSV per locality beside the scores file: ``<name>.locality-<locality>.csv``.

    Parameters
    ----------
    scores : path
        The scores file.
    localities : iterable of str
        The localities' names; each becomes lower case with anything but letters and digits
        made a dash (a second locality with the same result gets ``-2``).

    Returns
    -------
    dict
        Locality -> path.

    Examples
    --------
    >>> {k: v.name for k, v in locality_paths("run/scores.parquet",
    ...                                        ["Low Hill", "low-hill", "Dove"]).items()}
    {'Low Hill': 'scores.locality-low-hill.csv', 'low-hill': 'scores.locality-low-hill-2.csv', \
'Dove': 'scores.locality-dove.csv'}
    """
    scores = Path(scores)
    out: dict[str, Path] = {}
    taken: set[str] = set()
    for name in localities:
        slug = base = _slug(str(name))
        k = 1
        while slug in taken:
            k += 1
            slug = f"{base}-{k}"
        taken.add(slug)
        out[name] = scores.with_name(f"{scores.stem}{LOCALITY_TAG}{slug}.csv")
    return out


def stale_locality_files(scores: str | os.PathLike, keep: Iterable[Path]) -> list[Path]:
    """Locality lists an earlier run wrote for this scores file that this run did not."""
    scores = Path(scores)
    kept = {Path(p).name for p in keep}
    if not scores.parent.is_dir():
        return []
    return sorted(p for p in scores.parent.glob(f"{scores.stem}{LOCALITY_TAG}*.csv")
                  if p.name not in kept)


def remove_stale_temporaries(paths: Iterable[Path]) -> int:
    """Delete temporary files an earlier, killed run left for these outputs.

    For a scores file, its locality lists' temporary files are removed too.
    """
    removed = 0
    for path in paths:
        if not path.parent.is_dir():
            continue
        patterns = [f".tmp-{path.name}.*"]
        if path.suffix.lower() in SUFFIXES:
            patterns.append(f".tmp-{path.stem}{LOCALITY_TAG}*.csv.*")
        for pattern in patterns:
            for tmp in path.parent.glob(pattern):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed += 1
    return removed


class _CsvWriter:
    """CSV with a UTF-8 byte-order mark (Excel then shows "—" as it is)."""

    def __init__(self, path, schema: pa.Schema):
        self.fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.fh.write(BOM)
        self.writer = pacsv.CSVWriter(self.fh, schema)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.fh.close()


class _XlsxWriter:
    """An Excel sheet written row by row (openpyxl's write-only mode keeps memory flat)."""

    def __init__(self, path, schema: pa.Schema, sheet: str):
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.path, self.names, self.illegal = path, schema.names, ILLEGAL_CHARACTERS_RE
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(sheet)
        self.sheet.freeze_panes = "A2"
        self.sheet.append(list(self.names))
        self.rows = 1

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        if self.rows > XLSX_MAX_ROWS:  # a bug: callers check the size first
            raise AssertionError(f"{self.rows} rows do not fit an Excel sheet")
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            self.sheet.append([self.illegal.sub("\ufffd", v) if isinstance(v, str) else v
                               for v in row])

    def close(self) -> None:
        self.book.save(self.path)


def check_xlsx_size(rows: int, path: Path) -> None:
    """Fail in one line when a table has more rows than an Excel sheet holds."""
    if path.suffix.lower() == ".xlsx" and rows + 1 > XLSX_MAX_ROWS:
        raise InputError(f"--out: {rows:,} rows do not fit an Excel sheet "
                         f"({XLSX_MAX_ROWS - 1:,} at most); write .parquet or .csv")


def stream_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                   path: str | os.PathLike, *, suffix: str, sheet: str = "scores") -> int:
    """Stream record batches into ``path`` as Parquet, CSV or Excel (by ``suffix``).

    ``path`` is a temporary file: the caller renames it into place once everything is
    written (see :func:`riskmodel._core.io.atomic_path`). CSV starts with a UTF-8
    byte-order mark; ``sheet`` names an Excel file's sheet.

    Returns
    -------
    int
        The rows written.
    """
    rows = 0
    suffix = suffix.lower()
    writer: _CsvWriter | _XlsxWriter | pq.ParquetWriter
    if suffix == ".csv":
        writer = _CsvWriter(path, schema)
    elif suffix == ".xlsx":
        writer = _XlsxWriter(path, schema, sheet)
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


def stream_split(batches: Iterable[pa.RecordBatch], schema: pa.Schema, column: str,
                 paths: Mapping[str, str | os.PathLike], *, missing: str) -> dict[str, int]:
    """Stream batches into one CSV per value of ``column`` (a null counts as ``missing``).

    Parameters
    ----------
    batches : iterable of RecordBatch
    schema : Schema
    column : str
        The column whose value picks the file (``locality``).
    paths : dict
        Each value -> its (temporary) file; rows keep their order.
    missing : str
        The value a null stands for.

    Returns
    -------
    dict
        Rows written to each file.
    """
    import pyarrow.compute as pc

    writers = {name: _CsvWriter(path, schema) for name, path in paths.items()}
    rows = dict.fromkeys(paths, 0)
    try:
        for batch in batches:
            values = pc.fill_null(batch.column(schema.get_field_index(column)), missing)
            for name, writer in writers.items():
                mask = pc.equal(values, name)
                n = pc.sum(mask).as_py() or 0
                if n:
                    writer.write_batch(batch.filter(mask))
                    rows[name] += n
    finally:
        for writer in writers.values():
            writer.close()
    for path in paths.values():
        fsync(path)
    return rows


def write_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
                  path: str | os.PathLike) -> int:
    """Stream record batches into a Parquet, CSV or Excel file atomically; return the rows."""
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
