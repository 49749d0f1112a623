"""Atomic file writing: a crash never leaves a half-written or stale-mixed file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from riskmodel._core.errors import InputError
from riskmodel._core.interrupt import held_interrupt

PRIVATE = 0o600


def umask_mode() -> int:
    """The mode an ordinary new file gets under the process's umask (0666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file lives in the same folder so the final ``os.replace`` is
    atomic. If the block raises (or the process dies), ``path`` keeps its
    previous content and the temporary file is removed (or left with a
    ``.tmp-`` prefix that no reader picks up).

    A file that holds child identifiers is written ``private`` (0600, its owner only);
    every other file gets the permissions the user's umask gives a new file, so a report
    on a shared drive can be opened by the equality lead it was written for.

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
    tmp: Path | None = None
    try:
        with held_interrupt():  # a Ctrl-C never falls between making it and knowing it
            fd, name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
            os.close(fd)
            tmp = Path(name)
        yield tmp
        if tmp.exists():
            os.chmod(tmp, PRIVATE if private else umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def write_table(df, path: str | os.PathLike, *, private: bool = False) -> Path:
    """Write a DataFrame atomically as Parquet or CSV, chosen by the suffix.

    ``private=True`` for a table that holds child identifiers (see :func:`atomic_path`).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = write_table(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()
    ['a', '1']
    """
    path = Path(path)
    with atomic_path(path, private=private) as tmp:
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


def check_writable(path: str | os.PathLike, *, option: str = "--out",
                   folder: bool = False) -> None:
    """Fail now, in one line, if ``path`` could not be written, before any slow work.

    The check creates (and closes) an unnamed temporary file in the nearest folder that
    exists on the way to ``path``, so a read-only folder, a full or read-only disk and a missing
    permission are all found, whoever runs the command (``os.access`` says yes to root).

    Parameters
    ----------
    path : path
        The file to be written (or, with ``folder=True``, the folder to be written into).
    option : str
        The option that named it, for the message.

    Raises
    ------
    InputError
        ``<option>: cannot write to <folder> (<reason>)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_writable(pathlib.Path(tempfile.mkdtemp()) / "new" / "scores.csv")
    """
    target = Path(path)
    if folder and target.exists() and not target.is_dir():
        raise InputError(f"{option}: {target} exists and is not a folder")
    where = target if folder else target.parent
    probe = where
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"{option}: cannot write to {where} ({probe} is a file, not a folder)")
    try:
        # An unnamed file (O_TMPFILE on Linux), so not even a kill can leave the probe behind
        # in the user's folder; where the file system lacks it, tempfile names one and
        # unlinks it at once.
        with held_interrupt(), tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{option}: cannot write to {where} ({reason.lower()})") from None
