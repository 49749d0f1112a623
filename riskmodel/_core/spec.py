"""Load a YAML spec into a pydantic model, with one-line errors naming file, key and expectation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from riskmodel._core.errors import InputError
from riskmodel._core.workspace import note_spec

M = TypeVar("M", bound=BaseModel)


def load_spec(path: str | os.PathLike, model: type[M], *, note: bool = True) -> M:
    """Read ``path`` (YAML) and validate it as ``model``.

    The file is recorded as used by this run (:func:`riskmodel._core.workspace.note_spec`)
    unless ``note=False`` (a lookup, not a setting).

    Raises
    ------
    InputError
        ``<file>: key 'a.b': <what was expected> (got <value>)`` for the first problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from pydantic import BaseModel, ConfigDict
    >>> class S(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     horizon_months: int
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
    >>> _ = p.write_text("horizon_months: six")
    >>> try:
    ...     load_spec(p, S)
    ... except InputError as e:
    ...     print(str(e).split(": ", 1)[1][:39])
    key 'horizon_months': Input should be a
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: spec file not found")
    if note:
        note_spec(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(f"{path}: not valid YAML{at}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of keys to values at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(k) for k in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (allowed: {', '.join(sorted(_allowed(model, err['loc'])))})"
        got = err.get("input")
        shown = "" if err["type"] in ("extra_forbidden", "missing") else f" (got {got!r})"
        raise InputError(f"{path}: key '{key}': {msg}{shown}") from None


def _allowed(model: type[BaseModel], loc) -> list[str]:
    """Field names allowed at the parent of ``loc`` (best effort, for the error message)."""
    current = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            break
        ann = field.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        nxt = next((a for a in inner if issubclass(a, BaseModel)), None)
        if nxt is None:
            break
        current = nxt
    return list(getattr(current, "model_fields", {}))
