"""A short, non-identifying summary of a council extract (what `riskmodel validate` prints)."""

from __future__ import annotations

import pandas as pd

from riskmodel.data._contract import (
    DATE_COLUMNS,
    EARLY_HELP_SERVICES,
    SERVICES,
    SOCIAL_CARE_SERVICES,
    TABLES,
)
from riskmodel.data._inputs import INPUTS, missing_inputs
from riskmodel.data._read import coerce_tables


def summarise_tables(tables: dict[str, pd.DataFrame]) -> str:
    """Summarise valid contract tables in a few lines of plain text.

    Rows per table, children and families, the span of recorded dates
    (contacts, ACE factors, episodes; never dates of birth), episodes by
    service and how many are open, and the optional inputs the extract does not hold
    (their features are switched off). Counts only: no ids, no dates of birth.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Raw (as read) or typed tables that passed :func:`validate_tables`.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.data import COLUMNS, summarise_tables
    >>> tables = {t: pd.DataFrame({c: [] for c in cols}) for t, cols in COLUMNS.items()}
    >>> tables["episodes"] = pd.DataFrame({"episode_id": ["E1", "E2"], "child_id": ["C1", "C1"],
    ...     "service": ["early_help_pathway", "cin"], "start_date": ["2024-01-05", "2024-06-01"],
    ...     "end_date": ["2024-05-30", None], "closure_reason": ["escalated", None],
    ...     "triage_start": ["green", "orange"], "triage_end": ["orange", None]})
    >>> print(summarise_tables(tables))  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    children         0 rows  (0 children in 0 families)
    contacts         0 rows
    ace_factors      0 rows
    episodes         2 rows  (1 open: 0 early help, 1 social care)
    dates         2024-01-05 to 2024-06-01
    by service    early_help_pathway 1, cin 1
    not held      ACE factors (the ace_factors table), ... are switched off
    """
    typed = coerce_tables(tables)
    children, episodes = typed["children"], typed["episodes"]
    width = max(len(f"{len(typed[t]):,}") for t in TABLES)
    rows = {t: f"{t:<13}{len(typed[t]):>{width + 2},} rows" for t in TABLES}

    rows["children"] += (
        f"  ({children['child_id'].nunique():,} children in "
        f"{children['family_id'].nunique():,} families)"
    )
    open_ = episodes["end_date"].isna()
    n_eh = int((open_ & episodes["service"].isin(EARLY_HELP_SERVICES)).sum())
    n_sc = int((open_ & episodes["service"].isin(SOCIAL_CARE_SERVICES)).sum())
    rows["episodes"] += f"  ({int(open_.sum()):,} open: {n_eh:,} early help, {n_sc:,} social care)"
    lines = [rows[t] for t in TABLES]

    dates = pd.concat([
        typed[t][c] for t, cols in DATE_COLUMNS.items() for c in cols if c != "date_of_birth"
    ]).dropna()
    span = f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(dates) else "none"
    lines.append(f"{'dates':<13} {span}")
    counts = episodes["service"].value_counts()
    by_service = ", ".join(f"{s} {int(counts[s]):,}" for s in SERVICES if counts.get(s, 0))
    lines.append(f"{'by service':<13} {by_service or 'none'}")
    missing = missing_inputs(typed)
    if missing:  # said plainly: what the extract lacks switches features off
        lines.append(f"{'not held':<13} " + ", ".join(INPUTS[m][0] for m in missing)
                     + ": the features that need them are switched off")
    return "\n".join(lines)
