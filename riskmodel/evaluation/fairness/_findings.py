"""Findings: each group against its reference, judged with honest intervals and a false-flag
control across the many comparisons of a report.

A rate of a group (``k`` of ``n`` published, rounded counts) is compared with the reference's
(by default the rest of the cohort: everyone not in the group) as a ratio. Its interval is
Bayesian: each rate has a Jeffreys posterior, Beta(k + 1/2, n - k + 1/2), widened for the
rounding of the published counts (the true count may lie up to ``base - 1`` either side), and
the ratio's interval is read off draws of the two rates. With no events the interval starts at
0 and still has a width; it is never a single point.

Each comparison also gets a *p-value* for "the ratio lies inside the tolerance": the
posterior chance that it does, doubled (two sides). The Benjamini-Hochberg procedure over all
comparisons that can be judged then decides the flags, so that among the flags raised, the
expected share raised by chance is at most the policy's ``false_discovery_rate`` (5%).

Status of a comparison:

``flag``
    the ratio lies outside the tolerance and the evidence survives the false-flag control;
``watch``
    the estimate is outside the tolerance, but the evidence is not strong enough once the
    number of comparisons is counted;
``within``
    the estimate is inside the tolerance;
``insufficient``
    not enough children to judge: fewer than ``min_children`` in the group (or the
    reference), or an interval so wide that it reaches both below and above the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special  # ndtri, ndtr: the normal quantile and CDF (what stats.norm calls)

from riskmodel.evaluation.fairness._measures import HARM

# The reference of a group compared with the rest of the cohort (everyone not in it).
REST = "everyone else"
STATUS_ORDER = {"flag": 0, "watch": 1, "within": 2, "insufficient": 3}
FINDING_COLUMNS = ["characteristic", "group", "measure", "ratio", "low", "high", "direction",
                   "status"]


def _posterior_rates(k, n, base, rng, draws):
    """Draws of a rate: true count uniform over what the rounded count can stand for, then
    the Jeffreys posterior."""
    spread = max(int(base) - 1, 0)
    lo = max(0.0, k - spread)
    hi = min(float(n), k + spread) if n > 0 else 0.0
    true_k = rng.integers(int(lo), int(max(hi, lo)) + 1, draws) if spread else np.full(draws, k)
    true_k = np.minimum(true_k, n)
    return rng.beta(true_k + 0.5, np.maximum(n - true_k, 0) + 0.5)


def binomial_comparisons(rows: pd.DataFrame, *, base: int, confidence: float, tolerance,
                         seed: int = 0, draws: int = 40_000) -> pd.DataFrame:
    """Ratio, interval and p-value of each group's rate over its reference's.

    ``rows`` holds ``k``, ``n`` (the group's published numerator and denominator) and
    ``k0``, ``n0`` (the reference's); an optional ``base0`` is the reference's rounding base
    when it differs (the rest of the cohort is the difference of two rounded counts). Adds
    ``ratio``, ``low``, ``high`` and ``p_value``.
    """
    out = rows.copy()
    ratio: list[float] = []
    low: list[float] = []
    high: list[float] = []
    pval: list[float] = []
    a = (1 - confidence) / 2
    for i, r in enumerate(rows.itertuples(index=False)):
        k, n, k0, n0 = (float(r.k), float(r.n), float(r.k0), float(r.n0))
        if not (n > 0 and n0 > 0):
            for column in (ratio, low, high, pval):
                column.append(np.nan)
            continue
        rng = np.random.default_rng([int(seed), i])
        p1 = _posterior_rates(k, n, base, rng, draws)
        base0 = float(getattr(r, "base0", base))
        p0 = _posterior_rates(k0, n0, int(base0) if np.isfinite(base0) else base, rng, draws)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = p1 / p0
        est = (k / n) / (k0 / n0) if k0 > 0 else (np.inf if k > 0 else np.nan)
        ratio.append(float(min(est, 1e9)) if np.isfinite(est) else np.nan)
        lo, hi = np.nanquantile(s, [a, 1 - a])
        # the interval always holds the published estimate (with no events, from 0)
        if np.isfinite(est):
            lo, hi = min(lo, est), max(hi, est)
        low.append(float(lo))
        high.append(float(hi))
        below, above = np.mean(s < tolerance.low), np.mean(s > tolerance.high)
        # the chance that the ratio is not beyond the tolerance on the side it points to
        side = above if np.nan_to_num(est, nan=1.0) >= 1 else below
        pval.append(float(min(1.0, 2 * (1 - side))))
    out["ratio"], out["low"], out["high"], out["p_value"] = ratio, low, high, pval
    return out


def normal_comparison(log_ratio, se, *, confidence: float, tolerance):
    """Ratio, interval and p-value from a log ratio and its standard error (normal).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tol = SimpleNamespace(low=0.8, high=1.25)
    >>> r, lo, hi, p = normal_comparison(math.log(2.0), 0.1, confidence=0.95, tolerance=tol)
    >>> round(r, 2), round(lo, 2), round(hi, 2), p < 1e-3
    (2.0, 1.64, 2.43, True)
    """
    if not (np.isfinite(log_ratio) and np.isfinite(se) and se > 0):
        return np.nan, np.nan, np.nan, np.nan
    z = special.ndtri(1 - (1 - confidence) / 2)
    r = math.exp(log_ratio)
    lo, hi = math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)
    if log_ratio >= 0:
        p_side = special.ndtr((math.log(tolerance.high) - log_ratio) / se)
    else:
        p_side = special.ndtr((log_ratio - math.log(tolerance.low)) / se)
    return r, lo, hi, float(min(1.0, 2 * p_side))


def benjamini_hochberg(p, q: float) -> np.ndarray:
    """Which p-values the Benjamini-Hochberg procedure rejects at false discovery rate ``q``.

    Missing p-values are not tests (never rejected, not counted).

    Examples
    --------
    >>> benjamini_hochberg([0.001, 0.02, 0.04, 0.5, float("nan")], 0.05).tolist()
    [True, True, False, False, False]
    """
    p = np.asarray(p, float)
    ok = np.isfinite(p)
    out = np.zeros(len(p), bool)
    m = int(ok.sum())
    if m == 0:
        return out
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(p[idx], kind="stable")]
    passed = p[order] <= q * np.arange(1, m + 1) / m
    if passed.any():
        k = int(np.flatnonzero(passed).max())
        out[order[: k + 1]] = True
    return out


def judge(comparisons: pd.DataFrame, *, tolerance, false_discovery_rate: float,
          min_children: int) -> pd.DataFrame:
    """Status, direction and rank of each comparison (``ratio``, ``low``, ``high``,
    ``p_value``, ``n``, ``n0``, ``measure``): see the module's notes.

    Returns the comparisons with ``status``, ``direction`` and ``rank`` (1 = first to read),
    sorted by rank.
    """
    c = comparisons.copy()
    if c.empty:
        for col in ("status", "direction", "rank"):
            c[col] = pd.Series(dtype=object)
        return c
    few = (pd.to_numeric(c["n"], errors="coerce").fillna(0) < min_children) | (
        pd.to_numeric(c["n0"], errors="coerce").fillna(0) < min_children)
    wide = (c["low"] < tolerance.low) & (c["high"] > tolerance.high)
    undefined = ~np.isfinite(c["ratio"].astype(float)) | ~np.isfinite(c["low"].astype(float))
    insufficient = few | wide | undefined
    p = c["p_value"].astype(float).where(~insufficient)
    flag = benjamini_hochberg(p.to_numpy(), false_discovery_rate)
    outside = (c["ratio"] > tolerance.high) | (c["ratio"] < tolerance.low)
    c["status"] = np.select([insufficient, flag, outside], ["insufficient", "flag", "watch"],
                            "within")
    harm = c["measure"].map(HARM).fillna(1).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(c["ratio"].astype(float).to_numpy())
        near = np.where(lr >= 0, np.log(c["low"].astype(float)), -np.log(c["high"].astype(float)))
    c["direction"] = np.where(~np.isfinite(lr) | (lr == 0), "neither",
                              np.where(harm * lr > 0, "disadvantaged", "advantaged"))
    c["_s"] = c["status"].map(STATUS_ORDER)
    c["_d"] = (c["direction"] != "disadvantaged").astype(int)
    c["_near"] = -np.nan_to_num(near, nan=-np.inf)
    c["_size"] = -np.nan_to_num(np.abs(lr), nan=0)
    c = c.sort_values(["_s", "_d", "_near", "_size"], kind="stable")
    c["rank"] = np.arange(1, len(c) + 1)
    return c.drop(columns=["_s", "_d", "_near", "_size"]).reset_index(drop=True)


def mark_counterparts(c: pd.DataFrame, rest: str) -> pd.DataFrame:
    """A difference in a group's favour against the rest of the cohort, where another group of
    the same characteristic is flagged as disadvantaged on the same measure, is that flag seen
    from the other side (with two groups, exactly its reciprocal): its direction becomes
    ``counterpart`` rather than ``advantaged``, and it ranks after the flags it mirrors.

    Examples
    --------
    >>> c = pd.DataFrame({"characteristic": ["sex", "sex"], "measure": ["auc", "auc"],
    ...                   "group": ["male", "female"], "reference": ["rest", "rest"],
    ...                   "status": ["flag", "flag"],
    ...                   "direction": ["disadvantaged", "advantaged"]})
    >>> mark_counterparts(c, "rest").direction.tolist()
    ['disadvantaged', 'counterpart']
    """
    if c.empty:
        return c
    c = c.copy()
    bad = c[(c.status == "flag") & (c.direction == "disadvantaged")]
    against = set(zip(bad.characteristic, bad.measure, strict=True))
    mirror = ((c.direction == "advantaged") & c.status.isin(["flag", "watch"])
              & (c.reference == rest)
              & pd.Series([(a, m) in against for a, m in zip(c.characteristic, c.measure,
                                                              strict=True)], index=c.index))
    c.loc[mirror, "direction"] = "counterpart"
    return c
