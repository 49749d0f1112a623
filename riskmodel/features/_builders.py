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

from riskmodel.features._builder_base import Builder, age_years_sql
from riskmodel.features._builders_context import ChildBuilder, DemandBuilder, FamilyBuilder
from riskmodel.features._builders_records import AceBuilder, ContactsBuilder, EpisodesBuilder
from riskmodel.features._dictionary import FeatureDef
from riskmodel.features._spec import FeatureSpec

__all__ = ["BUILDERS", "Builder", "age_years_sql", "all_definitions", "enabled_builders"]


BUILDERS: tuple[type[Builder], ...] = (
    AceBuilder, ContactsBuilder, EpisodesBuilder, FamilyBuilder, DemandBuilder, ChildBuilder,
)


def enabled_builders(spec: FeatureSpec) -> list[Builder]:
    """The builders the spec switches on, in dictionary order."""
    return [b(spec) for b in BUILDERS if getattr(spec.builders, b.prefix).enabled]


def all_definitions(spec: FeatureSpec) -> list[FeatureDef]:
    """Every feature the spec produces, in matrix column order."""
    return [d for b in enabled_builders(spec) for d in b.definitions()]
