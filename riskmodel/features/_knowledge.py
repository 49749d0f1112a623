"""What a build assumed about when values filled in or changed later became known.

The rules themselves are in :class:`~riskmodel.features._session.Session`; this module says in
words, per value, which rule an extract gets: its own recorded date, the feature spec's lag,
the history, or today's value (``docs/knowledge-dates.md``). Training records the lines in the
model's metadata and the model card prints them, so no assumption is silent.
"""

from __future__ import annotations

import pandas as pd

from riskmodel.data import HISTORY_ATTRIBUTES, RECORDED_DATES, complete_tables, history_holds
from riskmodel.features._spec import FeatureSpec

_VALUES = {
    ("contacts", "mash_rag"): ("MASH ratings", "mash_rag", "after the contact was recorded"),
    ("contacts", "outcome"): ("contact outcomes", "outcome", "after the contact was recorded"),
    ("episodes", "start_date"): ("episode starts", "episode_start", "after start_date"),
    ("episodes", "triage_start"): ("triage levels", "triage_start", "after start_date"),
}
_ATTRIBUTES = {"family_id": "families", "locality": "localities", "imd_decile": "IMD deciles"}


def _share_dated(tables, table: str, col: str) -> float:
    df = tables.get(table)
    own = RECORDED_DATES[(table, col)]
    if df is None or own not in df.columns or len(df) == 0:
        return 0.0
    rows = df[col].notna() if col != "start_date" else pd.Series(True, index=df.index)
    if not rows.any():
        return 0.0
    return float(pd.to_datetime(df.loc[rows, own], errors="coerce").notna().mean())


def knowledge_rules(tables, spec: FeatureSpec, *, before=None) -> list[str]:
    """One plain line per value that can be filled in or changed late: how it was timed.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The contract tables.
    spec : FeatureSpec
        The feature set (its ``knowledge`` section).
    before : date, optional
        The last as-of date: history rows valid from later do not count.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.features import load_feature_spec
    >>> tables = {"contacts": pd.DataFrame({"mash_rag": ["red"], "outcome": ["nfa"],
    ...     "mash_rag_recorded_date": pd.to_datetime(["2024-01-03"])})}
    >>> for line in knowledge_rules(tables, load_feature_spec())[:2]:
    ...     print(line)
    MASH ratings: known from contacts.mash_rag_recorded_date
    contact outcomes: known 14 days after the contact was recorded (no \
contacts.outcome_recorded_date; the feature spec's knowledge.lag_days.outcome)
    """
    tables = complete_tables(tables)
    lag = spec.knowledge.lag_days
    lines = []
    for (table, col), (what, key, after) in _VALUES.items():
        own = f"{table}.{RECORDED_DATES[(table, col)]}"
        days = getattr(lag, key)
        lagged = f"{days} days {after}" if days else "on the date it carries"
        share = _share_dated(tables, table, col)
        if share == 1:
            lines.append(f"{what}: known from {own}")
        elif share > 0:
            lines.append(f"{what}: known from {own} where recorded ({100 * share:.0f}%), "
                         f"else {lagged} (the feature spec's knowledge.lag_days.{key})")
        else:
            lines.append(f"{what}: known {lagged} (no {own}; the feature spec's "
                         f"knowledge.lag_days.{key})")
    current = spec.knowledge.current_values
    for a in HISTORY_ATTRIBUTES:
        what = _ATTRIBUTES[a]
        if history_holds(tables, a, before):
            lines.append(f"{what}: from children_history at each as-of date")
        elif getattr(current, a) == "current":
            lines.append(f"{what}: as at the extract, used at every past as-of date (no "
                         f"children_history.{a}; knowledge.current_values.{a}: current)")
        else:
            lines.append(f"{what}: as at the extract only, so not used at past as-of dates "
                         f"(no children_history.{a}; knowledge.current_values.{a}: off)")
    return lines
