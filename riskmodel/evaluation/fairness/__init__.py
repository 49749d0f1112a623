"""Fairness and disproportionality: group measures, intervals, the policy, the report.

:func:`fairness_audit` takes a table of scores and its :class:`AuditOptions`, and returns a
:class:`FairnessAudit`; :func:`write_fairness_report` writes it as HTML, CSV and JSON.
"""

from riskmodel.evaluation.fairness._audit import fairness_audit
from riskmodel.evaluation.fairness._options import AuditOptions
from riskmodel.evaluation.fairness._policy import (
    FairnessPolicy,
    MonitoringThresholds,
    load_fairness_policy,
    resolve_policy,
)
from riskmodel.evaluation.fairness._referrals import (
    ReferralAudit,
    add_referrals,
    referral_disproportionality,
)
from riskmodel.evaluation.fairness._report import write_fairness_report
from riskmodel.evaluation.fairness._result import FairnessAudit

__all__ = ["AuditOptions", "FairnessAudit", "FairnessPolicy", "MonitoringThresholds",
           "ReferralAudit", "add_referrals", "fairness_audit", "load_fairness_policy",
           "referral_disproportionality", "resolve_policy", "write_fairness_report"]
