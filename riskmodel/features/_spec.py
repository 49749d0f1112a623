"""The feature set spec (``features/early_help.yaml``): windows, builders, imputation rules."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from riskmodel._core.spec import load_spec
from riskmodel._core.workspace import spec_file
from riskmodel.data import PROTECTED
from riskmodel.features._windows import window_months

PACKAGED_SPEC = "early_help.yaml"


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


class AceSpec(_Strict):
    """ACE flags per factor, the count of distinct ACEs, its band and the toxic-trio count."""

    enabled: bool = True
    windows: Windows = ["all"]


class ContactsSpec(_Strict):
    """Contacts by source, need, MASH RAG and outcome per window; repeats; days since last."""

    enabled: bool = True
    windows: Windows = ["3m", "12m", "36m", "all"]
    repeat_within_months: int = Field(12, ge=1, le=120)


class EpisodesSpec(_Strict):
    """Earlier early-help episodes and closures, social care, and the episode open at t."""

    enabled: bool = True
    windows: Windows = ["12m", "36m", "all"]
    current_contacts_window: Window = "12m"


class FamilySpec(_Strict):
    """Siblings (same family_id) known before t, their contacts and escalations."""

    enabled: bool = True
    windows: Windows = ["12m", "all"]


class DemandSpec(_Strict):
    """The locality's contact rate and step-up rate, and the child's IMD decile."""

    enabled: bool = True
    windows: Windows = ["12m"]


class ChildSpec(_Strict):
    """Age at the as-of date; protected characteristics only when listed here."""

    enabled: bool = True
    protected_features: list[Literal[PROTECTED]] = []  # type: ignore[valid-type]


class BuildersSpec(_Strict):
    ace: AceSpec = AceSpec()
    contacts: ContactsSpec = ContactsSpec()
    episodes: EpisodesSpec = EpisodesSpec()
    family: FamilySpec = FamilySpec()
    demand: DemandSpec = DemandSpec()
    child: ChildSpec = ChildSpec()


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
        return 0.0 if self.rule == "zero" else float(self.value)

    def text(self) -> str:
        if self.rule == "zero":
            return "zero: 0 when missing"
        if self.rule == "constant":
            v = self.value
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


class FeatureSpec(_Strict):
    """A feature set: which builders run, over which windows, and how gaps are filled.

    Examples
    --------
    >>> from riskmodel.features import load_feature_spec
    >>> spec = load_feature_spec()
    >>> spec.builders.contacts.windows
    ['3m', '12m', '36m', 'all']
    """

    name: str
    description: str = ""
    builders: BuildersSpec = BuildersSpec()
    imputation: ImputationSpec = ImputationSpec()
    knowledge: KnowledgeSpec = KnowledgeSpec()

    def windows(self) -> list[str]:
        """Every as-of window any enabled builder uses (months before t)."""
        b = self.builders
        found = set()
        for part in (b.ace, b.contacts, b.episodes, b.family, b.demand):
            if part.enabled:
                found.update(part.windows)
        return sorted((w for w in found if w != "all"), key=window_months)


def packaged_spec_path() -> Path:
    """The copy of ``features/early_help.yaml`` shipped inside the package."""
    return Path(str(resources.files("riskmodel.features").joinpath(PACKAGED_SPEC)))


def load_feature_spec(path: str | os.PathLike | None = None) -> FeatureSpec:
    """Read and check a feature set spec.

    Parameters
    ----------
    path : str or path-like, optional
        A YAML file; by default the workspace's ``features/early_help.yaml``, else the
        packaged one.

    Returns
    -------
    FeatureSpec

    Raises
    ------
    InputError
        Naming the file, the key and what was expected, for an unknown key or a wrong type.

    Examples
    --------
    >>> from riskmodel.features import load_feature_spec
    >>> load_feature_spec().builders.episodes.current_contacts_window
    '12m'
    """
    if path is None:
        path = spec_file(f"features/{PACKAGED_SPEC}", packaged_spec_path())
    return load_spec(path, FeatureSpec)


def full_spec(extra_window: str = "all") -> FeatureSpec:
    """Every builder on, default windows plus ``extra_window``: for looking names up."""
    base = load_spec(packaged_spec_path(), FeatureSpec, note=False)  # a lookup, not a setting
    b = base.builders

    def more(part):
        ws = list(dict.fromkeys([*part.windows, extra_window]))
        return part.model_copy(update={"enabled": True, "windows": ws})

    episodes = more(b.episodes).model_copy(update={"current_contacts_window": extra_window})
    return base.model_copy(update={"builders": BuildersSpec(
        ace=more(b.ace), contacts=more(b.contacts), episodes=episodes,
        family=more(b.family), demand=more(b.demand),
        child=ChildSpec(protected_features=list(PROTECTED)),
    )})
