"""Did the lists help? A regression discontinuity at each month's capacity cut-off.

Pure functions on a frame of child-months (distance from the month's cut-off, listed,
offered help, the outcome, the family): :func:`rd_effects` (the effect of being listed,
sharp, and of being offered help, fuzzy, on the risk-difference and risk-ratio scales),
:func:`density_test`, :func:`balance`, :func:`effects_by_group` (the same by
characteristic, with words for a group too small), :func:`impact_report` and
:func:`write_impact_report`. Opening an extract and finding the scores files is the job of
:func:`riskmodel.jobs.impact_report`.
"""

from riskmodel.evaluation.impact._effects import (
    balance,
    bandwidth,
    density_test,
    fuzzy_effects,
    rd_effects,
    sharp_effects,
)
from riskmodel.evaluation.impact._estimate import ik_bandwidth, local_fit, rbc_fit, triangular
from riskmodel.evaluation.impact._groups import MIN_ESCALATIONS, MIN_NEAR, effects_by_group
from riskmodel.evaluation.impact._report import (
    BALANCE_INPUTS,
    DEFAULT_TITLE,
    ImpactReport,
    impact_report,
    months_to_settle,
    write_impact_report,
)

__all__ = [
    "BALANCE_INPUTS", "DEFAULT_TITLE", "MIN_ESCALATIONS", "MIN_NEAR", "ImpactReport", "balance",
    "bandwidth", "density_test", "effects_by_group", "fuzzy_effects", "ik_bandwidth",
    "impact_report", "local_fit", "months_to_settle", "rbc_fit", "rd_effects", "sharp_effects",
    "triangular", "write_impact_report",
]
