"""Where decisions live: beside the scores they answer, private, with the run they belong to.

A list's decisions are stored as ``<scores name>.decisions.parquet`` in the scores' own
folder (they hold child ids, so the file is private to its owner, 0600, and written
atomically); the Parquet file's metadata records the list (scores file, its checksum, its
month, when it was sent) and the model run that made it, and each decisions file recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import sha256_file
from riskmodel._core.io import atomic_path
from riskmodel.evaluation.decisions import STORED_COLUMNS
from riskmodel.scoring import AUDIT_NAME, read_audit

SUFFIX = ".decisions.parquet"
META_KEY = b"riskmodel.decisions"
SCORES_SUFFIXES = (".parquet", ".csv", ".xlsx")


def read_scores_table(path: str | os.PathLike) -> pd.DataFrame:
    """A scores file as ``riskmodel score`` wrote it (Parquet, CSV with a BOM, or Excel).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("child_id,as_of,in_capacity\\n007,2025-12-31,True\\n")
    >>> read_scores_table(p)["child_id"].tolist()
    ['007']
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in SCORES_SUFFIXES:
        raise InputError(f"--scores: {p} is not a scores file (.parquet, .csv or .xlsx)")
    if not p.is_file():
        raise InputError(f"--scores: {p} not found")
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(p)
        elif suffix == ".csv":
            frame = pd.read_csv(p, encoding="utf-8-sig", dtype={"child_id": str})
        else:
            frame = pd.read_excel(p, sheet_name="scores", dtype={"child_id": str})
    except Exception as exc:  # a damaged file: one line
        raise InputError(f"--scores: cannot read {p} ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:100]})") from None
    missing = [c for c in ("child_id", "as_of", "in_capacity") if c not in frame.columns]
    if missing:
        raise InputError(f"--scores: {p} is not a scores file written by riskmodel score "
                         f"(no {missing[0]} column)")
    frame["child_id"] = frame["child_id"].astype(str)
    return frame


def list_record(path: str | os.PathLike) -> dict:
    """The scoring audit's record of this scores file: when the list was sent, and by which
    model run. The file must be the one the run wrote (its checksum is in the record).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("child_id,as_of,in_capacity\\n")
    >>> list_record(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: --scores: no scoring-audit.jsonl beside ...
    """
    p = Path(path)
    audit = p.parent / AUDIT_NAME
    if not audit.is_file():
        raise InputError(f"--scores: no {AUDIT_NAME} beside {p}; decisions answer a list "
                         "written by riskmodel score, whose audit says when it was sent")
    try:
        records = read_audit(audit)
    except (ValueError, OSError):
        raise InputError(f"--scores: {audit} is not a readable scoring audit") from None
    mine = [r for r in records if (r.get("outputs") or {}).get("scores") == p.name]
    if not mine:
        raise InputError(f"--scores: {audit} has no record of {p.name}; decisions answer a "
                         "list written by riskmodel score")
    digest = sha256_file(p)
    same = [r for r in mine if r["outputs"].get("scores_sha256") == digest]
    if not same:
        raise InputError(f"--scores: {p} was changed after riskmodel score wrote it (its "
                         f"checksum is not in {AUDIT_NAME}); record decisions against the "
                         "list as it was sent")
    rec = dict(same[-1])
    rec["scores_sha256"] = digest
    return rec


def stored_path(scores: str | os.PathLike) -> Path:
    """``scores/escalation-2025-12.parquet`` -> ``scores/escalation-2025-12.decisions.parquet``.

    Examples
    --------
    >>> stored_path("scores/escalation-2025-12.csv").as_posix()
    'scores/escalation-2025-12.decisions.parquet'
    """
    p = Path(scores)
    return p.with_name(p.name[: len(p.name) - len(p.suffix)] + SUFFIX)


def read_stored(path: str | os.PathLike) -> tuple[pd.DataFrame | None, dict]:
    """A stored decisions file and its metadata (``None, {}`` when there is none).

    Examples
    --------
    >>> read_stored("no-such.decisions.parquet")
    (None, {})
    """
    p = Path(path)
    if not p.is_file():
        return None, {}
    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{p}: cannot read the stored decisions ({exc})") from None
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    frame = table.to_pandas()
    frame["child_id"] = frame["child_id"].astype(str)
    return frame, meta


def write_stored(frame: pd.DataFrame, meta: dict, path: str | os.PathLike) -> Path:
    """Write a list's decisions atomically, private (0600), with their metadata.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pd.DataFrame({"child_id": ["C1"], "scoring_month": "2025-12",
    ...                   "decision": "offered", "reason": "", "decision_date": pd.NaT,
    ...                   "listed": True, "addition": False, "as_of": "2025-12-31"})
    >>> p = write_stored(d, {"month": "2025-12"}, pathlib.Path(tempfile.mkdtemp()) / f"s{SUFFIX}")
    >>> frame, meta = read_stored(p)
    >>> frame["decision"].tolist(), meta, oct(p.stat().st_mode & 0o777)
    (['offered'], {'month': '2025-12'}, '0o600')
    >>> read_offers(p.parent)["child_id"].tolist()
    ['C1']
    """
    p = Path(path)
    out = frame[list(STORED_COLUMNS)].copy()
    out["decision_date"] = pd.to_datetime(out["decision_date"]).dt.date
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    table = pa.Table.from_pandas(out, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           META_KEY: json.dumps(meta, default=str).encode()})
    with atomic_path(p, private=True) as tmp:
        pq.write_table(table, tmp)
    return p


def read_offers(source: str | os.PathLike, *, what: str = "decisions.source") -> pd.DataFrame:
    """Every stored offer of help under ``source``: ``child_id`` and ``as_of`` (the list's).

    ``source`` is a folder (searched, with its subfolders, for ``*.decisions.parquet``) or
    one stored decisions file. Only ``offered`` counts as help received: a family that
    declined did not receive it, and ``already_supported`` was help the list did not start.
    """
    p = Path(source)
    if p.is_dir():
        files = sorted(p.rglob(f"*{SUFFIX}"))
    elif p.is_file():
        files = [p]
    else:
        raise InputError(f"{what}: {p} not found")
    if not files:
        raise InputError(f"{what}: no stored decisions (*{SUFFIX}) under {p}; record them "
                         "with riskmodel decisions add")
    parts = []
    for f in files:
        frame, _ = read_stored(f)
        if frame is None or "decision" not in frame:
            raise InputError(f"{what}: {f} is not a stored decisions file")
        parts.append(frame.loc[frame["decision"] == "offered", ["child_id", "as_of"]])
    offers = pd.concat(parts, ignore_index=True)
    offers["as_of"] = pd.to_datetime(offers["as_of"])
    return offers.drop_duplicates().reset_index(drop=True)
