"""Open a council's extract once: its checked tables, its date, its fingerprint, its matrices.

Every job that reads an extract (train, replay, score, explain) goes through
:func:`open_extract`, so the extract date is found one way (``manifest.json``, else the
latest date in the tables) and the matrix is built one way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import tables_fingerprint
from riskmodel.data import (
    DuckTables,
    as_source,
    extract_date_of,
    first_record_date,
    load_tables,
    read_extract_date,
)
from riskmodel.features import (
    FeatureSpec,
    build_matrix,
    feature_columns,
    load_feature_spec,
    window_months,
)


@dataclass
class Extract:
    """A loaded extract: ``tables`` (typed, checked), ``date`` and where it came from
    (``source``: a path, or a database URL with its password masked)."""

    source: str
    tables: dict[str, pd.DataFrame]
    date: pd.Timestamp
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the tables' contents (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = tables_fingerprint(self.tables)
        return self._fingerprint

    def matrix(self, as_of_dates, *, outcome: str, spec=None,
               horizon_months: int = 6) -> pd.DataFrame:
        """The feature matrix at ``as_of_dates`` (see :func:`riskmodel.features.build_matrix`)."""
        return build_matrix(self.tables, as_of_dates, outcome=outcome, spec=spec,
                            horizon_months=horizon_months, extract_date=self.date)


def open_extract(data, *, extract_date=None) -> Extract:
    """Read and check an extract (folder, DuckDB file or database).

    Parameters
    ----------
    data : path, database URL or DatabaseSource
        A folder, a DuckDB file, a database URL or a sources.yaml
        (:func:`riskmodel.data.as_source`).
    extract_date : str or date, optional
        Default: ``manifest.json``'s ``extract_date`` in ``data`` (a sources.yaml's
        ``extract_date``), else the latest date in the tables. A database given one is read
        as it stood on that date.

    Returns
    -------
    Extract

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> ex = open_extract(generate_council(n_children=300, seed=3, out=tempfile.mkdtemp()))
    >>> str(ex.date.date()), sorted(ex.tables)[:2]
    ('2025-12-31', ['ace_factors', 'children'])
    """
    data = as_source(data)
    stated = _stated_date(data, extract_date)
    tables = load_tables(data, extract_date=stated)
    return Extract(source=str(data), tables=tables, date=_extract_date(stated, tables))


def _stated_date(data: Any, extract_date: Any) -> Any:
    """The extract date given, else the one the extract states (``manifest.json``), or None."""
    return extract_date if extract_date is not None else read_extract_date(data)


def _extract_date(stated: Any, tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The extract date stated, else the latest date in the tables."""
    return parse_date(stated, "extract date") if stated is not None else extract_date_of(tables)


def build_in_duckdb(data: Any, as_of_dates: Any, *, outcome: str,
                    spec: FeatureSpec | str | os.PathLike | None = None,
                    horizon_months: int = 6, extract_date: Any = None) -> pd.DataFrame:
    """The feature matrix of an extract, its checked tables kept in DuckDB (``riskmodel build``).

    As ``open_extract(data, extract_date=...).matrix(...)``, but a clean Parquet or DuckDB
    extract is never turned into pandas frames: the feature session reads the tables in the
    DuckDB database that checked them (:func:`riskmodel.data.load_tables` with
    ``in_duckdb``); only the finished matrix is a frame. Any other extract is read as
    :func:`open_extract` reads it.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> out = generate_council(n_children=300, seed=3, out=tempfile.mkdtemp())
    >>> m = build_in_duckdb(out, ["2025-01-01"], outcome="escalation")
    >>> m.equals(open_extract(out).matrix(["2025-01-01"], outcome="escalation"))
    True
    """
    data = as_source(data)
    stated = _stated_date(data, extract_date)
    tables = load_tables(data, extract_date=stated, in_duckdb=True)
    try:
        return build_matrix(tables, as_of_dates, outcome=outcome, spec=spec,
                            horizon_months=horizon_months,
                            extract_date=_extract_date(stated, tables))
    finally:
        if isinstance(tables, DuckTables):
            tables.close()


@dataclass
class TrainingMatrix:
    """An extract's matrix for a training spec: rows at every scheduled as-of date
    (``decisions``: what the spec's ``decisions:`` choice did, when it has one)."""

    extract: Extract
    matrix: pd.DataFrame
    features: list[str]
    feature_spec: object
    decisions: dict | None = None
    #: What the schedule had to do (e.g. start before the longest window is observed).
    notes: list[str] = field(default_factory=list)


def training_schedule(data, spec, *, notes: list[str] | None = None) -> list[pd.Timestamp]:
    """The training spec's as-of dates on an extract: from its first record plus the feature
    spec's longest window, to its last date whose outcome has been recorded (see
    :func:`riskmodel.training.as_of_schedule`)."""
    # here, not at the top: a build or a check never loads training's modelling libraries
    from riskmodel.training import as_of_schedule

    ex = data if isinstance(data, Extract) else open_extract(data)
    fspec = feature_spec_of(spec)
    bounded = [m for m in (window_months(w) for w in fspec.windows()) if m is not None]
    dates = as_of_schedule(spec, ex.date, records_start=first_record_date(ex.tables),
                           longest_window_months=max(bounded, default=None), notes=notes)
    if not dates:
        raise InputError(
            f"{spec.source}: key 'as_of.start': {spec.as_of.start} leaves no as-of date whose "
            f"{spec.horizon_months}-month window closes by the data's last date {ex.date.date()}"
        )
    return dates


def feature_spec_of(spec) -> FeatureSpec:
    """The feature spec a training spec names (``features:``), else the packaged one."""
    return load_feature_spec(spec.features) if spec.features else load_feature_spec()


def training_matrix(data, spec, *, feature_spec: FeatureSpec | None = None) -> TrainingMatrix:
    """Load the extract and build the training spec's matrix over its as-of schedule
    (with ``feature_spec`` instead of the spec's features, given one: a review of a run's
    stored scores builds only the columns it reads; the schedule stays the spec's)."""
    from riskmodel.jobs._decisions_store import read_offers
    from riskmodel.training import apply_decisions

    ex = data if isinstance(data, Extract) else open_extract(data)
    fspec = feature_spec or feature_spec_of(spec)
    notes: list[str] = []
    dates = training_schedule(ex, spec, notes=notes)
    matrix = ex.matrix(dates, outcome=spec.outcome, spec=fspec,
                       horizon_months=spec.horizon_months)
    features = feature_columns(matrix)
    decisions = None
    if getattr(spec, "decisions", None) is not None:  # children offered help: keep/drop/flag
        matrix, decisions = apply_decisions(
            matrix, read_offers(spec.decisions.source), spec.decisions.offered,
            horizon_months=spec.horizon_months)
    return TrainingMatrix(extract=ex, matrix=matrix, features=features, feature_spec=fspec,
                          decisions=decisions, notes=notes)


CARRIED = ("locality", "ethnicity", "sex", "disability", "age_band", "imd_quintile")


def with_characteristics(predictions: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """Add the carried characteristics (and ACE/need columns for the profile) to predictions."""
    extra = [c for c in matrix.columns
             if c in CARRIED or c == "ace_total_all_count"
             or (c.startswith("contacts_need_") and c.endswith("_all_count"))]
    extra = [c for c in extra if c not in predictions.columns]
    return predictions.merge(matrix[["child_id", "as_of", *extra]], on=["child_id", "as_of"],
                             how="left", validate="one_to_one")
