"""Training: specs, candidate models, temporal validation, MLflow logging and the registry."""

from ._candidates import (
    CalibratedModel,
    LightGBMClassifier,
    LogisticClassifier,
    RuleClassifier,
    model_from_dict,
)
from ._registry import compare_runs, promote
from ._replay import run_test_predictions
from ._run import build_training_matrix, latest_date, train
from ._spec import TrainingSpec, load_training_spec
from ._tracking import LoadedModel, load_model, tracking_uri
from ._train import (
    TrainResult,
    as_of_schedule,
    data_fingerprint,
    evaluate_candidates,
    judge,
    temporal_folds,
)

__all__ = [
    "CalibratedModel", "LightGBMClassifier", "LoadedModel", "LogisticClassifier",
    "RuleClassifier", "TrainResult", "TrainingSpec", "as_of_schedule", "build_training_matrix",
    "compare_runs", "data_fingerprint", "evaluate_candidates", "judge", "latest_date",
    "load_model", "load_training_spec", "model_from_dict", "promote", "run_test_predictions",
    "temporal_folds",
    "tracking_uri", "train",
]
