"""The metrics kernel: one definition of each quality measure of a score, and one bootstrap.

AUC, average precision, Brier score, calibration (observed over expected, calibration slope,
binned calibration error), precision, recall and lift at capacity (:mod:`._scores`), one
family- and date-clustered bootstrap over blocks of resample weights (:mod:`._bootstrap`), and
:func:`evaluate_predictions`, every measure with its interval. Training, fairness and
monitoring ask this package; the tests pin it against scikit-learn and fairlearn.

Examples
--------
>>> from riskmodel.evaluation.metrics import auc
>>> auc([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6])
1.0
"""

from riskmodel._core.capacity import capacity_flags, top_k_flags
from riskmodel.evaluation.metrics._bootstrap import (
    bootstrap,
    bootstrap_sets,
    cluster_codes,
    fairlearn_counts,
    fairlearn_weights,
    percentile_interval,
    resample_counts,
    resample_weights,
)
from riskmodel.evaluation.metrics._counts import CountSets, counts_apply, whole_counts
from riskmodel.evaluation.metrics._evaluate import METRICS, evaluate_predictions
from riskmodel.evaluation.metrics._scores import (
    CURVE_MEASURES,
    N_BINS,
    ScoreCurve,
    at_capacity,
    auc,
    average_precision,
    brier,
    calibration_slope,
    expected_calibration_error,
    observed_over_expected,
)

__all__ = [
    "CURVE_MEASURES", "METRICS", "N_BINS", "CountSets", "ScoreCurve", "at_capacity", "auc",
    "average_precision", "bootstrap", "bootstrap_sets", "brier", "calibration_slope",
    "capacity_flags", "cluster_codes", "counts_apply", "evaluate_predictions",
    "expected_calibration_error",
    "fairlearn_counts", "fairlearn_weights", "observed_over_expected", "percentile_interval",
    "resample_counts", "resample_weights", "top_k_flags", "whole_counts",
]
