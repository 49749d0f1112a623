"""Feature builders: one small class per prefix, each a DuckDB query over what was known at t.

A builder has a ``prefix``, lists its features (:meth:`definitions`) and builds a table of
raw values keyed by ``(as_of, child_id)`` for the cohort (:meth:`build`). Raw values are
missing (NULL) where nothing could be measured; the matrix assembly applies each feature's
imputation rule and adds its missing flag. Builders read only
:meth:`~riskmodel.features._session.Session.known` and
:meth:`~riskmodel.features._session.Session.known_children`, where the rules of time live.
Values from the contract vocabularies are bound as parameters; only column names derived
from them (and from the validated window names) are written into the SQL.
"""

from __future__ import annotations

from typing import Any

# isort: off
# Importing a builder module registers its builders; the order here is the order of the
# matrix's columns and of the feature dictionary. A new builder module is one more line.
from riskmodel.features import _builders_records  # noqa: F401  (ace, contacts, episodes)
from riskmodel.features import _builders_context  # noqa: F401  (family, demand, child)
# isort: on
from riskmodel.features._builder_base import BUILDERS, Builder, age_years_sql, register_builder
from riskmodel.features._dictionary import FeatureDef

__all__ = [
    "BUILDERS", "Builder", "age_years_sql", "all_definitions", "builder_words",
    "enabled_builders", "register_builder",
]


def enabled_builders(spec: Any) -> list[Builder]:
    """The builders the spec switches on, in dictionary order."""
    built = [b(spec) for b in BUILDERS.values()]
    return [b for b in built if b.config.enabled]


def builder_words() -> dict[str, str]:
    """What each builder's features describe, by prefix (for the model card).

    Examples
    --------
    >>> builder_words()["child"]
    "the child's age"
    """
    return {prefix: b.words for prefix, b in BUILDERS.items()}


def all_definitions(spec: Any) -> list[FeatureDef]:
    """Every feature the spec produces, in matrix column order."""
    return [d for b in enabled_builders(spec) for d in b.definitions()]
