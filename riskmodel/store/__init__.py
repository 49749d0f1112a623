"""The model store: the only code that talks to MLflow.

Runs and their typed tags, artefacts, the registry (register, load with a checksum check,
promote) and the pyfunc flavour. Three failures are told apart, each a one-line error:
:class:`StoreUnreachable`, :class:`NotInStore` and :class:`ChecksumMismatch`.
"""

from riskmodel.store._client import (
    ChecksumMismatch,
    NoStoreHere,
    NotInStore,
    StoreUnreachable,
    configure,
    experiment_link,
    experiment_url,
    set_verbose,
    tracking_uri,
)
from riskmodel.store._models import (
    MODEL_JSON,
    LoadedModel,
    VersionInfo,
    load_model,
    promote,
    register,
    resolve_model_version,
    version_info,
)
from riskmodel.store._monitoring import log_monitoring, monitoring_history
from riskmodel.store._predictions import (
    TEST_PREDICTIONS,
    StoredPredictions,
    predictions_bytes,
    read_predictions_bytes,
    read_test_predictions,
)
from riskmodel.store._runs import (
    LEAD_METRICS,
    CandidateRecord,
    RunInfo,
    TrainingRun,
    compare_runs,
    download,
    full_run_id,
    get_run,
    last_training,
    read_csv,
    read_text,
    training_run,
)
from riskmodel.store._tags import RunTags, Tag

__all__ = [
    "MODEL_JSON",
    "LEAD_METRICS", "TEST_PREDICTIONS", "CandidateRecord", "ChecksumMismatch", "LoadedModel",
    "NoStoreHere", "NotInStore", "RunInfo", "RunTags", "StoredPredictions",
    "StoreUnreachable", "Tag", "TrainingRun", "VersionInfo", "compare_runs", "configure",
    "experiment_link", "experiment_url",
    "download", "full_run_id", "get_run", "last_training", "load_model", "log_monitoring",
    "monitoring_history", "predictions_bytes", "promote", "read_csv",
    "read_predictions_bytes", "read_test_predictions", "read_text",
    "register",
    "resolve_model_version", "set_verbose", "tracking_uri", "training_run", "version_info",
]
