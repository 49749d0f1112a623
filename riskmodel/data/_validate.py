"""Check the contract tables and explain every problem in one line.

Per-column types, allowed values, required cells and unique ids are checked by
the pandera schemas in :mod:`riskmodel.data._schemas`; pandera's failure cases
are translated here into one line per problem. Keys between tables and the
rules of time are checked with plain vectorised pandas.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel._core.dates import parse_date
from riskmodel.data._contract import (
    COLUMNS,
    DATE_COLUMNS,
    EARLY_HELP_SERVICES,
    OPTIONAL_TABLES,
    RECORDED_DATES,
    ROW_ID,
    TABLES,
)
from riskmodel.data._schemas import (
    ALLOWED,
    CHECK_ALLOWED,
    CHECK_DATE,
    CHECK_IMD_RANGE,
    CHECK_WHOLE,
    DATE_MAX,
    DATE_MIN,
    IMD_RANGE,
    NULLABLE,
    normalise_table,
    parse_dates,
    schemas,
)

# Columns whose values are never echoed in a message (only row ids are).
SENSITIVE = frozenset({"date_of_birth"})
# Date columns that record an event (or when it was recorded): none may follow the extract date.
EVENT_DATES: dict[str, tuple[str, ...]] = {
    t: tuple(c for c in cols if c != "date_of_birth") for t, cols in DATE_COLUMNS.items()
}
# An unborn child's expected date of birth can follow the extract, but not by this much.
DOB_AHEAD = pd.Timedelta(days=366)
N_EXAMPLES = 3
_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([T ].*)?$")


# ---------------------------------------------------------------- formatting ----------------

def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _quote(value) -> str:
    # Runs of whitespace become one space, but a stray leading/trailing space stays visible.
    text = re.sub(r"\s+", " ", str(value))
    return "'" + (text if len(text) <= 40 else text[:37] + "...") + "'"


def _distinct(values) -> list:
    # Hash-based and in order of appearance: millions of failing cells stay fast.
    return list(pd.unique(pd.Series(values, dtype=object)))


def _shown(distinct: list) -> str:
    """``'a'`` or ``'a', 'b', 'c' and 4 more``."""
    shown = ", ".join(_quote(v) for v in distinct[:N_EXAMPLES])
    more = len(distinct) - N_EXAMPLES
    return shown + (f" and {more:,} more" if more > 0 else "")


def _values(distinct: list, *, noun: str) -> str:
    """``noun 'a'`` or ``nouns 'a', 'b'``."""
    return f"{noun}{'s' if len(distinct) > 1 else ''} {_shown(distinct)}"


def _examples(df: pd.DataFrame, table: str, positions) -> str:
    """``(e.g. contact_id K1, K7)``: up to three distinct row ids, or row numbers without one."""
    first = list(dict.fromkeys(int(p) for p in positions[: 4 * N_EXAMPLES]))
    id_col = ROW_ID[table]
    if id_col in df.columns:
        ids = df[id_col].iloc[first]
        if ids.notna().all():
            shown = list(dict.fromkeys(ids.tolist()))[:N_EXAMPLES]
            return f" (e.g. {id_col} {', '.join(str(i) for i in shown)})"
    rows = ", ".join(str(p + 1) for p in first[:N_EXAMPLES])
    return f" (e.g. row{'s' if len(first) > 1 else ''} {rows})"


def _line(table: str, column: str | None, what: str, df=None, positions=()) -> str:
    where = f"{table}.{column}" if column else table
    tail = _examples(df, table, positions) if df is not None and len(positions) else ""
    return " ".join(f"{where}: {what}{tail}".split())


def _case_hint(distinct: list, allowed) -> str:
    lowered = {str(v).lower() for v in distinct}
    if lowered & set(allowed):
        return " (lower-case)"
    joined = {re.sub(r"[\s\-]+", "_", v.strip()) for v in lowered}
    if joined & set(allowed):
        return " (lower-case, words joined by _)"
    return ""


# ---------------------------------------------------------------- per-table (pandera) -------

_DATE_KINDS = {
    "unparseable date": "expected an ISO date YYYY-MM-DD",
    "impossible date": "no such day",
    "date out of range": f"expected between {DATE_MIN.year} and {DATE_MAX.year}",
}


def _date_kind(value) -> str:
    """Why a value is not a contract date: a key of ``_DATE_KINDS``."""
    text = str(value).strip()
    if pd.notna(pd.to_datetime(text, format="ISO8601", errors="coerce")):
        return "date out of range"  # a real date, just not a plausible one
    if _ISO_SHAPE.match(text):
        return "impossible date"  # 2023-02-30: shaped like a date, no such day
    return "unparseable date"


def _missing_column(table: str, column: str, raw: pd.DataFrame) -> str:
    found = [c for c in map(str, raw.columns) if c.strip().lower() == column]
    if found:
        hint = f" (found {_quote(found[0])}; column names are lower-case, without spaces)"
    else:
        present = ", ".join(map(str, raw.columns[:8])) or "none"
        more = " ..." if len(raw.columns) > 8 else ""
        hint = f" (columns found: {present}{more})"
    return _line(table, column, f"column missing{hint}")


def _translate(table: str, cases: pd.DataFrame, raw: pd.DataFrame, df: pd.DataFrame):
    """Turn pandera's failure cases for one table into one line per problem."""
    missing = cases["check"] == "column_in_dataframe"
    # pandera names the missing column in failure_case (its "column" is the schema's name).
    lines = [_missing_column(table, str(c), raw) for c in cases.loc[missing, "failure_case"]]
    cases = cases[~missing]
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        column = str(column)
        group = group[group["index"].notna()]
        if group.empty:  # a check that could not run at all
            continue
        positions = group["index"].to_numpy(dtype="int64")
        values = group["failure_case"]
        distinct = _distinct(values)
        secret = column in SENSITIVE
        n = len(positions)
        if check == "not_nullable":
            what = f"empty in {_rows(n)}, a value is required"
        elif check == "field_uniqueness":
            what = f"duplicate ids in {_rows(n)}, each must be unique"
        elif check == CHECK_ALLOWED:
            allowed = ALLOWED[(table, column)]
            empty = " or empty" if (table, column) in NULLABLE else ""
            what = (
                f"unknown {_values(distinct, noun='value')} in {_rows(n)}, expected one of "
                f"{', '.join(allowed)}{empty}{_case_hint(distinct, allowed)}"
            )
        elif check == CHECK_DATE:
            kinds = {v: _date_kind(v) for v in distinct}
            kind_of_row = values.map(kinds).to_numpy()
            for kind, expect in _DATE_KINDS.items():
                pos = positions[kind_of_row == kind]
                if not len(pos):
                    continue
                val = [v for v in distinct if kinds[v] == kind]
                shown = "" if secret else " " + _shown(val)
                lines.append(_line(
                    table, column, f"{kind}{shown} in {_rows(len(pos))}, {expect}", df, pos,
                ))
            continue
        elif check in (CHECK_WHOLE, CHECK_IMD_RANGE):
            kind = "not a whole number" if check == CHECK_WHOLE else "out of range"
            lo, hi = IMD_RANGE
            what = (
                f"{kind} {_shown(distinct)} in {_rows(n)}, "
                f"expected a whole number {lo}-{hi} or empty"
            )
        else:  # a pandera check this module does not name (should not happen)
            what = f"failed check {check} in {_rows(n)}"
        lines.append(_line(table, column, what, df, positions))
    return lines


def near_miss(name: str, known: tuple[str, ...]) -> str | None:
    """The contract column an unknown column name most likely meant, or None.

    Examples
    --------
    >>> near_miss("DOB", ("child_id", "date_of_birth"))
    'date_of_birth'
    >>> near_miss("Date of Birth", ("child_id", "date_of_birth"))
    'date_of_birth'
    >>> near_miss("notes", ("child_id", "date_of_birth")) is None
    True
    """
    import difflib

    text = re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")
    if not text:
        return None
    if text in known:  # the name itself, or it written another way ("Date of Birth")
        return text if text != name else None
    initials = {"".join(part[0] for part in k.split("_") if part): k for k in known}
    if text.replace("_", "") in initials and len(text.replace("_", "")) > 1:
        return initials[text.replace("_", "")]
    close = difflib.get_close_matches(text, known, n=1, cutoff=0.8)
    return close[0] if close else None


def _warn_near_misses(table: str, raw: pd.DataFrame) -> None:
    """A column the contract does not know but nearly matches one the table lacks (``DOB``
    for ``date_of_birth``) is said, not ignored silently."""
    import warnings

    from riskmodel._core.errors import InputWarning

    known = COLUMNS[table]
    present = {str(c) for c in raw.columns}
    for col in map(str, raw.columns):
        meant = near_miss(col, tuple(k for k in known if k not in present))
        if col not in known and meant is not None:
            warnings.warn(InputWarning(f"{table}: unknown column {col} — did you mean {meant}? "
                                       "(it is ignored until renamed)"), stacklevel=3)


def _schema_problems(table: str, raw: pd.DataFrame, df: pd.DataFrame) -> list[str]:
    import pandera.pandas as pandera

    try:
        schemas()[table].validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return _translate(table, exc.failure_cases, raw, df)
    return []


# ---------------------------------------------------------------- across tables -------------

def _typed(df: pd.DataFrame, table: str) -> pd.DataFrame:
    # A shallow copy: only the date columns are replaced (whole columns, so ``df`` keeps its
    # own); a deep one copied every id and category of millions of rows for nothing.
    out = df.copy(deep=False)
    for col in DATE_COLUMNS[table]:
        if col in out.columns:
            out[col] = parse_dates(out[col])
    return out


def _id_case_hint(unknown: list, known: pa.Array) -> str:
    # 'c1' for 'C1' is a common export slip; say so rather than leave the user to spot it.
    shown = pa.array([str(v).lower() for v in unknown[:N_EXAMPLES]], type=pa.string())
    if pc.any(pc.is_in(shown, value_set=pc.utf8_lower(known))).as_py():
        return " (ids are case-sensitive: the same id in another case is known)"
    return ""


def _key_problems(typed: dict[str, pd.DataFrame]) -> list[str]:
    children = typed.get("children")
    if children is None or "child_id" not in children.columns:
        return []
    # pyarrow's hash lookup: pandas' isin on Arrow strings walks the value set in Python.
    known = pa.array(children["child_id"].dropna().unique(), type=pa.string())
    lines = []
    for table in ("contacts", "ace_factors", "episodes", "children_history"):
        df = typed.get(table)
        if df is None or "child_id" not in df.columns:
            continue
        ids = df["child_id"]
        found = pc.is_in(pa.array(ids, type=pa.string(), from_pandas=True), value_set=known)
        bad = ids.notna() & ~pd.Series(found.to_numpy(zero_copy_only=False), index=ids.index)
        if bad.any():
            unknown = _distinct(ids[bad])
            what = (
                f"unknown {_values(unknown, noun='child id')} in "
                f"{_rows(int(bad.sum()))}, not in children.child_id{_id_case_hint(unknown, known)}"
            )
            lines.append(_line(table, "child_id", what, df, bad.to_numpy().nonzero()[0]))
    return lines


def _flag(lines, table, column, what, df, mask) -> None:
    if mask.any():
        rows = mask.to_numpy().nonzero()[0]
        lines.append(_line(table, column, f"{what} in {_rows(len(rows))}", df, rows))


# A knowledge date may not come before the date its row was known from: a contact's MASH
# rating and outcome are filled in on or after the contact was recorded. An episode's
# start_recorded_date may precede its start_date (an episode planned ahead), and its triage
# level may be set as it is planned, so neither is checked against start_date.
_NOT_BEFORE: dict[str, str] = {
    "mash_rag_recorded_date": "recorded_date",
    "outcome_recorded_date": "recorded_date",
}


def _knowledge_problems(
    typed: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame],
) -> list[str]:
    """Knowledge dates (RECORDED_DATES) that contradict the value or row they date."""
    lines: list[str] = []
    for (table, value), when in RECORDED_DATES.items():
        df = typed.get(table)
        if df is None or when not in df.columns:
            continue
        before = _NOT_BEFORE.get(when)
        if before is not None and before in df.columns:
            _flag(lines, table, when, f"before {before}", df, df[when] < df[before])
        if value in df.columns and (table, value) in NULLABLE:  # a required value: reported
            # Read from the stored cell, so an unparseable date (reported already) is set too:
            # a date saying when an empty value was recorded says nothing true.
            _flag(lines, table, when, f"set where {value} is empty", df,
                  raw[table][when].notna() & raw[table][value].isna())
    return lines


def _history_problems(typed: dict[str, pd.DataFrame]) -> list[str]:
    """children_history: one row per child and valid_from date."""
    history = typed.get("children_history")
    if history is None or not {"child_id", "valid_from"} <= set(history.columns):
        return []
    lines: list[str] = []
    known = history["child_id"].notna() & history["valid_from"].notna()
    # Dates are compared parsed: 2024-01-05 and 2024-1-5 are the same day.
    twice = (history.duplicated(["child_id", "valid_from"], keep=False) & known).to_numpy()
    if twice.any():
        rows = twice.nonzero()[0]
        lines.append(_line(
            "children_history", "valid_from",
            f"duplicate (child_id, valid_from) in {_rows(len(rows))}, each child has one row "
            "per date", history, rows))
    return lines


def _time_problems(
    typed: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], extract: pd.Timestamp,
) -> list[str]:
    lines: list[str] = []
    contacts = typed.get("contacts")
    if contacts is not None and {"contact_date", "recorded_date"} <= set(contacts.columns):
        _flag(lines, "contacts", "recorded_date", "before contact_date", contacts,
              contacts["recorded_date"] < contacts["contact_date"])
    lines += _knowledge_problems(typed, raw)
    episodes = typed.get("episodes")
    if episodes is not None and {"start_date", "end_date"} <= set(episodes.columns):
        _flag(lines, "episodes", "end_date", "before start_date", episodes,
              episodes["end_date"] < episodes["start_date"])
    if episodes is not None and {"end_date", "closure_reason"} <= set(episodes.columns):
        # Whether an episode is closed is read from the stored cell, so an unparseable
        # end_date (reported already) does not also count as open.
        closed = raw["episodes"]["end_date"].notna()
        reason = episodes["closure_reason"].notna()
        # The outcomes read the reasons early-help episodes close for; a council that records
        # none (Ofsted Annex A has none) leaves the column empty and its features switch off,
        # but one that records them must record every one, or labels would be silently wrong.
        early_help = (episodes["service"].isin(EARLY_HELP_SERVICES).fillna(False)
                      if "service" in episodes.columns else closed)
        if (early_help & reason).any():
            _flag(lines, "episodes", "closure_reason",
                  "empty on a closed early-help episode (end_date set)", episodes,
                  early_help & closed & ~reason)
        _flag(lines, "episodes", "closure_reason", "set on an open episode (end_date empty)",
              episodes, ~closed & reason)

    earliest = None
    for table, cols in EVENT_DATES.items():
        df = typed.get(table)
        for col in cols:
            if df is not None and col in df.columns and df[col].notna().any():
                first = df[col].min()
                if earliest is None or first < earliest[0]:
                    earliest = (first, f"{table}.{col}")
    day = f"{extract:%Y-%m-%d}"
    if earliest is not None and extract < earliest[0]:
        # Every record would be "in the future": one line about the date, not one per column.
        lines.append(
            f"extract date {day} is before every record (the earliest is "
            f"{earliest[1]} {earliest[0]:%Y-%m-%d}); check the extract date"
        )
        return lines
    for table, cols in EVENT_DATES.items():
        df = typed.get(table)
        for col in cols:
            if df is not None and col in df.columns:
                _flag(lines, table, col, f"after the extract date {day}", df, df[col] > extract)
    children = typed.get("children")
    if children is not None and "date_of_birth" in children.columns:
        _flag(lines, "children", "date_of_birth",
              f"more than a year after the extract date {day}", children,
              children["date_of_birth"] > extract + DOB_AHEAD)
    return lines


# ---------------------------------------------------------------- public --------------------

def _extract_date(value) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp(dt.date.today())
    return parse_date(value, "extract date")


def validate_tables(tables: dict[str, pd.DataFrame], *, extract_date=None) -> list[str]:
    """Check the contract tables; return one line per problem (empty when valid).

    ``ace_factors`` and ``children_history`` may be absent or empty, and the optional
    columns (:data:`~riskmodel.data._contract.OPTIONAL_COLUMNS`) may be left out. Checks
    column presence, types (ISO dates, whole-number ``imd_decile`` in
    1-10), allowed category values, required cells, unique ids (one
    ``children_history`` row per ``child_id`` and ``valid_from``), that every
    ``child_id`` is known in ``children``, and the rules of time: no
    ``recorded_date`` before the contact, no MASH rating or outcome recorded
    (``mash_rag_recorded_date``, ``outcome_recorded_date``) before the contact was, no
    knowledge date on an empty value, no episode ending before it starts,
    closure reasons only on closed episodes (and on every closed early-help episode when
    the extract records closure reasons at all), no record after the extract
    date. Events before a child's date of birth are allowed (unborn children
    get early help), and so is an episode entered before its start date
    (``start_recorded_date``: planned ahead); extra columns are ignored.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Raw tables as read by :func:`read_tables` (text or typed columns).
    extract_date : str, date or None, keyword-only
        When the extract was taken. Defaults to today.

    Returns
    -------
    list of str
        Each line names the table and column, says what is wrong in how many
        rows, and gives up to three example row ids (the table's id column).
        Dates of birth are never echoed.

    Raises
    ------
    InputError
        When ``extract_date`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.data import validate_tables
    >>> tables = {t: pd.DataFrame() for t in ["children", "contacts", "ace_factors", "episodes"]}
    >>> tables["children"] = pd.DataFrame({"child_id": ["C1"], "family_id": ["F1"],
    ...     "date_of_birth": ["2015-03-02"], "sex": ["Female"], "ethnicity": ["white"],
    ...     "disability": ["none"], "locality": ["north"], "imd_decile": ["3"]})
    >>> validate_tables(tables, extract_date="2025-01-01")[0]
    "children.sex: unknown value 'Female' in 1 row, expected one of female, male, unknown \
or empty (lower-case) (e.g. child_id C1)"
    """
    return check_tables(tables, extract_date=extract_date)[0]


def check_tables(tables: dict[str, pd.DataFrame], *, extract_date=None
                 ) -> tuple[list[str], dict[str, pd.DataFrame]]:
    """:func:`validate_tables`'s problems, and the tables as checked (normalised, dates
    parsed) so :func:`~riskmodel.data.load_tables` types them without normalising twice."""
    extract = _extract_date(extract_date)
    norm, problems = _normalised(tables)
    typed = {table: _typed(df, table) for table, df in norm.items()}
    problems += _key_problems(typed)
    problems += _history_problems(typed)
    problems += _time_problems(typed, norm, extract)
    return problems, typed


def _normalised(tables: dict[str, pd.DataFrame]
                ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each table present, normalised; and the missing, empty and schema problems."""
    problems: list[str] = []
    norm: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        raw = tables.get(table)
        if raw is None:
            if table not in OPTIONAL_TABLES:
                problems.append(_line(table, None, "table missing"))
            continue
        norm[table] = df = normalise_table(raw, table)
        if len(df) == 0 and table not in OPTIONAL_TABLES:
            problems.append(_line(table, None, "table is empty (0 rows)"))
        found = _schema_problems(table, raw, df)
        problems += found
        if not found:  # a column refused already says what it is: no second line about it
            _warn_near_misses(table, raw)
    return norm, problems
