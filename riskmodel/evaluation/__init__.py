"""riskmodel.evaluation."""

from ._card import FOR_COUNCIL, ModelCard, model_card, write_model_card
from ._contributions import explain_rows, feature_contributions, top_reasons
from ._disclosure import suppress
from ._explain import (
    ModelExplanation,
    explain_extract,
    explain_model,
    write_explanation_report,
)
from ._fairness import FairnessAudit, fairness_audit, write_fairness_report
from ._policy import FairnessPolicy, load_fairness_policy
from ._profile import cohort_profile

__all__ = [
    "explain_rows", "feature_contributions", "top_reasons",
    "FairnessAudit", "FairnessPolicy", "cohort_profile", "fairness_audit",
    "load_fairness_policy", "suppress", "write_fairness_report",
    "FOR_COUNCIL", "ModelCard", "ModelExplanation", "explain_extract", "explain_model",
    "model_card", "write_explanation_report", "write_model_card",
]
