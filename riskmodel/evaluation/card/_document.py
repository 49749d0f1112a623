"""The documents: titled sections of fields (text, lists or tables), rendered three ways.

A :class:`Document` is a model card or an ATRS record; :class:`ModelCard` holds one of each.
Each renders as Markdown, self-contained HTML and JSON. A field only the council can fill
holds :data:`FOR_COUNCIL`, and :func:`missing_fields` finds any field that is neither filled
nor so marked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

FOR_COUNCIL = "to be completed by the council"


@dataclass
class Table:
    """A published table: column names, rows of cells, and a note on what it shows."""

    columns: list[str]
    rows: list[list]
    note: str = ""

    def to_dict(self) -> dict:
        """The JSON form: ``{"columns", "rows": [{column: cell}], "note"}``."""
        return {"columns": list(self.columns),
                "rows": [dict(zip(self.columns, r, strict=True)) for r in self.rows],
                **({"note": self.note} if self.note else {})}


@dataclass
class Field:
    """One field: a key for JSON, a label for people, and a value (text or tables)."""

    key: str
    label: str
    value: object
    hint: str = ""

    @property
    def for_council(self) -> bool:
        """Whether the field is left for the council (it says :data:`FOR_COUNCIL`)."""
        return self.value == FOR_COUNCIL


@dataclass
class Section:
    """A titled section of a document: its fields in order."""

    key: str
    title: str
    fields: list[Field] = field(default_factory=list)

    def add(self, key: str, label: str, value, hint: str = "") -> None:
        """Append a field.

        Parameters
        ----------
        key, label : str
            The field's key in JSON and its label for people.
        value : str, list or Table
            What the field holds, or :data:`FOR_COUNCIL`.
        hint : str, optional
            For a council field: what the council is asked for.
        """
        self.fields.append(Field(key, label, value, hint))


@dataclass
class Document:
    """A model card or an ATRS record: titled sections of fields, rendered three ways."""

    key: str
    title: str
    subtitle: str
    about: dict
    sections: list[Section]

    def to_dict(self) -> dict:
        """The JSON form: ``{"document", "title", "about", "sections": {sec: {field: v}}}``."""
        def value(v):
            if isinstance(v, Table):
                return v.to_dict()
            if isinstance(v, list):
                return [value(x) for x in v]
            return v

        return {
            "document": self.key, "title": self.title, "subtitle": self.subtitle,
            "about": dict(self.about),
            "sections": {s.key: {"title": s.title,
                                 "fields": {f.key: value(f.value) for f in s.fields}}
                         for s in self.sections},
        }

    def council_fields(self) -> list[str]:
        """``section.field`` of every field left for the council."""
        return [f"{s.key}.{f.key}" for s in self.sections for f in s.fields if f.for_council]

    def to_markdown(self) -> str:
        """The document as Markdown: each council field in italics, with its hint."""
        lines = [f"# {self.title}", "", f"_{self.subtitle}_", ""]
        lines += [f"- **{k.replace('_', ' ')}**: {_cell(v)}" for k, v in self.about.items()]
        lines.append("")
        for s in self.sections:
            lines += [f"## {s.title}", ""]
            for f in s.fields:
                lines += _markdown_field(f)
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        """The document as one self-contained HTML page (it counts the council's fields)."""
        return _render_html(self)


def missing_fields(obj, path: str = "") -> list[str]:
    """Paths of empty values in a document's JSON form (None, blank, NaN, no rows).

    Every field must be filled from data or say :data:`FOR_COUNCIL`; this finds the ones
    that are neither.

    Examples
    --------
    >>> missing_fields({"a": {"b": "x", "c": " "}, "d": [], "e": float("nan")})
    ['a.c', 'd', 'e']
    """
    if obj is None:
        return [path]
    if isinstance(obj, str):
        return [path] if not obj.strip() else []
    if isinstance(obj, float):
        return [path] if math.isnan(obj) else []
    if isinstance(obj, Mapping):
        if not obj:
            return [path]
        out = []
        for k, v in obj.items():
            out += missing_fields(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(obj, list | tuple):
        if not obj:
            return [path]
        out = []
        for i, v in enumerate(obj):
            out += missing_fields(v, f"{path}[{i}]")
        return out
    return []


def _cell(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown_table(t: Table) -> list[str]:
    out = ["| " + " | ".join(_md_escape(c) for c in t.columns) + " |",
           "|" + "|".join("---" for _ in t.columns) + "|"]
    out += ["| " + " | ".join(_md_escape(_cell(c)) for c in r) + " |" for r in t.rows]
    if t.note:
        out += ["", f"_{t.note}_"]
    return out + [""]


def _markdown_field(f: Field) -> list[str]:
    if isinstance(f.value, Table):
        return [f"**{f.label}**", ""] + _markdown_table(f.value)
    if isinstance(f.value, list):
        out = [f"**{f.label}**", ""]
        for v in f.value:
            out += [""] + _markdown_table(v) if isinstance(v, Table) else [f"- {v}"]
        return out + [""]
    if f.for_council:
        hint = f" ({f.hint})" if f.hint else ""
        return [f"**{f.label}**: _{FOR_COUNCIL}_{hint}", ""]
    return [f"**{f.label}**: {f.value}", ""]


def _render_html(doc: Document) -> str:
    from riskmodel.evaluation._html import render

    return render("card.html.j2", title=doc.title, doc=doc, FOR_COUNCIL=FOR_COUNCIL,
                  cell=_cell)


@dataclass
class ModelCard:
    """A model card and an ATRS record for one registered model.

    Attributes
    ----------
    card, record : Document
        Each renders with ``to_markdown()``, ``to_html()`` and ``to_dict()`` (JSON).
    """

    card: Document
    record: Document

    def documents(self) -> list[Document]:
        """The card and the record, in that order."""
        return [self.card, self.record]

    def council_fields(self) -> dict[str, list[str]]:
        """The fields each document leaves for the council, by document key.

        Each list is :meth:`Document.council_fields`, the fields the document itself
        counts and marks; the template of answers has one line for each.

        Returns
        -------
        dict of str to list of str
            ``{"model_card": [...], "atrs_record": [...]}``.
        """
        return {doc.key: doc.council_fields() for doc in self.documents()}
