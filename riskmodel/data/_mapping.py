"""A council's own words, mapped onto the contract: ``mapping.yaml``.

For an extract that is neither the contract nor Ofsted Annex A, ``mapping.yaml`` says, per
contract table, where the table is (a file or sheet), which of the council's headers holds
each contract column, how values translate (a built-in DfE preset and/or the council's own
map) and how dates are written; the same file can carry local words for an Annex A import
(``annex_a:``). Headers and values are matched tolerantly (case, spacing, punctuation, "a) "
enumerations). Values no mapping covers are reported one line per column, with counts and
examples; ``unmapped: other`` is the explicit opt-in to send them to the column's catch-all.

Example ``mapping.yaml``::

    date_format: day-first          # day-first | month-first | iso | a pattern ('%d/%m/%Y')
    unmapped: report                # report (refuse) | other
    encoding: windows-1252          # CSV files' encoding; default: found (UTF-8, UTF-16, 1252)
    tables:
      children:
        source: Child details       # file stem or sheet name; default: the table's name
        columns: {child_id: Person ID, family_id: Household ID, sex: Gender}
        values:
          sex: dfe_gender           # a preset
          ethnicity: {preset: dfe_ethnicity, map: {White - English: white}}
      contacts:
        columns: {contact_id: Contact ID, contact_date: Contact Date, source: Source}
        values: {source: {preset: dfe_source, map: {Police - local: police}}}
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskmodel._core.errors import InputError
from riskmodel._core.spec import load_spec
from riskmodel.data._codelists import (
    COLUMN_TABLE,
    PRESETS,
    Unmapped,
    UnmappedValues,
    ValueMap,
)
from riskmodel.data._contract import COLUMNS, DATE_COLUMNS, OPTIONAL_TABLES, TABLES
from riskmodel.data._schemas import ALLOWED
from riskmodel.data._tolerant import (
    cell_text,
    frame_from_rows,
    is_staff_header,
    key,
    parse_dates,
    read_csv_text,
    read_workbook,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueSpec(_Strict):
    """How one column's values translate: presets, the council's own map, the catch-all."""

    preset: list[str] = []
    map: dict[str, str | None] = {}
    unmapped: Literal["report", "other"] | None = None

    @field_validator("preset", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        v = [v] if isinstance(v, str) else v
        for name in v or []:
            if name not in PRESETS:
                raise ValueError(f"expected a preset among {', '.join(PRESETS)}")
        return v

    @field_validator("map", mode="before")
    @classmethod
    def _keys_as_text(cls, v):
        return {str(k): (None if x is None else str(x)) for k, x in (v or {}).items()}


def _value_spec(v):
    return {"preset": v} if isinstance(v, str) else v


class TableSpec(_Strict):
    """Where one contract table is in the council's extract and how to read it."""

    source: str | None = None
    columns: dict[str, str] = {}
    values: dict[str, ValueSpec] = {}
    date_format: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _shorthand(cls, v):
        return {k: _value_spec(x) for k, x in (v or {}).items()}


class AnnexASpec(_Strict):
    """Local words for an Ofsted Annex A import: per list (``List 3``, or ``factors``), its
    headers and how its dates are written."""

    headers: dict[str, dict[str, str]] = {}
    date_format: dict[str, str] = {}
    values: dict[str, ValueSpec] = {}
    early_help_months: int = Field(6, ge=1, le=36)
    recorded_lag_days: int = Field(0, ge=0, le=90)

    @field_validator("values", mode="before")
    @classmethod
    def _shorthand(cls, v):
        return {k: _value_spec(x) for k, x in (v or {}).items()}


class Mapping(_Strict):
    """``mapping.yaml``: a council's own words for the contract (see the module's docs)."""

    date_format: str | None = None
    unmapped: Literal["report", "other"] = "report"
    encoding: str | None = None
    tables: dict[Literal[TABLES], TableSpec] = {}  # type: ignore[valid-type]
    annex_a: AnnexASpec = AnnexASpec()


def load_mapping(path: str | os.PathLike | None) -> Mapping:
    """Read and check ``mapping.yaml`` (``None``: the empty mapping).

    Raises
    ------
    InputError
        ``mapping.yaml: key 'tables.children.values.sex.preset': ...`` for the first problem;
        a contract column or value that does not exist is named too.

    Examples
    --------
    >>> load_mapping(None).unmapped
    'report'
    """
    if path is None:
        return Mapping()
    m = load_spec(path, Mapping)
    _check_annex_a(m, path)
    for table, spec in m.tables.items():
        for col in [*spec.columns, *spec.values]:
            if col not in COLUMNS[table]:
                raise InputError(f"{path}: key 'tables.{table}.{col}': {table} has "
                                 f"no column {col!r} (it has {', '.join(COLUMNS[table])})")
        for col in spec.values:
            if (table, col) not in ALLOWED:
                raise InputError(f"{path}: key 'tables.{table}.values.{col}': "
                                 f"{col} is not a category column")
    for col in m.annex_a.values:
        if col not in ("sex", "ethnicity", "source", "factor"):
            raise InputError(f"{path}: key 'annex_a.values.{col}': expected sex, "
                             "ethnicity, source or factor")
    specs = [(f"tables.{t}.values.{c}", t, c, v) for t, ts in m.tables.items()
             for c, v in ts.values.items()]
    specs += [(f"annex_a.values.{c}", COLUMN_TABLE[c], c, v) for c, v in m.annex_a.values.items()]
    for where, table, col, vspec in specs:
        allowed = ALLOWED[(table, col)]
        for raw, value in vspec.map.items():
            if value is not None and value not in allowed:
                raise InputError(f"{path}: key '{where}.map': {raw!r} maps to {value!r}, not "
                                 f"one of {', '.join(allowed)}")
    return m


def _check_annex_a(m: Mapping, path) -> None:
    """The encoding exists; ``annex_a`` headers and date formats name lists that exist."""
    if m.encoding is not None:
        try:
            codecs.lookup(m.encoding)
        except LookupError:
            raise InputError(f"{path}: key 'encoding': unknown encoding {m.encoding!r} "
                             "(expected utf-8, utf-16 or windows-1252)") from None
    for part in ("headers", "date_format"):
        for name in getattr(m.annex_a, part):
            if not re.fullmatch(r"(list \d{1,2}|factors)", key(name)):
                raise InputError(f"{path}: key 'annex_a.{part}.{name}': expected a list "
                                 "name such as 'List 1', or 'factors'")


def value_map(column: str, spec: ValueSpec | None, mapping: Mapping, *, presets=(),
              where: str = "mapping.yaml", section: tuple[str, ...] = ()) -> ValueMap:
    """The :class:`ValueMap` of a column: default presets, then the spec's, then its map.

    ``section`` is where the column's values go in mapping.yaml (for the file of values to
    fill when some are unmapped).
    """
    spec = spec or ValueSpec()
    names = list(dict.fromkeys([*spec.preset, *presets]))
    return ValueMap(column, presets=names, local=spec.map,
                    unmapped=spec.unmapped or mapping.unmapped, where=where, section=section)


# ---------------------------------------------------------------- values to fill ------------

TODO = "TODO"


def todo_path(mapping: str | os.PathLike | None, out: str | os.PathLike) -> Path:
    """Where the values to fill go: beside ``mapping.yaml`` (``mapping.todo.yaml``), else
    beside the output folder."""
    if mapping is not None:
        m = Path(mapping)
        return m.with_name(f"{m.stem}.todo.yaml")
    return Path(out).resolve().parent / "mapping.todo.yaml"


def todo_text(found: list, mapping: str | os.PathLike | None) -> str:
    """A mapping.yaml to fill: the council's own (if given) with every unmapped value added
    as ``TODO`` (refused until filled), its rows and other spellings in a comment.

    Examples
    --------
    >>> from riskmodel.data._codelists import Unmapped
    >>> u = Unmapped("List 1 'Ethnicity'", "ethnicity", {"Martian": 3, "MARTIAN": 1},
    ...              ("annex_a", "values", "ethnicity"))
    >>> print(todo_text([u], None).split("annex_a:", 1)[1])
    <BLANKLINE>
      values:
        ethnicity:
          map:
            Martian: TODO  # 4 rows in List 1 'Ethnicity'; also written 'MARTIAN'
    <BLANKLINE>
    """
    import yaml

    data: dict = {}
    if mapping is not None:
        data = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
    notes: dict[str, str] = {}
    for u in found:
        node = data
        for part in (*u.section, "map"):
            node = _child(node, part)
        for value, rows, others in u.groups():
            mark = f"__todo_{len(notes)}__"
            node[value] = mark
            also = "; also written " + ", ".join(repr(o) for o in others) if others else ""
            notes[mark] = f"{TODO}  # {rows:,} row{'s' if rows > 1 else ''} in {u.where}{also}"
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    for mark, note in notes.items():
        text = text.replace(mark, note)
    words = {u.column: ", ".join(ALLOWED[(COLUMN_TABLE[u.column], u.column)]) for u in found}
    head = ["# Values no mapping covers, written by riskmodel import. Replace each TODO with",
            "# the contract value it means (or null: not recorded), then pass this file with",
            "# --mapping (or copy the values into your mapping.yaml). Contract values:"]
    head += [f"#   {col}: {allowed}" for col, allowed in words.items()]
    return "\n".join(head) + "\n" + text


def _child(node: dict, part: str) -> dict:
    """``node[part]`` as a dict: made when absent or empty; a preset named alone
    (``values: {sex: dfe_gender}``) becomes ``{preset: dfe_gender}``."""
    value = node.get(part)
    if isinstance(value, str):
        node[part] = {"preset": value}
    elif not isinstance(value, dict):
        node[part] = {}
    return node[part]


# ---------------------------------------------------------------- import extract ------------

@dataclass
class MappedExtract:
    """The contract tables read through a mapping, and what happened on the way."""

    tables: dict[str, pd.DataFrame]
    notes: dict[str, list[str]] = field(default_factory=dict)
    catch_all: dict[str, dict[str, int]] = field(default_factory=dict)


def _sources(path: Path) -> dict[str, object]:
    """``{name as written: frame or rows}`` of a folder's CSV/Parquet files or a workbook."""
    if path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm"):
        return {name: rows for name, rows in read_workbook(path, "extract").items()}
    if path.is_dir():
        found: dict[str, object] = {}
        for p in sorted(path.iterdir()):
            if p.suffix.lower() in (".csv", ".parquet") and not p.name.startswith("."):
                found.setdefault(p.stem, p)
        return found
    raise InputError(f"extract: {path} is neither a folder of CSV/Parquet files nor an .xlsx "
                     "workbook")


def _frame(name: str, src, table: str, encoding: str | None = None) -> pd.DataFrame:
    if isinstance(src, Path):
        if src.suffix.lower() == ".parquet":
            return pd.read_parquet(src)
        return read_csv_text(src, table, encoding)
    rows = [r for r in src if any(cell_text(c) for c in r)]
    if not rows:
        raise InputError(f"{table}: sheet {name!r} is empty")
    return frame_from_rows(rows, 0)


def _pick_source(sources: dict, wanted: str, table: str, where: str):
    matches = [n for n in sources if key(n) == key(wanted)]
    if not matches:
        if table in OPTIONAL_TABLES and wanted == table:
            return None, None
        shown = ", ".join(sorted(sources)[:8]) or "nothing"
        raise InputError(f"{table}: no file or sheet named {wanted!r} in {where} (found "
                         f"{shown}); name it in mapping.yaml (tables: {table}: source:)")
    return matches[0], sources[matches[0]]


def _find_column(df: pd.DataFrame, header: str) -> str | None:
    hits = [c for c in df.columns if key(c) == key(header) and not is_staff_header(c)]
    return hits[0] if hits else None


def _column(raw: pd.DataFrame, name: str, table: str, col: str, spec: TableSpec,
            mapping: Mapping, notes: list[str], unmapped: list[Unmapped], out: MappedExtract
            ) -> pd.Series | None:
    """One contract column read from the council's table (None: an optional one absent)."""
    header = spec.columns.get(col, col)
    found = _find_column(raw, header)
    if found is None and col in spec.columns:
        shown = ", ".join(map(str, raw.columns[:10]))
        raise InputError(f"{table}.{col}: no column {header!r} in {name} (columns: "
                         f"{shown}); check tables: {table}: columns: in mapping.yaml")
    if found is None:
        return None  # optional columns may be absent; validation names required ones
    where = f"{table}.{col} ({found!r})" if found != col else f"{table}.{col}"
    values = raw[found]
    if col in DATE_COLUMNS[table]:
        values, note = parse_dates(values, fmt=spec.date_format or mapping.date_format,
                                   where=where, row_numbers=raw.index + 2,
                                   secret=col == "date_of_birth")
        if note:
            notes.append(f"{col}: text dates read {note}")
        return values
    if (table, col) in ALLOWED:
        vm = value_map(col, spec.values.get(col), mapping,
                       section=("tables", table, "values", col))
        values, missed = vm.read(values, where)
        if missed.counts:
            unmapped.append(missed)
        if vm.used_catch_all:
            out.catch_all[f"{table}.{col}"] = vm.used_catch_all
        return values
    return pd.Series([cell_text(v) for v in values.astype(object)], index=raw.index,
                     dtype="string")


def map_extract(path: str | os.PathLike, mapping: Mapping) -> MappedExtract:
    """Read a council's extract through ``mapping`` into the contract tables (as text/dates).

    Parameters
    ----------
    path : path
        A folder of CSV (any of , ; tab | separators, UTF-8 with or without a BOM) or
        Parquet files, or an ``.xlsx`` workbook with a sheet per table.
    mapping : Mapping

    Returns
    -------
    MappedExtract

    Raises
    ------
    InputError
        A table or column not found (naming what was found), an unparseable or ambiguous
        date, or :class:`~riskmodel.data._codelists.UnmappedValues`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"extract: {path} does not exist")
    sources = _sources(path)
    out = MappedExtract(tables={})
    unmapped: list[Unmapped] = []
    for table in TABLES:
        spec = mapping.tables.get(table, TableSpec())
        name, src = _pick_source(sources, spec.source or table, table, path.name)
        if src is None:
            continue
        raw = _frame(name, src, table, mapping.encoding)
        notes = out.notes.setdefault(table, [f"read from {name}: {len(raw):,} rows"])
        df = pd.DataFrame(index=raw.index)
        for col in COLUMNS[table]:
            values = _column(raw, name, table, col, spec, mapping, notes, unmapped, out)
            if values is not None:
                df[col] = values
        out.tables[table] = df.reset_index(drop=True)
    if unmapped:
        raise UnmappedValues(unmapped, path.name)
    return out


__all__ = ["COLUMN_TABLE", "Mapping", "MappedExtract", "load_mapping", "map_extract",
           "todo_path", "todo_text", "value_map"]
