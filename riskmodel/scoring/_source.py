"""Where a built matrix is read from, one chunk of rows at a time.

Scoring never converts the whole matrix to one float array: a chunk is converted, scored
and dropped, so the extra memory is one chunk whatever the cohort size. A matrix may be
a DataFrame (as :func:`riskmodel.features.build_matrix` returns it) or a Parquet file of
one, which is then read by row batches and never held whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from riskmodel._core.errors import InputError

KEYS = ("child_id", "as_of", "locality")
_BAND = 2048  # rows per band when filling a float block: 2048 x 200 doubles fit in cache


def _missing_columns(where: str, columns, features) -> None:
    present = set(columns)
    keys = [k for k in KEYS if k not in present]
    if keys:
        raise InputError(f"{where}: column {keys[0]} missing (a built matrix has "
                         f"{', '.join(KEYS)})")
    missing = [f for f in features if f not in present]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise InputError(
            f"{where}: the model's feature {', '.join(missing[:3])}{more} is not in the data; "
            "the model was trained on a different feature set (retrain it on this data, "
            "or score with the model that matches)"
        )


def _missing_extra(where: str, columns, wanted) -> None:
    missing = [c for c in wanted if c not in set(columns)]
    if missing:
        raise InputError(f"{where}: column {missing[0]} missing (--with-characteristics carries "
                         f"{', '.join(wanted)} from the built matrix)")


def _carried(col: pd.Series) -> pa.Array:
    """A carried column as Arrow: whole numbers (IMD quintile) as int16, anything else text."""
    if pd.api.types.is_integer_dtype(col.dtype) or (
            pd.api.types.is_float_dtype(col.dtype)
            and bool(np.all(np.isnan(col) | (np.asarray(col) % 1 == 0)))):
        return _array(col.astype("Int16"), pa.int16())
    return _array(col.astype("string"), pa.string())


def _array(values, typ: pa.DataType) -> pa.Array:
    """One contiguous Arrow array (a column read from Parquet may come in chunks)."""
    arr = pa.array(values, type=typ)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _problems(bad: np.ndarray, columns: list[int]) -> list[tuple[int, int, int]]:
    """(row, first bad feature, how many bad) for rows of a chunk with a non-finite value."""
    out = []
    for i in np.flatnonzero(bad.any(axis=1)):
        cols = np.flatnonzero(bad[i])
        out.append((int(i), columns[cols[0]], len(cols)))
    return out


class FrameSource:
    """A matrix held as a DataFrame.

    ``used`` marks the features the model reads; the others are left at 0 in the float
    block given to the model (a tree model never looks at them, and LightGBM skips zeros),
    though every feature is still checked for missing values.
    """

    def __init__(self, frame: pd.DataFrame, features: list[str], *, used=None,
                 where: str = "matrix"):
        _missing_columns(where, frame.columns, features)
        self.frame, self.features, self.where = frame, list(features), where
        self.used = np.ones(len(features), bool) if used is None else np.asarray(used, bool)
        # Plain numpy columns are used as they are (views, no copy); extension columns
        # (nullable Int64, boolean) are converted a chunk at a time.
        self._columns = []
        for f in self.features:
            col = frame[f]
            if not (pd.api.types.is_numeric_dtype(col.dtype)
                    or pd.api.types.is_bool_dtype(col.dtype)):
                raise InputError(f"{where}: feature {f} holds {col.dtype} values, not numbers")
            numeric = isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf"
            self._columns.append(col.to_numpy() if numeric else col)
        # Only float and nullable columns can hold a missing or infinite value.
        self._checked = [j for j, c in enumerate(self._columns)
                         if not (isinstance(c, np.ndarray) and c.dtype.kind in "biu")]
        self.n_rows = len(frame)

    def keys(self) -> dict[str, pa.Array]:
        """``child_id``, ``locality`` (strings) and ``as_of`` (timestamps) for every row."""
        f = self.frame
        return {
            "child_id": _array(f["child_id"].astype("string"), pa.string()),
            "locality": _array(f["locality"].astype("string"), pa.string()),
            "as_of": _array(pd.to_datetime(f["as_of"]).astype("datetime64[ns]"),
                            pa.timestamp("ns")),
        }

    def extra(self, columns) -> dict[str, pa.Array]:
        """Carried (non-feature) columns for every row, e.g. the protected characteristics."""
        _missing_extra(self.where, self.frame.columns, columns)
        return {c: _carried(self.frame[c]) for c in columns}

    def _column(self, j: int, rows) -> np.ndarray:
        col = self._columns[j]
        if isinstance(col, np.ndarray):
            return col[rows]
        return col.iloc[rows].to_numpy(dtype=np.float64, na_value=np.nan)

    def _fill(self, out: np.ndarray, rows, columns) -> np.ndarray:
        # Column by column into one C-ordered block (about three times faster than
        # DataFrame.to_numpy on mixed int32/float64 columns; LightGBM takes it as is), a
        # band of rows at a time so the rows being written stay in cache.
        n = len(out)
        for lo in range(0, n, _BAND):
            hi = min(lo + _BAND, n)
            band = out[lo:hi]
            part = (slice(rows.start + lo, rows.start + hi) if isinstance(rows, slice)
                    else rows[lo:hi])
            for j in columns:
                band[:, j] = self._column(j, part)
        return out

    def _rows(self, rows) -> np.ndarray:
        n = len(range(self.n_rows)[rows]) if isinstance(rows, slice) else len(rows)
        out = np.empty((n, len(self._columns)), dtype=np.float64)
        return self._fill(out, rows, range(len(self._columns)))

    def chunks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray, list]]:
        """(first row, float block, problems) for each chunk in row order.

        ``problems`` lists (row in chunk, feature index, number of bad features) for rows
        with a missing or non-finite feature value. Blocks are two buffers reused in turn
        (no fresh memory to fault in each time): use each block before asking for the
        next but one.
        """
        size = min(chunk_size, self.n_rows)
        # Two buffers: a helper thread fills the next chunk while the model scores this one
        # (numpy copies release the GIL, as does LightGBM).
        buffers = [np.zeros((size, len(self._columns)), dtype=np.float64) for _ in range(2)]
        starts = list(range(0, self.n_rows, chunk_size))
        if not starts:
            return
        with ThreadPoolExecutor(max_workers=1) as helper:
            pending = helper.submit(self._prepare, buffers[0], starts[0], chunk_size)
            for i, start in enumerate(starts):
                A, problems = pending.result()
                if i + 1 < len(starts):
                    pending = helper.submit(self._prepare, buffers[(i + 1) % 2],
                                            starts[i + 1], chunk_size)
                yield start, A, problems

    def _prepare(self, buffer: np.ndarray, start: int, chunk_size: int):
        rows = slice(start, min(start + chunk_size, self.n_rows))
        A = self._fill(buffer[:rows.stop - start], rows, np.flatnonzero(self.used))
        bad = np.zeros((len(A), len(self._checked)), dtype=bool)
        for k, j in enumerate(self._checked):
            bad[:, k] = ~np.isfinite(A[:, j] if self.used[j] else self._column(j, rows))
        return A, _problems(bad, self._checked)

    def take(self, rows: np.ndarray, chunk_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(row positions, all their features) for sorted positions, a chunk at a time."""
        for start in range(0, len(rows), chunk_size):
            part = rows[start:start + chunk_size]
            yield part, self._rows(part)


class ParquetSource:
    """A matrix stored as a Parquet file, read by row batches."""

    def __init__(self, path: str | os.PathLike, features: list[str]):
        self.path = Path(path)
        try:
            self.file = pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as exc:
            detail = " ".join(str(exc).split())[:120]
            raise InputError(f"matrix: cannot read {self.path} as Parquet ({detail})") from None
        _missing_columns(self.path.name, self.file.schema_arrow.names, features)
        self.features = list(features)
        self.n_rows = self.file.metadata.num_rows

    def keys(self) -> dict[str, pa.Array]:
        t = pq.read_table(self.path, columns=list(KEYS))
        as_of = t["as_of"].combine_chunks()
        if pa.types.is_date(as_of.type) or pa.types.is_timestamp(as_of.type):
            as_of = as_of.cast(pa.timestamp("ns"))
        else:
            as_of = pa.array(pd.to_datetime(as_of.to_pandas()).astype("datetime64[ns]"))
        return {"child_id": t["child_id"].combine_chunks().cast(pa.string()),
                "locality": t["locality"].combine_chunks().cast(pa.string()),
                "as_of": as_of}

    def extra(self, columns) -> dict[str, pa.Array]:
        """As :meth:`FrameSource.extra`."""
        _missing_extra(self.path.name, self.file.schema_arrow.names, columns)
        t = pq.read_table(self.path, columns=list(columns))
        return {c: _carried(t[c].to_pandas()) for c in columns}

    @staticmethod
    def _to_float(batch: pa.RecordBatch) -> np.ndarray:
        out = np.empty((batch.num_rows, batch.num_columns), dtype=np.float64)
        for j, col in enumerate(batch.columns):
            out[:, j] = pc.fill_null(col.cast(pa.float64()), np.nan).to_numpy(
                zero_copy_only=False)
        return out

    def _batches(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
        start = 0
        for batch in self.file.iter_batches(batch_size=chunk_size, columns=self.features):
            yield start, self._to_float(batch)
            start += batch.num_rows

    def chunks(self, chunk_size: int) -> Iterator[tuple[int, np.ndarray, list]]:
        """As :meth:`FrameSource.chunks`."""
        every = list(range(len(self.features)))
        for start, A in self._batches(chunk_size):
            yield start, A, _problems(~np.isfinite(A), every)

    def take(self, rows: np.ndarray, chunk_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # One pass over the file; only the wanted rows of each batch are kept.
        for start, A in self._batches(chunk_size):
            lo, hi = np.searchsorted(rows, [start, start + len(A)])
            if hi > lo:
                yield rows[lo:hi], A[rows[lo:hi] - start]


def open_matrix(matrix, features: list[str], *, used=None):
    """A source for a DataFrame or a Parquet file path."""
    if isinstance(matrix, pd.DataFrame):
        return FrameSource(matrix, features, used=used)
    if isinstance(matrix, str | os.PathLike):
        return ParquetSource(matrix, features)
    raise TypeError(f"matrix must be a DataFrame or a Parquet path, not {type(matrix).__name__}")
