"""Monitoring between retrains: is the model still working, and still fair?

Pure computations on frames (no MLflow, no files): the training reference
(:func:`build_reference`), the month's input, cohort, recording and score drift, realised and
estimated performance, early outcomes, fairness decay, one verdict (:func:`assess_month`)
and the HTML report (:func:`write_monitoring_report`). A month's result is typed
(:class:`Assessment`, framed as a :class:`MonitorSummary`; ``to_dict()`` is its JSON).
``riskmodel monitor`` (:mod:`riskmodel.jobs.monitor`) strings them together. Everything is
implemented here on numpy and scipy: see docs/monitoring.md for why not evidently or NannyML.
"""

from riskmodel.evaluation.monitoring._assess import VERDICTS, assess_month, run_alpha, verdict_of
from riskmodel.evaluation.monitoring._buckets import chi_square, ks_binned, psi
from riskmodel.evaluation.monitoring._contacts import contact_volumes
from riskmodel.evaluation.monitoring._performance import (
    by_group,
    early_outcomes,
    estimate,
    gap_change,
    offered_help,
    offered_text,
    realised,
    training_gaps,
)
from riskmodel.evaluation.monitoring._publish import (
    published_cohort,
    published_mean,
    published_outcomes,
    rounded,
)
from riskmodel.evaluation.monitoring._reference import (
    ReferenceInputs,
    build_reference,
    importance_shares,
    model_reference,
    reference_inputs,
)
from riskmodel.evaluation.monitoring._report import history_table, write_monitoring_report
from riskmodel.evaluation.monitoring._summary import (
    Alpha,
    Assessment,
    BandShare,
    CapacityRow,
    Check,
    CohortSize,
    ContactRow,
    Early,
    Estimate,
    InputRow,
    Interval,
    MixGroup,
    MixRow,
    ModelRef,
    MonitorSummary,
    Moved,
    Realised,
    RealisedWindow,
    Reason,
    ReferenceEstimate,
    ReferenceRef,
    ScoreDrift,
)

__all__ = [
    "Alpha", "Assessment", "BandShare", "CapacityRow", "Check", "CohortSize", "ContactRow",
    "Early", "Estimate", "InputRow", "Interval", "MixGroup", "MixRow", "ModelRef",
    "MonitorSummary", "Moved", "Realised", "RealisedWindow", "Reason", "ReferenceEstimate",
    "ReferenceRef", "ScoreDrift",
    "VERDICTS", "ReferenceInputs", "assess_month", "build_reference", "model_reference",
    "reference_inputs", "run_alpha", "by_group", "chi_square",
    "contact_volumes", "early_outcomes", "estimate", "gap_change", "history_table",
    "importance_shares", "ks_binned", "offered_help", "offered_text", "psi", "realised",
    "published_cohort", "published_mean", "published_outcomes", "rounded", "training_gaps",
    "verdict_of", "write_monitoring_report",
]
