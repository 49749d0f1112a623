"""Local-polynomial regression discontinuity: estimates, bandwidth and clustered intervals.

Every estimate here is a smooth function of the intercepts, at the cut-off, of a few local
polynomial fits on each side (triangular kernel, bandwidth ``h``). An intercept is linear in
the outcome (``a = sum_i l_i y_i``), so its influence on child-month ``i`` is
``l_i * residual_i``; summing the influences within each family gives the family-clustered
covariance of all the intercepts together (both sides, every outcome column), and the delta
method gives the interval of any function of them (a difference, a ratio, a ratio of
differences).

- The **point estimate** is local linear (``p = 1``) at the MSE-optimal bandwidth.
- The **robust bias-corrected interval** (Calonico, Cattaneo and Titiunik 2014) with the
  pilot bandwidth equal to the main one (``rho = 1``) is the local-quadratic (``p = 2``)
  estimate at ``h`` with the local-quadratic standard error: the bias correction of the
  local-linear estimate and its extra variance in one fit (their remark 7).
- The **bandwidth** is the Imbens-Kalyanaraman MSE-optimal bandwidth for a local-linear fit
  with a triangular kernel (density and variances at the cut-off from a pilot window,
  curvature from a cubic on each side, with their regularisation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
IK_TRIANGULAR = 3.4375


def triangular(x: np.ndarray, h: float) -> np.ndarray:
    """Triangular kernel weights ``max(0, 1 - |x|/h)``.

    Examples
    --------
    >>> triangular(np.array([-2.0, 0.0, 0.5, 1.0]), 1.0).tolist()
    [0.0, 1.0, 0.5, 0.0]
    """
    return np.clip(1.0 - np.abs(np.asarray(x, float)) / float(h), 0.0, None)


def side_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, p: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted polynomial fit of each column of ``y`` on ``x``: the intercepts at 0 and each
    row's influence on them (``l_i * residual_i``; rows x columns).

    Examples
    --------
    >>> x = np.array([0.1, 0.2, 0.3, 0.4]); y = (1 + 2 * x)[:, None]
    >>> a, infl = side_fit(x, y, np.ones(4), 1)
    >>> round(float(a[0]), 6), float(np.abs(infl).max()) < 1e-12
    (1.0, True)
    """
    X = np.vander(np.asarray(x, float), p + 1, increasing=True)
    XtW = X.T * w
    M = np.linalg.pinv(XtW @ X)
    coef = M @ (XtW @ y)
    lw = (M @ XtW)[0]
    return coef[0], lw[:, None] * (y - X @ coef)


def _clustered(infl: np.ndarray, use: np.ndarray, cluster: np.ndarray
               ) -> tuple[np.ndarray, int]:
    """The covariance of the intercepts from the influences summed within each cluster
    (with the small-sample factor G / (G - 1)), and the number of clusters."""
    _, inv = np.unique(np.asarray(cluster)[use], return_inverse=True)
    g = int(inv.max()) + 1 if use.any() else 0
    sums = np.zeros((g, infl.shape[1]))
    np.add.at(sums, inv, infl[use])
    return sums.T @ sums * (g / max(g - 1, 1)), g


@dataclass(frozen=True)
class Fit:
    """Intercepts above and below the cut-off (one per outcome column), their clustered
    covariance (above first, then below), the bandwidth and the rows used each side."""

    above: np.ndarray
    below: np.ndarray
    cov: np.ndarray
    h: float
    n_above: int
    n_below: int
    clusters: int


def local_fit(x: np.ndarray, y: np.ndarray, cluster: np.ndarray, h: float, p: int = 1) -> Fit:
    """Local polynomial fits of order ``p`` each side of 0 (above: ``x > 0``) at bandwidth
    ``h``, with the family-clustered covariance of all the intercepts.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.uniform(-1, 1, 4000)
    >>> y = (0.3 + 0.1 * x - 0.1 * (x > 0) + rng.normal(0, 0.1, 4000))[:, None]
    >>> f = local_fit(x, y, np.arange(4000), 0.8)
    >>> bool(abs(f.above[0] - f.below[0] + 0.1) < 0.03)
    True
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float).reshape(len(x), -1)
    w = triangular(x, h)
    up, dn = (x > 0) & (w > 0), (x <= 0) & (w > 0)
    a_up, i_up = side_fit(x[up], y[up], w[up], p)
    a_dn, i_dn = side_fit(x[dn], y[dn], w[dn], p)
    k = y.shape[1]
    infl = np.zeros((len(x), 2 * k))
    infl[up, :k] = i_up
    infl[dn, k:] = i_dn
    cov, g = _clustered(infl, up | dn, cluster)
    return Fit(a_up, a_dn, cov, float(h), int(up.sum()), int(dn.sum()), int(g))


def _side_rbc(x: np.ndarray, y: np.ndarray, h: float, b: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """One side's bias-corrected intercepts and their influences: the local-linear intercept
    at ``h`` minus its leading bias, the curvature taken from a local quadratic at ``b``;
    residuals from that quadratic (as ``rdrobust`` computes its robust variance)."""
    wh, wb = triangular(x, h), triangular(x, b)
    Xh, Xb = np.vander(x, 2, increasing=True), np.vander(x, 3, increasing=True)
    lh = (np.linalg.pinv((Xh.T * wh) @ Xh) @ (Xh.T * wh))[0]
    Lb = np.linalg.pinv((Xb.T * wb) @ Xb) @ (Xb.T * wb)
    w = lh - float(lh @ x ** 2) * Lb[2]
    return w @ y, w[:, None] * (y - Xb @ (Lb @ y))


def rbc_fit(x: np.ndarray, y: np.ndarray, cluster: np.ndarray, h: float, b: float) -> Fit:
    """Robust bias-corrected intercepts each side (Calonico, Cattaneo and Titiunik 2014):
    local linear at ``h``, bias from a local quadratic at ``b``, with the family-clustered
    covariance that allows for the bias correction. With ``b == h`` it is the local-quadratic
    fit at ``h``.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.uniform(-1, 1, 3000)
    >>> y = (0.3 + 0.2 * x ** 2 - 0.1 * (x > 0) + rng.normal(0, 0.1, 3000))[:, None]
    >>> a, q = rbc_fit(x, y, np.arange(3000), 0.5, 0.5), local_fit(x, y, np.arange(3000), 0.5, 2)
    >>> bool(np.allclose([a.above, a.below], [q.above, q.below]))
    True
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float).reshape(len(x), -1)
    reach = max(h, b)
    up, dn = (x > 0) & (x < reach), (x <= 0) & (x > -reach)
    a_up, i_up = _side_rbc(x[up], y[up], h, b)
    a_dn, i_dn = _side_rbc(x[dn], y[dn], h, b)
    k = y.shape[1]
    infl = np.zeros((len(x), 2 * k))
    infl[up, :k] = i_up
    infl[dn, k:] = i_dn
    cov, g = _clustered(infl, up | dn, cluster)
    near = np.abs(x) < h
    return Fit(a_up, a_dn, cov, float(h), int((up & near).sum()), int((dn & near).sum()),
               int(g))


def delta(fn: Callable[[np.ndarray], float], theta: np.ndarray, cov: np.ndarray
          ) -> tuple[float, float]:
    """A function of the intercepts and its standard error (delta method, numerical
    gradient).

    Examples
    --------
    >>> est, se = delta(lambda t: t[0] - t[1], np.array([1.0, 0.5]), np.diag([0.01, 0.04]))
    >>> round(est, 3), round(se, 4)
    (0.5, 0.2236)
    """
    theta = np.asarray(theta, float)
    est = float(fn(theta))
    grad = np.zeros(len(theta))
    for j in range(len(theta)):
        step = 1e-6 * max(1.0, abs(theta[j]))
        t1, t0 = theta.copy(), theta.copy()
        t1[j] += step
        t0[j] -= step
        grad[j] = (fn(t1) - fn(t0)) / (2 * step)
    return est, float(np.sqrt(max(grad @ cov @ grad, 0.0)))


def _pilot_side(x: np.ndarray, y: np.ndarray, h1: float) -> tuple[float, float, int]:
    """Variance of ``y`` near the cut-off, curvature at 0 (a cubic), rows in the pilot."""
    near = np.abs(x) <= h1
    var = float(np.var(y[near], ddof=1)) if near.sum() > 2 else float(np.var(y))
    X = np.vander(x, 4, increasing=True)
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    return var, 2.0 * float(coef[2]), int(near.sum())


def ik_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The Imbens-Kalyanaraman (2012) MSE-optimal bandwidth for a local-linear fit with a
    triangular kernel at the cut-off 0 (above: ``x > 0``).

    Examples
    --------
    >>> rng = np.random.default_rng(1); x = rng.uniform(-1, 1, 5000)
    >>> y = x ** 2 + 0.2 * (x > 0) + rng.normal(0, 0.3, 5000)
    >>> 0.1 < ik_bandwidth(x, y) < 1.0
    True
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    h1 = 1.84 * float(np.std(x)) * n ** -0.2
    f0 = float((np.abs(x) <= h1).sum()) / (2 * h1 * n)
    up = x > 0
    v_up, c_up, _ = _pilot_side(x[up], y[up], h1)
    v_dn, c_dn, _ = _pilot_side(x[~up], y[~up], h1)
    # second-stage pilots for the curvature, and the regularisation of IK (2012)
    med_up, med_dn = float(np.median(x[up])), float(-np.median(x[~up]))
    k2 = 3.56 * (((v_up + v_dn) / max(f0, 1e-12)) / max((c_up ** 2 + c_dn ** 2), 1e-12)
                 ) ** (1 / 7)
    h2_up, h2_dn = k2 * max(up.sum(), 1) ** (-1 / 7), k2 * max((~up).sum(), 1) ** (-1 / 7)
    h2_up, h2_dn = min(h2_up, med_up * 4), min(h2_dn, med_dn * 4)
    n2_up = max(int((x[up] <= h2_up).sum()), 1)
    n2_dn = max(int((-x[~up] <= h2_dn).sum()), 1)
    r = 720 * (v_up / (n2_up * h2_up ** 4) + v_dn / (n2_dn * h2_dn ** 4))
    h = IK_TRIANGULAR * ((v_up + v_dn) / (max(f0, 1e-12) * ((c_up - c_dn) ** 2 + r))
                         ) ** 0.2 * n ** -0.2
    return float(min(h, np.abs(x).max()))
