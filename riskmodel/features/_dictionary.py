"""Feature definitions: names, plain-word descriptions, imputation rules, per-child phrases.

Every feature the builders make is described by a :class:`FeatureDef`. The dictionary a
council reads (``riskmodel features``), the model's feature list and the per-child reasons
of scoring all come from these definitions, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.features._windows import WINDOW_PATTERN

# Columns of the matrix that are not features (ids, label and carried characteristics).
ID_COLUMNS = ("child_id", "family_id", "as_of", "label")
CARRIED_COLUMNS = ("locality", "ethnicity", "sex", "disability", "age_band", "imd_quintile")
DICTIONARY_COLUMNS = (
    "name", "description", "builder", "window", "metric", "imputation", "missing_flag",
)

def words(value: str) -> str:
    """A vocabulary value in plain words: ``youth_justice`` -> ``youth justice``."""
    return value.replace("_", " ")


@dataclass(frozen=True)
class FeatureDef:
    """One feature: its name, meaning, how it is filled when missing, and how to say a value.

    ``kind`` is the storage type: ``"int"`` (counts, flags, ordinals) or ``"float"``.
    ``missing_key`` names the entry of the spec's ``imputation`` section used when the raw
    value can be missing; such a feature has a companion flag named ``missing_flag``.
    """

    name: str
    description: str
    builder: str
    window: str
    metric: str
    kind: str = "int"
    imputation: str = "zero: nothing recorded counts as 0"
    missing_key: str | None = None
    missing_flag: str | None = None
    flag_of: str | None = None
    say: Callable[[Any], str] | None = field(default=None, repr=False, compare=False)

    def describe(self, value: object) -> str:
        """The child's value in plain words (the builder's phrase)."""
        if self.say is None:  # a builder bug, never a user error
            raise TypeError(f"feature {self.name} has no phrase ('say')")
        return self.say(value)


def is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _num(value) -> str:
    v = float(value)
    return f"{int(round(v)):,}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def say_count(singular: str, plural: str, where: str, *, none: str | None = None):
    """Phrase a count: "no police contacts in the last 12 months", "1 police contact ..."."""
    tail = f" {where}" if where else ""

    def say(value):
        if is_missing(value):
            return f"{plural} {where}: not known".strip()
        n = float(value)
        if n == 0:
            return none if none is not None else f"no {plural}{tail}"
        noun = singular if n == 1 else plural
        return f"{_num(n)} {noun}{tail}"

    return say


def say_flag(on: str, off: str):
    """Phrase a 0/1 flag."""
    return lambda value: off if is_missing(value) or float(value) == 0 else on


def say_template(template: str, missing: str):
    """Phrase a measured value with ``{v}`` in ``template``; ``missing`` when not known."""
    return lambda value: missing if is_missing(value) else template.format(v=_num(value))


def say_level(levels: dict[int, str], missing: str):
    """Phrase an ordinal code by its level name."""

    def say(value):
        if is_missing(value):
            return missing
        return levels.get(int(round(float(value))), missing)

    return say


def missing_flag_def(base: FeatureDef, *, missing_words: str, present_words: str) -> FeatureDef:
    """The 0/1 flag that says a feature's raw value was missing (and was imputed)."""
    return FeatureDef(
        name=f"{base.name}_missing",
        description=f"1 if {missing_words} (so {base.name} was imputed), else 0.",
        builder=base.builder, window=base.window, metric=f"{base.metric}_missing",
        imputation="none needed: never missing", flag_of=base.name,
        say=say_flag(missing_words, present_words),
    )


def parse_name(name: str, prefixes: tuple[str, ...]) -> tuple[str, str, str, str]:
    """Split ``{prefix}_{group}_{window}_{metric}`` into its four parts.

    Groups and metrics may contain underscores; the window is the last token that looks
    like a window (``3m``, ``12m``, ``all``); the prefix is one of ``prefixes`` (the
    builders').
    """
    parts = name.split("_")
    for i in range(len(parts) - 2, 0, -1):
        if WINDOW_PATTERN.match(parts[i]):
            prefix, group = parts[0], "_".join(parts[1:i])
            if prefix in prefixes and group:
                return prefix, group, parts[i], "_".join(parts[i + 1:])
            break
    raise InputError(
        f"feature '{name}': not a feature name (expected prefix_group_window_metric, "
        f"prefix one of {', '.join(prefixes)})"
    )


def definitions_frame(defs: list[FeatureDef]) -> pd.DataFrame:
    """The feature dictionary table for a list of definitions."""
    rows = [
        {
            "name": d.name, "description": d.description, "builder": d.builder,
            "window": d.window, "metric": d.metric, "imputation": d.imputation,
            "missing_flag": d.missing_flag or "",
        }
        for d in defs
    ]
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS)).astype("string")
