"""Holding Ctrl-C (SIGINT) while a step that must not be cut part-way runs.

The store holds it during every MLflow call (an interrupted write would leave the SQLite
store locked); a write that makes a temporary file or folder holds it until the temporary is
known, so an interrupted run always removes it. Marking an interrupted training's runs
KILLED holds it too, dropping a second Ctrl-C (``drop=True``): the first one is already
being acted on.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

_held = threading.Event()  # set while a call holds Ctrl-C (the calls may nest)


@contextlib.contextmanager
def held_interrupt(*, drop: bool = False) -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) for the block; once it ends, act on one that came as before
    (or, with ``drop``, not at all).

    A store call interrupted part-way (SQLAlchemy's session mid-transaction, a statement
    half-read) is never cleaned up, and an embedded store stays locked ("database is
    locked") to every later write in the process. Holding the signal lets the call finish;
    the interruption then happens as it would have (``KeyboardInterrupt`` under Python's
    default handler, nothing if SIGINT was ignored). With ``drop`` a Ctrl-C that came is
    forgotten: the block is the cleanup of an interruption already under way (marking an
    interrupted training's runs KILLED), which a second Ctrl-C must not cut short nor
    report twice. Outside the main thread, or nested, the block runs as it is.

    Examples
    --------
    >>> import os, signal
    >>> before = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own
    >>> try:
    ...     with held_interrupt():
    ...         os.kill(os.getpid(), signal.SIGINT)
    ...         print("the write finished")
    ... except KeyboardInterrupt:
    ...     print("then interrupted")
    the write finished
    then interrupted
    >>> with held_interrupt(drop=True):
    ...     os.kill(os.getpid(), signal.SIGINT)
    ...     print("the cleanup finished")
    the cleanup finished
    >>> _ = signal.signal(signal.SIGINT, before)
    """
    if _held.is_set() or threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    _held.set()
    try:
        yield
    finally:
        _held.clear()
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        if came and not drop:
            _deliver(previous)


def _deliver(handler: Any) -> None:
    """Act on a held SIGINT as ``handler`` (the one in force before it was held) would."""
    if callable(handler):
        handler(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)
