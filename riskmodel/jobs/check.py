"""``riskmodel validate`` and ``riskmodel build``: check an extract, or build one matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel._core.io import check_writable, write_table
from riskmodel.data import (
    as_source,
    describe_knowledge,
    read_extract_date,
    read_tables,
    summarise_tables,
    validate_tables,
)
from riskmodel.jobs._extract import build_in_duckdb


@dataclass
class Validation:
    """The problems found in an extract (one line each) and, when there are none, a summary
    and what its knowledge dates say (:func:`riskmodel.data.describe_knowledge`)."""

    problems: list[str]
    summary: str
    knowledge: list[str] = field(default_factory=list)


def validate_extract(data, *, extract_date=None) -> Validation:
    """Check an extract (folder, DuckDB file or database) against the input contract.

    A database given an extract date (``extract_date`` or its sources.yaml's) is checked as
    it stood on that date: what was recorded later is not read.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> v = validate_extract(generate_council(n_children=300, seed=3, out=tempfile.mkdtemp()))
    >>> v.problems
    []
    """
    data = as_source(data)
    if extract_date is None:
        extract_date = read_extract_date(data)
    tables = read_tables(data, until=extract_date)
    problems = validate_tables(tables, extract_date=extract_date)
    if problems:
        return Validation(problems=problems, summary="")
    return Validation(problems=[], summary=summarise_tables(tables),
                      knowledge=describe_knowledge(tables))


def build_matrix_file(data, out_path, *, outcome: str, as_of, spec=None, horizon_months: int = 6,
                      extract_date=None) -> pd.DataFrame:
    """Build the feature matrix of an extract at ``as_of`` and write it (Parquet or CSV)."""
    out_path = Path(out_path)
    if out_path.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"--out: {out_path.name} must end in .parquet or .csv")
    check_writable(out_path)
    # The checked tables stay in DuckDB, where the features are built: no pandas copy.
    matrix = build_in_duckdb(data, as_of, outcome=outcome, spec=spec,
                             horizon_months=horizon_months, extract_date=extract_date)
    write_table(matrix, out_path, private=True)  # the matrix holds child ids
    return matrix
