"""A short, non-identifying summary of a council extract (what `riskmodel validate` prints):
rows per table, and when late-filled values became known (:func:`knowledge_delays`)."""

from __future__ import annotations

import pandas as pd

from riskmodel.data._contract import (
    DATE_COLUMNS,
    EARLY_HELP_SERVICES,
    HISTORY_ATTRIBUTES,
    RECORDED_DATES,
    SERVICES,
    SOCIAL_CARE_SERVICES,
    TABLES,
)
from riskmodel.data._inputs import INPUTS, missing_inputs
from riskmodel.data._read import coerce_tables


def summarise_tables(tables: dict[str, pd.DataFrame]) -> str:
    """Summarise valid contract tables in a few lines of plain text.

    Rows per table (``children_history`` when the extract holds rows of it), children and
    families, the span of recorded dates
    (contacts, ACE factors, episodes, history; never dates of birth), episodes by
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
    lines = _row_lines(typed)
    episodes = typed["episodes"]
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


def _row_lines(typed: dict[str, pd.DataFrame]) -> list[str]:
    """Rows per table, with children and families, and open episodes by kind."""
    children, episodes = typed["children"], typed["episodes"]
    # ace_factors is listed even when absent (0 rows says its features are off); history only
    # when held, as most councils keep none.
    shown = [t for t in TABLES if t != "children_history" or len(typed[t])]
    width = max(len(f"{len(typed[t]):,}") for t in shown)
    label = max(13, *(len(t) + 1 for t in shown))
    rows = {t: f"{t:<{label}}{len(typed[t]):>{width + 2},} rows" for t in shown}
    rows["children"] += (
        f"  ({children['child_id'].nunique():,} children in "
        f"{children['family_id'].nunique():,} families)"
    )
    open_ = episodes["end_date"].isna()
    n_eh = int((open_ & episodes["service"].isin(EARLY_HELP_SERVICES)).sum())
    n_sc = int((open_ & episodes["service"].isin(SOCIAL_CARE_SERVICES)).sum())
    rows["episodes"] += f"  ({int(open_.sum()):,} open: {n_eh:,} early help, {n_sc:,} social care)"
    return [rows[t] for t in shown]


# ---------------------------------------------------------------- knowledge dates -----------

# The date a knowledge date is counted from (when its row became known), per table.
_COUNTED_FROM = {"contacts": "recorded_date", "episodes": "start_date"}
# The key of the feature spec's knowledge.lag_days that applies without a knowledge date.
LAG_KEYS = {("contacts", "mash_rag"): "mash_rag", ("contacts", "outcome"): "outcome",
            ("episodes", "start_date"): "episode_start",
            ("episodes", "triage_start"): "triage_start"}
_NOUNS = {"mash_rag": "MASH ratings", "outcome": "contact outcomes",
          "start_date": "episode starts", "triage_start": "triage levels"}
KNOWLEDGE_COLUMNS = ["column", "dates", "after", "values", "dated", "median_days", "p95_days"]


def knowledge_delays(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How long after its row each late-filled value was recorded, per knowledge date.

    A MASH rating or contact outcome is often filled in days after the contact was
    recorded, and an episode entered after the start date it carries; a feature may use
    such a value only from when it was recorded. For each knowledge date of
    :data:`~riskmodel.data._contract.RECORDED_DATES` that the extract holds (present and
    not empty in every row), how many values it dates and how many days after the date it
    dates (the contact's ``recorded_date``; the episode's ``start_date``) they were
    recorded. Counts and days only: no ids.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Raw (as read) or typed tables that passed :func:`validate_tables`.

    Returns
    -------
    DataFrame
        One row per knowledge date held, in contract order, with columns ``column`` (e.g.
        ``contacts.mash_rag_recorded_date``), ``dates`` (the value it dates,
        ``contacts.mash_rag``), ``after`` (the date the delay counts from,
        ``contacts.recorded_date``), ``values`` (rows holding the value), ``dated`` (those
        with a knowledge date), ``median_days`` and ``p95_days`` (the median and 95th
        percentile, linearly interpolated, of the delay in days over the dated values; an
        episode entered before its start date counts as negative).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.data import knowledge_delays
    >>> contacts = pd.DataFrame({"contact_id": ["K1", "K2", "K3", "K4"],
    ...     "child_id": ["C1"] * 4, "recorded_date": ["2024-01-01"] * 4,
    ...     "contact_date": ["2024-01-01"] * 4, "mash_rag": ["red", "amber", "green", None],
    ...     "mash_rag_recorded_date": ["2024-01-01", "2024-01-03", "2024-01-11", None]})
    >>> d = knowledge_delays({"contacts": contacts})
    >>> d[["column", "values", "dated", "median_days", "p95_days"]].to_dict("records")
    [{'column': 'contacts.mash_rag_recorded_date', 'values': 3, 'dated': 3, \
'median_days': 2.0, 'p95_days': 9.2}]
    """
    return _delays(_typed(tables))


def _delays(typed: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for (table, value), when in RECORDED_DATES.items():
        df, after = typed[table], _COUNTED_FROM[table]
        recorded = df[when]
        if not recorded.notna().any():
            continue  # not held: the feature spec's lag applies
        held = df[value].notna()
        dated = held & recorded.notna() & df[after].notna()
        delay = (recorded[dated] - df.loc[dated, after]).dt.days.astype(float)
        rows.append({
            "column": f"{table}.{when}", "dates": f"{table}.{value}", "after": f"{table}.{after}",
            "values": int(held.sum()), "dated": int(dated.sum()),
            "median_days": float(delay.median()) if len(delay) else float("nan"),
            "p95_days": float(delay.quantile(0.95)) if len(delay) else float("nan"),
        })
    return pd.DataFrame(rows, columns=KNOWLEDGE_COLUMNS)


def history_changes(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many children ``children_history`` covers, and how many of them changed each attribute.

    A child changed an attribute (``family_id``, ``locality``, ``imd_decile``) when their
    history rows and their value in ``children`` (as at the extract) hold more than one
    distinct value of it: for them, today's value at a past date would be wrong. Empty
    cells say nothing and are not counted.

    Parameters
    ----------
    tables : dict of str to DataFrame
        Raw (as read) or typed tables that passed :func:`validate_tables`.

    Returns
    -------
    dict of str to int
        ``{"children": n, "family_id": n, "locality": n, "imd_decile": n}``; empty when the
        extract holds no history rows. Counts only.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.data import history_changes
    >>> children = pd.DataFrame({"child_id": ["C1", "C2"], "locality": ["south", "east"]})
    >>> history = pd.DataFrame({"child_id": ["C1", "C1", "C2"],
    ...     "valid_from": ["2021-01-04", "2023-06-01", "2022-02-02"],
    ...     "locality": ["north", "south", "east"]})
    >>> history_changes({"children": children, "children_history": history})
    {'children': 2, 'family_id': 0, 'locality': 1, 'imd_decile': 0}
    """
    return _changes(_typed(tables))


def _changes(typed: dict[str, pd.DataFrame]) -> dict[str, int]:
    history = typed["children_history"]
    if not len(history):
        return {}
    current = typed["children"]
    current = current[current["child_id"].isin(history["child_id"])]
    both = pd.concat([history[["child_id", *HISTORY_ATTRIBUTES]],
                      current[["child_id", *HISTORY_ATTRIBUTES]]], ignore_index=True)
    distinct = both.groupby("child_id")[list(HISTORY_ATTRIBUTES)].nunique(dropna=True)
    out = {"children": int(history["child_id"].nunique())}
    out.update({a: int((distinct[a] > 1).sum()) for a in HISTORY_ATTRIBUTES})
    return out


def describe_knowledge(tables: dict[str, pd.DataFrame]) -> list[str]:
    """What `riskmodel validate` says about knowledge dates: one plain line per input.

    Each knowledge date held gives its count and delays (:func:`knowledge_delays`), each one
    not held the feature spec's lag that applies instead (``knowledge.lag_days``), and
    ``children_history`` its counts (:func:`history_changes`) or, when not held, that
    ``knowledge.current_values`` applies. Counts only: no ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.data import COLUMNS
    >>> from riskmodel.data import describe_knowledge
    >>> tables = {t: pd.DataFrame({c: [] for c in cols}) for t, cols in COLUMNS.items()}
    >>> print("\\n".join(describe_knowledge(tables)))  # doctest: +NORMALIZE_WHITESPACE
    knowledge dates (when a value was recorded, in days after its row):
      contacts.mash_rag_recorded_date
        not held: the feature spec's knowledge.lag_days.mash_rag applies
      contacts.outcome_recorded_date
        not held: the feature spec's knowledge.lag_days.outcome applies
      episodes.start_recorded_date
        not held: the feature spec's knowledge.lag_days.episode_start applies
      episodes.triage_start_recorded_date
        not held: the feature spec's knowledge.lag_days.triage_start applies
      children_history
        not held: the feature spec's knowledge.current_values applies
    """
    typed = _typed(tables)  # typed once for both summaries
    delays = _delays(typed).set_index("column")
    names = [f"{t}.{w}" for (t, _), w in RECORDED_DATES.items()] + ["children_history"]
    width = max(len(n) for n in names) + 2
    lines = ["knowledge dates (when a value was recorded, in days after its row):"]
    for (table, value), when in RECORDED_DATES.items():
        name = f"{table}.{when}"
        if name not in delays.index:
            said = ("not held: the feature spec's "
                    f"knowledge.lag_days.{LAG_KEYS[(table, value)]} applies")
        else:
            d = delays.loc[name]
            said = f"{d['dated']:,} of {d['values']:,} {_NOUNS[value]} dated"
            if d["dated"]:
                said += (f": median {_days(d['median_days'])}, 95th percentile "
                         f"{_days(d['p95_days'])} after {d['after'].split('.')[1]}")
        lines.append(f"  {name:<{width}}{said}")
    changes = _changes(typed)
    if changes:
        said = (f"{changes['children']:,} children with history rows; changed: "
                + ", ".join(f"{a} {changes[a]:,}" for a in HISTORY_ATTRIBUTES))
    else:
        said = "not held: the feature spec's knowledge.current_values applies"
    lines.append(f"  {'children_history':<{width}}{said}")
    return lines


def _days(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} day" + ("" if text in ("1", "-1") else "s")


def _typed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The typed tables, with an empty frame for any table ``tables`` lacks (the knowledge
    summaries read a few columns and may be given only the tables they need)."""
    from riskmodel.data._contract import COLUMNS

    out = dict(tables)
    for table, cols in COLUMNS.items():
        if out.get(table) is None:
            out[table] = pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    return coerce_tables(out)
