"""Evaluation: pure functions on frames and fitted models.

Quality metrics with family-clustered intervals, the fairness audit and its report
(:mod:`riskmodel.evaluation.fairness`), SHAP explanation reports
(:mod:`riskmodel.evaluation.explain`), the model card and ATRS record
(:mod:`riskmodel.evaluation.card`) and the disclosure control every published table goes
through (its public path: ``record_keys``, ``protect_counts``, ``protect_confusion``,
``protect_table``, ``protect_total``, ``total_key``, ``published_rate``). Nothing here talks
to MLflow or reads a council's files (the one exception: the disclosure secret,
``council_secret``, kept in the workspace).
"""

from riskmodel.evaluation._calibration import calibration_png
from riskmodel.evaluation._disclosure import (
    council_secret,
    protect_confusion,
    protect_counts,
    protect_table,
    protect_total,
    published_rate,
    record_keys,
    suppress,
    total_key,
)
from riskmodel.evaluation._metrics import capacity_flags, evaluate_predictions
from riskmodel.evaluation._profile import cohort_profile
from riskmodel.evaluation.card import FOR_COUNCIL, ModelCard, ModelFacts, build_model_card
from riskmodel.evaluation.explain import (
    ModelExplanation,
    explain_model,
    write_explanation_report,
)
from riskmodel.evaluation.fairness import (
    AuditOptions,
    FairnessAudit,
    FairnessPolicy,
    ReferralAudit,
    add_referrals,
    fairness_audit,
    load_fairness_policy,
    referral_disproportionality,
    write_fairness_report,
)

__all__ = [
    "AuditOptions", "FOR_COUNCIL", "FairnessAudit", "FairnessPolicy", "ModelCard",
    "ModelExplanation", "ModelFacts", "ReferralAudit", "add_referrals", "build_model_card",
    "calibration_png", "capacity_flags", "evaluate_predictions",
    "cohort_profile", "council_secret", "explain_model", "fairness_audit",
    "load_fairness_policy", "protect_confusion", "protect_counts", "protect_table",
    "protect_total", "published_rate", "record_keys", "referral_disproportionality",
    "suppress", "total_key", "write_explanation_report",
    "write_fairness_report",
]
