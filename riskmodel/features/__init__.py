"""Cohorts and labels at as-of dates, feature builders and the feature matrix.

The rules of time: a feature at as-of date *t* uses only what was recorded before *t*
(contacts and ACEs by ``recorded_date``; an episode's start once ``start_date < t``, its
closure only once ``end_date < t``); a label looks only at (*t*, *t* + horizon].
"""

from riskmodel.features._describe import describe_feature, lookup
from riskmodel.features._labels import OUTCOMES, build_labels
from riskmodel.features._matrix import (
    build_matrix,
    feature_columns,
    feature_dictionary,
    switched_off_features,
)
from riskmodel.features._spec import FeatureSpec, load_feature_spec

__all__ = [
    "OUTCOMES", "FeatureSpec", "build_labels", "build_matrix", "describe_feature",
    "feature_columns", "feature_dictionary", "load_feature_spec", "lookup",
    "switched_off_features",
]
