"""The panels' decisions table: its columns, its values, and reading a council's own file.

A locality panel (or the case-management system) records what it decided for each child on
a month's list. The table riskmodel reads has one row per decision:

========================  ====================================================================
``child_id``              the child (as in the scores file)
``scoring_month``         the month of the list the decision answers, ``YYYY-MM``
``decision``              ``offered``, ``already_supported``, ``not_needed``, ``declined`` or
                          ``not_reviewed``
``reason``                optional: the panel's words
``decision_date``         optional: the date of the decision (ISO ``YYYY-MM-DD``)
========================  ====================================================================

A council whose columns or words differ gives a small mapping YAML (:func:`load_mapping`).
Reading checks the file alone (columns, values, dates); checking it against the scores it
answers is :func:`riskmodel.evaluation.decisions.match_decisions`.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from riskmodel._core.errors import InputError

DECISIONS = ("offered", "already_supported", "not_needed", "declined", "not_reviewed")
REQUIRED = ("child_id", "scoring_month", "decision")
OPTIONAL = ("reason", "decision_date")
DECISION_COLUMNS = REQUIRED + OPTIONAL
SUFFIXES = (".csv", ".xlsx", ".parquet")
# The words of each decision in reports.
DECISION_WORDS = {
    "offered": "offered early help",
    "already_supported": "already supported",
    "not_needed": "not needed (the panel decided no help was needed)",
    "declined": "offered, declined by the family",
    "not_reviewed": "not reviewed",
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def row_names(frame: pd.DataFrame, mask, *, limit: int = 3) -> str:
    """``rows 4, 9: C0001, C0002`` for the rows where ``mask`` holds (file row numbers).

    A file's row number counts its header as row 1 (as a spreadsheet shows it); ``frame``
    carries it in ``_row``.

    Examples
    --------
    >>> f = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "_row": [2, 3, 4]})
    >>> row_names(f, [True, False, True])
    '2 rows (rows 2, 4: C1, C3)'
    """
    sub = frame.loc[pd.Series(list(mask), index=frame.index).astype(bool)]
    n = len(sub)
    rows = ", ".join(str(int(r)) for r in sub["_row"].head(limit))
    ids = ", ".join(str(c) for c in sub["child_id"].head(limit)) if "child_id" in sub else ""
    more = f" and {n - limit} more" if n > limit else ""
    word = "row" if n == 1 else "rows"
    return f"{n} {word} ({word} {rows}{more}{': ' + ids if ids else ''})"


def load_mapping(path: str | os.PathLike | None) -> dict:
    """Read a council's mapping YAML: its column names and its words for the decisions.

    The file has up to two keys::

        columns:                  # riskmodel's name: the council's column
          child_id: LCS ID
          scoring_month: Panel month
          decision: Outcome
          decision_date: Date decided
        values:                   # the council's word: riskmodel's decision
          Offer made: offered
          NFA: not_needed

    Returns ``{"columns": {...}, "values": {...}}`` (both possibly empty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.yaml"
    >>> _ = p.write_text("columns: {child_id: LCS ID}\\nvalues: {NFA: not_needed}\\n")
    >>> load_mapping(p)
    {'columns': {'child_id': 'LCS ID'}, 'values': {'nfa': 'not_needed'}}
    """
    if path is None:
        return {"columns": {}, "values": {}}
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--mapping: {p} not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise InputError(f"{p}: not valid YAML") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{p}: expected a mapping with keys columns: and values:")
    unknown = sorted(set(raw) - {"columns", "values"})
    if unknown:
        raise InputError(f"{p}: key '{unknown[0]}': unknown key (allowed: columns, values)")
    columns = raw.get("columns") or {}
    values = raw.get("values") or {}
    if not isinstance(columns, dict) or not isinstance(values, dict):
        raise InputError(f"{p}: columns: and values: must each map a name to a name")
    bad = [k for k in columns if k not in DECISION_COLUMNS]
    if bad:
        raise InputError(f"{p}: key 'columns.{bad[0]}': not a decisions column "
                         f"(allowed: {', '.join(DECISION_COLUMNS)})")
    wrong = [k for k, v in values.items() if str(v) not in DECISIONS]
    if wrong:
        raise InputError(f"{p}: key 'values.{wrong[0]}': maps to {values[wrong[0]]!r}, not a "
                         f"decision (one of {', '.join(DECISIONS)})")
    return {"columns": {str(k): str(v) for k, v in columns.items()},
            "values": {_word(k): str(v) for k, v in values.items()}}


def _word(value) -> str:
    """A decision as typed, normalised: ``' Not needed '`` -> ``not_needed``."""
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def _read_raw(p: Path) -> pd.DataFrame:
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{p}: expected a .csv, .xlsx or .parquet decisions file")
    if not p.is_file():
        raise InputError(f"{p}: decisions file not found")
    if suffix == ".csv":
        head = p.read_bytes()[: 1 << 16]
        if not head.strip():
            raise InputError(f"{p}: decisions file is empty (no header line)")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(f"{p}: UTF-16 text, not UTF-8; save it as CSV UTF-8")
        first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
        if "," not in first and ";" in first:
            raise InputError(f"{p}: separated by semicolons (;), not commas; save it as "
                             "comma-separated CSV")
        try:
            return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{p}: not UTF-8 text; save it as CSV UTF-8") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"{p}: cannot read as CSV ({' '.join(str(exc).split())[:100]})"
                             ) from None
    try:
        if suffix == ".xlsx":
            return pd.read_excel(p, dtype=str, keep_default_na=False)
        frame = pd.read_parquet(p)
    except Exception as exc:  # a damaged workbook or Parquet file: one line, not a traceback
        raise InputError(f"{p}: cannot read as {suffix[1:]} "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from None
    return frame.astype(object).where(frame.notna(), "").astype(str)


def read_decisions(path: str | os.PathLike, *, mapping: dict | str | os.PathLike | None = None
                   ) -> pd.DataFrame:
    """Read a decisions file (CSV UTF-8, Excel ``.xlsx`` or Parquet) and check it on its own.

    Parameters
    ----------
    path : path
        The panel's table.
    mapping : dict or path, optional
        The council's names (:func:`load_mapping`).

    Returns
    -------
    DataFrame
        ``child_id``, ``scoring_month`` (``YYYY-MM``), ``decision``, ``reason`` (text, maybe
        empty), ``decision_date`` (datetime, NaT when not given) and ``_row`` (the row's
        number in the file, the header being row 1).

    Raises
    ------
    InputError
        One line: the file cannot be read, a column is missing, a decision is not one of
        :data:`DECISIONS`, a month is not ``YYYY-MM``, a date is not a date, a child id is
        empty; each names the rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("child_id,scoring_month,decision\\nC1,2025-12,Not needed\\n")
    >>> read_decisions(p)[["child_id", "scoring_month", "decision", "_row"]].values.tolist()
    [['C1', '2025-12', 'not_needed', 2]]
    """
    p = Path(path)
    m = mapping if isinstance(mapping, dict) else load_mapping(mapping)
    raw = _ours(_read_raw(p), m, p)
    df = pd.DataFrame({"_row": range(2, len(raw) + 2)})
    df["child_id"] = raw["child_id"].astype(str).str.strip().to_numpy()
    if df.empty:
        raise InputError(f"{p}: no decisions (the file has a header and no rows)")
    empty = df["child_id"].eq("")
    if empty.any():
        raise InputError(f"{p}: child_id empty in {row_names(df, empty)}")
    words = raw["decision"].map(_word).to_numpy()
    df["decision"] = [m["values"].get(w, w) for w in words]
    bad = ~df["decision"].isin(DECISIONS)
    if bad.any():
        first = raw["decision"][bad.to_numpy()].iloc[0]
        raise InputError(f"{p}: decision '{first}' is not one of {', '.join(DECISIONS)} in "
                         f"{row_names(df, bad)} (map your own words with --mapping)")
    df["scoring_month"] = _months(raw, df, p)
    df["reason"] = (raw["reason"].astype(str).str.strip().to_numpy() if "reason" in raw
                    else "")
    df["decision_date"] = _dates(raw, df, p)
    return df[["child_id", "scoring_month", "decision", "reason", "decision_date", "_row"]]


def _ours(raw: pd.DataFrame, m: dict[str, Any], p: Path) -> pd.DataFrame:
    """The file's columns under our names; a required column missing is refused."""
    raw.columns = [str(c).strip() for c in raw.columns]
    theirs = {v: k for k, v in m["columns"].items()}
    for ours, col in m["columns"].items():
        if col not in raw.columns and ours in REQUIRED:
            raise InputError(f"{p}: column '{col}' (mapped to {ours}) missing "
                             f"(columns found: {', '.join(raw.columns[:8])})")
    raw = raw.rename(columns=theirs)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        near = [c for c in raw.columns if c.lower().replace(" ", "_") == missing[0]]
        hint = (f"; found '{near[0]}': names are lower-case without spaces, or map yours "
                "with --mapping" if near else "; map your own names with --mapping")
        raise InputError(f"{p}: column {missing[0]} missing (columns found: "
                         f"{', '.join(raw.columns[:8])}){hint}")
    return raw


def _months(raw: pd.DataFrame, df: pd.DataFrame, p: Path) -> list[str]:
    """Each row's scoring month as ``YYYY-MM``; one that is not a month is refused."""
    month = raw["scoring_month"].astype(str).str.strip().to_numpy()
    parts = [_MONTH.match(v) for v in month]
    bad = pd.Series([x is None or not 1 <= int(x.group(2)) <= 12 for x in parts])
    if bad.any():
        first = month[bad.to_numpy()][0]
        raise InputError(f"{p}: scoring_month '{first}' is not a month YYYY-MM in "
                         f"{row_names(df, bad)}")
    return [f"{x.group(1)}-{x.group(2)}" for x in parts if x is not None]


def _dates(raw: pd.DataFrame, df: pd.DataFrame, p: Path) -> pd.Series:
    if "decision_date" not in raw:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    text = raw["decision_date"].astype(str).str.strip().to_numpy()
    given = pd.Series(text != "")
    iso = pd.Series([bool(_DATE.match(v)) for v in text])
    parsed = pd.to_datetime(pd.Series(text).where(given & iso), errors="coerce",
                            format="mixed").dt.normalize()
    bad = given & parsed.isna()
    if bad.any():
        first = text[bad.to_numpy()][0]
        raise InputError(f"{p}: decision_date '{first}' is not a date YYYY-MM-DD in "
                         f"{row_names(df, bad)}")
    return parsed.astype("datetime64[ns]").to_numpy()
