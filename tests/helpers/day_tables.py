"""Small councils written in day numbers (day 0 is 2020-01-01), turned into contract tables.

A council is a dict of lists of rows whose dates are whole days after ``BASE`` (``None`` when
missing); :func:`to_tables` gives the typed tables ``coerce_tables`` would.
"""

from __future__ import annotations

import pandas as pd

BASE = pd.Timestamp("2020-01-01")
LAST_DAY = 1900                       # no generated date is later than this day number
EXTRACT = BASE + pd.Timedelta(days=2000)
HORIZON = 6


def day(n: int | None) -> pd.Timestamp:
    return pd.NaT if n is None or pd.isna(n) else BASE + pd.Timedelta(days=int(n))


def days_of(ts: pd.Timestamp) -> int:
    return int((ts - BASE).days)


def to_tables(c: dict) -> dict[str, pd.DataFrame]:
    """Rows with day numbers -> typed contract tables (knowledge columns only if recorded)."""
    dates = {"children": ["date_of_birth"],
             "contacts": ["contact_date", "recorded_date", "mash_rag_recorded_date",
                          "outcome_recorded_date"],
             "ace_factors": ["recorded_date"],
             "episodes": ["start_date", "end_date", "start_recorded_date",
                          "triage_start_recorded_date"],
             "children_history": ["valid_from"]}
    columns = {
        "children": ["child_id", "family_id", "date_of_birth", "sex", "ethnicity",
                     "disability", "locality", "imd_decile"],
        "contacts": ["contact_id", "child_id", "contact_date", "recorded_date", "source",
                     "need", "mash_rag", "outcome"],
        "ace_factors": ["child_id", "factor", "recorded_date"],
        "episodes": ["episode_id", "child_id", "service", "start_date", "end_date",
                     "closure_reason", "triage_start", "triage_end"],
        "children_history": ["child_id", "valid_from", "family_id", "locality", "imd_decile"],
    }
    if c.get("dated"):
        columns["contacts"] += ["mash_rag_recorded_date", "outcome_recorded_date"]
        columns["episodes"] += ["start_recorded_date", "triage_start_recorded_date"]
    out = {}
    for table, cols in columns.items():
        if table == "children_history" and not c.get("history"):
            continue
        df = pd.DataFrame([{k: r.get(k) for k in cols} for r in c[table]], columns=cols)
        for col in cols:
            if col in dates[table]:
                df[col] = pd.to_datetime(df[col].map(day)).astype("datetime64[ns]")
            elif col == "imd_decile":
                df[col] = pd.array(df[col].astype(object), dtype="Int64")
            else:
                df[col] = df[col].astype("string")
        out[table] = df
    return out
