"""Reading what councils export, tolerantly but never wrongly.

Headers and category values are compared by a *key*: lower case, the "a) " enumerations
some councils keep removed, punctuation and runs of spaces made one space. Files are Excel
workbooks (``.xlsx``) or CSV in UTF-8 (a byte-order mark is fine), UTF-16 or Windows-1252
(Excel's plain "CSV", read with a note; ``encoding:`` in mapping.yaml names it), separated
by commas, semicolons, tabs or pipes, with any line endings. Dates written as text are read
day-first (UK) or month-first only when told, or when the column itself leaves no doubt; a
column that could be read either way is an error that says how to set the format. Each
problem is one :class:`~riskmodel._core.errors.InputError` line naming the file, sheet or
column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError, InputWarning

_ENUM = re.compile(r"^\s*\(?[a-z]{1,2}\d?\)\s*", re.IGNORECASE)
_PUNCT = re.compile(r"[^0-9a-z]+")


def key(text) -> str:
    """The form headers and values are compared in.

    Examples
    --------
    >>> key("a) Date of Contact ")
    'date of contact'
    >>> key("Referral NFA?"), key("CHILD_UNIQUE-ID"), key("q) 6: Police")
    ('referral nfa', 'child unique id', '6 police')
    """
    text = _ENUM.sub("", str(text)).lower().replace("&", " and ")
    return _PUNCT.sub(" ", text).strip()


def is_staff_header(header) -> bool:
    """Whether a column holds staff names ("Allocated Worker", "Allocated Team"): never read.

    Examples
    --------
    >>> [is_staff_header(h) for h in ["Allocated Worker", "allocated_team", "Child ID"]]
    [True, True, False]
    """
    words = key(header).split()
    return "worker" in words or "allocated" in words


def cell_text(value) -> str | None:
    """A cell as text: whole numbers without ``.0``, blanks as ``None``, dates untouched."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------- files ---------------------

_SEPARATORS = (",", ";", "\t", "|")


WINDOWS_1252 = "windows-1252"


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is zero (text without a BOM)."""
    head = data[:2000]
    if len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > 0.4 * len(head) / 2 and even == 0:
        return "utf-16-le"
    if even > 0.4 * len(head) / 2 and odd == 0:
        return "utf-16-be"
    return None


def _as(data: bytes, path: Path, what: str, encoding: str) -> str:
    """``data`` decoded as the encoding mapping.yaml names, or one line."""
    try:
        return data.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
    except LookupError:
        raise InputError(f"{what}: unknown encoding {encoding!r} in mapping.yaml (expected "
                         "utf-8, utf-16 or windows-1252)") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start:exc.start + 1].hex()
        raise InputError(f"{what}: {path.name} is not {encoding} text (byte 0x{byte} on line "
                         f"{line}); check encoding: in mapping.yaml") from None


def _decoded(path: Path, what: str, encoding: str | None = None) -> str:
    """A CSV file's text: UTF-8 (with or without a byte-order mark), UTF-16 or Windows-1252.

    Windows-1252 (what Excel's plain "CSV" writes) is read with a one-line note, unless
    ``encoding`` (mapping.yaml's ``encoding:``) says so; a file that is none of these (a
    binary file, another encoding's bytes) is refused in one line.
    """
    data = path.read_bytes()
    if encoding is not None:
        text = _as(data, path, what, encoding)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _as(data, path, what, "utf-16")
    elif (utf16 := _utf16_without_bom(data)) is not None:
        text = _as(data, path, what, utf16)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = _windows_1252(data, path, what, exc)
    if "\x00" in text:
        raise InputError(f"{what}: {path.name} is not a text file (it holds NUL bytes); "
                         "save it as CSV")
    if not text.strip():
        raise InputError(f"{what}: {path.name} is empty (no header line)")
    return text


def _windows_1252(data: bytes, path: Path, what: str, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start:exc.start + 1].hex()
    try:
        text = data.decode(WINDOWS_1252)
    except UnicodeDecodeError:
        raise InputError(
            f"{what}: {path.name} is neither UTF-8, UTF-16 nor Windows-1252 text (byte 0x{byte}"
            f" on line {line}); save it as CSV UTF-8, or name its encoding in mapping.yaml "
            "(encoding:)") from None
    warnings.warn(InputWarning(
        f"{what}: {path.name} is not UTF-8 (byte 0x{byte} on line {line}): read as "
        "Windows-1252, as Excel saves plain CSV; set encoding: windows-1252 in mapping.yaml "
        "to say so"), stacklevel=3)
    return text


def read_csv_text(path: Path, what: str, encoding: str | None = None) -> pd.DataFrame:
    """A CSV file as text columns (header as written), whatever its separator and line ends.

    UTF-8 with or without a byte-order mark, UTF-16, or Windows-1252 (with a note), or the
    ``encoding`` named; the separator is the one of ``, ; tab |`` that splits the header line
    into the most fields. Refused in one line: an empty file, a file in none of these
    encodings, rows with more cells than the header.
    """
    text = _decoded(path, what, encoding)
    header = text.lstrip("\r\n").splitlines()[0]
    sep = max(_SEPARATORS, key=lambda s: len(next(csv.reader([header], delimiter=s))))
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         na_values=[""], skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        detail = " ".join(str(exc).split()).removeprefix("Error tokenizing data. C error: ")
        raise InputError(f"{what}: cannot read {path.name} as CSV ({detail})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_csv_rows(path: Path, what: str, encoding: str | None = None) -> list[tuple]:
    """A CSV file as rows of text cells (title lines above the header kept as rows).

    The separator is the one of ``, ; tab |`` that splits the widest of the first lines
    into the most fields; encodings are read as in :func:`read_csv_text`.
    """
    text = _decoded(path, what, encoding)
    head = [ln for ln in text.splitlines()[:15] if ln.strip()]

    def width(sep):
        return max(len(next(csv.reader([ln], delimiter=sep))) for ln in head)

    sep = max(_SEPARATORS, key=width)
    return [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep)]


def read_workbook(path: Path, what: str) -> dict[str, list[tuple]]:
    """Every sheet of an ``.xlsx`` workbook as its rows of cell values.

    Dates in date-formatted cells come back as datetimes; everything else as written.
    """
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of the package
        raise InputError(f"{what}: reading .xlsx needs openpyxl (pip install openpyxl)") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        detail = " ".join(str(exc).split())[:120]
        raise InputError(f"{what}: cannot read {path.name} as an Excel workbook "
                         f"({type(exc).__name__}: {detail})") from None
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


def frame_from_rows(rows: list[tuple], header_at: int) -> pd.DataFrame:
    """A sheet's rows below ``header_at`` as a frame of objects (header as written)."""
    header = [cell_text(c) or f"(column {i + 1})" for i, c in enumerate(rows[header_at])]
    body = [r for r in rows[header_at + 1:] if any(cell_text(c) for c in r)]
    width = len(header)
    body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in body]
    return pd.DataFrame(body, columns=header, dtype=object)


# ---------------------------------------------------------------- dates ---------------------

DAY_FIRST, MONTH_FIRST, ISO = "day-first", "month-first", "iso"
_ISO_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}.*)?$")
_NAMED = re.compile(r"^\d{1,2}[ \-/]?[a-z]{3,9}[ \-/,]*\d{4}$", re.IGNORECASE)
_SERIAL = re.compile(r"^\d{4,6}(\.\d+)?$")
_HOW = ("set date_format in mapping.yaml (day-first for 31/03/2024, month-first for "
        "03/31/2024, or a pattern such as '%d/%m/%Y') and pass it with --mapping")


def _rows(positions, row_numbers) -> str:
    shown = ", ".join(str(row_numbers[p]) for p in positions[:3])
    return f"row{'s' if len(positions) > 1 else ''} {shown}"


def _fail(where: str, what: str, values: list[str], positions, row_numbers) -> InputError:
    shown = ", ".join(repr(v) for v in values[:3]) + (
        f" and {len(values) - 3} more" if len(values) > 3 else "")
    return InputError(f"{where}: {what} {shown} in {len(positions):,} "
                      f"row{'s' if len(positions) != 1 else ''} (e.g. "
                      f"{_rows(positions, row_numbers)})")


def parse_dates(values: pd.Series, *, fmt: str | None, where: str, row_numbers=None,
                secret: bool = False) -> tuple[pd.Series, str | None]:
    """Dates a council wrote, read exactly or refused in one line.

    Parameters
    ----------
    values : Series
        Cells: datetimes (Excel date cells) or text.
    fmt : {"day-first", "month-first", "iso"}, a ``strptime`` pattern, or None
        How text dates are written. ``None`` accepts ISO dates and reads ``nn/nn/yyyy``
        only when the column itself settles the order (a first number over 12 can only be
        a day); otherwise the column is ambiguous and refused.
    where : str
        The column, for messages (``"List 1 'Date of Contact'"``).
    row_numbers : sequence, optional
        The row number a user sees for each value (spreadsheet rows); default 1, 2, ...
    secret : bool
        Never echo the values (dates of birth).

    Returns
    -------
    (Series of datetime64[ns], str or None)
        The dates (missing where the cell is blank) and a note on how text was read
        (``"day-first"``), or None when there was no text date.

    Examples
    --------
    >>> s = pd.Series(["03/04/2023", "2023-05-01", None])
    >>> parse_dates(s, fmt="day-first", where="x")[0].dt.strftime("%d %B").tolist()[:2]
    ['03 April', '01 May']
    >>> parse_dates(pd.Series(["03/04/2023"]), fmt=None, where="contacts.contact_date")
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: contacts.contact_date: '03/04/2023' could be 3 April \
or 4 March (day-first or month-first) in 1 row (e.g. row 1); set date_format in \
mapping.yaml (day-first for 31/03/2024, month-first for 03/31/2024, or a pattern such as \
'%d/%m/%Y') and pass it with --mapping
    """
    n = len(values)
    rows = list(row_numbers) if row_numbers is not None else list(range(1, n + 1))
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    text_at, texts = _date_cells(values, out)
    if not texts:
        return out, None
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object))
    col = _TextColumn(uniques=list(uniques), where=where, codes=codes,
                      positions=np.asarray(text_at), rows=rows, secret=secret)
    read, note = _read_text(col, fmt)
    out.iloc[col.positions] = read[codes]
    bad = (out < pd.Timestamp("1900-01-01")) | (out >= pd.Timestamp("2200-01-01"))
    if bad.any():
        at = np.flatnonzero(bad.to_numpy())
        shown = [] if secret else [str(values.iloc[i]) for i in at]
        raise _fail(where, "date out of range (expected 1900-2200)", shown, at, rows)
    return out, note


def _date_cells(values: pd.Series, out: pd.Series) -> tuple[list[int], list[str]]:
    """Fill ``out`` from date cells; give the positions and text of the text cells."""
    text_at: list[int] = []
    texts: list[str] = []
    for i, v in enumerate(values.astype(object).to_numpy()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            continue
        if isinstance(v, (dt.datetime, dt.date, pd.Timestamp, np.datetime64)):
            out.iloc[i] = pd.Timestamp(v).normalize()
            continue
        t = cell_text(v)
        if t is None:
            continue
        text_at.append(i)
        texts.append(t)
    return text_at, texts


@dataclass
class _TextColumn:
    """The distinct text dates of a column, and where each occurs, for messages."""

    uniques: list[str]
    where: str
    codes: np.ndarray  # for each text cell, its index in ``uniques``
    positions: np.ndarray  # for each text cell, its position in the column
    rows: list[Any]
    secret: bool

    def fail(self, what: str, mask_unique: np.ndarray, hint: str = "") -> InputError:
        """The one-line error for the distinct texts ``mask_unique`` picks."""
        idx = np.flatnonzero(mask_unique)
        at = self.positions[np.isin(self.codes, idx)]
        shown = [] if self.secret else [self.uniques[j] for j in idx]
        err = _fail(self.where, what, shown, at, self.rows)
        return InputError(f"{err}{hint}")


def _read_text(col: _TextColumn, fmt: str | None) -> tuple[np.ndarray, str | None]:
    """The distinct text dates read as ``fmt`` says, and a note on how they were read."""
    u = pd.Series(col.uniques, dtype=object)
    serial = u.str.match(_SERIAL).to_numpy()
    if serial.any():
        raise col.fail("a number, not a date,", serial,
                       " (an Excel date serial number? format the column as a date and export "
                       "again)")
    if fmt not in (None, DAY_FIRST, MONTH_FIRST, ISO):  # a strptime pattern
        parsed = pd.to_datetime(u, format=fmt, errors="coerce")
        if parsed.isna().any():
            raise col.fail(f"not a date in the format {fmt!r}", parsed.isna().to_numpy())
        return parsed.to_numpy(dtype="datetime64[ns]"), fmt
    iso = u.str.match(_ISO_TEXT).to_numpy()
    num = u.str.extract(_NUMERIC)
    numeric = num[0].notna().to_numpy()
    named = u.str.match(_NAMED).to_numpy()
    other = ~(iso | numeric | named)
    if other.any():
        raise col.fail("unparseable date", other,
                       "; expected dates such as 31/03/2024 or 2024-03-31")
    a = pd.to_numeric(num[0]).to_numpy()
    b = pd.to_numeric(num[1]).to_numpy()
    year = num[2].fillna("").to_numpy()
    short = numeric & (np.char.str_len(year.astype(str)) == 2)
    if short.any():
        raise col.fail("two-digit year in", short,
                       "; export four-digit years (31/03/2024), or give the pattern "
                       "('%d/%m/%y') in date_format")
    order, note = _numeric_order(col, fmt, numeric, a, b)
    day, month = (a, b) if order != MONTH_FIRST else (b, a)
    return _to_dates(col, iso, numeric, (year, month, day)), note


def _numeric_order(col: _TextColumn, fmt: str | None, numeric: np.ndarray, a: np.ndarray,
                   b: np.ndarray) -> tuple[str | None, str | None]:
    """Whether ``nn/nn/yyyy`` dates are day-first or month-first, and the note saying so."""
    note = None
    order = fmt if fmt in (DAY_FIRST, MONTH_FIRST) else None
    if not numeric.any():
        return order, note
    if fmt == ISO:
        raise col.fail("not an ISO date (YYYY-MM-DD):", numeric, f"; {_HOW}")
    day_only = numeric & (a > 12)
    month_only = numeric & (b > 12)
    if order is None:
        if day_only.any() and month_only.any():
            raise col.fail("dates written both day-first and month-first, such as",
                           day_only | month_only, f"; {_HOW}")
        if day_only.any() or month_only.any():
            order = DAY_FIRST if day_only.any() else MONTH_FIRST
            note = f"{order} (the column leaves no doubt)"
        elif (numeric & (a != b)).any():
            raise _ambiguous(col, numeric & (a != b), a, b)
        else:
            order = DAY_FIRST
    elif order == DAY_FIRST and month_only.any():
        raise col.fail("not a day-first date:", month_only,
                       " (the month is over 12); if the column is month-first, set "
                       "date_format: month-first in mapping.yaml")
    elif order == MONTH_FIRST and day_only.any():
        raise col.fail("not a month-first date:", day_only,
                       " (the month is over 12); if the column is day-first, set "
                       "date_format: day-first in mapping.yaml")
    return order, note or order


def _ambiguous(col: _TextColumn, ex: np.ndarray, a: np.ndarray, b: np.ndarray) -> InputError:
    """The error for a column whose dates could be day-first or month-first."""
    first = int(np.flatnonzero(ex)[0])
    d, m = int(a[first]), int(b[first])
    names = [dt.date(2000, m, 1).strftime("%B"), dt.date(2000, d, 1).strftime("%B")]
    what = (f"{col.uniques[first]!r} could be {d} {names[0]} or {m} {names[1]} "
            "(day-first or month-first)")
    if col.secret:
        what = "dates could be day-first or month-first"
    at = col.positions[np.isin(col.codes, np.flatnonzero(ex))]
    return InputError(f"{col.where}: {what} in {len(at):,} row"
                      f"{'s' if len(at) != 1 else ''} (e.g. {_rows(at, col.rows)}); {_HOW}")


def _to_dates(col: _TextColumn, iso: np.ndarray, numeric: np.ndarray,
              ymd: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Each distinct text as a date (ISO, numeric in the settled order, or named month)."""
    year, month, day = ymd
    out = np.full(len(col.uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
    bad = np.zeros(len(col.uniques), dtype=bool)
    for j, text in enumerate(col.uniques):
        try:
            got: dt.date
            iso_match = _ISO_TEXT.match(text) if iso[j] else None
            if iso_match is not None:
                got = dt.date(int(iso_match[1]), int(iso_match[2]), int(iso_match[3]))
            elif numeric[j]:
                got = dt.date(int(year[j]), int(month[j]), int(day[j]))
            else:
                got = pd.to_datetime(text, dayfirst=True, errors="raise").date()
        except (ValueError, TypeError, OverflowError):
            bad[j] = True
            continue
        out[j] = np.datetime64(got, "ns")
    if bad.any():
        raise col.fail("no such day", bad)
    return out
