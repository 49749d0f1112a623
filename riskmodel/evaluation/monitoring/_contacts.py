"""What the front door recorded in the month before a date: each source's and need's share.

A recording change (a new police referral form, a school-attendance drive) shows first in
what the front door records, a month before it has moved the 3- and 12-month counts the model
reads. Every contact recorded in the month is counted (not only those about children open to
early help, so a small council still has hundreds), as shares, which do not depend on the
council's size or on a month being busy overall. Contacts are counted by family (a household
event reaches every sibling), so the variance of a share can be worked out without any
child-level row being kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.evaluation.monitoring._publish import is_small

BY = ("source", "need")


def contact_volumes(contacts: pd.DataFrame, families: pd.DataFrame, dates, *, months: int = 1,
                    min_count: int = 5) -> dict:
    """Contacts recorded in the ``months`` before each date, by source and by need.

    Parameters
    ----------
    contacts : DataFrame
        The contract's contacts table (``child_id``, ``recorded_date``, ``source``, ``need``).
    families : DataFrame
        ``child_id`` and ``family_id`` (the children table).
    dates : list of dates
        The as-of dates (the reference's, or this month's).
    months : int, default=1
    min_count : int, default=5
        A value with 1 to ``min_count - 1`` contacts keeps no figure (``None``).

    Returns
    -------
    dict
        ``months``, ``contacts`` (all of them, every date) and ``by`` -> ``source``/``need``
        -> value -> ``contacts``, ``share`` and ``var`` (the variance of the value's total
        around ``share`` times each family's total, summed over families and dates).

    Examples
    --------
    >>> import pandas as pd
    >>> fam = pd.DataFrame({"child_id": ["a", "b"], "family_id": ["f", "g"]})
    >>> contacts = pd.DataFrame({"child_id": ["a"] * 6 + ["b"] * 4,
    ...     "source": ["police"] * 6 + ["school"] * 4, "need": ["parenting"] * 10,
    ...     "recorded_date": pd.to_datetime(["2025-05-20"] * 10)})
    >>> v = contact_volumes(contacts, fam, ["2025-06-01"])
    >>> v["contacts"], v["by"]["source"]["police"]["share"], v["by"]["source"]["school"]
    (10, 0.6, {'contacts': None, 'share': None, 'var': None})
    """
    c = _recent(contacts, dates, months)
    fam = dict(zip(families["child_id"].astype(str), families["family_id"].astype(str),
                   strict=True))
    family = c["child_id"].astype(str).map(fam).fillna(c["child_id"].astype(str))
    cluster = pd.factorize(pd.MultiIndex.from_arrays([c["as_of"], family]))[0]
    k = int(cluster.max()) + 1 if len(cluster) else 0
    total_c = np.bincount(cluster, minlength=k).astype(float)
    total = float(total_c.sum())
    out: dict[str, Any] = {"months": int(months), "contacts": int(total), "by": {}}
    for col in BY:
        table: dict[str, dict] = {}
        for value, rows in pd.Series(cluster).groupby(c[col].astype(str).to_numpy()):
            y = np.bincount(rows.to_numpy(), minlength=k).astype(float)
            n = float(y.sum())
            if is_small([n], min_count)[0] or not total:
                table[str(value)] = {"contacts": None, "share": None, "var": None}
                continue
            share = n / total
            table[str(value)] = {"contacts": int(n), "share": share,
                                 "var": float(np.sum((y - share * total_c) ** 2))}
        out["by"][col] = table
    return out


def _recent(contacts: pd.DataFrame, dates, months: int) -> pd.DataFrame:
    """The contacts recorded in the ``months`` before each date, with that date (``as_of``)."""
    recorded = pd.to_datetime(contacts["recorded_date"]).to_numpy()
    parts = []
    for t in sorted(pd.Timestamp(d) for d in dates):  # one pass each; only the month is kept
        since = (t - pd.DateOffset(months=months)).to_datetime64()
        rows = np.flatnonzero((recorded >= since) & (recorded < t.to_datetime64()))
        parts.append(contacts.iloc[rows][["child_id", *BY]].assign(as_of=t))
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=["child_id", *BY, "as_of"]))
