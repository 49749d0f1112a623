"""A council's workspace: the folder holding the specs it edits, and which specs a run used.

A workspace is a folder with ``features/early_help.yaml``, ``evaluation/fairness.yaml`` and a
``training/`` folder of training specs (``riskmodel init DIR`` writes one). A command uses the
workspace given by ``--workspace`` (or ``RISKMODEL_WORKSPACE``), else the first workspace found
in the current folder or above it, else the specs packaged with riskmodel. A spec file in the
workspace wins over the packaged one of the same name; a missing one falls back to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from riskmodel._core.errors import InputError

#: The files that make a folder a workspace.
MARKERS = ("features/early_help.yaml", "evaluation/fairness.yaml", "training")
ENV = "RISKMODEL_WORKSPACE"

_chosen: Path | None = None
_used: list[Path] = []
_reporter: Callable[[Path], None] | None = None


def is_workspace(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a workspace's specs.

    Examples
    --------
    >>> import tempfile
    >>> is_workspace(tempfile.mkdtemp())
    False
    """
    folder = Path(folder)
    return all((folder / m).exists() for m in MARKERS)


def use_workspace(folder: str | os.PathLike | None) -> Path | None:
    """Use ``folder`` as the workspace (None: find one from the current folder again)."""
    global _chosen
    if folder is None:
        _chosen = None
        return None
    folder = Path(folder).expanduser().resolve()
    if not is_workspace(folder):
        raise InputError(f"--workspace: {folder} is not a workspace (it needs "
                         f"{', '.join(MARKERS)}; riskmodel init {folder} writes one)")
    _chosen = folder
    return folder


def workspace() -> Path | None:
    """The workspace in force, or None (the packaged specs are used)."""
    if _chosen is not None:
        return _chosen
    if os.environ.get(ENV):
        return use_workspace(os.environ[ENV])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if is_workspace(folder):
            return folder
    return None


def spec_file(relative: str, packaged: Path) -> Path:
    """The workspace's copy of a spec (``training/escalation.yaml``) if it has one, else the
    packaged one."""
    ws = workspace()
    if ws is not None and (ws / relative).is_file():
        return ws / relative
    return packaged


def note_spec(path: str | os.PathLike) -> None:
    """Record that a run read this spec file (said once per file, by the reporter if set)."""
    path = Path(path).resolve()
    if path not in _used:
        _used.append(path)
        if _reporter is not None:
            _reporter(path)


def specs_used() -> list[Path]:
    """Every spec file read since the last :func:`reset_specs`, in the order first read."""
    return list(_used)


def reset_specs(reporter: Callable[[Path], None] | None = None) -> None:
    """Forget the specs read so far; ``reporter`` is told of each new one as it is read."""
    global _reporter
    _used.clear()
    _reporter = reporter
