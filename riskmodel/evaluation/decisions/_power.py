"""How many months of lists would settle a comparison that is not enough to judge.

A month's list is small (a locality panel sees a hundred or two children), so most groups'
comparisons start as "not enough children to judge". The report says roughly how many months
of lists would settle each one, from a power calculation on what it observed: the group's and
everyone's rates and how many children a month brings.

The comparison is of a ratio of two rates, judged on the log scale. With ``m`` months of
lists, each count grows in proportion (``n m / M`` for ``n`` children in the ``M`` months
observed), so the variance of the log ratio is

    a / m + c / m**2,

``a / m`` the binomial sampling variance, ``(1 - p) / (n p)`` for the group and for everyone,
and ``c / m**2`` the rounding's (a count rounded at random to a multiple of ``base`` has an
error of variance about ``base**2 / 6``). The comparison is settled when the ratio's distance
to the tolerance bound that decides it (the bound it lies beyond, or, within the tolerance,
the nearer bound) is ``z = z(1 - alpha / 2) + z(power)`` standard errors, and when the group
has ``min_children`` children; ``alpha`` defaults to the judging's false discovery rate (5%)
and ``power`` to 80%. The observed ratio is taken as the truth, so the figure is rough: a
planted ratio of 3 observed as 2.4 gives a month or two more than the truth needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def months_to_settle(comp: pd.DataFrame, months: int, *, low: float, high: float, base: int,
                     min_children: int, alpha: float = 0.05, power: float = 0.8,
                     limit: int = 120) -> np.ndarray:
    """Months of lists (in all, counting those observed) that would settle each comparison.

    Parameters
    ----------
    comp : DataFrame
        ``k``, ``n`` (the group's count and its children) and ``k0``, ``n0`` (everyone's),
        as published, over ``months`` months of lists.
    months : int
        How many months of lists the counts cover.
    low, high : float
        The tolerance.
    base : int
        The rounding base of the counts.
    min_children : int
        Fewer children than this is "not enough to judge", whatever the evidence.
    alpha, power : float
        The test's level (two-sided) and the chance of settling it.
    limit : int
        Beyond this many months the answer is ``inf`` (too small a difference to settle).

    Returns
    -------
    array of float
        Whole months, ``inf`` beyond ``limit``, NaN where nothing was observed to go on.

    Examples
    --------
    One month: 15 black children of 150 considered, 10 of them not offered help (a rate
    three times everyone's 20%); and a group within the tolerance:

    >>> comp = pd.DataFrame({"k": [10, 5], "n": [15, 20], "k0": [30, 30], "n0": [150, 150]})
    >>> months_to_settle(comp, 1, low=0.8, high=1.25, base=5, min_children=30).tolist()
    [2.0, inf]
    """
    k, n, k0, n0 = (comp[c].to_numpy(float) for c in ("k", "n", "k0", "n0"))
    with np.errstate(divide="ignore", invalid="ignore"):
        kk, kk0 = np.maximum(k, 0.5), np.maximum(k0, 0.5)
        p, p0 = np.minimum(kk / n, 1 - 0.5 / n), np.minimum(kk0 / n0, 1 - 0.5 / n0)
        ratio = p / p0
        bound = np.where(ratio > high, high, np.where(
            ratio < low, low, np.where(np.log(ratio / low) < np.log(high / ratio), low, high)))
        d = np.abs(np.log(ratio) - np.log(bound))
        a = months * ((1 - p) / (n * p) + (1 - p0) / (n0 * p0))
        c = (months ** 2) * (base ** 2 / 6 if base > 1 else 0.0) * (
            1 / kk ** 2 + 1 / n ** 2 + 1 / kk0 ** 2 + 1 / n0 ** 2)
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
        target = (d / z) ** 2
        m = (a + np.sqrt(a ** 2 + 4 * target * c)) / (2 * target)
        m = np.maximum(m, min_children * months / np.minimum(n, n0))
    out = np.ceil(np.maximum(m, months))
    out = np.where(out > limit, np.inf, out)
    return np.where((n > 0) & (n0 > 0) & np.isfinite(ratio) & (ratio > 0), out, np.nan)
