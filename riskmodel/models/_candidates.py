"""A candidate of any registered kind, calibrated; making one by name; loading one.

Every kind (``models/_rule.py``, ``_logistic.py``, ``_lightgbm.py``, registered in
:data:`~riskmodel.models._kinds.KINDS`) is a scikit-learn estimator
(``fit``/``predict_proba``/``get_feature_names_out``) whose fitted state round-trips through
plain JSON (``to_dict``/``from_dict``), so a stored model is never unpickled: loading one runs
no code from the artefact. Nothing here names a kind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from riskmodel.models._base import Base
from riskmodel.models._kinds import kind_of

__all__ = ["CalibratedModel", "FitPool", "make_model", "model_from_dict"]


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CalibratedModel(Base):
    """A base model whose probabilities are calibrated on cross-fitted predictions.

    The base model is fitted on all training rows; the calibrator (isotonic or
    sigmoid) is fitted on out-of-fold margins from a family-grouped K-fold, so it
    never sees a margin from a model trained on the same family; or, given
    ``calibrate_on=(fit_rows, calibration_rows)``, out of time: on the margins that a model
    fitted on ``fit_rows`` (earlier dates) gives ``calibration_rows`` (the latest dates), as
    a council would recalibrate on its most recent year.

    Parameters
    ----------
    base : estimator
        A registered kind's estimator (:data:`~riskmodel.models.KINDS`).
    method : {"isotonic", "sigmoid"}, default="isotonic"
    cv : int, default=3
    n_jobs : int, optional
        Threads fitting the ``cv + 1`` base models side by side (LightGBM and the linear
        algebra release the GIL). Default: the CPUs this process may use, at most ``cv + 1``.
        Results do not depend on it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=600)})
    >>> y = (X.a + rng.normal(size=600) > 1).astype(int)
    >>> m = CalibratedModel(LogisticClassifier(), method="sigmoid").fit(X, y)
    >>> bool(abs(m.predict_proba(X)[:, 1].mean() - y.mean()) < 0.02)
    True
    """

    def __init__(self, base, *, method: str = "isotonic", cv: int = 3, n_jobs: int | None = None):
        self.base = base
        self.method = method
        self.cv = cv
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series, *,
            groups: np.ndarray | None = None,
            calibrate_on: tuple[np.ndarray, np.ndarray] | None = None,
            pool: FitPool | Executor | None = None) -> CalibratedModel:
        """Fit the base model on every row and the calibrator on held-out margins.

        ``calibrate_on``, a pair of row positions ``(fit_rows, calibration_rows)``: the
        calibrator learns from the margins a model fitted on ``fit_rows`` gives
        ``calibration_rows`` (out of time) instead of the family-grouped folds.

        ``pool``: an executor shared with other models' fits (several folds' fits kept
        side by side, see :class:`FitPool`), instead of a pool of this model's own. Its
        workers must not be waiting on this call, and BLAS should already be held to one
        thread (``FitPool`` does both). The fits, hence the model, do not depend on it.
        """
        if self.method not in ("isotonic", "sigmoid"):
            raise ValueError(f"calibration method must be isotonic or sigmoid, not {self.method!r}")
        self._set_features(X)
        y = np.asarray(y, dtype=int)
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        if calibrate_on is not None:
            splits = [(np.asarray(calibrate_on[0]), np.asarray(calibrate_on[1]))]
        else:
            splits = list(GroupKFold(n_splits=self.cv).split(X, y, groups))

        def fit_one(rows):
            return clone(self.base).fit(X if rows is None else X.iloc[rows],
                                        y if rows is None else y[rows])

        # The full fit is the largest job: it goes first so the pool finishes level.
        jobs = [None] + [train for train, _ in splits]
        if pool is not None:
            fits = pool.fits if isinstance(pool, FitPool) else pool
            fitted = list(fits.map(fit_one, jobs))
        else:
            fitted = self._fit_side_by_side(fit_one, jobs)
        self.base_ = fitted[0]
        held = np.concatenate([test for _, test in splits])
        oof = np.concatenate([m.decision_function(X.iloc[test])
                              for m, (_, test) in zip(fitted[1:], splits, strict=True)])
        self._fit_calibrator(self.base_.calibration_margin(oof), y[held])
        return self

    def _fit_side_by_side(self, fit_one: Callable[[Any], Base], jobs: list) -> list[Base]:
        """The base fits in a pool of their own (``n_jobs`` threads, one BLAS thread each)."""
        workers = min(len(jobs), self.n_jobs or _available_cpus())
        if workers <= 1:
            return [fit_one(rows) for rows in jobs]
        # One BLAS thread per fit (the pool already fills the cores); set once here so
        # the fits' own nested limits all save and restore the same value.
        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fit_one, jobs))

    def _fit_calibrator(self, margin, y):
        if self.method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(margin, y)
            self.cal_x_ = np.asarray(iso.X_thresholds_, dtype=float)
            self.cal_y_ = np.asarray(iso.y_thresholds_, dtype=float)
        else:
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
            self.cal_a_, self.cal_b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])

    @property
    def kind(self) -> str:  # type: ignore[override]
        """The base model's kind."""
        return getattr(self, "base_", self.base).kind

    def decision_function(self, X):
        """The base model's margin (log-odds before calibration); SHAP explains this."""
        return self.base_.decision_function(X)

    def margin_array(self, A: np.ndarray) -> np.ndarray:
        return self.base_.margin_array(A)

    def used_features(self) -> np.ndarray | None:
        return self.base_.used_features()

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        """The calibrated probability for base-model margins."""
        margin = np.asarray(margin, dtype=float)
        m = self.base_.calibration_margin(margin)
        if self.method == "isotonic":
            p = np.interp(m, self.cal_x_, self.cal_y_)
        else:
            p = 1.0 / (1.0 + np.exp(-(self.cal_a_ * m + self.cal_b_)))
        tie = self.base_.tie_break(margin)
        return np.clip(p + tie, 0.0, 1.0) if tie.any() else p

    def predict_proba(self, X):
        p = self.calibrate(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def to_dict(self) -> dict:
        d = {"kind": "calibrated", "method": self.method, "cv": self.cv,
             "features": list(self.feature_names_in_), "base": self.base_.to_dict()}
        if self.method == "isotonic":
            d["calibrator"] = {"x": self.cal_x_.tolist(), "y": self.cal_y_.tolist()}
        else:
            d["calibrator"] = {"a": self.cal_a_, "b": self.cal_b_}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CalibratedModel:
        base = kind_of(d["base"]["kind"]).estimator.from_dict(d["base"])
        m = cls(clone(base), method=d["method"], cv=d["cv"])
        m.base_ = base
        m._set_features(pd.DataFrame(columns=d["features"]))
        if m.method == "isotonic":
            m.cal_x_ = np.asarray(d["calibrator"]["x"], dtype=float)
            m.cal_y_ = np.asarray(d["calibrator"]["y"], dtype=float)
        else:
            m.cal_a_, m.cal_b_ = d["calibrator"]["a"], d["calibrator"]["b"]
        return m


class FitPool:
    """Threads that keep the cores busy across many models' fits: one pool of ``workers``
    fits shared by every :class:`CalibratedModel` given it (its full fit and calibration
    halves queue beside other folds' and candidates'), and tasks (a fold: fit, then predict)
    run ``workers`` at a time, so a fold's last fit never leaves a core idle.

    BLAS is held to one thread while the pool is open (each fit is one thread; the pool
    fills the cores), set once so the fits' own nested limits save and restore the same
    value. Every fit is deterministic and independent of the others: the models do not
    depend on the pool.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> X = pd.DataFrame({"a": np.arange(40.0)})
    >>> y = (X.a > 20).astype(int)
    >>> def fit(seed):
    ...     return CalibratedModel(LogisticClassifier(), method="sigmoid").fit(X, y, pool=pool)
    >>> with FitPool(workers=2) as pool:
    ...     a, b = pool.map(fit, [0, 1])
    >>> a.to_dict() == b.to_dict()
    True
    """

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or _available_cpus())

    def __enter__(self) -> FitPool:
        self._limits = threadpool_limits(limits=1, user_api="blas")
        self.fits = ThreadPoolExecutor(max_workers=self.workers)
        self._tasks = ThreadPoolExecutor(max_workers=self.workers)
        self._background = ThreadPoolExecutor(max_workers=self.workers)
        self._chain = ThreadPoolExecutor(max_workers=1)
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in (self._chain, self._background, self._tasks, self.fits):
            pool.shutdown(wait=True, cancel_futures=exc[0] is not None)
        self._limits.restore_original_limits()

    def futures(self, task: Callable[[Any], Any], items: list) -> list[Future]:
        """``task`` of each item, ``workers`` at a time, started in the items' order (a task
        may fit models with ``pool=self``; it must not wait on another task)."""
        return [self._tasks.submit(task, item) for item in items]

    def map(self, task: Callable[[Any], Any], items: list) -> list:
        """The results of :meth:`futures`, in the items' order."""
        return [f.result() for f in self.futures(task, items)]

    def submit(self, task: Callable[..., Any], *args: Any) -> Future:
        """``task(*args)`` in the background: its future. It may fit models with
        ``pool=self`` and call :meth:`map` (background tasks are not the mapped tasks)."""
        return self._background.submit(task, *args)

    def then(self, task: Callable[..., Any], *args: Any) -> Future:
        """``task(*args)`` in the background after every task given ``then`` before it
        (one at a time, in order): its future. It may wait on :meth:`submit`'s futures."""
        return self._chain.submit(task, *args)


def model_from_dict(d: dict) -> Base:
    """Rebuild a fitted model from its JSON form (no code is run from the artefact).

    Raises
    ------
    ValueError
        A kind no module has registered.
    """
    if d.get("kind") == "calibrated":
        return CalibratedModel.from_dict(d)
    return kind_of(str(d.get("kind"))).estimator.from_dict(d)


def make_model(kind: str, params: dict | None = None, *, calibration: str = "isotonic",
               seed: int = 0, calibration_folds: int = 2) -> CalibratedModel:
    """An unfitted, calibrated model of a named kind.

    Raises
    ------
    ValueError
        An unknown kind; ``TypeError`` for a parameter the kind does not take.

    Examples
    --------
    >>> make_model("logistic", {"C": 0.5}).base.C
    0.5
    """
    estimator = kind_of(kind).estimator
    params = dict(params or {})
    if "random_state" in estimator().get_params():  # a kind with randomness takes the seed
        params.setdefault("random_state", seed)
    return CalibratedModel(estimator(**params), method=calibration, cv=calibration_folds)
