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
from riskmodel.evaluation._disclosure import cell_keys, record_keys, round_counts
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


class Counter:
    """Publishable counts of a table's rows: each count rounded by its cell key to ``base``.

    Examples
    --------
    >>> c = Counter(np.array([5, 7, 11]), base=1)
    >>> c.count(np.array([True, False, True]))
    2
    """

    def __init__(self, keys: np.ndarray, base: int):
        self.keys = np.asarray(keys, np.int64)
        self.base = int(base)

    def count(self, mask) -> int:
        m = np.asarray(mask, bool)
        return int(round_counts([int(m.sum())], cell_keys(m[None, :], self.keys), self.base)[0])

    def rate(self, k_mask, n_mask) -> tuple[int, int, float]:
        """Published numerator, denominator and their ratio (NaN for no children)."""
        k, n = self.count(np.asarray(k_mask, bool) & np.asarray(n_mask, bool)), \
            self.count(n_mask)
        return k, n, (k / n if n > 0 else float("nan"))


def panel_rates(t: pd.DataFrame, c: Counter) -> dict:
    """The counts and rates of :func:`decision_rates` for rows of :func:`decision_table`.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": ["C1", "C2"], "as_of": "2025-12-31",
    ...                   "in_capacity": [True, True]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "not_needed"]})
    >>> panel_rates(decision_table(d, s), Counter(np.zeros(2, np.int64), 1))["override_rate"]
    0.5
    """
    listed = t["listed"].to_numpy()
    reviewed = t["reviewed"].to_numpy()
    dec = t["decision"].to_numpy()
    out = {
        "children": c.count(np.ones(len(t), bool)),
        "listed": c.count(listed),
        "reviewed": c.count(reviewed),
        "not_reviewed": c.count(listed & ~reviewed),
    }
    for name in ("offered", "declined", "already_supported", "not_needed"):
        out[f"listed_{name}"] = c.count(listed & (dec == name))
    out["added"] = c.count(t["added"].to_numpy())
    out["offered"] = c.count(t["offered"].to_numpy())
    considered = t["considered"].to_numpy()
    out["considered"] = c.count(considered)
    out["review_rate"] = c.rate(reviewed, listed)[2]
    out["acceptance_rate"] = c.rate(t["accepted"].to_numpy(), considered)[2]
    out["override_rate"] = c.rate(t["not_needed"].to_numpy(), considered)[2]
    offered = t["offered"].to_numpy()
    out["take_up_rate"] = c.rate(dec == "offered", offered)[2]
    out["addition_rate"] = c.rate(t["added"].to_numpy(), offered)[2]
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
        ``children``, ``listed``, ``reviewed``, ``not_reviewed``, ``considered``,
        ``listed_offered``, ``listed_declined``, ``listed_already_supported``,
        ``listed_not_needed``, ``added``, ``offered`` (counts) and ``review_rate``
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
    c = Counter(table_keys(t), base)
    out = panel_rates(t, c)
    by = {}
    if "locality" in t.columns:
        loc = t["locality"].fillna("not recorded").astype(str)
        for name in sorted(loc.unique()):
            rows = (loc == name).to_numpy()
            by[name] = panel_rates(t[rows], Counter(c.keys[rows], base))
    out["by_locality"] = by
    out["months"] = sorted(t["month"].dropna().unique().tolist())
    out["base"] = int(base)
    return out
