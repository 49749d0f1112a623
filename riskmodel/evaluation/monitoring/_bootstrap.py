"""Monitoring's view of the metrics kernel's bootstrap (:mod:`riskmodel.evaluation.metrics`):
the measures a month is judged on, in single precision over blocks of family resamples."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from riskmodel.evaluation.metrics import bootstrap as _kernel_bootstrap
from riskmodel.evaluation.metrics import bootstrap_sets as _kernel_sets

MEASURES = ("base_rate", "auc", "calibration_error", "precision_at_capacity",
            "recall_at_capacity", "observed_over_expected")


def bootstrap_sets(y: ArrayLike, p: ArrayLike, flags: ArrayLike, codes: ArrayLike,
                   sets: list[np.ndarray], *, n_boot: int, seed: int = 0,
                   calibration: bool = True) -> list[dict[str, np.ndarray]]:
    """The kernel's :func:`~riskmodel.evaluation.metrics.bootstrap_sets` of monitoring's
    measures; ``calibration=False`` leaves the calibration error out (NaN): the slowest
    measure, and biased in small groups, where observed over expected says the same.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.5, 400); y = (rng.uniform(size=400) < p).astype(float)
    >>> d = bootstrap_sets(y, p, p > 0.45, np.arange(400), [np.arange(400)], n_boot=20,
    ...                    calibration=False)[0]
    >>> len(d["auc"]), bool(np.isnan(d["calibration_error"]).all())
    (20, True)
    """
    wanted = MEASURES if calibration else tuple(m for m in MEASURES if m != "calibration_error")
    out = _kernel_sets(y, p, flags, codes, sets, n_boot=n_boot, seed=seed, measures=wanted)
    for d in out:
        d.setdefault("calibration_error", np.full(len(d["auc"]), np.nan))
    return out


def bootstrap(y: ArrayLike, p: ArrayLike, flags: ArrayLike, codes: ArrayLike, *, n_boot: int,
              seed: int = 0) -> dict[str, np.ndarray]:
    """Each of monitoring's measures over ``n_boot`` family resamples (non-finite dropped).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.5, 400); y = (rng.uniform(size=400) < p).astype(float)
    >>> b = bootstrap(y, p, p > 0.45, np.arange(400), n_boot=50)
    >>> len(b["auc"]), bool(0.6 < np.median(b["auc"]) < 0.9)
    (50, True)
    """
    return _kernel_bootstrap(y, p, flags, codes, n_boot=n_boot, seed=seed, measures=MEASURES)
