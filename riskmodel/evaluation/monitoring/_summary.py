"""A month's monitoring summary as typed values: what travels from the assessment to the job,
the command line, the demo and the store.

Every part is a frozen dataclass whose fields are in the order its JSON keys are written;
:meth:`Record.to_dict` gives that JSON-ready form (``summary.json``, the month's file in the
model's MLflow record, the report's template), numpy scalars as Python numbers and NaN or an
infinity as None. Values are cleaned the same way when a part is made, so an attribute reads
what the published summary shows. A month stored before (the history, read back from MLflow)
stays in its JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self

# JSON-ready values (NaN as null, numpy scalars as Python, a part as its JSON form)
from riskmodel._core.jsonready import jsonable as clean

#: A field whose None is left out of the JSON (a key written only when there is a value).
OMIT = {"omit": True}
#: A field whose None is written as an empty object (a section with nothing to say).
EMPTY = {"empty": True}


class Record:
    """A part of the summary: a frozen dataclass written as JSON in its fields' order."""

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Self:
        """From its JSON form (keys it has no field for are left out).

        Examples
        --------
        >>> Interval.of({"value": 0.71, "low": 0.65, "high": float("nan")})
        Interval(value=0.71, low=0.65, high=None, hidden=None)
        """
        return cls(**_made(cls, d))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what ``summary.json`` holds for this part)."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit"):
                continue
            out[f.name] = {} if value is None and f.metadata.get("empty") else clean(value)
        return out


def _made(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """The cleaned values of ``d`` for ``cls``'s fields (tuples for lists)."""
    names = {f.name for f in fields(cls)}
    return {k: _frozen(clean(v)) for k, v in d.items() if k in names}


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Interval(Record):
    """A measure with its 95% interval (``hidden`` when too few children to show it)."""

    value: float | None
    low: float | None
    high: float | None
    hidden: bool | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True)
class Reason(Record):
    """One reason for the verdict: its level, the section, the words, the features named."""

    level: str
    section: str
    text: str
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class CohortSize(Record):
    """Children open now against the reference's same calendar month and last month."""

    now: int
    reference: int | str
    last_month: int | None
    change_reference: float | None
    change_last_month: float | None
    level: str
    why: str


@dataclass(frozen=True)
class InputRow(Record):
    """One feature compared with the reference (``input_drift``'s row, without its counts)."""

    feature: str
    words: str
    kind: str
    importance: float
    psi: float | None
    band: str
    test: str
    statistic: float | None
    p: float | None
    mean_reference: float | None
    mean_now: float | None
    new_values: tuple
    level: str
    why: str
    missing_now: float | None
    missing_reference: float | None


@dataclass(frozen=True)
class MixGroup(Record):
    """A group of a characteristic: its share at training and now (or why it is hidden)."""

    group: str
    reference: float
    now: float | str


@dataclass(frozen=True)
class MixRow(Record):
    """One characteristic of the cohort's mix against the reference."""

    characteristic: str
    psi: float | None
    p: float | None
    level: str
    why: str
    groups: tuple[MixGroup, ...]
    new_values: Mapping[str, int | str]

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> MixRow:
        got = _made(cls, d)
        return cls(**{**got, "groups": tuple(MixGroup(**g) for g in got["groups"])})


@dataclass(frozen=True)
class ContactRow(Record):
    """One source's or need's share of the contacts recorded in the month before."""

    by: str
    value: str
    share_reference: float
    share_now: float
    ratio: float
    p: float | None
    features: tuple[str, ...]
    level: str
    why: str


@dataclass(frozen=True)
class BandShare(Record):
    """A risk band's share of the children at training, now and last month."""

    reference: float | None
    now: float | str | None
    last_month: float | str | None


@dataclass(frozen=True)
class CapacityRow(Record):
    """A group's share within capacity at training, last month and now."""

    characteristic: str
    group: str
    reference: float | None
    now: float | None
    level: str
    why: str
    last_month: float | None


@dataclass(frozen=True)
class ScoreDrift(Record):
    """The scores, bands and who is within capacity against the reference and last month."""

    psi: float | None
    mean_reference: float | None
    mean_now: float | None
    counts: tuple[int | None, ...]
    level: str
    why: str
    band: str
    ks: float | None
    p: float | None
    psi_last_month: float | None = field(default=None, metadata=OMIT)
    bands: Mapping[str, BandShare] = field(default_factory=dict)
    band_counts: Mapping[str, int | str] = field(default_factory=dict)
    bands_p: float | None = None
    capacity: tuple[CapacityRow, ...] = ()

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> ScoreDrift:
        got = _made(cls, d)
        return cls(**{**got, "bands": {b: BandShare(**v) for b, v in got["bands"].items()},
                      "capacity": tuple(CapacityRow(**c) for c in got["capacity"])})


@dataclass(frozen=True)
class Early(Record):
    """Outcomes in the first month after last month's list against what its scores expect
    (``observed`` is ``"<5"`` and ``ratio`` and ``p`` None when the count is small)."""

    months: int
    children: int
    observed: int | str
    expected: float | None
    ratio: float | None
    p: float | None
    level: str
    why: str
    list_of: str | None = field(default=None, metadata=OMIT)


@dataclass(frozen=True)
class Check(Record):
    """One measure judged against the promise or a reference estimate (``judge``)."""

    metric: str
    value: float | None
    change: float | None
    p: float | None
    bar: float | None
    smallest: float | None
    short: bool
    text: str

    @classmethod
    def all_of(cls, checks: Sequence[Mapping[str, Any]]
               ) -> tuple[tuple[Check, ...], tuple[str, ...]]:
        """:func:`judge`'s checks, and the words of those that fell short (as an estimate
        and a realised window hold them: ``checks`` and ``short``)."""
        judged = tuple(cls.of(c) for c in checks)
        return judged, tuple(c.text for c in judged if c.short)


@dataclass(frozen=True)
class ReferenceEstimate(Record):
    """The reference period's estimate of a measure (its same calendar month's, or mean)."""

    metric: str
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Estimate(Record):
    """The performance this month's calibrated scores imply (CBPE), judged against the
    reference period's estimate."""

    estimate: bool
    n: int
    auc: Interval
    precision_at_capacity: Interval
    recall_at_capacity: Interval
    base_rate: Interval
    reference: tuple[ReferenceEstimate, ...] = ()
    checks: tuple[Check, ...] = ()
    short: tuple[str, ...] = ()

    @classmethod
    def judged(cls, est: Mapping[str, Any], reference: Sequence[Mapping[str, Any]],
               checks: Sequence[Mapping[str, Any]]) -> Estimate:
        """From :func:`estimate`'s dict, the reference's rows and :func:`judge`'s checks."""
        judged, short = Check.all_of(checks)
        return cls(estimate=bool(est["estimate"]), n=int(est["n"]),
                   **{k: Interval.of(est[k]) for k in ("auc", "precision_at_capacity",
                                                       "recall_at_capacity", "base_rate")},
                   reference=tuple(ReferenceEstimate.of(r) for r in reference),
                   checks=judged, short=short)


@dataclass(frozen=True)
class Realised(Record):
    """Realised performance of the matured lists: published counts and measures."""

    n: int
    positives: int
    flagged: int
    metrics: Mapping[str, Interval]

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Realised:
        """From :func:`realised`'s dict."""
        return cls(n=int(d["n"]), positives=int(d["positives"]), flagged=int(d["flagged"]),
                   metrics={k: Interval.of(m) for k, m in d["metrics"].items()})


@dataclass(frozen=True)
class RealisedWindow(Record):
    """One rolling window of matured lists: overall and by group (the by-group tables in
    the fairness report's shape, :func:`by_group`), judged against the promise."""

    offers: Mapping[str, Any] | None
    first: str
    months: tuple[str, ...]
    in_reference_year: tuple[str, ...]
    overall: Realised
    groups: tuple[Mapping[str, Any], ...]
    checks: tuple[Check, ...] = ()
    short: tuple[str, ...] = ()

    @classmethod
    def of(cls, d: Mapping[str, Any], checks: Sequence[Mapping[str, Any]] = ()) -> RealisedWindow:
        """From the job's window dict and :func:`judge`'s checks of it."""
        judged, short = Check.all_of(checks)
        return cls(offers=clean(d["offers"]), first=d["first"], months=tuple(d["months"]),
                   in_reference_year=tuple(d["in_reference_year"]),
                   overall=Realised.of(d["overall"]), groups=tuple(clean(d["groups"])),
                   checks=judged, short=short)


@dataclass(frozen=True)
class Alpha(Record):
    """The level every test of one monthly run counts at (:func:`run_alpha`)."""

    per_run: float
    tests: int
    alpha: float
    fairness_tests: int


@dataclass(frozen=True)
class Moved(Record):
    """How many features moved: in the watch band, above it, and counted in the verdict."""

    watch: int
    act: int
    counted: int


@dataclass(frozen=True)
class Assessment(Record):
    """One month against the reference and last month: the verdict with its reasons and
    every comparison (:func:`assess_month`)."""

    verdict: str
    reasons: tuple[Reason, ...]
    cohort: CohortSize
    inputs: tuple[InputRow, ...]
    mix: tuple[MixRow, ...]
    contacts: tuple[ContactRow, ...]
    scores: ScoreDrift
    early: Early | None = field(metadata=EMPTY)
    estimate: Estimate
    realised: Mapping[str, RealisedWindow]
    alpha: Alpha
    month_compared: str | None
    notes: tuple[str, ...]
    moved: Moved


@dataclass(frozen=True)
class ModelRef(Record):
    """The registered model a month was monitored with."""

    uri: str
    asked: str
    name: str
    version: str | int
    run_id: str
    outcome: str
    horizon_months: int


@dataclass(frozen=True)
class ReferenceRef(Record):
    """The training reference compared with (its size rounded: no exact count published)."""

    source: str | None
    as_of: tuple[str, ...] | None
    min_count: int | None
    n: int | str


@dataclass(frozen=True, kw_only=True)
class MonitorSummary(Assessment):
    """A month's monitoring summary: the assessment, with what it is of (the date, the
    model, the reference, the promise, the policy). ``to_dict()`` is ``summary.json``."""

    as_of: str
    model: ModelRef
    reference: ReferenceRef
    promise: tuple[Mapping[str, Any], ...]
    thresholds: Mapping[str, Any]
    tolerance: tuple[float, float]
    policy: str
    seconds: float

    @classmethod
    def framed(cls, assessment: Assessment, *, as_of: str, model: ModelRef,
               reference: ReferenceRef, promise: Sequence[Mapping[str, Any]],
               thresholds: Mapping[str, Any], tolerance: tuple[float, float], policy: str,
               seconds: float) -> MonitorSummary:
        """The ``assessment`` with what it is of (every field :class:`Assessment` lacks)."""
        own = {f.name: getattr(assessment, f.name) for f in fields(Assessment)}
        return cls(**own, as_of=as_of, model=model, reference=reference,
                   promise=tuple(promise), thresholds=thresholds, tolerance=tolerance,
                   policy=policy, seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``: the date and model, the assessment, then the frame."""
        d = super().to_dict()
        first = {k: d.pop(k) for k in ("as_of", "model")}
        return {**first, **d}
