"""What the panels decided: checking decisions against their list, override rates, the
disparity of the list vs of the decisions, and the outcomes of followed and overridden cases.

Pure functions on frames (no files): :func:`match_decisions` checks a panel's decisions
against the scores they answer; :func:`decision_table` joins decisions to the lists;
:func:`decision_rates` gives the monitoring figures; :func:`decisions_report` builds the
report and :func:`write_decisions_report` writes ``report.html`` and ``summary.json``.
"""

from riskmodel.evaluation.decisions._match import (
    STORED_COLUMNS,
    list_month,
    listed_flags,
    match_decisions,
)
from riskmodel.evaluation.decisions._outcomes import NOT_CAUSAL, decision_outcomes
from riskmodel.evaluation.decisions._rates import (
    COUNTS,
    count_masks,
    decision_rates,
    decision_table,
    table_keys,
)
from riskmodel.evaluation.decisions._report import (
    DEFAULT_TITLE,
    DecisionsReport,
    decisions_report,
    write_decisions_report,
)

__all__ = [
    "COUNTS", "DEFAULT_TITLE", "DecisionsReport", "NOT_CAUSAL", "STORED_COLUMNS", "count_masks",
    "decision_outcomes",
    "decision_rates", "decision_table", "decisions_report", "list_month", "listed_flags",
    "match_decisions", "table_keys", "write_decisions_report",
]
