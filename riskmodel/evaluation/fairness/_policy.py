"""The fairness policy (``evaluation/fairness.yaml``): what to audit and how to judge it.

An equality lead or council edits the policy, not the code: the characteristics to audit and
their reference groups, the intersections, the tolerance a ratio must stay within, the smallest
cell that may be published, the bootstrap size and which measures lead. Early help is an offer
of support, so missing a child who needed it (the false negative rate) leads by default.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from riskmodel._core.errors import InputError
from riskmodel._core.spec import load_spec
from riskmodel._core.workspace import spec_file

PACKAGED_POLICY = "fairness.yaml"

# Measures a policy can lead with, in the words the report uses for them.
METRIC_NAMES: dict[str, str] = {
    "false_negative_rate": "missed (false negative rate)",
    "selection_rate": "flagged (selection rate)",
    "false_positive_rate": "false positives (false positive rate)",
    "precision": "precision (flagged who had the outcome)",
    "calibration": "calibration (observed over predicted)",
    "true_positive_rate": "found (true positive rate, recall)",
    "base_rate": "base rate (had the outcome)",
    "auc": "AUC (ranking quality)",
}
Metric = Literal[
    "false_negative_rate", "selection_rate", "false_positive_rate", "precision", "calibration",
    "true_positive_rate", "base_rate", "auc",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Characteristic(_Strict):
    """One characteristic to audit: its column, its name in the report and its reference:
    ``everyone`` (the whole cohort, the default), a group's name, or ``largest``."""

    column: str | None = None
    label: str | None = None
    reference: str = "everyone"

    @field_validator("reference")
    @classmethod
    def _reference_text(cls, value: str) -> str:
        if not str(value).strip():
            raise ValueError("expected 'everyone', 'largest' or the name of a group")
        return str(value)


class Tolerance(_Strict):
    """A group's ratio to its reference is acceptable inside [low, high]."""

    low: float = Field(0.8, gt=0, lt=1)
    high: float = Field(1.25, gt=1)


class Bootstrap(_Strict):
    """How the intervals are made: resamples and the interval's confidence."""

    n: int = Field(1000, ge=20, le=20_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)


class Judging(_Strict):
    """How comparisons are judged: the false-flag control and the fewest children to judge."""

    false_discovery_rate: float = Field(0.05, gt=0, lt=0.5)
    min_children: int = Field(30, ge=1, le=10_000)


class Mitigation(_Strict):
    """Optional mitigation: per-group thresholds or fairlearn's ThresholdOptimizer."""

    method: Literal["group_thresholds", "threshold_optimizer"] = "group_thresholds"
    characteristic: str | None = None
    equalise: Literal["false_negative_rate", "selection_rate"] = "false_negative_rate"
    objective: Literal["balanced_accuracy_score", "accuracy_score"] = "balanced_accuracy_score"


class PsiBands(_Strict):
    """Population stability index bands: below ``watch`` stable, up to ``act`` watch, above act."""

    watch: float = Field(0.1, gt=0)
    act: float = Field(0.25, gt=0)


class CohortChange(_Strict):
    """How far the number of children open may move (a share) before it is a watch."""

    reference: float = Field(0.3, gt=0)
    last_month: float = Field(0.15, gt=0)


class PerformanceBars(_Strict):
    """How far realised (or estimated) performance may fall short of the model card's promise.

    Judged on the conservative end of each 95% interval: a month fails only when the whole
    interval lies beyond the bar.
    """

    auc_drop: float = Field(0.05, ge=0, lt=1)
    calibration_error_rise: float = Field(0.05, ge=0, lt=1)
    precision_drop: float = Field(0.25, ge=0, lt=1)
    recall_drop: float = Field(0.25, ge=0, lt=1)


class MonitoringThresholds(_Strict):
    """When monitoring between retrains says ``watch`` or ``retrain recommended``
    (``riskmodel monitor``; docs/monitoring.md)."""

    psi: PsiBands = PsiBands()
    p_value: float = Field(0.001, gt=0, lt=0.5)
    min_importance: float = Field(0.01, ge=0, lt=1)
    missing_rise: float = Field(0.05, gt=0, lt=1)
    cohort_change: CohortChange = CohortChange()
    area_change: float = Field(0.25, gt=0)
    contacts_ratio: float = Field(1.5, gt=1)
    outcome_ratio: float = Field(1.5, gt=1)
    performance: PerformanceBars = PerformanceBars()
    bootstrap: int = Field(200, ge=20, le=5000)
    alarms_per_year: float = Field(0.5, gt=0, le=12)
    window_months: int = Field(6, ge=1, le=24)


class FairnessPolicy(_Strict):
    """The whole fairness policy, validated on load.

    Examples
    --------
    >>> from riskmodel.evaluation import load_fairness_policy
    >>> policy = load_fairness_policy()
    >>> policy.metrics[0], policy.tolerance.low, policy.min_count
    ('false_negative_rate', 0.8, 5)
    """

    characteristics: dict[str, Characteristic | None]
    intersections: list[list[str]] = [["ethnicity", "sex"]]
    tolerance: Tolerance = Tolerance()
    min_count: int = Field(5, ge=1, le=100)
    protection: int = Field(3, ge=0, le=99)
    judging: Judging = Judging()
    bootstrap: Bootstrap = Bootstrap()
    metrics: list[Metric] = [
        "false_negative_rate", "selection_rate", "false_positive_rate", "precision",
        "calibration",
    ]
    mitigation: Mitigation = Mitigation()
    monitoring: MonitoringThresholds = MonitoringThresholds()

    @field_validator("characteristics")
    @classmethod
    def _fill(cls, value: dict[str, Characteristic | None]) -> dict[str, Characteristic]:
        if not value:
            raise ValueError("expected at least one characteristic to audit")
        return {name: (c or Characteristic()) for name, c in value.items()}

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one metric")
        if len(set(value)) != len(value):
            raise ValueError(f"expected each metric once, got {value}")
        return value

    @field_validator("intersections")
    @classmethod
    def _intersections(cls, value: list[list[str]], info: ValidationInfo) -> list[list[str]]:
        names = set(info.data.get("characteristics") or ())
        for i, combo in enumerate(value):
            if len(combo) < 2 or len(set(combo)) != len(combo):
                raise ValueError(f"item {i}: expected two or more different characteristics")
            unknown = [c for c in combo if c not in names]
            if unknown:
                raise ValueError(
                    f"item {i}: expected one of the characteristics "
                    f"({', '.join(sorted(names))}), not {unknown[0]!r}"
                )
        return value

    @field_validator("protection")
    @classmethod
    def _protection(cls, value: int, info: ValidationInfo) -> int:
        base = info.data.get("min_count") or 1
        if base > 1 and value > 2 * (base - 1):
            raise ValueError(f"expected at most {2 * (base - 1)}: a count rounded to a "
                             f"multiple of {base} is only known to lie within {base - 1} of "
                             "its published value")
        return value

    @field_validator("mitigation")
    @classmethod
    def _mitigation(cls, value: Mitigation, info: ValidationInfo) -> Mitigation:
        names = set(info.data.get("characteristics") or ())
        if value.characteristic is not None and value.characteristic not in names:
            raise ValueError(
                f"expected 'characteristic' to be one of the characteristics "
                f"({', '.join(sorted(names))}), not {value.characteristic!r}"
            )
        return value

    def column(self, name: str) -> str:
        """The frame column holding characteristic ``name``."""
        c = self.characteristics.get(name)
        return (c.column if c is not None and c.column else None) or name

    def label(self, name: str) -> str:
        """The characteristic's name in the report."""
        c = self.characteristics.get(name)
        return (c.label if c is not None and c.label else None) or name.replace("_", " ")

    def reference(self, name: str) -> str:
        c = self.characteristics.get(name)
        return c.reference if c is not None else "everyone"


def load_fairness_policy(path: str | os.PathLike | None = None) -> FairnessPolicy:
    """Read and validate a fairness policy (YAML).

    Default: the workspace's ``evaluation/fairness.yaml``, else the packaged policy.

    Parameters
    ----------
    path : str or PathLike, optional
        A policy file such as ``evaluation/fairness.yaml``.

    Returns
    -------
    FairnessPolicy

    Raises
    ------
    InputError
        One line naming the file, the key and what was expected.

    Examples
    --------
    >>> from riskmodel.evaluation import load_fairness_policy
    >>> list(load_fairness_policy().characteristics)[:3]
    ['ethnicity', 'sex', 'disability']
    """
    if path is None:
        packaged = Path(str(resources.files("riskmodel.evaluation").joinpath(PACKAGED_POLICY)))
        path = spec_file(f"evaluation/{PACKAGED_POLICY}", packaged)
    return load_spec(Path(path), FairnessPolicy)


def resolve_policy(policy) -> FairnessPolicy:
    """Accept a policy object, a path or None (the packaged default)."""
    if policy is None or isinstance(policy, str | os.PathLike):
        return load_fairness_policy(policy)
    if isinstance(policy, FairnessPolicy):
        return policy
    if isinstance(policy, dict):
        try:
            return FairnessPolicy.model_validate(policy)
        except ValueError as exc:
            raise InputError(f"fairness policy: {' '.join(str(exc).split())[:300]}") from None
    raise InputError(f"fairness policy: expected a path or FairnessPolicy, got {type(policy)}")
