"""The outcomes: escalation and disengagement over (t, t + horizon], for each cohort row."""

from __future__ import annotations

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.features._session import Params, Session, finish_keys, open_session

OUTCOMES = ("escalation", "disengagement")
DISENGAGED = ("disengaged", "declined")
ESCALATED = "escalated"
#: Closures after which the council cannot see the outcome (the child's support continues
#: elsewhere): a row whose early-help episode closes so inside the window, with no outcome
#: seen, is censored (its label missing: left out of training and judging), not a 0.
MOVED_AWAY = ("transferred", "relocated")


def check_outcome(outcome: str) -> str:
    """The outcome name, or a one-line error naming the known ones."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome: unknown outcome {outcome!r} (expected {' or '.join(OUTCOMES)})")
    return outcome


def add_labels(session: Session, *, moved_away: str = "censor") -> None:
    """Create the session's ``labels`` table: both outcomes over the horizon, per cohort row.

    ``moved_away``: ``censor`` (a row whose episode closes as transferred or relocated in the
    window, with no outcome seen, has no label) or ``zero`` (labelled 0, as before).
    """
    if moved_away not in ("censor", "zero"):
        raise ValueError(f"moved_away: expected 'censor' or 'zero', got {moved_away!r}")
    q = Params()
    window = "e.end_date > h.as_of AND e.end_date <= h.h_end"
    censor = "FALSE" if moved_away == "zero" else "coalesce(k.moved, FALSE)"
    session.run(
        f"""
        CREATE TEMP TABLE labels AS
        WITH closing AS (
            SELECT h.as_of, e.child_id,
                   bool_or(e.closure_reason = {q(ESCALATED)}) AS escalated,
                   bool_or(e.closure_reason IN ({q(DISENGAGED[0])}, {q(DISENGAGED[1])}))
                       AS disengaged,
                   bool_or(e.closure_reason IN ({q(MOVED_AWAY[0])}, {q(MOVED_AWAY[1])}))
                       AS moved
            FROM horizon h JOIN episodes e
              ON e.start_date < h.as_of AND {window}
            WHERE e.service IN (SELECT service FROM v_early_help)
            GROUP BY h.as_of, e.child_id
        ), stepped_up AS (
            SELECT DISTINCT h.as_of, e.child_id
            FROM horizon h JOIN episodes e
              ON e.start_date > h.as_of AND e.start_date <= h.h_end
            WHERE e.service IN (SELECT service FROM v_social_care)
        )
        SELECT c.as_of, c.child_id,
               CASE WHEN h.h_end > {q(session.extract_date)} THEN NULL
                    WHEN coalesce(k.escalated, FALSE) OR s.child_id IS NOT NULL THEN 1
                    WHEN {censor} THEN NULL ELSE 0
               END AS escalation,
               CASE WHEN h.h_end > {q(session.extract_date)} THEN NULL
                    WHEN coalesce(k.disengaged, FALSE) THEN 1
                    WHEN {censor} THEN NULL ELSE 0
               END AS disengagement
        FROM cohort c JOIN horizon h ON h.as_of = c.as_of
        LEFT JOIN closing k ON k.as_of = c.as_of AND k.child_id = c.child_id
        LEFT JOIN stepped_up s ON s.as_of = c.as_of AND s.child_id = c.child_id
        """,
        q,
    )


def build_labels(tables, as_of_dates, *, horizon_months=6, extract_date=None,
                 knowledge=None, moved_away: str = "censor") -> pd.DataFrame:
    """The cohort at each as-of date with both outcomes over the horizon.

    The cohort at *t* is every child with an early-help episode open at *t*
    (``start_date < t`` and ``end_date`` empty or ``>= t``) whose start was known by *t*
    (``start_recorded_date``, else the feature spec's ``knowledge.lag_days.episode_start``).
    Over (*t*, *t* + horizon]:
    ``escalation`` is 1 if a social-care episode starts or an early-help episode open at *t*
    closes as ``escalated``; ``disengagement`` is 1 if an early-help episode open at *t*
    closes as ``disengaged`` or ``declined``. Both are ``<NA>`` when *t* + horizon is past
    the extract date, and when the episode closes as ``transferred`` or ``relocated`` inside
    the window with no outcome seen (the outcome is not observable after the child moves
    away: censored, not 0; ``moved_away="zero"`` labels them 0). (Without closure reasons,
    as in Ofsted Annex A, ``disengagement`` is 0 throughout: :func:`build_matrix` refuses
    that outcome.)

    Parameters
    ----------
    tables : dict of str to DataFrame
        The typed contract tables (:func:`riskmodel.data.load_tables`).
    as_of_dates : list of dates
        As-of dates (ISO strings, dates or Timestamps).
    horizon_months : int, default 6
        Months after *t* in which an outcome counts.
    extract_date : date, optional
        The extract's date; by default the latest date in the tables.
    knowledge : KnowledgeSpec, optional
        The feature spec's ``knowledge`` section (when an episode's start is known); by
        default the packaged spec's.
    moved_away : {"censor", "zero"}, default "censor"
        What a transferred or relocated closure in the window (no outcome seen) gives.

    Returns
    -------
    DataFrame
        ``child_id``, ``family_id``, ``as_of``, ``escalation``, ``disengagement`` (Int64),
        sorted by ``as_of`` and ``child_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.features import build_labels
    >>> d = pd.to_datetime
    >>> tables = {
    ...     "children": pd.DataFrame({"child_id": ["c1"], "family_id": ["f1"],
    ...         "date_of_birth": d(["2015-05-01"]), "sex": ["female"], "ethnicity": ["white"],
    ...         "disability": ["none"], "locality": ["north"],
    ...         "imd_decile": pd.array([3], dtype="Int64")}),
    ...     "contacts": pd.DataFrame({"contact_id": ["k1"], "child_id": ["c1"],
    ...         "contact_date": d(["2023-01-10"]), "recorded_date": d(["2023-01-12"]),
    ...         "source": ["school"], "need": ["behaviour"], "mash_rag": ["green"],
    ...         "outcome": ["early_help"]}),
    ...     "ace_factors": pd.DataFrame({"child_id": ["c1"], "factor": ["domestic_abuse"],
    ...         "recorded_date": d(["2023-02-01"])}),
    ...     "episodes": pd.DataFrame({"episode_id": ["e1"], "child_id": ["c1"],
    ...         "service": ["early_help_pathway"], "start_date": d(["2023-02-01"]),
    ...         "end_date": d(["2023-09-01"]), "closure_reason": ["escalated"],
    ...         "triage_start": ["yellow"], "triage_end": ["orange"]}),
    ... }
    >>> build_labels(tables, ["2023-06-01"], extract_date="2024-01-01")[
    ...     ["child_id", "escalation", "disengagement"]].to_dict("records")
    [{'child_id': 'c1', 'escalation': 1, 'disengagement': 0}]
    """
    with open_session(tables, as_of_dates, horizon_months=horizon_months,
                      extract_date=extract_date, knowledge=knowledge) as s:
        add_labels(s, moved_away=moved_away)
        df = s.run(
            "SELECT l.child_id, ch.family_id, l.as_of, l.escalation, l.disengagement "
            "FROM labels l LEFT JOIN children ch ON ch.child_id = l.child_id "
            "ORDER BY l.as_of, l.child_id"
        ).df()
    df = finish_keys(df)
    for col in OUTCOMES:
        df[col] = df[col].astype("Int64")
    return df
