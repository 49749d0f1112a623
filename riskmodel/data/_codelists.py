"""DfE code lists (YAML data in ``riskmodel/data/codelists/``) and mapping values onto the contract.

A code list names a contract column and, per code, its label and the contract value it is
read as (``null``: no contract value; the cell is left empty, or a factor row dropped). A
:class:`ValueMap` combines the contract's own words, any presets and a council's own map
(``mapping.yaml``), and reads a column of raw values through them: every distinct value is
matched by its key (case, spacing, punctuation and "a) " enumerations ignored), as a code,
a label or "code: label". A list may carry *extended* codes (``<name>_extended.yaml``: the
DfE's subdivisions of a main code, such as WENG within WBRI), each read as its main code, and
*description prefixes* ("Black or Black British - African" is read as "African", and only as
black). Values nothing covers are *unmapped*: reported one line per column (case variants
counted as one value), never turned silently into "other".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import pandas as pd
import yaml

from riskmodel._core.errors import InputError
from riskmodel.data._schemas import ALLOWED
from riskmodel.data._tolerant import cell_text, key

PRESETS = ("dfe_ethnicity", "dfe_gender", "dfe_source", "cin_factors")
# The table each mapped column belongs to (category columns of the contract).
COLUMN_TABLE = {col: table for (table, col) in ALLOWED}
# Where an explicit `unmapped: other` sends a value no mapping covers.
CATCH_ALL = {"ethnicity": "other", "source": "other", "need": "other", "sex": "unknown"}


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    value: str | None
    aliases: tuple[str, ...] = ()
    main: str | None = None  # an extended code: the main code it subdivides


@dataclass(frozen=True)
class CodeList:
    """One code list: its name, the contract column it maps to and its codes."""

    name: str
    column: str
    description: str
    codes: tuple[Code, ...]
    extended: tuple[Code, ...] = ()
    prefixes: tuple[tuple[str, frozenset], ...] = ()
    source: str = ""

    def table(self) -> dict[str, str | None]:
        """``{code: contract value}`` in the list's order (main codes only)."""
        return {c.code: c.value for c in self.codes}

    def all_codes(self) -> tuple[Code, ...]:
        """The main codes, then the extended ones."""
        return self.codes + self.extended


def _yaml(name: str) -> dict | None:
    res = resources.files("riskmodel.data").joinpath("codelists", f"{name}.yaml")
    return yaml.safe_load(res.read_text(encoding="utf-8")) if res.is_file() else None


def _extended(name: str, main: dict[str, Code]) -> tuple[tuple[Code, ...], str]:
    """The extended codes of list ``name``, each with its main code's value, and their source."""
    raw = _yaml(f"{name}_extended")
    if raw is None:
        return (), ""
    out = []
    for c in raw["codes"]:
        parent = main.get(str(c["main"]))
        if parent is None:  # a packaging bug, caught by tests
            raise ValueError(f"{name}_extended: {c['code']}: no main code {c['main']!r}")
        out.append(Code(str(c["code"]), str(c["label"]), parent.value,
                        tuple(str(a) for a in c.get("aliases", ())), parent.code))
    return tuple(out), " ".join(str(raw.get("source", "")).split())


def _prefixes(raw: dict) -> tuple[tuple[str, frozenset], ...]:
    """``((prefix key, the values it may introduce), ...)``, longest prefix first."""
    by_prefix: dict[str, set] = {}
    for value, words in (raw.get("description_prefixes") or {}).items():
        for w in words:
            by_prefix.setdefault(key(w), set()).add(value)
    return tuple(sorted(((p, frozenset(v)) for p, v in by_prefix.items()),
                        key=lambda pv: -len(pv[0])))


@cache
def code_list(name: str) -> CodeList:
    """A packaged code list by name (one of :data:`PRESETS`), with its extended codes.

    Examples
    --------
    >>> code_list("dfe_ethnicity").table()["CHNE"]
    'asian'
    >>> code_list("dfe_source").table()["10"] is None
    True
    >>> weng = {c.code: c for c in code_list("dfe_ethnicity").extended}["WENG"]
    >>> weng.main, weng.value
    ('WBRI', 'white')
    """
    if name not in PRESETS:
        raise InputError(f"preset: unknown code list {name!r} (expected one of "
                         f"{', '.join(PRESETS)})")
    raw = _yaml(name) or {}
    allowed = ALLOWED[(COLUMN_TABLE[raw["column"]], raw["column"])]
    codes = []
    for c in raw["codes"]:
        value = c.get("value")
        if value is not None and value not in allowed:  # a packaging bug, caught by tests
            raise ValueError(f"{name}: code {c['code']}: {value!r} is not a contract value")
        codes.append(Code(str(c["code"]), str(c["label"]), value,
                          tuple(str(a) for a in c.get("aliases", ()))))
    extended, source = _extended(name, {c.code: c for c in codes})
    return CodeList(raw["name"], raw["column"], raw.get("description", ""), tuple(codes),
                    extended, _prefixes(raw), source)


@dataclass
class Unmapped:
    """Values of one column that no mapping covers: counts per distinct raw value.

    ``section`` is where a map for the column goes in ``mapping.yaml``
    (``("annex_a", "values", "ethnicity")``), for the file of values to fill.
    """

    where: str
    column: str
    counts: dict[str, int] = field(default_factory=dict)
    section: tuple[str, ...] = ()

    def groups(self) -> list[tuple[str, int, list[str]]]:
        """``[(value, rows, other spellings)]``: case and spacing variants as one value,
        the most frequent spelling shown, most rows first."""
        by_key: dict[str, list[tuple[str, int]]] = {}
        for raw, n in self.counts.items():
            by_key.setdefault(key(raw), []).append((raw, n))
        out = []
        for spellings in by_key.values():
            spellings.sort(key=lambda rn: -rn[1])
            out.append((spellings[0][0], sum(n for _, n in spellings),
                        [r for r, _ in spellings[1:]]))
        return sorted(out, key=lambda g: (-g[1], g[0]))

    def line(self) -> str:
        items = self.groups()
        shown = ", ".join(f"{v!r} ({n:,})" for v, n, _ in items[:4])
        more = f" and {len(items) - 4} more" if len(items) > 4 else ""
        rows = sum(self.counts.values())
        return (f"{self.where}: {len(items)} value{'s' if len(items) > 1 else ''} no mapping "
                f"covers, in {rows:,} row{'s' if rows > 1 else ''}: {shown}{more}; add "
                f"{'them' if len(items) > 1 else 'it'} under values: {self.column}: map: in "
                "mapping.yaml" + (", or set unmapped: other" if self.column in CATCH_ALL
                                  else ""))


class UnmappedValues(InputError):
    """Values no mapping covers, in one or more columns: one line per column.

    ``todo`` is the file every value was written to, ready to fill in, once written.
    """

    def __init__(self, found: list[Unmapped], source: str, todo=None):
        self.found = found
        self.source = source
        self.todo = todo
        self.lines = [u.line() for u in found]
        tail = ""
        if todo is not None:
            n = sum(len(u.groups()) for u in found)
            tail = (f"; {'it is' if n == 1 else f'all {n:,} are'} written, ready to fill in, "
                    f"to {todo}")
        if len(found) == 1:
            super().__init__(self.lines[0] + tail)
        else:
            super().__init__(f"{source}: {len(found)} columns hold values no mapping covers "
                             "(listed above); add them to mapping.yaml or set unmapped: other; "
                             f"nothing imported{tail}")

    def with_todo(self, path) -> UnmappedValues:
        """The same error, naming the file the values were written to."""
        return UnmappedValues(self.found, self.source, todo=path)


class ValueMap:
    """How one contract column's raw values are read: contract words, presets, a local map.

    Parameters
    ----------
    column : str
        The contract column (``sex``, ``ethnicity``, ``source``, ``factor``, ...).
    presets : sequence of str
        Code lists to read codes and labels from (later ones do not override earlier).
    local : mapping of str to str or None
        The council's own words, matched by key; they win over presets.
    unmapped : {"report", "other"}
        ``other`` sends values nothing covers to the column's catch-all (``other``, or
        ``unknown`` for sex); columns without one still report them.

    Examples
    --------
    >>> vm = ValueMap("ethnicity", presets=["dfe_ethnicity"], local={"White English": "white"})
    >>> mapped, unmapped = vm.read(pd.Series(["a) WBRI", "BCRB - Caribbean", "Chinese",
    ...                                       "white english", "Martian", None]), "x")
    >>> mapped.tolist()
    ['white', 'black', 'asian', 'white', <NA>, <NA>]
    >>> unmapped.counts
    {'Martian': 1}
    """

    def __init__(self, column: str, *, presets=(), local=None, unmapped: str = "report",
                 where: str = "mapping.yaml", section: tuple[str, ...] = ()):
        self.column = column
        self.section = section
        self.allowed = ALLOWED[(COLUMN_TABLE[column], column)]
        self.catch_all = CATCH_ALL.get(column) if unmapped == "other" else None
        self.lookup: dict[str, str | None] = {}
        self.codes: dict[str, str | None] = {}
        self.prefixes: list[tuple[str, frozenset]] = []
        for name in presets:
            cl = code_list(name)
            if cl.column != column:
                raise InputError(f"{where}: preset {name!r} is for {cl.column}, not {column}")
            for c in cl.all_codes():
                self.codes.setdefault(key(c.code), c.value)
                for word in (c.code, c.label, *c.aliases):
                    self.lookup.setdefault(key(word), c.value)
            self.prefixes += cl.prefixes
        for v in self.allowed:  # the contract's own words, in any case or spacing
            self.lookup.setdefault(key(v), v)
        for raw, value in (local or {}).items():
            if value is not None and value not in self.allowed:
                raise InputError(
                    f"{where}: values: {column}: {raw!r} maps to {value!r}, not one of "
                    f"{', '.join(self.allowed)}")
            self.lookup[key(raw)] = value
        self.used_catch_all: dict[str, int] = {}

    def _known(self, k: str) -> tuple[bool, str | None]:
        if k in self.lookup:
            return True, self.lookup[k]
        first = k.split(" ", 1)[0]  # "1a individual", "wbri white british": the code
        if first in self.codes:
            return True, self.codes[first]
        return False, None

    def _one(self, raw: str) -> tuple[bool, str | None]:
        k = key(raw)
        ok, value = self._known(k)
        if ok:
            return ok, value
        # "Black or Black British - African": the rest, read only as the prefix's group
        for prefix, values in self.prefixes:
            if k.startswith(prefix + " "):
                ok, value = self._known(k[len(prefix) + 1:])
                if ok and value in values:
                    return True, value
        return False, None

    def read(self, values: pd.Series, where: str) -> tuple[pd.Series, Unmapped]:
        """Map a column; return the contract values (``<NA>`` where empty) and what is unmapped."""
        texts = pd.Series([cell_text(v) for v in values.astype(object)], index=values.index,
                          dtype=object)
        uniques = pd.unique(texts.dropna())
        table, unmapped = {}, Unmapped(where, self.column, section=self.section)
        counts = texts.value_counts()
        for raw in uniques:
            ok, value = self._one(raw)
            if not ok and self.catch_all is not None:
                ok, value = True, self.catch_all
                self.used_catch_all[raw] = int(counts[raw])
            if ok:
                table[raw] = value
            else:
                unmapped.counts[raw] = int(counts[raw])
        mapped = texts.map(table).astype("string")
        return mapped, unmapped
