"""Which optional inputs an extract holds, and what is lost without each.

The contract requires only what the outcomes and the rules of time need. Everything else is
an *optional input*: a column a council may leave out or leave empty, or the ``ace_factors``
table. When an extract holds none of an input (the column is empty in every row, or the
table has no rows), the features that read it are switched off rather than built from
nothing; :data:`INPUTS` says, per input, what is lost.
"""

from __future__ import annotations

import pandas as pd

from riskmodel.data._contract import EARLY_HELP_SERVICES

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
}


def _early_help(episodes: pd.DataFrame) -> pd.Series:
    return episodes["service"].isin(EARLY_HELP_SERVICES).fillna(False).astype(bool)


# When a row of each table became known (the rules of time), and when a closure did.
_KNOWN = {"contacts": "recorded_date", "ace_factors": "recorded_date", "episodes": "start_date"}


def _known_before(df: pd.DataFrame, table: str, col: str | None, before) -> pd.DataFrame:
    if before is None or table not in _KNOWN:
        return df
    when = "end_date" if col in ("closure_reason", "triage_end") else _KNOWN[table]
    if when not in df.columns:
        return df
    return df[pd.to_datetime(df[when], errors="coerce") < pd.Timestamp(before)]


def _known_children(tables, before) -> pd.DataFrame:
    """Children known to services before ``before`` (any row of theirs known by then)."""
    children = tables["children"]
    if before is None:
        return children
    ids = [_known_before(tables[t], t, None, before)["child_id"]
           for t in _KNOWN if tables.get(t) is not None and "child_id" in tables[t].columns]
    known = pd.concat(ids) if ids else pd.Series([], dtype="string")
    return children[children["child_id"].isin(known)]


def _holds(tables, name: str, before=None) -> bool:
    if name == "ace_factors":
        df = tables.get("ace_factors")
        return df is not None and len(_known_before(df, name, None, before)) > 0
    table, col = name.split(".")
    df = tables.get(table)
    if df is None or col not in df.columns:
        return False
    df = (_known_children(tables, before) if table == "children"
          else _known_before(df, table, col, before))
    values = df[col]
    if col == "family_id":
        # Siblings exist only when a family_id is shared (an empty one is a family of one).
        ids = values.dropna().astype("string").str.strip()
        return bool(ids[ids != ""].duplicated().any())
    if table == "episodes" and col in ("triage_start", "closure_reason"):
        values = values[_early_help(df)]
    present = values.notna()
    if pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype):
        present &= values.astype("string").str.strip().fillna("") != ""
    return bool(present.any())


def missing_inputs(tables: dict[str, pd.DataFrame], *, before=None) -> list[str]:
    """The optional inputs an extract does not hold, in the order of :data:`INPUTS`.

    An input is missing when its column is absent or empty in every row (triage levels and
    closure reasons: on every early-help episode; ``family_id``: no two children share one),
    or, for ``ace_factors``, when the table is absent or has no rows. With ``before`` (a
    date), only rows known before it count (contacts and ACEs by ``recorded_date``, episodes
    by ``start_date``, closure reasons by ``end_date``), so rows recorded later never change
    which features a build at earlier dates has.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {"children": pd.DataFrame({"child_id": ["C1", "C2"],
    ...                                     "family_id": ["F1", "F1"]}),
    ...           "contacts": pd.DataFrame({"source": ["police"], "need": [None]}),
    ...           "episodes": pd.DataFrame({"service": ["cin"], "triage_start": [None]})}
    >>> missing_inputs(tables)[:4]
    ['ace_factors', 'contacts.need', 'contacts.mash_rag', 'contacts.outcome']
    """
    return [name for name in INPUTS if not _holds(tables, name, before)]


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
