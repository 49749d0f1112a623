"""Open a council's extract once: its checked tables, its date, its fingerprint, its matrices.

Every job that reads an extract (train, replay, score, explain) goes through
:func:`open_extract`, so the extract date is found one way (``manifest.json``, else the
latest date in the tables) and the matrix is built one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
from riskmodel.features import build_matrix, feature_columns, load_feature_spec, window_months


@dataclass
class Extract:
    """A loaded extract: ``tables`` (typed, checked), ``date`` and where it came from
    (``source``: a path, or a database URL with its password masked)."""

    source: str
    tables: dict[str, pd.DataFrame] | DuckTables
    date: pd.Timestamp
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the tables' contents (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = tables_fingerprint(self.tables)
        return self._fingerprint

    def close(self) -> None:
        """Close the DuckDB database holding the tables, when they were kept there."""
        if isinstance(self.tables, DuckTables):
            self.tables.close()

    def matrix(self, as_of_dates, *, outcome: str, spec=None,
               horizon_months: int = 6) -> pd.DataFrame:
        """The feature matrix at ``as_of_dates`` (see :func:`riskmodel.features.build_matrix`)."""
        return build_matrix(self.tables, as_of_dates, outcome=outcome, spec=spec,
                            horizon_months=horizon_months, extract_date=self.date)


def open_extract(data, *, extract_date=None, in_duckdb: bool = False) -> Extract:
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
    in_duckdb : bool, default False
        Keep a clean Parquet or DuckDB extract's checked tables in DuckDB
        (:func:`riskmodel.data.load_tables`): a build reads them there; call
        :meth:`Extract.close` when done.

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
    stated = extract_date if extract_date is not None else read_extract_date(data)
    tables = load_tables(data, extract_date=stated, in_duckdb=in_duckdb)
    date = parse_date(stated, "extract date") if stated is not None else extract_date_of(tables)
    return Extract(source=str(data), tables=tables, date=date)


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
    fspec = load_feature_spec(spec.features) if spec.features else load_feature_spec()
    bounded = [m for m in (window_months(w) for w in fspec.windows()) if m is not None]
    dates = as_of_schedule(spec, ex.date, records_start=first_record_date(ex.tables),
                           longest_window_months=max(bounded, default=None), notes=notes)
    if not dates:
        raise InputError(
            f"{spec.source}: key 'as_of.start': {spec.as_of.start} leaves no as-of date whose "
            f"{spec.horizon_months}-month window closes by the data's last date {ex.date.date()}"
        )
    return dates


def training_matrix(data, spec) -> TrainingMatrix:
    """Load the extract and build the training spec's matrix over its as-of schedule."""
    from riskmodel.jobs._decisions_store import read_offers
    from riskmodel.training import apply_decisions

    ex = data if isinstance(data, Extract) else open_extract(data)
    fspec = load_feature_spec(spec.features) if spec.features else load_feature_spec()
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
