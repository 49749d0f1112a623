"""What every candidate kind shares: feature names, probabilities, the JSON round trip."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["Base", "as_frame"]


def as_frame(X: Any, features: Any) -> pd.DataFrame:
    """``X`` as a DataFrame with the columns ``features`` (an array is taken in that order)."""
    if isinstance(X, pd.DataFrame):
        return X.loc[:, list(features)]
    return pd.DataFrame(np.asarray(X), columns=list(features))


class Base(ClassifierMixin, BaseEstimator):
    """A candidate kind's estimator: subclass it, set ``kind`` and register a ``Kind``.

    A subclass gives ``fit``, ``decision_function`` (the margin, log-odds),
    ``contributions`` (each feature's additive share of the margin, and a last column, the
    base value) and its fitted state (``state``/``load_state``, plain JSON values); the rest
    (probabilities, the JSON round trip, feature names) is here.
    """

    #: The kind's name, as a training spec writes it; the kind's own module says it.
    kind = "base"

    def margin_array(self, A: np.ndarray) -> np.ndarray:
        """The margin (log-odds) for a float array whose columns are ``feature_names_in_``."""
        return np.asarray(self.decision_function(
            pd.DataFrame(A, columns=list(self.feature_names_in_))))

    def used_features(self) -> np.ndarray | None:
        """Which features the model reads (None: all of them)."""
        return None

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        """The probability for margins (an uncalibrated model's own logistic link)."""
        return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))

    def calibration_margin(self, margin: np.ndarray) -> np.ndarray:
        """The margins a calibrator is fitted on (the margins themselves, unless a kind
        adds a tie-break that must not be learnt)."""
        return margin

    def tie_break(self, margin: np.ndarray) -> np.ndarray:
        """What a calibrated probability adds to order equal scores (nothing by default)."""
        return np.zeros(np.shape(margin))

    def contributions(self, A: np.ndarray, method: str = "auto") -> np.ndarray:
        """Each feature's additive share of the margin, then the base value (a column)."""
        raise NotImplementedError

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _set_features(self, X: pd.DataFrame) -> None:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.classes_ = np.array([0, 1])

    def state(self) -> dict:
        """The fitted state as plain JSON values."""
        raise NotImplementedError

    def load_state(self, d: dict) -> None:
        """Set the fitted state from :meth:`state`'s values."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The fitted model as plain JSON (kind, parameters, features, state)."""
        return {"kind": self.kind, "params": self.get_params(),
                "features": list(self.feature_names_in_), **self.state()}

    @classmethod
    def from_dict(cls, d: dict) -> Base:
        """Rebuild a fitted model from :meth:`to_dict` (no code is run from the artefact)."""
        m = cls(**d["params"])
        m._set_features(pd.DataFrame(columns=d["features"]))
        m.load_state(d)
        return m
