"""Contacts recorded in the month before an as-of date, per child open, by source and by need.

A recording change (a new police referral form, a school-attendance drive) shows first in how
many contacts are recorded, before it has moved the 3- and 12-month counts the model reads.
Counted over the children in the cohort, by family (siblings share household contacts), so
the variance of a rate can be worked out without any child-level row being kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import is_small

BY = ("source", "need")


def contact_volumes(contacts: pd.DataFrame, cohort: pd.DataFrame, *, months: int = 1,
                    min_count: int = 5) -> dict:
    """Contacts recorded in the ``months`` before each as-of date about the cohort's children.

    Parameters
    ----------
    contacts : DataFrame
        The contract's contacts table (``child_id``, ``recorded_date``, ``source``, ``need``).
    cohort : DataFrame
        ``child_id``, ``family_id``, ``as_of``: the children open at each date.
    months : int, default=1
    min_count : int, default=5
        A total of 1 to ``min_count - 1`` contacts is not kept (``None``).

    Returns
    -------
    dict
        ``months``, ``children`` (child-dates counted), and ``by`` -> ``source``/``need`` ->
        value -> ``contacts`` (total), ``rate`` (per child) and ``var`` (the variance of the
        total, from the spread of family totals).

    Examples
    --------
    >>> import pandas as pd
    >>> cohort = pd.DataFrame({"child_id": ["a", "b"], "family_id": ["f", "g"],
    ...                        "as_of": pd.to_datetime(["2025-06-01"] * 2)})
    >>> contacts = pd.DataFrame({"child_id": ["a"] * 6, "source": ["police"] * 6,
    ...     "need": ["parenting"] * 6, "recorded_date": pd.to_datetime(["2025-05-20"] * 6)})
    >>> v = contact_volumes(contacts, cohort)
    >>> v["children"], v["by"]["source"]["police"]["rate"]
    (2, 3.0)
    """
    keys = cohort[["child_id", "family_id", "as_of"]].copy()
    keys["as_of"] = pd.to_datetime(keys["as_of"])
    keys["cluster"] = pd.factorize(pd.MultiIndex.from_frame(keys[["as_of", "family_id"]]))[0]
    c = contacts.loc[contacts["child_id"].isin(set(keys["child_id"])),
                     ["child_id", "recorded_date", "source", "need"]]
    c = c.merge(keys, on="child_id")
    since = c["as_of"] - pd.DateOffset(months=months)
    c = c[(c["recorded_date"] >= since) & (c["recorded_date"] < c["as_of"])]
    n_cluster = np.bincount(keys["cluster"], minlength=keys["cluster"].max() + 1 if len(keys)
                            else 0).astype(float)
    total = float(n_cluster.sum())
    out = {"months": int(months), "children": int(total), "by": {}}
    for col in BY:
        table = {}
        for value, rows in c.groupby(col, observed=True)["cluster"]:
            y = np.bincount(rows.to_numpy(), minlength=len(n_cluster)).astype(float)
            n = float(y.sum())
            if is_small([n], min_count)[0]:
                table[str(value)] = {"contacts": None, "rate": None, "var": None}
                continue
            rate = n / total
            table[str(value)] = {"contacts": int(n), "rate": rate,
                                 "var": float(np.sum((y - rate * n_cluster) ** 2))}
        out["by"][col] = table
    return out
