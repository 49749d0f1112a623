"""Which optional inputs an extract holds, and what is lost without each.

The contract requires only what the outcomes and the rules of time need. Everything else is
an *optional input*: a column a council may leave out or leave empty, or the ``ace_factors``
table. When an extract holds none of an input (the column is empty in every row, or the
table has no rows), the features that read it are switched off rather than built from
nothing; :data:`INPUTS` says, per input, what is lost.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel.data._contract import EARLY_HELP_SERVICES, HISTORY_ATTRIBUTES
from riskmodel.data._duck import DuckTables

# input: (its name in plain words, what is lost without it)
INPUTS: dict[str, tuple[str, str]] = {
    "ace_factors": (
        "ACE factors (the ace_factors table)",
        "the ACE features: a flag per ACE, the ACE count, its band and the toxic-trio count"),
    "contacts.source": (
        "contact sources (contacts.source)",
        "contact counts by source (police, school, health, ...)"),
    "contacts.need": (
        "contact needs (contacts.need)",
        "contact counts by need (domestic abuse, neglect, ...)"),
    "contacts.mash_rag": (
        "MASH ratings (contacts.mash_rag)", "contact counts by MASH rating"),
    "contacts.outcome": (
        "contact outcomes (contacts.outcome)",
        "contact counts by outcome (no further action, signposted, early help, social care)"),
    "episodes.triage_start": (
        "triage levels (episodes.triage_start)",
        "the triage level of the current early-help episode"),
    "episodes.closure_reason": (
        "early-help closure reasons (episodes.closure_reason)",
        "earlier closures by reason, siblings' escalations, the locality step-up rate; and "
        "the disengagement outcome cannot be labelled"),
    "children.family_id": (
        "families (children.family_id)",
        "the sibling features; each child is a family of one in the temporal splits"),
    "children.date_of_birth": (
        "dates of birth (children.date_of_birth)", "age and unborn at the as-of date"),
    "children.locality": (
        "localities (children.locality)",
        "the locality contact and step-up rates; capacity per locality and metrics by "
        "locality see one locality"),
    "children.imd_decile": (
        "IMD deciles (children.imd_decile)", "the IMD decile feature"),
    # Held as at the extract only, with knowledge.current_values "off" (docs/knowledge-dates.md)
    "children_history.family_id": (
        "families at past dates (children_history.family_id)",
        "the sibling features: children.family_id is the family as at the extract, and the "
        "feature spec's knowledge.current_values.family_id is off"),
    "children_history.locality": (
        "localities at past dates (children_history.locality)",
        "the locality contact and step-up rates: children.locality is where the child lives "
        "at the extract, not at past as-of dates (knowledge.current_values.locality: current "
        "in the feature spec uses it anyway)"),
    "children_history.imd_decile": (
        "IMD deciles at past dates (children_history.imd_decile)",
        "the IMD decile feature: children.imd_decile is the decile at the extract "
        "(knowledge.current_values.imd_decile: current in the feature spec uses it anyway)"),
}


# Rows of each record table looked at first by missing_inputs.
_HEAD_ROWS = 5000


def _head(tables) -> dict[str, pd.DataFrame]:
    """Some rows of each table: "does a row known in time hold it" is true of the whole
    tables when it is true of these (the first rows of each record table, and children)."""
    if isinstance(tables, DuckTables):
        return tables.head(_HEAD_ROWS)
    return {t: df if t == "children" or df is None else df.iloc[:_HEAD_ROWS]
            for t, df in tables.items()}


def _early_help(episodes: pd.DataFrame) -> pd.Series:
    return episodes["service"].isin(EARLY_HELP_SERVICES).fillna(False).astype(bool)


# When a row of each table became known (the rules of time): contacts and ACEs by their
# recorded date, episodes once their start is known (knowledge_date), history from valid_from.
_KNOWN = {"contacts": "recorded_date", "ace_factors": "recorded_date", "episodes": "start_date"}
# The knowledge.lag_days key for each value that can be filled in late.
_LAG_KEY = {("contacts", "mash_rag"): "mash_rag", ("contacts", "outcome"): "outcome",
            ("episodes", "start_date"): "episode_start",
            ("episodes", "triage_start"): "triage_start"}


def _date(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    return pd.to_datetime(df[col], errors="coerce").astype("datetime64[ns]")


def knowledge_date(df: pd.DataFrame, table: str, col: str | None = None,
                   lags=None) -> pd.Series:
    """When each row of ``table`` (or its value in ``col``) became known.

    Contacts and ACE factors are known from ``recorded_date``; an episode from its start's
    knowledge date (``start_recorded_date``, else ``start_date`` plus the lag), never before
    ``start_date``. A MASH rating or contact outcome is known from its own recorded date,
    else the contact's ``recorded_date`` plus the lag; a triage level from its recorded date,
    else ``start_date`` plus the lag, and never before its row. An episode's end, closure
    reason and end triage are known from ``end_date``. ``lags`` maps the feature spec's
    ``knowledge.lag_days`` keys (``mash_rag``, ``outcome``, ``episode_start``,
    ``triage_start``) to days; missing keys (or no ``lags``) are 0 days.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"recorded_date": pd.to_datetime(["2024-01-02", "2024-01-02"]),
    ...                   "mash_rag_recorded_date": pd.to_datetime(["2024-01-09", None])})
    >>> knowledge_date(c, "contacts", "mash_rag", {"mash_rag": 14}).dt.day.tolist()
    [9, 16]
    """
    lags = dict(lags or {})

    def later(base: pd.Series, key: tuple[str, str], anchor: pd.Series) -> pd.Series:
        from riskmodel.data._contract import RECORDED_DATES

        own = _date(df, RECORDED_DATES[key])
        lagged = anchor + pd.Timedelta(days=int(lags.get(_LAG_KEY[key], 0)))
        return own.fillna(lagged).where(lambda d: d >= base, base)

    if table == "children_history":
        return _date(df, "valid_from")
    if table == "episodes":
        start = _date(df, "start_date")
        known = later(start, ("episodes", "start_date"), start)
        if col in ("end_date", "closure_reason", "triage_end"):
            return _date(df, "end_date").where(lambda d: d >= known, known)
        if col == "triage_start":
            return later(known, ("episodes", "triage_start"), start)
        return known
    recorded = _date(df, _KNOWN[table])
    if table == "contacts" and col in ("mash_rag", "outcome"):
        return later(recorded, ("contacts", col), recorded)
    return recorded


def _known_before(df: pd.DataFrame, table: str, col: str | None, before: object,
                  lags: dict | None = None, keep: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``df`` known before ``before``; only the columns ``keep`` when given
    (filtering every column of millions of contacts to read one was most of the cost)."""
    cols = [c for c in dict.fromkeys(keep) if c in df.columns] if keep is not None else None
    if before is None or (table not in _KNOWN and table != "children_history"):
        return df if cols is None else df.loc[:, cols]
    known = (knowledge_date(df, table, col, lags) < pd.Timestamp(before)).to_numpy(bool)
    return df[known] if cols is None else df.loc[known, cols]


def _known_children(tables: dict[str, pd.DataFrame], before: object,
                    lags: dict | None = None) -> pd.DataFrame:
    """Children known to services before ``before`` (any row of theirs known by then)."""
    children = tables["children"]
    if before is None:
        return children
    ids = [_known_before(tables[t], t, None, before, lags, keep=["child_id"])["child_id"]
           for t in _KNOWN if tables.get(t) is not None and "child_id" in tables[t].columns]
    known = pd.concat(ids).drop_duplicates() if ids else pd.Series([], dtype="string")
    return children[_isin(children["child_id"], known)]


def _isin(values: pd.Series, others: pd.Series) -> np.ndarray:
    """``values.isin(others)`` for ids, as one Arrow hash lookup (pandas' own isin of Arrow
    strings builds a Python scalar per value: 25 s for 100,000 children)."""
    try:
        left = pa.array(values, from_pandas=True)
        right = pa.array(others, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values.isin(others).to_numpy(bool)
    if left.type != right.type:
        return values.isin(others).to_numpy(bool)
    return pc.is_in(left, value_set=right).to_numpy(zero_copy_only=False)


def _present(values: pd.Series) -> pd.Series:
    present = values.notna()
    if pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype):
        present &= values.astype("string").str.strip().fillna("") != ""
    return present


def _shared(values: pd.Series) -> bool:
    # Siblings exist only when a family_id is shared (an empty one is a family of one).
    ids = values.dropna().astype("string").str.strip()
    return bool(ids[ids != ""].duplicated().any())


def history_holds(tables, attribute: str, before=None) -> bool:
    """Whether ``children_history`` dates ``attribute`` (family_id, locality, imd_decile).

    Only rows valid from before ``before`` count; a family is held only when two children
    share one.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"child_id": ["C1"], "valid_from": ["2020-03-01"],
    ...                   "locality": ["north"], "imd_decile": [None]})
    >>> t = {"children_history": h}
    >>> history_holds(t, "locality"), history_holds(t, "imd_decile")
    (True, False)
    >>> history_holds({"children_history": h}, "locality", before="2020-03-01")
    False
    """
    if isinstance(tables, DuckTables) and _history_holds(_head(tables), attribute, before):
        return True  # rows of the first few thousand settle it; else the whole history
    return _history_holds(tables, attribute, before)


def _history_holds(tables, attribute: str, before: object) -> bool:
    df = tables.get("children_history")
    if df is None or attribute not in df.columns or len(df) == 0:
        return False
    df = _known_before(df, "children_history", attribute, before,
                       keep=["child_id", "family_id", attribute])
    if attribute == "family_id":
        return _shared(df.drop_duplicates(["child_id", "family_id"])["family_id"])
    return bool(_present(df[attribute]).any())


def _holds(tables: dict[str, pd.DataFrame], name: str, before: object = None,
           lags: dict | None = None, current: dict | None = None,
           known: Callable[[], pd.DataFrame] | None = None) -> bool:
    if name == "ace_factors":
        df = tables.get("ace_factors")
        return df is not None and len(_known_before(df, name, None, before, keep=[])) > 0
    table, col = name.split(".")
    if table == "children_history":
        # Today's value stands in for the history only where the spec says so.
        return (history_holds(tables, col, before)
                or (current or {}).get(col, "current") == "current")
    if table == "children" and col in HISTORY_ATTRIBUTES and history_holds(tables, col, before):
        return True
    df = tables.get(table)
    if df is None or col not in df.columns:
        return False
    if table == "children":
        df = known() if known is not None else _known_children(tables, before, lags)
    else:
        df = _known_before(df, table, col, before, lags, keep=[col, "service"])
    values = df[col]
    if col == "family_id":
        return _shared(values)
    if table == "episodes" and col in ("triage_start", "closure_reason"):
        values = values[_early_help(df)]
    return bool(_present(values).any())


def missing_inputs(tables: dict[str, pd.DataFrame], *, before=None, lags=None,
                   current=None) -> list[str]:
    """The optional inputs an extract does not hold, in the order of :data:`INPUTS`.

    An input is missing when its column is absent or empty in every row (triage levels and
    closure reasons: on every early-help episode; ``family_id``: no two children share one),
    or, for ``ace_factors``, when the table is absent or has no rows. With ``before`` (a
    date), only values known before it count (:func:`knowledge_date`, with the feature spec's
    ``lags``), so rows recorded later never change which features a build at earlier dates
    has. A ``children_history.*`` input is missing when the history does not date it and
    ``current`` (the spec's ``knowledge.current_values``) says ``off`` for it.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {"children": pd.DataFrame({"child_id": ["C1", "C2"],
    ...                                     "family_id": ["F1", "F1"]}),
    ...           "contacts": pd.DataFrame({"source": ["police"], "need": [None]}),
    ...           "episodes": pd.DataFrame({"service": ["cin"], "triage_start": [None]})}
    >>> missing_inputs(tables)[:4]
    ['ace_factors', 'contacts.need', 'contacts.mash_rag', 'contacts.outcome']
    >>> "children_history.locality" in missing_inputs(tables, current={"locality": "off"})
    True
    """
    # Every input is held when some row known in time holds it, so rows of the first few
    # thousand that hold it settle it (exactly) without filtering millions of rows; only the
    # inputs they do not show are looked for in the whole tables.
    held_early = _holding(_head(tables), list(INPUTS), before, lags, current)
    rest = [name for name in INPUTS if name not in held_early]
    held = held_early | _holding(tables, rest, before, lags, current)
    return [name for name in INPUTS if name not in held]


def _holding(tables: dict[str, pd.DataFrame], names: list[str], before: object,
             lags: dict | None, current: dict | None) -> set[str]:
    """The inputs of ``names`` that ``tables`` hold (:func:`_holds`)."""
    cache: dict[str, pd.DataFrame] = {}

    def known() -> pd.DataFrame:  # the children known before ``before``, found once
        if "children" not in cache:
            cache["children"] = _known_children(tables, before, lags)
        return cache["children"]

    return {name for name in names if _holds(tables, name, before, lags, current, known)}


def describe_missing(names) -> list[str]:
    """One plain line per missing input: what it is and what is lost without it.

    Examples
    --------
    >>> describe_missing(["episodes.triage_start"])
    ['triage levels (episodes.triage_start) not in the extract; lost: the triage level of \
the current early-help episode']
    """
    return [f"{INPUTS[n][0]} not in the extract; lost: {INPUTS[n][1]}" for n in names]


def complete_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with an empty ``ace_factors`` and empty optional columns where left out.

    For code that takes tables straight from a caller (the feature session): checked tables
    from :func:`riskmodel.data.load_tables` are complete already.

    Examples
    --------
    >>> import pandas as pd
    >>> t = complete_tables({"contacts": pd.DataFrame({"contact_id": ["K1"]})})
    >>> list(t["ace_factors"].columns), "need" in t["contacts"].columns
    (['child_id', 'factor', 'recorded_date'], True)
    """
    from riskmodel.data._contract import COLUMNS, OPTIONAL_COLUMNS, OPTIONAL_TABLES

    out = dict(tables)
    for table in OPTIONAL_TABLES:
        if out.get(table) is None:
            out[table] = pd.DataFrame({
                c: pd.Series(dtype="datetime64[ns]" if c.endswith("_date") else "string")
                for c in COLUMNS[table]})
    for table, cols in OPTIONAL_COLUMNS.items():
        df = out.get(table)
        if df is None or all(c in df.columns for c in cols):
            continue
        df = df.copy()
        for c in cols:
            if c not in df.columns:
                df[c] = pd.Series(pd.NA, index=df.index, dtype="Int64" if c == "imd_decile"
                                  else "string")
        out[table] = df
    return out
