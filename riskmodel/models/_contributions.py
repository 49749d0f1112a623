"""Per-row feature contributions: each feature's additive share of a row's margin.

A contribution is a feature's additive share of one row's margin (the base model's
log-odds, before calibration): for every row, the contributions plus the base value sum
to the margin exactly. Each kind computes its own (``contributions`` of its estimator:
TreeSHAP for LightGBM, linear SHAP for logistic regression, the points of the simple rule);
this module checks the rows and names the columns, for any registered kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.models._base import Base
from riskmodel.models._kinds import KINDS

__all__ = ["BASE_VALUE", "feature_contributions", "methods"]

BASE_VALUE = "base_value"
# Contributions smaller than this (log-odds) are rounding noise, never a reason.
MIN_CONTRIBUTION = 1e-6


def methods() -> tuple[str, ...]:
    """Every ``method`` a registered kind offers for its contributions, "auto" first."""
    found = ["auto"]
    for kind in KINDS.values():
        found += [m for m in getattr(kind.estimator, "methods", ()) if m not in found]
    return tuple(found)


def _base_model(model: Any) -> Base:
    """The fitted model whose margin is explained: unwraps a LoadedModel and calibration."""
    model = getattr(model, "model", model)  # LoadedModel
    return getattr(model, "base_", model)  # CalibratedModel


def _kind(base: Any) -> str:
    kind = getattr(base, "kind", None)
    if not isinstance(kind, str) or kind not in KINDS or not isinstance(base,
                                                                          KINDS[kind].estimator):
        raise TypeError(f"cannot explain a {type(base).__name__}: expected a riskmodel candidate")
    return str(kind)


def _design(base: Base, X: Any) -> np.ndarray:
    """The model's features as a float array (NaN for missing), in the model's order."""
    features = list(base.feature_names_in_)
    if isinstance(X, pd.DataFrame):
        missing = [f for f in features if f not in X.columns]
        if missing:
            more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
            raise InputError(
                f"matrix: feature column {', '.join(missing[:3])}{more} missing "
                "(the model needs every feature it was trained on)"
            )
        return X.loc[:, features].to_numpy(dtype=np.float64, na_value=np.nan)
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] != len(features):
        raise InputError(
            f"matrix: expected {len(features)} feature columns in the model's order, "
            f"got shape {A.shape}"
        )
    return A


def feature_contributions(model: Any, X: Any, *, method: str = "auto") -> pd.DataFrame:
    """Each feature's additive contribution to each row's margin, and the base value.

    Parameters
    ----------
    model : fitted model
        A :class:`~riskmodel.models.CalibratedModel` (its base model's margin is
        explained), a base candidate of a registered kind, or a loaded model.
    X : DataFrame or array of shape (n_rows, n_features)
        The rows to explain; a DataFrame needs every feature column of the model (others
        are ignored), an array must hold them in the model's order.
    method : str, default="auto"
        How a kind that has several ways computes its (identical) values (:func:`methods`;
        for LightGBM: ``"vectorised"`` tables, LightGBM's own ``"lightgbm"`` pred_contrib or
        shap's ``"shap"`` TreeExplainer); ``"auto"`` is the fastest measured.

    Returns
    -------
    DataFrame
        One column per feature (the model's order) and a last column ``base_value``, on the
        log-odds scale; each row sums to ``model.decision_function(X)``. The index is
        ``X``'s index when ``X`` is a DataFrame.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> m = LogisticClassifier().fit(X, (X.a + rng.normal(size=300) > 0).astype(int))
    >>> c = feature_contributions(m, X.head(3))
    >>> list(c.columns)
    ['a', 'b', 'base_value']
    >>> bool(np.allclose(c.sum(axis=1), m.decision_function(X.head(3))))
    True
    """
    if method not in methods():
        raise ValueError(f"method must be one of {', '.join(methods())}, not {method!r}")
    base = _base_model(model)
    _kind(base)
    A = _design(base, X)
    values = base.contributions(A, method)
    index = X.index if isinstance(X, pd.DataFrame) else None
    return pd.DataFrame(values, columns=[*base.feature_names_in_, BASE_VALUE], index=index,
                        copy=False)
