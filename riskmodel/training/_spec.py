"""Training specs: outcome, schedule, candidates, splits, capacity and pass thresholds.

A spec is written *before* a run and validated on load, so the thresholds a model is judged
against cannot be tuned after seeing its results.
"""

from __future__ import annotations

import datetime as dt
import os
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from riskmodel._core import capacity
from riskmodel._core.errors import InputError
from riskmodel._core.spec import load_spec
from riskmodel._core.workspace import spec_file
from riskmodel.evaluation.fairness import DEFAULT_LEAD, RATE_MEASURES
from riskmodel.features import OUTCOMES
from riskmodel.models import KINDS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Schedule(_Strict):
    """Quarterly (or other) as-of dates, from the data unless the spec sets them.

    ``start`` defaults to the first date at which every feature window is observed (the
    first record plus ``warm_up_months``, by default the feature spec's longest window), on
    the calendar grid of ``every_months`` (1 January, April, July, October when quarterly).
    ``end`` defaults to the last date whose outcome window, plus ``recording_lag_days`` for
    the outcomes to be recorded, has closed by the extract date.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    every_months: int = Field(3, ge=1, le=12)
    warm_up_months: int | None = Field(None, ge=0, le=120)
    recording_lag_days: int = Field(30, ge=0, le=365)


class Splits(_Strict):
    """Rolling-origin folds over the as-of dates, then a final period kept for the report.

    The last ``holdout`` as-of dates are the final out-of-time period: no choice and no
    tuning looks at them. The ``n_folds`` dates before them are the selection folds: the
    candidate is chosen on them (least regret against the best candidate date by date).
    """

    n_folds: int = Field(3, ge=3, le=12)
    holdout: int = Field(4, ge=0, le=8)


class Capacity(_Strict):
    """How many children a panel can take: the top percent overall, or the top N per locality."""

    top_percent: float | None = Field(None, gt=0, le=100)
    top_n_per_locality: int | None = Field(None, ge=1)

    @field_validator("top_percent", mode="before")
    @classmethod
    def _percent_sign(cls, value):
        # "10%" as on the command line (--top 10%) means the same as 10.
        if isinstance(value, str) and value.strip().endswith("%"):
            return value.strip()[:-1].strip()
        return value

    @model_validator(mode="after")
    def _one(self):
        if (self.top_percent is None) == (self.top_n_per_locality is None):
            raise ValueError("give exactly one of top_percent or top_n_per_locality")
        return self

    def describe(self) -> str:
        return capacity.Capacity.from_spec(self).describe()


class Candidate(_Strict):
    name: str
    kind: str
    params: dict[str, float | int | str] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        # The kinds are the models package's table, so a new model kind needs no edit here.
        if value not in KINDS:
            names = [repr(k) for k in KINDS]
            expected = ", ".join(names[:-1]) + f" or {names[-1]}"
            raise PydanticCustomError("literal_error", "Input should be {expected}",
                                      {"expected": expected})
        return value


class Thresholds(_Strict):
    """Pass thresholds, judged on the final period: a ``min_`` bar on the low end of the
    metric's 95% interval, a ``max_`` bar on its high end (families resampled, see
    docs/training.md). ``observed_expected`` is the observed rate over the mean predicted
    probability (1 = calibrated; 0.67 = scores 1.5 times too high), overall and among the
    children in capacity; ``calibration_slope`` is the slope of the outcome on the
    score's log-odds (1 = the spread of the scores is right). ``beat`` names a candidate
    (the simple rule) whose AUC on the same rows the candidate must exceed: the low end of
    the paired interval of the difference above 0."""

    min_auc: float | None = Field(0.7, ge=0, le=1)
    min_average_precision: float | None = Field(None, ge=0, le=1)
    min_precision_at_capacity: float | None = Field(None, ge=0, le=1)
    min_lift_at_capacity: float | None = Field(None, ge=0)
    min_recall_at_capacity: float | None = Field(None, ge=0, le=1)
    max_calibration_error: float | None = Field(None, ge=0, le=1)
    max_brier: float | None = Field(None, ge=0, le=1)
    min_observed_expected: float | None = Field(None, gt=0)
    max_observed_expected: float | None = Field(None, gt=0)
    min_observed_expected_at_capacity: float | None = Field(None, gt=0)
    max_observed_expected_at_capacity: float | None = Field(None, gt=0)
    min_calibration_slope: float | None = Field(None)
    max_calibration_slope: float | None = Field(None)
    beat: str | None = None


class FairnessBars(_Strict):
    """Fairness bars a candidate must pass to be registered, judged like the fairness report:
    a finding is *flagged* when a group's ratio to everyone lies outside the fairness
    policy's tolerance with the evidence surviving the false-flag control (Benjamini-Hochberg).
    A candidate fails when more than ``max_flags`` findings flag a group as disadvantaged."""

    characteristics: list[str] = Field(default_factory=lambda: ["ethnicity", "sex",
                                                                "disability"], min_length=1)
    # Rate measures of the fairness registry; by default its first three lead rates.
    measures: list[str] = Field(
        default_factory=lambda: [m for m in DEFAULT_LEAD if m in RATE_MEASURES][:3],
        min_length=1)
    max_flags: int = Field(0, ge=0)

    @field_validator("measures")
    @classmethod
    def _known_measures(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in RATE_MEASURES]
        if unknown:
            raise ValueError(f"unknown measure {unknown[0]!r}: expected one of "
                             f"{', '.join(RATE_MEASURES)}")
        return v


class DecisionsChoice(_Strict):
    """What training does with children the panels offered help (docs/decisions.md).

    Help changes the outcome a model learns from. A training row (a child at an as-of date
    ``t``) counts as *offered help* when a decision ``offered`` was recorded for the child on
    a list dated ``s`` with ``t - horizon < s < t + horizon``: the months after the offer
    (``s`` to ``s + horizon``, when help is taken to act) overlap the row's outcome window
    (``t`` to ``t + horizon``). ``source`` is a folder searched (with its subfolders) for
    the decisions ``riskmodel decisions add`` stored beside the scores, or one such file.

    ``offered``:

    - ``keep``: the rows stay, with the outcomes they had;
    - ``drop``: the rows are removed before fitting and before judging (the model learns
      and is judged on children without help: the outcome the list is meant to predict);
    - ``flag``: the rows stay and are fitted as with ``keep``; the matrix gains the column
      ``offered_help`` (1 or 0), never a feature (the model does not see it; scoring does
      not need it), used for one thing only: the out-of-time metrics that judge a
      candidate (the leaderboard and the pass bars) are measured on rows without help.
    """

    source: str
    offered: Literal["keep", "drop", "flag"] = "drop"


class TrainingSpec(_Strict):
    """A training spec; see ``training/escalation.yaml`` for a commented example."""

    outcome: Literal["escalation", "disengagement"]
    horizon_months: int = Field(6, ge=1, le=36)
    features: str | None = None
    as_of: Schedule
    splits: Splits = Splits()
    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    calibration_folds: int = Field(2, ge=2, le=10)
    #: The calibrator learns from out-of-time predictions of the latest this many training
    #: dates (by a model fitted on the dates known before them); null (the default): from
    #: family-grouped folds pooled over every date (``calibration_folds``). Measured worse on
    #: the synthetic councils (docs/training.md, "Out-of-time calibration").
    calibration_dates: int | None = Field(None, ge=1, le=40)
    capacity: Capacity = Capacity(top_percent=10)
    candidates: list[Candidate] = Field(min_length=1)
    thresholds: Thresholds = Thresholds()
    fairness: FairnessBars | None = None
    decisions: DecisionsChoice | None = None
    select_by: Literal["auc", "average_precision", "precision_at_capacity"] = "auc"
    bootstrap: int = Field(200, ge=20, le=5000)
    seed: int = 0

    #: The file the spec was read from (for errors that name it); "training spec" if none.
    _source: str = PrivateAttr(default="training spec")

    @model_validator(mode="after")
    def _unique_names(self):
        names = [c.name for c in self.candidates]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"candidate names must be unique ({', '.join(sorted(dup))})")
        beat = self.thresholds.beat
        if beat is not None and beat not in names:
            raise ValueError(f"thresholds.beat: {beat!r} is not a candidate "
                             f"({', '.join(names)})")
        return self

    @property
    def source(self) -> str:
        """Where the spec came from, for errors: its file, else ``training spec``."""
        return self._source


def packaged_training_spec(outcome: str) -> Path:
    """The training spec packaged with riskmodel for ``outcome``."""
    return Path(str(resources.files("riskmodel.training") / "specs" / f"{outcome}.yaml"))


def load_training_spec(path: str | os.PathLike | None = None, *,
                       outcome: str = "escalation") -> TrainingSpec:
    """Load and validate a training spec.

    Default: the workspace's ``training/<outcome>.yaml``, else the packaged spec.

    Examples
    --------
    >>> spec = load_training_spec(outcome="escalation")
    >>> spec.outcome, spec.horizon_months
    ('escalation', 6)
    """
    if path is None:
        if outcome not in OUTCOMES:
            raise InputError(f"--outcome: unknown outcome {outcome!r} ({', '.join(OUTCOMES)})")
        path = spec_file(f"training/{outcome}.yaml", packaged_training_spec(outcome))
    spec = load_spec(Path(str(path)), TrainingSpec)
    spec._source = str(path)
    return spec
