"""The feature builders' base class and registry, shared SQL helpers and vocabulary words.

A builder is one class that declares everything about its features: its ``prefix``, its
settings in the spec (``Config``), its features and their words (:meth:`Builder.definitions`),
what its features describe (``words``, for the model card), the optional inputs they read
(``needs``) and its query (:meth:`Builder.build`). Decorated with :func:`register_builder`, it
is in :data:`BUILDERS`, and so in the spec, the matrix, the model's features, the feature
dictionary and the card; nothing else lists builders.
"""


from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from riskmodel.data import (
    CONTACT_OUTCOMES,
    DISABILITY,
    ETHNICITY,
    MASH_RAG,
    NEEDS,
    SEX,
    SOURCES,
)
from riskmodel.features._dictionary import (
    FeatureDef,
    missing_flag_def,
    words,
)
from riskmodel.features._session import Session
from riskmodel.features._spec_parts import BuilderConfig
from riskmodel.features._windows import window_description, window_months, window_phrase

# Plain words for vocabulary values, for descriptions and per-child reasons.
SOURCE_WORDS = {
    "police": ("police contact", "police contacts"),
    "school": ("school contact", "school contacts"),
    "health": ("health contact", "health contacts"),
    "la": ("council contact", "council contacts"),
    "voluntary": ("voluntary-sector contact", "voluntary-sector contacts"),
    "housing": ("housing contact", "housing contacts"),
    "youth_justice": ("youth justice contact", "youth justice contacts"),
    "family": ("contact from the family", "contacts from the family"),
    "other": ("contact from another source", "contacts from other sources"),
}
OUTCOME_WORDS = {
    "nfa": "closed with no further action",
    "signposted": "signposted elsewhere",
    "early_help": "referred to early help",
    "social_care": "referred to social care",
}
SERVICE_WORDS = {
    "early_help_pathway": "early help pathway",
    "fsw_intervention": "family support worker intervention",
    "targeted_support": "targeted support",
}
TRIAGE_WORDS = {
    "blue": "blue (self-help)", "green": "green (universal)",
    "yellow": "yellow (extra help)", "orange": "orange (targeted)",
}
ACE_BANDS = {0: "no ACEs recorded", 1: "1 ACE recorded", 2: "2-3 ACEs recorded",
             3: "4 or more ACEs recorded"}
PROTECTED_VALUES = {"ethnicity": ETHNICITY, "sex": SEX, "disability": DISABILITY}


def _in(col: str, window: str) -> str:
    """SQL: ``col`` falls in the window (the upper bound, before t, is the rules of time)."""
    return "TRUE" if window == "all" else f"{col} >= ws_{window}"


def _count(condition: str) -> str:
    """SQL: how many rows of the group meet ``condition`` (a BIGINT, as ``count(*)``).

    ``count_if`` rather than ``count(*) FILTER (WHERE ...)``: the same count, but DuckDB
    aggregates a hundred filtered counts about twice as fast this way (one pass, no selection
    vector per aggregate; docs/performance.md).

    >>> _count("x > 1")
    'CAST(count_if(x > 1) AS BIGINT)'
    """
    return f"CAST(count_if({condition}) AS BIGINT)"


def _longest(windows: list[str]) -> str:
    """The longest bounded window of a builder (``"all"`` when it has none): the days since
    the last event look only this far back, so they mean the same at every as-of date (the
    schedule starts once the longest window is observed; an unbounded look-back grows with
    the records).

    >>> _longest(["3m", "36m", "all"]), _longest(["all"])
    ('36m', 'all')
    """
    bounded = [w for w in windows if window_months(w) is not None]
    return max(bounded, key=lambda w: window_months(w) or 0) if bounded else "all"


def _since(window: str) -> str:
    """Words for how far back a days-since feature looks."""
    return "" if window == "all" else f" Only events {window_description(window)} count."


def _where(window: str) -> str:
    return "" if window == "all" else window_phrase(window)


def _with_missing_flag(d: FeatureDef, missing_words: str, present_words: str):
    base = dataclasses.replace(d, missing_flag=f"{d.name}_missing")
    return [base, missing_flag_def(base, missing_words=missing_words,
                                   present_words=present_words)]


class Builder:
    """A feature builder: a prefix, its settings, its feature definitions and their query."""

    prefix = ""
    table = ""
    #: What the builder's features describe, in plain words (the model card's table).
    words = ""
    #: The builder's settings under ``builders.<prefix>`` in the feature spec.
    Config: type[BuilderConfig] = BuilderConfig
    #: (pattern on a feature's name, the optional inputs it reads): first match wins; a
    #: feature whose input the extract does not hold is switched off.
    needs: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def tables(self) -> list[str]:
        """The temp tables :meth:`build` creates."""
        return [self.table]

    def __init__(self, spec: Any):
        self.spec = spec

    @property
    def config(self) -> Any:
        """This builder's settings in the spec (its defaults when the spec has none)."""
        found = getattr(self.spec.builders, self.prefix, None)
        return found if found is not None else self.Config()

    def definitions(self) -> list[FeatureDef]:
        raise NotImplementedError

    def build(self, s: Session) -> None:
        """Create temp table ``self.table``: ``as_of``, ``child_id`` and raw feature values."""
        raise NotImplementedError

    def _imputed(self, name, description, window, metric, kind, key, missing, present, say):
        imp = getattr(self.spec.imputation, key)
        d = FeatureDef(name=name, description=description, builder=self.prefix, window=window,
                       metric=metric, kind=kind, imputation=imp.text(), missing_key=key,
                       say=say)
        return _with_missing_flag(d, missing, present)


def _contact_groups():
    """(group, column, value, singular, plural) for each contact count by category."""
    for v in SOURCES:
        yield ("source", "source", v) + SOURCE_WORDS[v]
    for v in NEEDS:
        about = "other needs" if v == "other" else words(v)
        yield ("need", "need", v, f"contact about {about}", f"contacts about {about}")
    for v in MASH_RAG:
        yield ("mash", "mash_rag", v, f"contact rated {v} by the MASH",
               f"contacts rated {v} by the MASH")
    for v in CONTACT_OUTCOMES:
        yield ("outcome", "outcome", v, f"contact {OUTCOME_WORDS[v]}",
               f"contacts {OUTCOME_WORDS[v]}")


def age_years_sql(dob: str, at: str) -> str:
    """SQL: whole years from ``dob`` to ``at`` (birthday-aware; negative before birth)."""
    return (f"(year({at}) - year({dob}) - CASE WHEN month({at}) * 100 + day({at}) < "
            f"month({dob}) * 100 + day({dob}) THEN 1 ELSE 0 END)")


B = TypeVar("B", bound=type[Builder])

#: Every builder, by prefix, in the order of the matrix's columns.
BUILDERS: dict[str, type[Builder]] = {}


def register_builder(builder: B) -> B:
    """Add a builder to :data:`BUILDERS` (a class decorator, applied where it is defined).

    Raises
    ------
    ValueError
        Another builder has the same prefix.
    """
    if BUILDERS.get(builder.prefix, builder) is not builder:
        raise ValueError(f"feature builder prefix {builder.prefix!r} is registered already")
    BUILDERS[builder.prefix] = builder
    return builder
