"""The effects at the cut-off: of being listed (sharp) and of being offered help (fuzzy).

The frame holds one row per child per month (a child-month): ``x``, the distance from that
month's cut-off (above 0: on the list), ``listed``, ``offered``, ``y`` (the outcome, 0/1)
and ``family_id`` (the cluster). Each effect is reported on two scales:

- **risk difference**: the outcome rate just above the cut-off minus just below (sharp), or
  that difference over the difference in the share offered help (fuzzy: the effect of an
  offer on the children whose offer the list decided, the *compliers*);
- **risk ratio**: the rate just above over the rate just below (sharp), or the compliers'
  rate with help over their rate without it (fuzzy: ``-D[y*d] / D[y*(1-d)]``, each ``D`` a
  jump at the cut-off).

The intervals of the ratios are computed on the log scale.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from riskmodel.evaluation.impact._estimate import (
    Z95,
    Fit,
    delta,
    ik_bandwidth,
    local_fit,
    rbc_fit,
)


def bandwidth(x: np.ndarray, y: np.ndarray, cluster: np.ndarray,
              fuzzy: np.ndarray | None = None) -> tuple[float, float, str]:
    """The MSE-optimal bandwidth ``h`` and pilot bandwidth ``b`` for the bias correction
    (``rdrobust.rdbwselect``, ``mserd``, family-clustered), else the Imbens-Kalyanaraman
    bandwidth for both when rdbwselect fails on the data.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.uniform(-1, 1, 2000)
    >>> y = (rng.uniform(size=2000) < 0.3 - 0.1 * (x > 0)).astype(float)
    >>> h, b, how = bandwidth(x, y, np.arange(2000) // 2)
    >>> 0 < h <= b, how
    (True, 'rdrobust mserd')
    """
    try:
        from rdrobust import rdbwselect

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bw = rdbwselect(y, x, c=0, fuzzy=fuzzy, cluster=cluster, bwselect="mserd")
        h, b = float(np.asarray(bw.bws)[0, 0]), float(np.asarray(bw.bws)[0, 2])
        if np.isfinite(h) and np.isfinite(b) and h > 0 and b > 0:
            return h, b, "rdrobust mserd"
    except Exception:  # noqa: BLE001 - a degenerate sample: the IK bandwidth instead
        pass
    h = ik_bandwidth(x, y)
    return h, h, "Imbens-Kalyanaraman"


def _ratio(num: Callable[[np.ndarray], float], den: Callable[[np.ndarray], float],
           log: bool) -> Callable[[np.ndarray], float]:
    def fn(t: np.ndarray) -> float:
        a, b = num(t), den(t)
        if not log:
            return float(a / b) if b != 0 else np.nan
        return float(np.log(a / b)) if a > 0 and b > 0 else np.nan
    return fn


def _row(of: str, scale: str, fn: Callable[[np.ndarray], float], fit1: Fit, fit2: Fit,
         log: bool) -> dict:
    t1 = np.concatenate([fit1.above, fit1.below])
    t2 = np.concatenate([fit2.above, fit2.below])
    est, _ = delta(fn, t1, fit1.cov)
    rbc, se = delta(fn, t2, fit2.cov)
    low, high = rbc - Z95 * se, rbc + Z95 * se
    if log:
        est, low, high = np.exp(est), np.exp(low), np.exp(high)
    ok = all(np.isfinite(v) for v in (est, low, high))
    return {"of": of, "scale": scale, "estimate": float(est) if ok else None,
            "low": float(low) if ok else None, "high": float(high) if ok else None,
            "se_robust": float(se) if ok else None, "log_scale": log,
            "bandwidth": fit1.h, "n_below": fit1.n_below, "n_above": fit1.n_above,
            "families": fit1.clusters}


def _ratio_row(of: str, num: Callable[[np.ndarray], float],
               den: Callable[[np.ndarray], float], fit1: Fit, fit2: Fit) -> dict:
    """A risk ratio with its interval on the log scale; where an estimated rate is not
    above 0 (a fuzzy ratio's parts are jumps, and can be), on the ratio scale instead."""
    row = _row(of, "risk_ratio", _ratio(num, den, True), fit1, fit2, True)
    if row["estimate"] is None:
        row = _row(of, "risk_ratio", _ratio(num, den, False), fit1, fit2, False)
        if row["estimate"] is not None and row["estimate"] <= 0:  # not a ratio of risks
            row.update(estimate=None, low=None, high=None, se_robust=None)
        if row["low"] is not None:
            row["low"] = max(row["low"], 0.0)
    return row


def sharp_effects(t: pd.DataFrame, h: float, b: float) -> list[dict]:
    """The effect of being listed, on both scales, at bandwidth ``h`` (pilot ``b``)."""
    x, fam = t["x"].to_numpy(float), t["family_id"].to_numpy()
    y = t[["y"]].to_numpy(float)
    f1, f2 = local_fit(x, y, fam, h, 1), rbc_fit(x, y, fam, h, b)
    rd = lambda th: th[0] - th[1]  # noqa: E731
    return [_row("listed", "risk_difference", rd, f1, f2, False),
            _ratio_row("listed", lambda th: th[0], lambda th: th[1], f1, f2)]


def fuzzy_effects(t: pd.DataFrame, h: float, b: float) -> list[dict]:
    """The effect of being offered help (listed -> offered), on both scales, at ``h``
    (pilot ``b``)."""
    x, fam = t["x"].to_numpy(float), t["family_id"].to_numpy()
    y, d = t["y"].to_numpy(float), t["offered"].to_numpy(float)
    cols = np.column_stack([y, d, y * d, y * (1 - d)])
    f1, f2 = local_fit(x, cols, fam, h, 1), rbc_fit(x, cols, fam, h, b)
    # theta: above (y, d, yd, y(1-d)) then below (same)
    rd = lambda th: (th[0] - th[4]) / (th[1] - th[5])  # noqa: E731
    return [_row("offered", "risk_difference", rd, f1, f2, False),
            _ratio_row("offered", lambda th: th[2] - th[6], lambda th: th[7] - th[3], f1, f2)]


def first_stage(t: pd.DataFrame, h: float, b: float) -> dict:
    """The jump in the share offered help at the cut-off (local linear, robust interval)."""
    x, fam = t["x"].to_numpy(float), t["family_id"].to_numpy()
    d = t[["offered"]].to_numpy(float)
    f1, f2 = local_fit(x, d, fam, h, 1), rbc_fit(x, d, fam, h, b)
    row = _row("offered_share", "difference", lambda th: th[0] - th[1], f1, f2, False)
    row["above"], row["below"] = float(f1.above[0]), float(f1.below[0])
    return row


def rd_effects(t: pd.DataFrame) -> dict:
    """Both designs at their own MSE-optimal bandwidths.

    Parameters
    ----------
    t : DataFrame
        ``x``, ``listed``, ``offered``, ``y``, ``family_id``: one row per child-month with a
        known outcome.

    Returns
    -------
    dict
        ``effects`` (list of ``{of, scale, estimate, low, high, bandwidth, n_below,
        n_above, ...}``), ``first_stage``, ``bandwidths`` (with the method).

    Examples
    --------
    >>> rng = np.random.default_rng(2); n = 6000; x = rng.uniform(-1, 1, n)
    >>> off = (x > 0) & (rng.uniform(size=n) < 0.8)
    >>> y = (rng.uniform(size=n) < 0.3 * np.where(off, 0.5, 1.0)).astype(float)
    >>> t = pd.DataFrame({"x": x, "listed": x > 0, "offered": off, "y": y,
    ...                   "family_id": np.arange(n)})
    >>> r = rd_effects(t)
    >>> [(e["of"], e["scale"]) for e in r["effects"]][:2]
    [('listed', 'risk_difference'), ('listed', 'risk_ratio')]
    """
    x, fam = t["x"].to_numpy(float), t["family_id"].to_numpy()
    y, d = t["y"].to_numpy(float), t["offered"].to_numpy(float)
    h_s, b_s, how = bandwidth(x, y, fam)
    h_f, b_f, how_f = bandwidth(x, y, fam, fuzzy=d)
    effects = sharp_effects(t, h_s, b_s) + fuzzy_effects(t, h_f, b_f)
    return {"effects": effects, "first_stage": first_stage(t, h_f, b_f),
            "bandwidths": {"listed": h_s, "listed_pilot": b_s, "offered": h_f,
                           "offered_pilot": b_f, "method": how, "method_offered": how_f}}


def balance(t: pd.DataFrame, columns: list[str], h: float | None = None,
            b: float | None = None) -> list[dict]:
    """The jump at the cut-off of each input (should be none): local linear, robust interval
    and p-value, at the input's own MSE-optimal bandwidth (as Cattaneo, Idrobo and Titiunik
    advise: an input curved in the running variable, last month's score, would show a false
    jump at the outcome's wider bandwidth), or at ``h`` (pilot ``b``) when given.

    Examples
    --------
    >>> rng = np.random.default_rng(5); n = 4000; x = rng.uniform(-1, 1, n)
    >>> t = pd.DataFrame({"x": x, "family_id": np.arange(n), "age": rng.normal(8, 4, n)})
    >>> r = balance(t, ["age"])
    >>> r[0]["input"], r[0]["p_value"] > 0.01
    ('age', True)
    """
    from math import erfc, sqrt

    x, fam = t["x"].to_numpy(float), t["family_id"].to_numpy()
    out = []
    for c in columns:
        v = pd.to_numeric(t[c], errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        if ok.sum() < 50 or np.nanstd(v) == 0:
            continue
        hc, bc = (h, b) if h is not None and b is not None else \
            bandwidth(x[ok], v[ok], fam[ok])[:2]
        f1 = local_fit(x[ok], v[ok, None], fam[ok], hc, 1)
        f2 = rbc_fit(x[ok], v[ok, None], fam[ok], hc, bc)
        row = _row("input", "difference", lambda th: th[0] - th[1], f1, f2, False)
        z = (f2.above[0] - f2.below[0]) / row["se_robust"] if row["se_robust"] else 0.0
        row.update({"input": c, "below_mean": float(f1.below[0]),
                    "p_value": float(erfc(abs(z) / sqrt(2)))})
        out.append(row)
    return out


def density_test(x: np.ndarray) -> dict:
    """Is there a jump in how many child-months lie just above the cut-off against just
    below? ``rddensity`` (Cattaneo, Jansson and Ma), else a binomial test in a narrow
    window.

    Examples
    --------
    >>> x = np.random.default_rng(3).uniform(-1, 1, 3000)
    >>> density_test(x)["p_value"] > 0.01
    True
    """
    from scipy.stats import binomtest

    x = np.asarray(x, float)
    try:
        from rddensity import rddensity

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = rddensity(X=x, c=0)
        p = float(np.asarray(r.test["p_jk"]).ravel()[0])
        if np.isfinite(p):
            return {"method": "rddensity (Cattaneo, Jansson and Ma 2020)", "p_value": p}
    except Exception:  # noqa: BLE001 - fall back to the binomial test
        pass
    w = float(np.quantile(np.abs(x), 0.05))
    near = np.abs(x) <= w
    k, n = int((x[near] > 0).sum()), int(near.sum())
    return {"method": f"binomial test within {w:.4g} of the cut-off",
            "p_value": float(binomtest(k, n, 0.5).pvalue) if n else float("nan")}
