"""The parts of the feature spec that the session and the builders read.

The windows' types, the base of every builder's own settings (:class:`BuilderConfig`: each
builder declares its class next to its query), how a missing value is imputed and when a
value is known. ``features/_spec.py`` assembles them into the :class:`FeatureSpec`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from riskmodel.features._windows import window_months

__all__ = [
    "BuilderConfig", "CurrentValues", "ImputationSpec", "KnowledgeSpec", "LagDays", "Window",
    "Windows",
]


def _check_window(value: str) -> str:
    # Messages say what was expected; the loader adds what it got.
    try:
        n = window_months(value)
    except ValueError:
        raise ValueError("expected a window like '3m', '12m' or 'all'") from None
    if n is not None and not 1 <= n <= 240:
        raise ValueError("expected a window of 1 to 240 months, like '3m', or 'all'")
    return value


def _check_windows(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("expected at least one window")
    if len(set(values)) != len(values):
        raise ValueError("expected each window once")
    return values


Window = Annotated[str, AfterValidator(_check_window)]
Windows = Annotated[list[Window], AfterValidator(_check_windows)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuilderConfig(_Strict):
    """A builder's settings in the spec (``builders.<prefix>``): on or off, and its own keys.

    A builder subclasses this with its keys (``windows``, ...) and names it ``Config``.
    """

    enabled: bool = True

    def for_lookup(self, extra_window: str) -> Self:
        """These settings switched on and widened to make every name a spec could (plus
        ``extra_window``), for looking a feature's words up."""
        update: dict = {"enabled": True}
        windows = getattr(self, "windows", None)
        if windows is not None:
            update["windows"] = list(dict.fromkeys([*windows, extra_window]))
        return self.model_copy(update=update)


class Imputation(_Strict):
    """How a missing raw value is filled: 0, a constant, or the council-wide value."""

    rule: Literal["zero", "constant", "council"]
    value: float | None = None

    @model_validator(mode="after")
    def _value_matches_rule(self):
        if self.rule == "constant" and self.value is None:
            raise ValueError("rule 'constant' needs a number in 'value'")
        if self.rule != "constant" and self.value is not None:
            raise ValueError(f"rule '{self.rule}' takes no 'value' (only 'constant' does)")
        return self

    def fill(self) -> float:
        """The fill value for rules that have one (zero, constant)."""
        if self.rule == "zero":
            return 0.0
        if self.value is None:  # 'council' has no single fill value
            raise ValueError(f"rule '{self.rule}' has no fill value")
        return float(self.value)

    def text(self) -> str:
        if self.rule == "zero":
            return "zero: 0 when missing"
        v = self.value
        if self.rule == "constant" and v is not None:  # the validator makes it a number
            return f"constant: {int(v) if float(v).is_integer() else v} when missing"
        return "council: the council-wide value at the same as-of date (0 if none)"


def _no_council(imp: Imputation) -> Imputation:
    if imp.rule == "council":
        raise ValueError("rule 'council' applies only to locality_rate")
    return imp


Plain = Annotated[Imputation, AfterValidator(_no_council)]


class ImputationSpec(_Strict):
    """One rule per kind of value that can be missing (each also gets a missing flag)."""

    days_since: Plain = Imputation(rule="constant", value=3650)
    triage: Plain = Imputation(rule="constant", value=0)
    imd_decile: Plain = Imputation(rule="constant", value=5.5)
    locality_rate: Imputation = Imputation(rule="council")
    age: Plain = Imputation(rule="constant", value=8)


Lag = Annotated[int, Field(ge=0, le=3650)]


class LagDays(_Strict):
    """Days after the date it carries that a value is taken as known, without its own date.

    Applies to a row whose extract has no recorded date for the value
    (``contacts.mash_rag_recorded_date``, ``contacts.outcome_recorded_date``,
    ``episodes.start_recorded_date``, ``episodes.triage_start_recorded_date``).
    """

    mash_rag: Lag = 14       # after the contact's recorded_date
    outcome: Lag = 14        # after the contact's recorded_date
    episode_start: Lag = 14  # after the episode's start_date (a backdated episode)
    triage_start: Lag = 14   # after the episode's start_date (never before the start is known)


def _yaml_off(value):
    # YAML reads a bare `off` as false: a council writing `locality: off` means "off".
    return "off" if value is False else value


Current = Annotated[Literal["off", "current"], BeforeValidator(_yaml_off)]


class CurrentValues(_Strict):
    """Without ``children_history``, what to do with an attribute held only as at the extract.

    ``off`` switches off the features that read it; ``current`` uses today's value at every
    as-of date (a leak when it changed because of what happened next: the model card says so).
    """

    locality: Current = "off"
    imd_decile: Current = "off"
    family_id: Current = "current"


class KnowledgeSpec(_Strict):
    """When a value that can be filled in or changed later is taken as known."""

    lag_days: LagDays = LagDays()
    current_values: CurrentValues = CurrentValues()


