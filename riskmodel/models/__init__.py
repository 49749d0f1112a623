"""Candidate models behind one interface.

A simple rule, logistic regression and LightGBM, each wrapped in a :class:`CalibratedModel`:
``fit``, ``predict_proba``, ``margin_array`` and ``calibrate`` (the scoring hot path),
``kind``, ``used_features``, JSON round trips (``to_dict``/:func:`model_from_dict`) and exact
per-row contributions (:func:`feature_contributions`, TreeSHAP for LightGBM). Nothing outside
this package reads a model's internals.
"""

from riskmodel.models._candidates import (
    KINDS,
    CalibratedModel,
    LightGBMClassifier,
    LogisticClassifier,
    RuleClassifier,
    make_model,
    model_from_dict,
)
from riskmodel.models._contributions import BASE_VALUE, feature_contributions
from riskmodel.models._reasons import explain_rows, top_reasons

__all__ = [
    "BASE_VALUE", "CalibratedModel", "KINDS", "LightGBMClassifier", "LogisticClassifier",
    "RuleClassifier", "explain_rows", "feature_contributions", "make_model", "model_from_dict",
    "top_reasons",
]
