"""Fairness and disproportionality: group measures, intervals, the policy, the report.

:func:`fairness_audit` takes a table of scores and its :class:`AuditOptions`, and returns a
:class:`FairnessAudit`; :func:`write_fairness_report` writes it as HTML, CSV and JSON.
"""

from riskmodel.evaluation.fairness._audit import fairness_audit
from riskmodel.evaluation.fairness._findings import (
    STATUS_ORDER,
    binomial_comparisons,
    judge,
    rate_interval,
)
from riskmodel.evaluation.fairness._groups import build_tables
from riskmodel.evaluation.fairness._options import AuditOptions
from riskmodel.evaluation.fairness._policy import (
    Characteristic,
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
from riskmodel.evaluation.fairness._result import FairnessAudit, jsonable, table_records
from riskmodel.evaluation.fairness._summary import FINDINGS_COLUMNS

__all__ = [
    "AuditOptions", "Characteristic", "FINDINGS_COLUMNS", "FairnessAudit", "FairnessPolicy",
    "MonitoringThresholds", "ReferralAudit", "STATUS_ORDER", "add_referrals",
    "binomial_comparisons", "build_tables", "fairness_audit", "jsonable", "judge",
    "load_fairness_policy", "rate_interval", "referral_disproportionality", "resolve_policy",
    "table_records", "write_fairness_report",
]
