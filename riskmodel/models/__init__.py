"""Candidate models behind one interface, one module per kind.

Each kind (the simple rule, logistic regression, LightGBM) is one module that registers a
:class:`Kind` in :data:`KINDS`: its estimator (fit, margin, contributions, JSON state) and its
words. Every kind is wrapped in a :class:`CalibratedModel`: ``fit``, ``predict_proba``,
``margin_array`` and ``calibrate`` (the scoring hot path), ``kind``, ``used_features``, JSON
round trips (``to_dict``/:func:`model_from_dict`) and exact per-row contributions
(:func:`feature_contributions`). Nothing outside this package reads a model's internals or
names a kind: it asks :func:`kind_of`.
"""

# isort: off
# The kinds register themselves in this order (the order a spec's error lists them).
from riskmodel.models._rule import RuleClassifier, tie_share
from riskmodel.models._logistic import LogisticClassifier
from riskmodel.models._lightgbm import LightGBMClassifier
# isort: on
from riskmodel.models._base import Base
from riskmodel.models._candidates import CalibratedModel, FitPool, make_model, model_from_dict
from riskmodel.models._contributions import BASE_VALUE, feature_contributions
from riskmodel.models._kinds import KINDS, Kind, kind_of, register_kind
from riskmodel.models._reasons import explain_rows, top_reasons

__all__ = [
    "BASE_VALUE", "KINDS", "Base", "CalibratedModel", "FitPool", "Kind", "LightGBMClassifier",
    "LogisticClassifier", "RuleClassifier", "explain_rows", "feature_contributions", "kind_of",
    "make_model", "model_from_dict", "register_kind", "tie_share", "top_reasons",
]
