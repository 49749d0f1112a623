"""Fingerprints: SHA-256 of a file, and of tables' contents (never their rows)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_fingerprint(frame: pd.DataFrame, h=None) -> str:
    """A SHA-256 of a frame's columns and rows, whatever the row order.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_fingerprint(a) == frame_fingerprint(a.iloc[::-1])
    True
    """
    h = h or hashlib.sha256()
    h.update(",".join(map(str, frame.columns)).encode())
    h.update(np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return h.hexdigest()


def tables_fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """A SHA-256 of named tables' contents (order-independent within a table); never rows.

    Examples
    --------
    >>> t = {"a": pd.DataFrame({"x": [1, 2]}), "b": pd.DataFrame({"y": ["p"]})}
    >>> tables_fingerprint(t) == tables_fingerprint(dict(reversed(list(t.items()))))
    True
    """
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        frame_fingerprint(tables[name], h)
    return h.hexdigest()
