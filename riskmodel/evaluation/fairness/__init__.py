"""Fairness and disproportionality: group measures, intervals, the policy, the report."""

from riskmodel.evaluation.fairness._audit import (
    FairnessAudit,
    fairness_audit,
    write_fairness_report,
)
from riskmodel.evaluation.fairness._policy import FairnessPolicy, load_fairness_policy

__all__ = ["FairnessAudit", "FairnessPolicy", "fairness_audit", "load_fairness_policy",
           "write_fairness_report"]
