"""Fairness and disproportionality: group measures, intervals, the policy, the report.

:func:`fairness_audit` takes a table of scores and its :class:`AuditOptions`, and returns a
:class:`FairnessAudit`; :func:`write_fairness_report` writes it as HTML, CSV and JSON. The
measures are one registry (:data:`MEASURES`); the findings' machinery (:func:`judge`,
:func:`binomial_comparisons`, :func:`rate_interval`, the groups and the policy) is public for
the decisions report.
"""

from riskmodel.evaluation._disclosure import rate_interval
from riskmodel.evaluation.fairness._audit import fairness_audit, record_identity
from riskmodel.evaluation.fairness._bootstrap import group_scores
from riskmodel.evaluation.fairness._findings import (
    HARM,
    REST,
    STATUS_ORDER,
    benjamini_hochberg,
    binomial_comparisons,
    judge,
    normal_comparison,
)
from riskmodel.evaluation.fairness._groups import GroupTable, build_tables
from riskmodel.evaluation.fairness._measures import (
    DEFAULT_LEAD,
    MEASURES,
    POLICY_MEASURES,
    RATE_MEASURES,
    SCORE_MEASURES,
    Counts,
    Measure,
    headings,
)
from riskmodel.evaluation.fairness._options import AuditOptions
from riskmodel.evaluation.fairness._policy import (
    Characteristic,
    FairnessPolicy,
    MonitoringThresholds,
    PerformanceBars,
    load_fairness_policy,
    resolve_policy,
)
from riskmodel.evaluation.fairness._referrals import (
    ReferralAudit,
    add_referrals,
    referral_disproportionality,
)
from riskmodel.evaluation.fairness._report import spaced_ticks, write_fairness_report
from riskmodel.evaluation.fairness._result import FairnessAudit, jsonable, table_records
from riskmodel.evaluation.fairness._summary import FINDINGS_COLUMNS, finding_sentence

__all__ = [
    "DEFAULT_LEAD", "FINDINGS_COLUMNS", "HARM", "MEASURES", "POLICY_MEASURES", "RATE_MEASURES",
    "SCORE_MEASURES", "STATUS_ORDER", "AuditOptions", "Characteristic", "Counts",
    "FairnessAudit", "FairnessPolicy", "GroupTable", "Measure", "MonitoringThresholds",
    "PerformanceBars", "REST", "ReferralAudit", "add_referrals", "benjamini_hochberg",
    "binomial_comparisons", "build_tables", "fairness_audit", "finding_sentence",
    "group_scores", "headings",
    "jsonable", "judge", "load_fairness_policy", "normal_comparison", "rate_interval",
    "record_identity",
    "referral_disproportionality", "resolve_policy", "spaced_ticks", "table_records",
    "write_fairness_report",
]
