"""Cohorts and labels at as-of dates, feature builders and the feature matrix.

The rules of time: a feature at as-of date *t* uses only what was known before *t*
(contacts and ACEs by ``recorded_date``; a late-filled rating, outcome or triage level and a
backdated episode from their own recorded dates, else the feature spec's lag; family,
locality and IMD decile from ``children_history``; a closure only once ``end_date < t``);
a label looks only at (*t*, *t* + horizon].
"""

from riskmodel.features._builders import builder_words
from riskmodel.features._describe import describe_feature, describer, lookup
from riskmodel.features._knowledge import knowledge_rules
from riskmodel.features._labels import OUTCOMES, build_labels
from riskmodel.features._matrix import (
    build_matrix,
    feature_columns,
    feature_dictionary,
    switched_off_features,
)
from riskmodel.features._spec import FeatureSpec, load_feature_spec
from riskmodel.features._windows import window_months

__all__ = [
    "OUTCOMES", "FeatureSpec", "build_labels", "build_matrix", "builder_words",
    "describe_feature", "describer", "feature_columns", "feature_dictionary", "knowledge_rules",
    "load_feature_spec", "lookup",
    "switched_off_features", "window_months",
]
