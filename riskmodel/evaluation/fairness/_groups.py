"""The tables of groups: each characteristic and intersection, its groups and its reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation._profile import PROFILE_COLUMNS, categories
from riskmodel.evaluation.fairness._inputs import require_column
from riskmodel.evaluation.fairness._policy import Characteristic, FairnessPolicy

TIMES = "\u00d7"


@dataclass
class GroupTable:
    """One characteristic or intersection: which group each audited child is in, and where
    its groups sit in the disclosure plan (filled in by the audit)."""

    key: str
    label: str
    kind: str                 # "characteristic" or "intersection"
    members: tuple[str, ...]
    codes: np.ndarray         # group index of every audited child
    groups: list[str]
    # plan row of each group: set when the tables are planned, before any use
    rows: np.ndarray = None  # type: ignore[assignment]
    reference: int | None = None
    reference_note: str = ""


def resolve_sensitive(policy: FairnessPolicy, sensitive, frame: pd.DataFrame, source: str):
    """Characteristics (name -> Characteristic) and intersections to audit."""
    if sensitive is None:
        names = list(policy.characteristics)
        combos = [tuple(c) for c in policy.intersections]
    else:
        items = [s.strip() for s in sensitive.split(",")] if isinstance(sensitive, str) \
            else list(sensitive)
        names, combos = [], []
        for item in items:
            parts = tuple(p.strip() for p in item.split("*")) if isinstance(item, str) \
                else tuple(item)
            parts = tuple(p for p in parts if p)
            if not parts:
                continue
            if len(parts) == 1:
                names.append(parts[0])
            else:
                combos.append(parts)
                names += [p for p in parts if p not in names]
        names = list(dict.fromkeys(names))
        combos += [tuple(c) for c in policy.intersections
                   if all(m in names for m in c) and tuple(c) not in combos]
    if not names:
        raise InputError(f"{source}: no characteristics to audit (give --sensitive)")
    chars = {n: policy.characteristics.get(n) or Characteristic() for n in names}
    for name, c in chars.items():
        col = c.column or name
        require_column(frame, col, f"characteristic ({name})", source)
    return chars, combos


def build_tables(frame: pd.DataFrame, chars: dict, combos: list, policy: FairnessPolicy
                 ) -> list[GroupTable]:
    """A table of groups per characteristic, then per intersection (observed groups only)."""
    tables = []
    labels_of = {}
    for name, c in chars.items():
        col = c.column or name
        labels, order = categories(frame[col], column=col)
        labels_of[name] = (labels, order)
        index = {g: i for i, g in enumerate(order)}
        codes = np.array([index[v] for v in labels], dtype=np.int64)
        tables.append(GroupTable(name, c.label or policy.label(name), "characteristic",
                                 (name,), codes, order))
    for combo in combos:
        parts = [labels_of[m] for m in combo]
        keys = pd.MultiIndex.from_arrays([p[0] for p in parts])
        rank = [{g: i for i, g in enumerate(p[1])} for p in parts]
        observed = sorted(set(keys.tolist()), key=lambda t: [r[v] for r, v in zip(rank, t,
                                                                                  strict=True)])
        index = {t: i for i, t in enumerate(observed)}
        codes = np.array([index[t] for t in keys.tolist()], dtype=np.int64)
        label = f" {TIMES} ".join(chars[m].label or policy.label(m) for m in combo)
        tables.append(GroupTable(
            f" {TIMES} ".join(combo), label, "intersection", tuple(combo), codes,
            [f" {TIMES} ".join(t) for t in observed],
        ))
    return tables


def profile_column_names(chars, extra, data) -> dict[str, str]:
    """Columns for the cohort profile (column -> name): the audited characteristics the
    profile does not already show, then ``extra``; only those in ``data``."""
    cols = {}
    for name, c in chars.items():
        col = c.column or name
        if col not in PROFILE_COLUMNS:  # the matrix's own columns keep the profile's names
            cols[col] = c.label or name.replace("_", " ")
    if isinstance(extra, dict):
        cols.update(extra)
    elif extra:
        cols.update({c: c.replace("_", " ") for c in extra})
    return {c: v for c, v in cols.items() if c in data.columns}


def choose_reference(t: GroupTable, chars, refs, published_n, resolved, notes, source,
                     min_children: int = 1) -> None:
    """Set ``t.reference``: ``None`` for everyone (the default), else a group's index.

    The option's or the policy's choice: ``everyone``, a named group or ``largest``. A named
    group with fewer than ``min_children`` (published) falls back to everyone, with a note.
    An intersection's reference is its members' references together (e.g. white x male)
    when every member names one, else everyone. ``resolved`` collects each characteristic's
    reference; ``notes`` the report's notes.
    """
    sizes = np.asarray(published_n, float)
    if t.kind == "characteristic":
        name = t.members[0]
        wanted = refs.get(name) or chars[name].reference
    else:
        parts = [resolved.get(m) for m in t.members]
        wanted = "everyone" if None in parts else f" {TIMES} ".join(parts)
        if wanted not in t.groups:
            wanted = "everyone"
    if wanted not in ("everyone", "largest") and wanted not in t.groups:
        raise InputError(
            f"{source}: reference group {wanted!r} for {t.key!r} is not in the data "
            f"(groups: {', '.join(t.groups[:8])})")
    if wanted == "largest":
        wanted = t.groups[int(np.argmax(sizes))]
        t.reference_note = "the largest group"
    elif wanted != "everyone":
        t.reference_note = ("the members' reference groups together" if t.kind == "intersection"
                            else "set by the policy")
    if wanted != "everyone" and sizes[t.groups.index(wanted)] < min_children:
        notes.append(f"The reference group {wanted!r} for {t.label} has too few to compare "
                     f"with, so each group is compared with everyone not in it instead.")
        wanted = "everyone"
    if wanted == "everyone":
        t.reference, t.reference_note = None, "each group against everyone not in it"
    else:
        t.reference = t.groups.index(wanted)
    if t.kind == "characteristic" and t.reference is not None:
        resolved[t.members[0]] = t.groups[t.reference]
