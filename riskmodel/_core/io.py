"""Atomic file writing: a crash never leaves a half-written or stale-mixed file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file lives in the same folder so the final ``os.replace`` is
    atomic. If the block raises (or the process dies), ``path`` keeps its
    previous content and the temporary file is removed (or left with a
    ``.tmp-`` prefix that no reader picks up).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_table(df, path: str | os.PathLike) -> Path:
    """Write a DataFrame atomically as Parquet or CSV, chosen by the suffix.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()
    ['a', '1']
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return path


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write text atomically (UTF-8)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
