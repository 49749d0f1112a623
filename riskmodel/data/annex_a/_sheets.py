"""Finding the Annex A lists in a workbook or a folder of CSV files, and their columns.

Which headers hold which field is data (``lists.yaml``), matched by key; a council adds its
own headers in ``mapping.yaml`` (``annex_a: headers:``). Columns holding staff names
("Allocated Worker", "Allocated Team") are never read: their cells are not copied out of the
rows, and only their headers are named in the import report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from riskmodel._core.errors import InputError
from riskmodel.data._tolerant import (
    cell_text,
    is_staff_header,
    key,
    read_csv_rows,
    read_workbook,
)

NUMBERS = (1, 2, 3, 6, 7, 8)
_LIST = re.compile(r"^(?:annex a )?(?:list|l) ?(\d{1,2})(?!\d)")
HEADER_SCAN = 20  # rows searched for the header row (title rows may sit above it)


@cache
def lists_spec() -> dict:
    """``lists.yaml``: the lists read, their fields and the headers each is found under."""
    text = resources.files("riskmodel.data.annex_a").joinpath("lists.yaml").read_text(
        encoding="utf-8")
    return yaml.safe_load(text)


def list_name(n: int) -> str:
    return f"List {n}"


def list_number(name: str) -> int | None:
    """The list a sheet or file name is: ``"List 1 - Contacts"`` -> 1.

    Examples
    --------
    >>> [list_number(n) for n in ["List 1", "list_2 early help", "LIST 10", "Notes"]]
    [1, 2, 10, None]
    """
    m = _LIST.match(key(Path(name).stem if name.lower().endswith(".csv") else name))
    return int(m[1]) if m else None


@dataclass
class ListFrame:
    """One Annex A list as read: its fields (only those matched) and where each came from."""

    number: int
    source: str
    data: pd.DataFrame
    rows: np.ndarray
    headers: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or list_name(self.number)

    def where(self, fld: str) -> str:
        return f"{self.name} {self.headers[fld]!r}"


def open_lists(path: Path) -> tuple[dict[int, tuple[str, list[tuple]]], list[str]]:
    """``({list number: (sheet or file name, rows)}, names not read)`` of a workbook or folder."""
    if path.is_file():
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise InputError(f"annex-a: {path.name} is not an .xlsx workbook; give the "
                             "workbook or a folder of CSV files named like its sheets "
                             "(List 1.csv, ...)")
        sheets = read_workbook(path, "annex-a")
    elif path.is_dir():
        files = [p for p in sorted(path.iterdir())
                 if p.suffix.lower() == ".csv" and not p.name.startswith(".")]
        if not files:
            raise InputError(f"annex-a: no CSV files in {path} (expected List 1.csv, List 2.csv"
                             ", ...)")
        sheets = {p.name: p for p in files}
    else:
        raise InputError(f"annex-a: {path} does not exist")
    found: dict[int, list[str]] = {}
    skipped = []
    for name in sheets:
        n = list_number(name)
        if n in NUMBERS:
            found.setdefault(n, []).append(name)
        else:
            skipped.append(name)
    out = {}
    for n, names in found.items():
        if len(names) > 1:
            raise InputError(f"annex-a: {len(names)} sheets look like {list_name(n)}: "
                             f"{', '.join(repr(x) for x in names[:3])}; keep one")
        src = sheets[names[0]]
        rows = read_csv_rows(src, list_name(n)) if isinstance(src, Path) else src
        out[n] = (names[0], rows)
    for n in NUMBERS:
        if n not in out and lists_spec()["lists"][f"list_{n}"]["required"]:
            shown = ", ".join(repr(x) for x in list(sheets)[:8]) or "none"
            raise InputError(f"annex-a: no {list_name(n)} in {path.name} (sheets or files "
                             f"found: {shown}); name it 'List {n}'")
    if not any(n in out for n in (6, 7, 8)):
        raise InputError(f"annex-a: no List 6, 7 or 8 in {path.name}: the escalation outcome "
                         "needs the social-care episodes they hold")
    return out, skipped


def _is_staff(k: str, staff_keys: set[str]) -> bool:
    return k in staff_keys or is_staff_header(k)


def _matches(k: str, aliases: list[str]) -> bool:
    return any(k == a or k.startswith(a + " ") for a in aliases)


def read_list(n: int, source: str, rows: list[tuple], local: dict[str, str]) -> ListFrame:
    """Find a list's header row, match each field's column, and read only those columns.

    ``local`` holds the council's own headers for this list (field: header) from
    ``mapping.yaml``; they are tried before the built-in ones.
    """
    spec = lists_spec()
    lspec = spec["lists"][f"list_{n}"]
    fields = {"child_id": spec["child_id_headers"], **lspec["fields"]}
    return read_columns(n, list_name(n), source, rows, fields,
                        ["child_id", *lspec["required_fields"]], local)


def read_factors(source: str, rows: list[tuple], local: dict[str, str]) -> ListFrame:
    """The CIN census assessment factors file: child id, factor code(s), date."""
    spec = lists_spec()["factors"]
    return read_columns(0, "factors", source, rows, spec["fields"], spec["required_fields"],
                        local)


def read_columns(n: int, label: str, source: str, rows: list[tuple], fields: dict,
                 required: list[str], local: dict[str, str]) -> ListFrame:
    spec = lists_spec()
    unknown = set(local) - set(fields)
    if unknown:
        raise InputError(f"mapping.yaml: annex_a: headers: {label}: unknown field "
                         f"{sorted(unknown)[0]!r} (expected {', '.join(fields)})")
    aliases = {f: [key(h) for h in ([local[f]] if f in local else []) + list(hs)]
               for f, hs in fields.items()}
    staff_keys = {key(h) for h in spec["staff_headers"]}
    header_at = None
    for i, row in enumerate(rows[:HEADER_SCAN]):
        if any(_matches(key(c), aliases["child_id"]) for c in row if cell_text(c)):
            header_at = i
            break
    if header_at is None:
        raise InputError(f"{label} ({source!r}): no child id column (such as 'Child Unique "
                         f"ID') in its first {HEADER_SCAN} rows; name the header in "
                         f"mapping.yaml (annex_a: headers: {label}: child_id: ...)")
    header = [cell_text(c) or "" for c in rows[header_at]]
    matched: dict[str, int] = {}
    staff, ignored = [], []
    for j, h in enumerate(header):
        k = key(h)
        if not k:
            continue
        if _is_staff(k, staff_keys):
            staff.append(h)  # never read
            continue
        hits = [f for f in fields if _matches(k, aliases[f][:1])] or \
            [f for f in fields if _matches(k, aliases[f])]
        if not hits:
            ignored.append(h)
            continue
        f = hits[0]
        if f in matched:
            raise InputError(f"{label} ({source!r}): two columns could be {f!r}: "
                             f"{header[matched[f]]!r} and {h!r}; name the one to read in "
                             f"mapping.yaml (annex_a: headers: {label}: {f}: ...)")
        matched[f] = j
    for f in required:
        if f not in matched:
            shown = ", ".join(repr(h) for h in header if h and h not in staff)[:300]
            raise InputError(
                f"{label} ({source!r}): no column for {f} (expected a header such as "
                f"{fields[f][0]!r}; headers found: {shown}); name it in mapping.yaml "
                f"(annex_a: headers: {label}: {f}: ...)")
    cols = list(matched.items())
    body, numbers = [], []
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        cells = tuple(row[j] if j < len(row) else None for _, j in cols)
        if any(cell_text(c) for c in cells):
            body.append(cells)
            numbers.append(i + 1)  # the row number a spreadsheet shows
    data = pd.DataFrame(body, columns=[f for f, _ in cols], dtype=object)
    return ListFrame(number=n, source=source, data=data, rows=np.asarray(numbers, dtype=int),
                     headers={f: header[j] for f, j in cols}, ignored=ignored, staff=staff,
                     label=label)
