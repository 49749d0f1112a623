"""Assemble the feature matrix: cohort, label, carried characteristics and features."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from typing import TypeAlias

import pandas as pd

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel.data import DuckTables, complete_tables
from riskmodel.features._builders import (
    Builder,
    age_years_sql,
    all_definitions,
    enabled_builders,
)
from riskmodel.features._dictionary import (
    CARRIED_COLUMNS,
    ID_COLUMNS,
    FeatureDef,
    definitions_frame,
)
from riskmodel.features._labels import add_labels, check_outcome
from riskmodel.features._session import Params, Session, finish_keys, open_session
from riskmodel.features._spec import FeatureSpec, load_feature_spec
from riskmodel.features._switches import check_outcome_inputs, drop_switched_off, switched_off

Tables: TypeAlias = Mapping[str, pd.DataFrame]
DateLike: TypeAlias = str | dt.date | pd.Timestamp
AsOfDates: TypeAlias = DateLike | Iterable[DateLike]
SpecLike: TypeAlias = FeatureSpec | str | os.PathLike | None


def _resolve_spec(spec: SpecLike) -> FeatureSpec:
    """The spec itself, the spec at a path, or the packaged one for None."""
    if spec is None:
        return load_feature_spec()
    if isinstance(spec, FeatureSpec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return load_feature_spec(spec)
    raise InputError(f"spec: expected a FeatureSpec or a path to a YAML file, got "
                     f"{type(spec).__name__}")


def _age_band_sql(dob: str, at: str) -> str:
    """SQL for the age band at ``at`` of a child born on ``dob`` ('unborn' before birth)."""
    years = age_years_sql(dob, at)
    return (
        f"CASE WHEN {dob} IS NULL THEN NULL WHEN {dob} > {at} THEN 'unborn' "
        f"WHEN {years} <= 4 THEN '0-4' WHEN {years} <= 7 THEN '5-7' "
        f"WHEN {years} <= 11 THEN '8-11' WHEN {years} <= 15 THEN '12-15' ELSE '16+' END"
    )


def build_matrix(tables: Tables, as_of_dates: AsOfDates, *, outcome: str,
                 spec: SpecLike = None, horizon_months: int = 6,
                 extract_date: DateLike | None = None) -> pd.DataFrame:
    """One row per child in the cohort and as-of date: ids, label, carried columns, features.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The typed contract tables (:func:`riskmodel.data.load_tables`).
    as_of_dates : list of dates
        As-of dates (ISO strings, dates or Timestamps).
    outcome : {"escalation", "disengagement"}
        The outcome in the ``label`` column.
    spec : FeatureSpec or path, optional
        The feature set; by default the packaged ``early_help.yaml``.
    horizon_months : int, default 6
        Months after *t* in which the outcome counts.
    extract_date : date, optional
        The extract's date (default: the latest date in the tables); labels whose window
        runs past it are ``<NA>``.

    Returns
    -------
    DataFrame
        ``child_id``, ``family_id``, ``as_of``, ``label`` (Int64), the carried columns
        (``locality`` … ``imd_quintile``), then the features in dictionary order, sorted by
        ``as_of`` and ``child_id``. Features whose optional input the tables do not hold
        (``docs/input-contract.md``) are left out, with one warning naming the inputs.

    Raises
    ------
    InputError
        For an unknown outcome or one the tables cannot label (disengagement without closure
        reasons); an as-of date after the extract date or not after the first record.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.features import build_matrix
    >>> d, one = pd.Timestamp, lambda **row: pd.DataFrame({k: [v] for k, v in row.items()})
    >>> tables = {"children": one(child_id="c1", family_id="f1", date_of_birth=d("2015-05-01"),
    ...     sex="female", ethnicity="white", disability="none", locality="north",
    ...     imd_decile=3), "contacts": one(contact_id="k1", child_id="c1",
    ...     contact_date=d("2023-01-10"), recorded_date=d("2023-01-12"), source="police",
    ...     need="domestic_abuse", mash_rag="amber", outcome="early_help"),
    ...     "ace_factors": one(child_id="c1", factor="domestic_abuse",
    ...                        recorded_date=d("2023-02-01")),
    ...     "episodes": one(episode_id="e1", child_id="c1", service="early_help_pathway",
    ...         start_date=d("2023-02-01"), end_date=d("2023-09-01"),
    ...         closure_reason="escalated", triage_start="yellow", triage_end="orange")}
    >>> m = build_matrix(tables, ["2023-06-01"], outcome="escalation",
    ...                  extract_date="2024-01-01")
    >>> m.loc[0, ["label", "age_band", "contacts_source_police_12m_count",
    ...           "episodes_current_all_daysopen"]].astype(str).tolist()
    ['1', '8-11', '1', '120']
    """
    outcome, tables = _checked_inputs(outcome, tables)
    df = _assemble(tables, as_of_dates, outcome, _resolve_spec(spec), horizon_months,
                   extract_date)
    return _with_matrix_types(finish_keys(df))


def _checked_inputs(outcome: str, tables: Tables) -> tuple[str, Tables]:
    """The outcome checked, and the tables completed and checked able to label it."""
    outcome = check_outcome(outcome)
    if isinstance(tables, dict):
        tables = complete_tables(tables)
    if isinstance(tables, (dict, DuckTables)):
        check_outcome_inputs(outcome, tables)
    return outcome, tables


def _assemble(tables: Tables, as_of_dates: AsOfDates, outcome: str, spec: FeatureSpec,
              horizon_months: int, extract_date: DateLike | None) -> pd.DataFrame:
    """Label the cohort, run the enabled builders and join their tables, one row a child.

    A slice of the cohort at a time (:meth:`Session.slices`: as-of dates, or a range of
    child ids when one date is too large for DuckDB's memory share), so the queries fit the
    share however large the council; the slices' rows, in order, are the matrix's rows.
    """
    builders = enabled_builders(spec)
    with open_session(tables, as_of_dates, windows=spec.windows(),
                      horizon_months=horizon_months, extract_date=extract_date,
                      knowledge=spec.knowledge) as s:
        # Features whose input the extract does not hold before the last as-of date are left
        # out (said once, as a warning, once the dates are known good); rows recorded later
        # never change the feature set.
        defs = drop_switched_off([d for b in builders for d in b.definitions()], tables,
                                 before=last_as_of(as_of_dates), knowledge=spec.knowledge)
        built = [t for b in builders for t in b.tables]
        df = None
        for n, count in enumerate(s.slices(keep=("matrix",))):
            add_labels(s)
            where = _run_builders(s, builders)
            sql, q = _assembly_sql(defs, where, outcome, spec, built)
            if count == 1:
                df = s.run(sql, q).df()
                continue
            # The slices' rows in DuckDB (spilled beyond its share), one frame at the end.
            s.run(f"CREATE TEMP TABLE matrix AS {sql}" if n == 0 else
                  f"INSERT INTO matrix {sql}", q)
        return s.run("SELECT * FROM matrix").df() if df is None else df


def _run_builders(s: Session, builders: list[Builder]) -> dict[str, str]:
    """Build each builder's tables; map every column to the first table that holds it."""
    where: dict[str, str] = {}
    for b in builders:
        b.build(s)
        for t in b.tables:
            for col in s.con.table(t).columns:
                where.setdefault(col, t)
    return where


def _with_matrix_types(df: pd.DataFrame) -> pd.DataFrame:
    """The matrix's column types: Int64 label and IMD quintile, string characteristics."""
    df["label"] = df["label"].astype("Int64")
    df["imd_quintile"] = df["imd_quintile"].astype("Int64")
    for col in CARRIED_COLUMNS[:-1]:
        df[col] = df[col].astype("string")
    return df


def _assembly_sql(defs: list[FeatureDef], where: dict[str, str], outcome: str,
                  spec: FeatureSpec, tables: list[str]) -> tuple[str, Params]:
    """The query joining cohort, labels, children and the builders' tables, with params."""
    q = Params()
    cols = [
        "c.child_id", "ch.family_id", "c.as_of", f"l.{outcome} AS label",
        "ch.locality", "ch.ethnicity", "ch.sex", "ch.disability",
        f"{_age_band_sql('ch.date_of_birth', 'c.as_of')} AS age_band",
        "CAST((ch.imd_decile + 1) // 2 AS INTEGER) AS imd_quintile",
    ]
    for d in defs:
        sqltype = "INTEGER" if d.kind == "int" else "DOUBLE"
        if d.flag_of is not None:
            raw = f'{where[d.flag_of]}."{d.flag_of}"'
            cols.append(f'CAST({raw} IS NULL AS INTEGER) AS "{d.name}"')
            continue
        raw = f'{where[d.name]}."{d.name}"'
        if d.missing_key is None:
            expr = f"coalesce({raw}, 0)"  # no row means nothing recorded: 0
        else:
            imp = getattr(spec.imputation, d.missing_key)
            if imp.rule == "council":
                expr = f'coalesce({raw}, {where[d.name]}."{d.name}__council", 0)'
            else:
                expr = f"coalesce({raw}, {q(imp.fill())})"
        cols.append(f'CAST({expr} AS {sqltype}) AS "{d.name}"')
    joins = "".join(
        f" LEFT JOIN {t} ON {t}.as_of = c.as_of AND {t}.child_id = c.child_id" for t in tables
    )
    sql = (
        f"SELECT {', '.join(cols)} FROM cohort c "
        "JOIN labels l ON l.as_of = c.as_of AND l.child_id = c.child_id "
        f"LEFT JOIN children ch ON ch.child_id = c.child_id{joins} "
        "ORDER BY c.as_of, c.child_id"
    )
    return sql, q


def feature_columns(matrix_or_spec) -> list[str]:
    """The model's feature list, from a matrix (its feature columns) or a spec.

    Ids, the label and the carried characteristics (``locality``, ``ethnicity``, ``sex``,
    ``disability``, ``age_band``, ``imd_quintile``) are never features.

    Examples
    --------
    >>> from riskmodel.features import feature_columns, load_feature_spec
    >>> names = feature_columns(load_feature_spec())
    >>> "ace_total_all_count" in names, "ethnicity" in names
    (True, False)
    """
    if isinstance(matrix_or_spec, pd.DataFrame):
        reserved = set(ID_COLUMNS) | set(CARRIED_COLUMNS)
        return [c for c in matrix_or_spec.columns if c not in reserved]
    if matrix_or_spec is None or isinstance(matrix_or_spec, (FeatureSpec, str, os.PathLike)):
        return [d.name for d in all_definitions(_resolve_spec(matrix_or_spec))]
    raise InputError(f"feature_columns: expected a matrix or a spec, got "
                     f"{type(matrix_or_spec).__name__}")


def feature_dictionary(spec=None) -> pd.DataFrame:
    """The feature dictionary: one row per feature the spec produces.

    Columns: ``name``, ``description`` (plain words), ``builder``, ``window``, ``metric``,
    ``imputation`` (the rule for a missing value) and ``missing_flag`` (the name of the
    feature's missing flag, or empty when the value cannot be missing).

    Examples
    --------
    >>> from riskmodel.features import feature_dictionary
    >>> fd = feature_dictionary()
    >>> row = fd.set_index("name").loc["contacts_source_police_12m_count"]
    >>> row["builder"], row["window"]
    ('contacts', '12m')
    >>> row["description"]
    'Number of police contacts recorded in the 12 months before the as-of date.'
    """
    return definitions_frame(all_definitions(_resolve_spec(spec)))


def last_as_of(as_of_dates) -> pd.Timestamp:
    """The latest of one or many as-of dates (each checked as an ISO date)."""
    if isinstance(as_of_dates, (str, os.PathLike)) or not hasattr(as_of_dates, "__iter__"):
        as_of_dates = [as_of_dates]
    dates = [parse_date(d, "as_of") for d in as_of_dates]
    if not dates:
        raise InputError("as_of: no as-of date given")
    return max(dates)


def switched_off_features(tables, spec=None, *, before=None) -> dict[str, list[str]]:
    """The features of ``spec`` that ``tables`` cannot give, by the optional input missing.

    Returns ``{input: [feature names]}``, e.g. ``{"ace_factors": ["ace_physical_abuse_all_flag",
    ...]}`` for an extract without ACE factors; empty when every input is held. Training
    records it in the model's metadata and the model card shows it; ``before`` (the last
    as-of date) counts only rows known before it, as :func:`build_matrix` does.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.features import switched_off_features
    >>> tables = {"children": pd.DataFrame({"child_id": ["c1"], "family_id": ["f1"]}),
    ...           "contacts": pd.DataFrame({"source": ["police"], "need": ["neglect"],
    ...                                     "mash_rag": ["red"], "outcome": ["nfa"]}),
    ...           "episodes": pd.DataFrame({"service": ["fsw_intervention"],
    ...                                     "triage_start": ["green"],
    ...                                     "closure_reason": ["needs_met"]})}
    >>> sorted(switched_off_features(tables))[:2]
    ['ace_factors', 'children.date_of_birth']
    """
    spec = _resolve_spec(spec)
    return switched_off(all_definitions(spec), complete_tables(tables), before=before,
                        knowledge=spec.knowledge)
