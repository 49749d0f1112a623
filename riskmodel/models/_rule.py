"""The simple rule kind: points for ACEs and recent contacts, ties broken at random.

The rule a council might use without a model ("4+ ACEs or 3+ contacts in 12 months"), made
to rank: a child gets ``min_contacts`` points per ACE and ``min_aces`` points per contact in
the last 12 months, so reaching either threshold of the old yes/no rule is worth the same
(``min_aces * min_contacts`` points). A yes/no rule flags most children and fills a capacity
list in child-id order; points rank them. Children with equal points are put in a random
order with a fixed seed (``random_state``), so who is taken from a tied group is a lottery,
not the order of the records: the margin is the points plus a tie-break in ``[0, 0.5)``,
which the calibrator never sees (:meth:`RuleClassifier.calibration_margin`) and which moves
a calibrated probability by less than 1e-9 (:meth:`RuleClassifier.tie_break`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.models._base import Base, as_frame
from riskmodel.models._kinds import Kind, register_kind

__all__ = ["RuleClassifier", "tie_share"]

# How far a tie-break may move a calibrated probability: far below any printed precision.
_TIE_STEP = 1e-9


class RuleClassifier(Base):
    """The simple rule as an additive points score.

    Parameters
    ----------
    min_aces : int, default=4
        The old rule's ACE threshold; each contact is worth this many points.
    min_contacts : int, default=3
        The old rule's contact threshold; each ACE is worth this many points.
    ace_feature, contacts_feature : str
        The feature columns the rule reads (contacts alone when the extract has no ACE
        factors, so the ACE feature is switched off).
    random_state : int, default=0
        The seed of the random order among children with equal points.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"ace_total_all_count": [0, 5, 1, 0],
    ...                   "contacts_total_12m_count": [0, 0, 4, 1]})
    >>> rule = RuleClassifier().fit(X, [0, 1, 1, 0])
    >>> rule.points(X).tolist()
    [0.0, 15.0, 19.0, 4.0]
    """

    kind = "rule"

    def __init__(self, *, min_aces: int = 4, min_contacts: int = 3,
                 ace_feature: str = "ace_total_all_count",
                 contacts_feature: str = "contacts_total_12m_count", random_state: int = 0):
        self.min_aces = min_aces
        self.min_contacts = min_contacts
        self.ace_feature = ace_feature
        self.contacts_feature = contacts_feature
        self.random_state = random_state

    def _weights(self) -> dict[str, float]:
        """Points per unit of each feature the rule reads (present in the model)."""
        w = {self.ace_feature: float(self.min_contacts),
             self.contacts_feature: float(self.min_aces)}
        return {f: v for f, v in w.items() if f in set(self.feature_names_in_)}

    def points(self, X: Any) -> np.ndarray:
        """Each row's points (a missing value counts 0)."""
        weights = self._weights()
        # only the columns the rule reads (a copy of every feature was most of a fold's time)
        fast = isinstance(X, pd.DataFrame) and set(self.feature_names_in_) <= set(X.columns)
        frame = X.loc[:, list(weights)] if fast else as_frame(X, self.feature_names_in_)
        total = np.zeros(len(frame))
        for f, w in weights.items():
            total += w * np.nan_to_num(frame[f].to_numpy(dtype=float))
        return total

    def fit(self, X: Any, y: Any) -> RuleClassifier:
        """Nothing is learnt but the features (the calibrator learns the probabilities)."""
        self._set_features(X)
        return self

    def _tie_order(self, n: int) -> np.ndarray:
        return 0.5 * np.random.default_rng(self.random_state).random(n)

    def decision_function(self, X: Any) -> np.ndarray:
        """Points plus the tie-break (not a log-odds until calibrated)."""
        p = self.points(X)
        return p + self._tie_order(len(p))

    def calibration_margin(self, margin: np.ndarray) -> np.ndarray:
        """The points alone: the calibrator learns one probability per number of points."""
        return np.floor(np.asarray(margin, dtype=float))

    def tie_break(self, margin: np.ndarray) -> np.ndarray:
        """A tiny, strictly increasing amount that orders children of equal points."""
        m = np.asarray(margin, dtype=float)
        return _TIE_STEP * (m - np.floor(m))

    def contributions(self, A: np.ndarray, method: str = "auto") -> np.ndarray:
        """Exact: each feature's points; the tie-break is the base value."""
        features = list(self.feature_names_in_)
        out = np.zeros((len(A), len(features) + 1))
        for f, w in self._weights().items():
            out[:, features.index(f)] = w * np.nan_to_num(A[:, features.index(f)])
        out[:, -1] = self._tie_order(len(A))
        return out

    def state(self) -> dict:
        return {}

    def load_state(self, d: dict) -> None:
        return None


def tie_share(points: Any, flags: Any) -> float:
    """The share of a capacity list drawn by lot: flagged children from the one group of
    equal points that the list takes only part of.

    Examples
    --------
    >>> tie_share([5, 4, 4, 4, 0], [True, True, False, False, False])
    0.5
    >>> tie_share([5, 4, 4, 0], [True, True, True, False])
    0.0
    """
    pts, flags = np.asarray(points, dtype=float), np.asarray(flags, dtype=bool)
    if not flags.any():
        return 0.0
    last = pts[flags].min()
    at_last = pts == last
    if not (at_last & ~flags).any():
        return 0.0
    return float((at_last & flags).sum() / flags.sum())


register_kind(Kind(
    name=RuleClassifier.kind, estimator=RuleClassifier,
    words="a simple points rule (points for each ACE and each contact in the last 12 months; "
          "children with equal points in a random order)",
    method_words="exact: each feature's points (the rule is additive); the base value is the "
                 "random tie-break among children with equal points",
))

