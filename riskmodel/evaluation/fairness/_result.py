"""The published result of an audit, and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.jsonready import jsonable
from riskmodel.evaluation.fairness._policy import FairnessPolicy


@dataclass
class FairnessAudit:
    """The published result of :func:`fairness_audit` (every table already suppressed).

    Attributes
    ----------
    groups : DataFrame
        One row per group of each characteristic and intersection (and one for everyone):
        ``n``, ``n_positive``, ``n_flagged`` and each measure with ``_low``/``_high``.
    ratios : DataFrame
        Each group's ratio to its reference for the policy's measures, with the interval,
        ``status`` (flag / watch / within / insufficient / reference), ``direction`` and
        ``flagged`` (status is flag), in table order.
    findings : DataFrame
        The same comparisons ranked (flags first, then by size and certainty), each with
        ``characteristic``, ``group``, ``measure``, ``ratio``, ``low``, ``high``,
        ``direction``, ``status`` and a ``sentence`` in plain words.
    rri : DataFrame
        Relative rate index: shares of the population and of those flagged, and each group's
        rate over the reference's, for going on to need help and for being flagged.
    profile : DataFrame
        The cohort profile of the audited children.
    mitigation : DataFrame or None
        Before/after table when mitigation was asked for.
    thresholds : DataFrame or None
        The mitigation's per-group thresholds (or fairlearn's rule) fitted on everyone.
    summary : list of str
        Plain-language sentences, the most important first.
    settings : dict
        What was audited and how (columns, rule, policy, bootstrap, counts).
    referrals : ReferralAudit or None
        The front door, when joined (:func:`add_referrals`).
    flags_after : array or None
        Who the mitigation would flag (cross-fitted), one 0/1 per audited row; never
        published.
    """

    groups: pd.DataFrame
    ratios: pd.DataFrame
    rri: pd.DataFrame
    profile: pd.DataFrame
    summary: list[str]
    settings: dict
    policy: FairnessPolicy
    mitigation: pd.DataFrame | None = None
    thresholds: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    referrals: Any = None  # a ReferralAudit (typed loosely: _referrals imports this module)
    flags_after: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The audit's JSON form (the ``fairness.json`` the report writes, without the notes)."""
        return jsonable({"settings": self.settings, "summary": self.summary,
                         "findings": table_records(self.findings),
                         "tables": {k: table_records(df) for k, df in self.tables().items()}})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The published tables by name."""
        out = {"groups": self.groups, "ratios": self.ratios, "findings": self.findings,
               "rri": self.rri, "profile": self.profile}
        if self.mitigation is not None:
            out["mitigation"] = self.mitigation
        if self.thresholds is not None:
            out["thresholds"] = self.thresholds
        if self.referrals is not None:
            out.update(self.referrals.tables())
        return out


def table_records(df: pd.DataFrame) -> list[dict]:
    """A table's rows as JSON-ready dicts (see :func:`jsonable`)."""
    return [jsonable(dict(zip(df.columns, row, strict=True)))
            for row in df.itertuples(index=False, name=None)]
