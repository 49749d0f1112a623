"""One row per listed or decided child, and the rates a panel's decisions give.

Definitions (every rate is a ratio of two counts, each rounded for publication):

- **listed**: the child was on the list (``in_capacity`` in the scores);
- **reviewed**: a listed child with a decision other than ``not_reviewed`` (a listed child
  with no decision recorded counts as not reviewed);
- **already supported**: a reviewed listed child already receiving help (not a decision on
  the list's merits, so left out of the two rates below);
- **considered**: a reviewed listed child not already supported: the panel decided whether to
  offer help (``offered``, ``declined`` or ``not_needed``);
- **accepted**: a considered child the panel offered help (``offered``, or ``declined``:
  offered, and the family declined);
- **overridden (listed but not offered)**: a considered child decided ``not_needed``;
- **added (added though not listed)**: a child not on the list whom the panel offered help
  (``offered`` or ``declined``);
- **offered**: ``offered`` or ``declined``, listed or added (the final decision to offer help).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.data import DECISIONS
from riskmodel.evaluation._disclosure import protect_cells, record_keys
from riskmodel.evaluation.decisions._match import listed_flags

OFFERED = ("offered", "declined")
CONSIDERED = ("offered", "declined", "not_needed")


def _month(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values), errors="coerce").dt.strftime("%Y-%m")


def decision_table(decisions: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Every scored child of every list, with its decision and what the decision means.

    Parameters
    ----------
    decisions : DataFrame
        ``child_id``, ``scoring_month`` (or ``as_of``) and ``decision``, for one or several
        lists.
    scores : DataFrame
        The lists: ``child_id``, ``as_of``, ``in_capacity`` and any other columns (locality,
        score, characteristics), one or several as-of dates.

    Returns
    -------
    DataFrame
        The scores' rows with ``listed``, ``decision`` (``""`` when none was recorded),
        ``reviewed``, ``considered``, ``accepted``, ``not_needed``, ``offered``, ``added``
        and ``month``.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, True, False]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "not_needed", "offered"]})
    >>> decision_table(d, s)[["listed", "not_needed", "added"]].values.tolist()
    [[True, False, False], [True, True, False], [False, False, True]]
    """
    for col in ("child_id", "decision"):
        if col not in decisions.columns:
            raise InputError(f"decisions: column {col} missing")
    s = scores.reset_index(drop=True).copy()
    s["child_id"] = s["child_id"].astype(str)
    s["month"] = _month(s["as_of"]).to_numpy()
    s["listed"] = listed_flags(s).to_numpy()
    d = decisions.copy()
    d["child_id"] = d["child_id"].astype(str)
    d["month"] = (d["scoring_month"].astype(str) if "scoring_month" in d
                  else _month(d["as_of"]).to_numpy())
    bad = ~d["decision"].isin(DECISIONS)
    if bad.any():
        raise InputError(f"decisions: unknown decision {d.loc[bad, 'decision'].iloc[0]!r}")
    d = d.drop_duplicates(["child_id", "month"], keep="last")
    t = s.merge(d[["child_id", "month", "decision"]], on=["child_id", "month"], how="left")
    t["decision"] = t["decision"].fillna("")
    dec = t["decision"]
    t["reviewed"] = t["listed"] & ~dec.isin(["", "not_reviewed"])
    t["considered"] = t["listed"] & dec.isin(CONSIDERED)
    t["accepted"] = t["listed"] & dec.isin(OFFERED)
    t["not_needed"] = t["listed"] & dec.eq("not_needed")
    t["offered"] = dec.isin(OFFERED)
    t["added"] = ~t["listed"] & t["offered"]
    return t


def table_keys(table: pd.DataFrame) -> np.ndarray:
    """Each row's record key for cell-key rounding: from ``child_id`` and ``as_of``, salted
    with each list's own identities, so a child-month has the same key in every report that
    includes its list (as in the fairness report of that scores file).

    Examples
    --------
    >>> t = pd.DataFrame({"child_id": ["C1", "C2"], "as_of": "2025-12-31",
    ...                   "month": "2025-12"})
    >>> k = table_keys(t)
    >>> bool((table_keys(t) == k).all()), bool(k[0] != k[1])
    (True, True)
    """
    ids = table["child_id"].astype(str) + "|" + pd.to_datetime(table["as_of"]).dt.strftime(
        "%Y-%m-%d")
    keys = np.zeros(len(table), np.int64)
    for _, idx in table.groupby("month", sort=False).indices.items():
        keys[idx] = record_keys(ids.iloc[idx].to_numpy())
    return keys


# One home for every count of children the decisions report, the monitoring rates and
# ``riskmodel decisions add`` give: name -> (its words, the counts it is part of). Every
# figure is one of these, counted once from :func:`count_masks`; the order is such that a
# count's wholes come before it.
COUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "children": ("open to early help when scored", ()),
    "listed": ("listed (within the panels' capacity)", ("children",)),
    "reviewed": ("reviewed by a panel", ("listed",)),
    "not_reviewed": ("not reviewed", ("listed",)),
    "considered": ("considered (reviewed, not already supported)", ("reviewed",)),
    "listed_already_supported": ("already supported", ("reviewed",)),
    "listed_not_needed": ("not needed (listed but not offered)", ("considered",)),
    "offered": ("offered help, listed or added", ("children",)),
    "taken_up": ("offered help and not declined by the family", ("offered",)),
    "accepted": ("listed and offered help", ("considered", "offered")),
    "listed_offered": ("offered early help", ("accepted", "taken_up")),
    "listed_declined": ("offered, declined by the family", ("accepted",)),
    "not_listed": ("not on the list", ("children",)),
    "added": ("added though not listed (offered help)", ("not_listed", "offered")),
}


def count_masks(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """Which rows of a :func:`decision_table` each of :data:`COUNTS` counts.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, True, False]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "scoring_month": "2025-12",
    ...                   "decision": ["declined", "not_needed", "offered"]})
    >>> m = count_masks(decision_table(d, s))
    >>> m["listed_declined"].tolist(), m["added"].tolist(), m["taken_up"].tolist()
    ([True, False, False], [False, False, True], [False, False, True])
    """
    listed = t["listed"].to_numpy(bool)
    reviewed = t["reviewed"].to_numpy(bool)
    dec = t["decision"].to_numpy()
    offered = t["offered"].to_numpy(bool)
    masks = {"children": np.ones(len(t), bool), "listed": listed, "reviewed": reviewed,
             "not_reviewed": listed & ~reviewed,
             "considered": t["considered"].to_numpy(bool),
             "listed_already_supported": listed & (dec == "already_supported"),
             "listed_not_needed": t["not_needed"].to_numpy(bool), "offered": offered,
             "taken_up": dec == "offered", "accepted": t["accepted"].to_numpy(bool),
             "listed_offered": listed & (dec == "offered"),
             "listed_declined": listed & (dec == "declined"), "not_listed": ~listed,
             "added": t["added"].to_numpy(bool)}
    return {name: masks[name] for name in COUNTS}


def count_rows(masks: dict[str, np.ndarray], keys: np.ndarray, base: int,
               rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each of :data:`COUNTS` for each row of ``rows`` (rows x table rows; default one row,
    everyone), as published: the one disclosure path
    (:func:`riskmodel.evaluation._disclosure.protect_cells`), so each count is rounded by its
    cell key as in the fairness report, and none is published above a count it is part of
    (its wholes in :data:`COUNTS`) nor above the same count of a row that holds this one
    (a group or a locality never above everyone).

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, True, False]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "not_needed", "offered"]})
    >>> t = decision_table(d, s)
    >>> c = count_rows(count_masks(t), table_keys(t), 1)
    >>> int(c["listed"][0]), int(c["added"][0])
    (2, 1)
    """
    n = len(next(iter(masks.values())))
    r = np.ones((1, n), bool) if rows is None else np.atleast_2d(np.asarray(rows, bool))
    return protect_cells(r, {name: masks[name] for name in COUNTS},
                         {name: parents for name, (_, parents) in COUNTS.items()}, keys, base)


def row_counts(counts: dict[str, np.ndarray], i: int) -> dict[str, int]:
    """Row ``i`` of :func:`count_rows` as plain counts."""
    return {name: int(v[i]) for name, v in counts.items()}


def _ratio(k: int, n: int) -> float:
    return k / n if n > 0 else float("nan")


def panel_rates(t: pd.DataFrame, keys: np.ndarray, base: int) -> dict:
    """The counts and rates of :func:`decision_rates` for rows of :func:`decision_table`,
    with their record ``keys`` (:func:`table_keys`) and rounding ``base``.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, True]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "not_needed"]})
    >>> panel_rates(decision_table(d, s), np.zeros(2, np.int64), 1)["override_rate"]
    0.5
    """
    return with_rates(row_counts(count_rows(count_masks(t), keys, base), 0))


def with_rates(n: dict[str, int]) -> dict:
    """Published counts with the rates that are ratios of them (the one home of each rate).

    Examples
    --------
    >>> with_rates({"listed": 10, "reviewed": 5, "considered": 5, "accepted": 4,
    ...             "listed_not_needed": 1, "offered": 5, "taken_up": 5, "added": 1}
    ...            )["addition_rate"]
    0.2
    """
    out: dict = dict(n)
    out["review_rate"] = _ratio(n["reviewed"], n["listed"])
    out["acceptance_rate"] = _ratio(n["accepted"], n["considered"])
    out["override_rate"] = _ratio(n["listed_not_needed"], n["considered"])
    out["take_up_rate"] = _ratio(n["taken_up"], n["offered"])
    out["addition_rate"] = _ratio(n["added"], n["offered"])
    return out


def decision_rates(decisions: pd.DataFrame, scores: pd.DataFrame, *, base: int = 5) -> dict:
    """How the panels answered their lists: counts and rates, overall and by locality.

    A pure function for the monthly monitoring summary. Every count is rounded to a multiple
    of ``base`` by cell-key rounding (as the fairness report does: the same children give
    the same rounding in every report), and every rate is a ratio of two rounded counts;
    ``base=1`` gives exact counts (not for publication).

    Parameters
    ----------
    decisions : DataFrame
        ``child_id``, ``scoring_month`` (or ``as_of``) and ``decision``: the decisions
        recorded for the lists (``riskmodel decisions add`` stores them beside the scores).
    scores : DataFrame
        The lists they answer: ``child_id``, ``as_of``, ``in_capacity``, ``locality``; one or
        several months.
    base : int, default=5
        The rounding base (the fairness policy's ``min_count``).

    Returns
    -------
    dict
        Each of :data:`COUNTS` (``children``, ``listed``, ``reviewed``, ``not_reviewed``,
        ``considered``, ``listed_already_supported``, ``listed_not_needed``, ``offered``,
        ``taken_up``, ``accepted``, ``listed_offered``, ``listed_declined``, ``not_listed``,
        ``added``) and ``review_rate``
        (reviewed / listed), ``acceptance_rate`` (offered or declined / considered),
        ``override_rate`` (listed but not offered: ``not_needed`` / considered),
        ``take_up_rate`` (``offered`` / offered or declined), ``addition_rate`` (added
        though not listed / all offered); the same for each locality under
        ``by_locality``, and ``months`` and ``base``. See the module's notes for the words.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": [f"C{i}" for i in range(8)], "as_of": "2025-12-31",
    ...                   "locality": ["North"] * 8, "in_capacity": [True] * 4 + [False] * 4})
    >>> d = pd.DataFrame({"child_id": ["C0", "C1", "C2", "C3", "C4"],
    ...                   "scoring_month": "2025-12",
    ...                   "decision": ["offered", "declined", "not_needed", "not_reviewed",
    ...                                "offered"]})
    >>> r = decision_rates(d, s, base=1)
    >>> r["listed"], r["reviewed"], r["override_rate"], r["added"]
    (4, 3, 0.3333333333333333, 1)
    >>> r["by_locality"]["North"]["acceptance_rate"]
    0.6666666666666666
    """
    t = decision_table(decisions, scores)
    rows, names = [np.ones(len(t), bool)], []
    if "locality" in t.columns:
        loc = t["locality"].fillna("not recorded").astype(str)
        names = sorted(loc.unique())
        rows += [(loc == name).to_numpy() for name in names]
    counts = count_rows(count_masks(t), table_keys(t), base, np.vstack(rows))
    out = with_rates(row_counts(counts, 0))
    out["by_locality"] = {name: with_rates(row_counts(counts, i + 1))
                          for i, name in enumerate(names)}
    out["months"] = sorted(t["month"].dropna().unique().tolist())
    out["base"] = int(base)
    return out
