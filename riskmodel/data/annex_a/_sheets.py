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
HEADER_SCAN = 1000  # the top rows searched for the header row (titles, notes above)


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
    footers: dict[str, int] = field(default_factory=dict)
    date_format: str | None = None

    @property
    def name(self) -> str:
        return self.label or list_name(self.number)

    def where(self, fld: str) -> str:
        return f"{self.name} {self.headers[fld]!r}"


def _sheets_of(path: Path) -> dict[str, object]:
    """``{sheet or file name: rows, or the CSV path}`` of a workbook or a folder."""
    if path.is_file():
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise InputError(f"annex-a: {path.name} is not an .xlsx workbook; give the "
                             "workbook or a folder of CSV files named like its sheets "
                             "(List 1.csv, ...)")
        return dict(read_workbook(path, "annex-a"))
    if path.is_dir():
        files = [p for p in sorted(path.iterdir())
                 if p.suffix.lower() == ".csv" and not p.name.startswith(".")]
        if not files:
            raise InputError(f"annex-a: no CSV files in {path} (expected List 1.csv, List 2.csv"
                             ", ...)")
        return {p.name: p for p in files}
    raise InputError(f"annex-a: {path} does not exist")


def _by_columns(name: str, rows: list[tuple], taken: set[int],
                local: dict[int, dict[str, str]]) -> tuple[int | None, str]:
    """The list a sheet without "List N" in its name holds, found by its columns (and name)."""
    spec = lists_spec()
    fits = []
    for n in NUMBERS:
        if n in taken:
            continue
        lspec = spec["lists"][f"list_{n}"]
        fields = {"child_id": spec["child_id_headers"], **lspec["fields"]}
        aliases = _aliases(fields, local.get(n, {}))
        at = find_header(rows, aliases, ["child_id", *lspec["required_fields"]])
        if at is not None:
            header = [cell_text(c) or "" for c in rows[at]]
            shown = [h for h in header if any(_matches(key(h), aliases[f])
                                              for f in lspec["required_fields"])]
            fits.append((n, shown))
    stem = key(Path(name).stem if name.lower().endswith(".csv") else name)
    named = [(n, cols) for n, cols in fits
             if any(stem == key(w) or stem.startswith(key(w) + " ")
                    for w in spec["lists"][f"list_{n}"].get("sheet_names", []))]
    pick = named if len(named) == 1 else fits if len(fits) == 1 else []
    if not pick:
        return None, ""
    n, cols = pick[0]
    return n, (f"sheet {name!r} read as {list_name(n)} (its columns: "
               f"{', '.join(repr(c) for c in cols)})")


def open_lists(path: Path, local: dict[int, dict[str, str]] | None = None,
               encoding: str | None = None
               ) -> tuple[dict[int, tuple[str, list[tuple]]], list[str], list[str]]:
    """``({list number: (sheet or file name, rows)}, names not read, choices made)``.

    A sheet named "List N" is List N; a sheet with another name ("Contacts", "Children in
    Need") is read as the list whose columns it has, and the choice is said.
    """
    local = local or {}
    sheets = _sheets_of(path)
    found: dict[int, list[str]] = {}
    others = []
    for name in sheets:
        n = list_number(name)
        if n in NUMBERS:
            found.setdefault(n, []).append(name)
        else:
            others.append(name)
    out: dict[int, tuple[str, list[tuple]]] = {}
    for n, names in found.items():
        if len(names) > 1:
            raise InputError(f"annex-a: {len(names)} sheets look like {list_name(n)}: "
                             f"{', '.join(repr(x) for x in names[:3])}; keep one")
        out[n] = (names[0], _rows(sheets[names[0]], list_name(n), encoding))
    skipped, chosen = [], []
    for name in others:
        if list_number(name) is not None:  # List 4, List 5: not read
            skipped.append(name)
            continue
        rows = _rows(sheets[name], name, encoding)
        n, why = _by_columns(name, rows, set(out), local)
        if n is None:
            skipped.append(name)
        else:
            out[n] = (name, rows)
            chosen.append(why)
    _check_found(out, sheets, path)
    return out, skipped, chosen


def _rows(src, what: str, encoding: str | None) -> list[tuple]:
    return read_csv_rows(src, what, encoding) if isinstance(src, Path) else src


def _check_found(out: dict, sheets: dict, path: Path) -> None:
    for n in NUMBERS:
        if n not in out and lists_spec()["lists"][f"list_{n}"]["required"]:
            shown = ", ".join(repr(x) for x in list(sheets)[:8]) or "none"
            raise InputError(f"annex-a: no {list_name(n)} in {path.name} (sheets or files "
                             f"found: {shown}); name it 'List {n}'")
    if not any(n in out for n in (6, 7, 8)):
        raise InputError(f"annex-a: no List 6, 7 or 8 in {path.name}: the escalation outcome "
                         "needs the social-care episodes they hold")


def _is_staff(k: str, staff_keys: set[str]) -> bool:
    return k in staff_keys or is_staff_header(k)


def _matches(k: str, aliases: list[str]) -> bool:
    return any(k == a or k.startswith(a + " ") for a in aliases)


def _aliases(fields: dict, local: dict[str, str]) -> dict[str, list[str]]:
    """Each field's header keys: the council's own (mapping.yaml) first, then the built-in."""
    return {f: [key(h) for h in ([local[f]] if f in local else []) + list(hs)]
            for f, hs in fields.items()}


def find_header(rows: list[tuple], aliases: dict[str, list[str]], required: list[str]
                ) -> int | None:
    """The header row: among the top rows naming a child id column, the first that names the
    most of the list's fields (title rows, blank rows and notes may sit above it)."""
    best, best_at = 0, None
    for i, row in enumerate(rows[:HEADER_SCAN]):
        keys = [key(c) for c in row if cell_text(c)]
        if not any(_matches(k, aliases["child_id"]) for k in keys):
            continue
        hits = {f for f, a in aliases.items() for k in keys if _matches(k, a)}
        if not set(required) <= hits:
            continue
        if len(hits) > best:
            best, best_at = len(hits), i
    return best_at


def is_footer(row: tuple) -> str | None:
    """The words a totals, count or report-footer row starts with, else None.

    Examples
    --------
    >>> is_footer(("Total", 8725)), is_footer(("Count of children: 1624",))
    ('total', 'count of')
    >>> is_footer(("C1", "a) Male")) is None
    True
    """
    first = next((cell_text(c) for c in row if cell_text(c)), None)
    if first is None:
        return None
    k = key(first)
    words = sorted((key(w) for w in lists_spec()["footer_rows"]), key=len, reverse=True)
    return next((w for w in words if k == w or k.startswith(w + " ")), None)

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


def _match_columns(header: list[str], fields: dict, aliases: dict, label: str,
                   source: str) -> tuple[dict[str, int], list[str], list[str]]:
    """``({field: column index}, staff headers, ignored headers)`` of a header row."""
    staff_keys = {key(h) for h in lists_spec()["staff_headers"]}
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
    return matched, staff, ignored


def _body(rows: list[tuple], header_at: int, cols: list[int]
          ) -> tuple[list[tuple], list[int], dict[str, int]]:
    """The records below the header: their cells, spreadsheet row numbers and footer rows."""
    body: list[tuple] = []
    numbers: list[int] = []
    footers: dict[str, int] = {}
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        cells = tuple(row[j] if j < len(row) else None for j in cols)
        if not any(cell_text(c) for c in cells):
            continue
        word = is_footer(row)
        if word is not None:
            footers[word] = footers.get(word, 0) + 1
            continue
        body.append(cells)
        numbers.append(i + 1)  # the row number a spreadsheet shows
    return body, numbers, footers


def read_columns(n: int, label: str, source: str, rows: list[tuple], fields: dict,
                 required: list[str], local: dict[str, str]) -> ListFrame:
    unknown = set(local) - set(fields)
    if unknown:
        raise InputError(f"mapping.yaml: annex_a: headers: {label}: unknown field "
                         f"{sorted(unknown)[0]!r} (expected {', '.join(fields)})")
    aliases = _aliases(fields, local)
    header_at = find_header(rows, aliases, required)
    if header_at is None:
        header_at = find_header(rows, aliases, ["child_id"])
    if header_at is None:
        raise InputError(f"{label} ({source!r}): no child id column (such as 'Child Unique "
                         f"ID') in its first {HEADER_SCAN} rows; name the header in "
                         f"mapping.yaml (annex_a: headers: {label}: child_id: ...)")
    header = [cell_text(c) or "" for c in rows[header_at]]
    matched, staff, ignored = _match_columns(header, fields, aliases, label, source)
    for f in required:
        if f not in matched:
            shown = ", ".join(repr(h) for h in header if h and h not in staff)[:300]
            raise InputError(
                f"{label} ({source!r}): no column for {f} (expected a header such as "
                f"{fields[f][0]!r}; headers found: {shown}); name it in mapping.yaml "
                f"(annex_a: headers: {label}: {f}: ...)")
    cols = list(matched.items())
    body, numbers, footers = _body(rows, header_at, [j for _, j in cols])
    data = pd.DataFrame(body, columns=[f for f, _ in cols], dtype=object)
    return ListFrame(number=n, source=source, data=data, rows=np.asarray(numbers, dtype=int),
                     headers={f: header[j] for f, j in cols}, ignored=ignored, staff=staff,
                     label=label, footers=footers)
