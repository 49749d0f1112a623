"""The fairness measures: ONE registry, from which everything else is generated.

Each :class:`Measure` is one definition: its name, how it is computed (from the four counts
of a group's confusion table, or a kernel measure of the scores), which way is harm, its words
(column heading, short name, glossary, the finding's sentence, what to review) and its number
format. The policy's allowed ``metrics``, the groups and ratios tables, the findings and their
sentences, the summary, the report's columns, legend and glossary all read this registry.

Adding a measure is one entry here plus its tests: see "Where do I add … a fairness measure"
in ``docs/architecture.md`` (``false_discovery_rate`` was added that way).

Examples
--------
>>> c = Counts(children=np.array([100.0]), needed_help=np.array([20.0]),
...            did_not_need_help=np.array([80.0]), flagged=np.array([10.0]),
...            hits=np.array([6.0]), missed=np.array([14.0]), false_positives=np.array([4.0]))
>>> k, d = MEASURES["false_discovery_rate"].rate(c)
>>> float(k[0] / d[0])
0.4
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

RowIndex = int | slice | np.ndarray
CELLS = ("children", "needed_help", "did_not_need_help", "flagged", "hits", "missed",
         "false_positives")


@dataclass(frozen=True)
class Counts:
    """The cells of a confusion table per row (arrays), in the disclosure module's words:
    children, who needed help or did not, who were flagged, and hits, missed and false
    positives."""

    children: np.ndarray
    needed_help: np.ndarray
    did_not_need_help: np.ndarray
    flagged: np.ndarray
    hits: np.ndarray
    missed: np.ndarray
    false_positives: np.ndarray

    @classmethod
    def published(cls, pub: Any, row: RowIndex = slice(None), *, after: bool = False
                  ) -> Counts:
        """The published (protected) cells of ``row`` (after a mitigation, with ``after``).

        A cell the published counts do not hold on their own is the difference of two that
        they do (missed = needed help - hits)."""
        def cell(name: str, otherwise: tuple[str, str] | None = None) -> np.ndarray:
            v = getattr(pub, name + ("2" if after and name in ("flag", "tp", "miss", "fp")
                                     else ""), None)
            if v is None and otherwise is not None:
                return cell(otherwise[0]) - cell(otherwise[1])
            return np.asarray(v, float)[row]

        return cls(cell("n"), cell("pos"), cell("neg", ("n", "pos")), cell("flag"), cell("tp"),
                   cell("miss", ("pos", "tp")), cell("fp", ("flag", "tp")))

    def rest(self, row: RowIndex) -> Counts:
        """Everyone but ``row``: each cell of row 0 (everyone) less the group's."""
        return Counts(*(np.maximum(np.asarray(getattr(self, a), float)[0]
                                   - np.asarray(getattr(self, a), float)[row], 0)
                        for a in CELLS))


@dataclass(frozen=True)
class Measure:
    """One fairness measure (see the module's notes).

    ``parts`` names the (numerator, denominator) cells of :class:`Counts` for a rate; ``score``
    names the metrics kernel's measure of the scores otherwise. ``harm`` is +1 when a higher
    value disadvantages the group. ``heading``, ``explain`` and ``clause`` are formatted with
    the report's words: ``{s}``/``{S}`` the subjects, ``{pos}``/``{neg}`` the outcome, ``{grp}``
    the group, ``{ref}`` its reference, ``{r}`` the ratio, ``{src}`` a contact source.
    """

    name: str
    harm: int
    short: str
    heading: str
    explain: str
    clause: str
    review: str
    parts: tuple[str, str] | None = None
    score: str | None = None
    digits: int = 2
    lead: int = 0              # position among the policy's default lead measures (0: not)
    in_groups_table: bool = True
    in_mitigation: bool = False
    probabilities: bool = False   # needs scores that are probabilities
    against_one: bool = False     # compared with 1 (predicted), not with a reference group
    policy: bool = True           # a policy may lead with it
    referral: bool = False        # a front-door measure (computed by the referral audit)
    equalise: str | None = None   # a mitigation can equalise it: fairlearn's constraint

    def rate(self, counts: Counts) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) of the rate, clipped so no part exceeds its whole."""
        if self.parts is None:
            raise ValueError(f"{self.name} is not a rate of two counts")
        k, d = (getattr(counts, c) for c in self.parts)
        d = np.maximum(np.asarray(d, float), 0)
        return np.clip(np.asarray(k, float), 0, d), d


_REGISTRY = (
    Measure("base_rate", 1, "Base rate", "Share who {pos}",
            "The share of {s} in the group who {pos}.",
            "{S} in {grp} {pos} {r} times as often as {ref}", "needing help more often",
            parts=("needed_help", "children")),
    Measure("selection_rate", 1, "Flagged", "Share flagged",
            "The share of {s} in the group the rule flagged.",
            "{S} in {grp} were flagged {r} times as often as {ref}", "flagged more often",
            parts=("flagged", "children"), lead=2, in_mitigation=True,
            equalise="demographic_parity"),
    Measure("true_positive_rate", -1, "Found", "Found (of those who {pos})",
            "Of the {s} who {pos}, the share the rule flagged (recall).",
            "{S} in {grp} who {pos} were found {r} times as often as {ref}", "found less often",
            parts=("hits", "needed_help"), in_groups_table=False),
    Measure("false_negative_rate", 1, "Missed", "Missed (of those who {pos})",
            "Of the {s} who {pos}, the share the rule did not flag (missed). Early help is an "
            "offer of support, so this is the harm the policy equalises first.",
            "{S} in {grp} who {pos} were missed {r} times as often as {ref}",
            "missed more often", parts=("missed", "needed_help"), lead=1,
            in_mitigation=True, equalise="true_positive_rate_parity"),
    Measure("false_positive_rate", 1, "False positives", "Flagged (of those who {neg})",
            "Of the {s} who {neg}, the share the rule flagged anyway.",
            "{S} in {grp} who {neg} were flagged {r} times as often as {ref}",
            "flagged without need more often", parts=("false_positives", "did_not_need_help"),
            lead=3, in_mitigation=True),
    Measure("precision", -1, "Precision", "Precision (flagged who {pos})",
            "Of the {s} flagged, the share who {pos}.",
            "Of the {s} flagged in {grp}, the share who {pos} was {r} times that of {ref}",
            "lower precision", parts=("hits", "flagged"), lead=4, in_mitigation=True),
    Measure("false_discovery_rate", 1, "Flagged without need",
            "Flagged who {neg} (of those flagged)",
            "Of the {s} flagged, the share who {neg} (1 - precision).",
            "Of the {s} flagged in {grp}, the share who {neg} was {r} times that of {ref}",
            "flagged without need more often (of those flagged)",
            parts=("false_positives", "flagged"), in_groups_table=False),
    Measure("auc", -1, "AUC", "Ranking quality (AUC)",
            "How well the score ranks {s} who {pos} above those who did not, within the group "
            "(0.5 = no better than chance, 1 = perfect).",
            "The score ranked {s} in {grp} {r} times as well (AUC) as {ref}", "ranked less well",
            score="auc"),
    Measure("calibration", 1, "Observed / predicted", "Observed / predicted",
            "The number who {pos} divided by the number the scores predicted (1 = the scores "
            "are right on average for the group; above 1 = they under-predict).",
            "For {s} in {grp}, the number who {pos} was {r} times the number the scores "
            "predicted", "needs under-estimated", score="observed_over_expected", lead=5,
            probabilities=True, against_one=True),
    Measure("calibration_error", 1, "Calibration error", "Calibration error",
            "The average gap between predicted and observed rates across ten score bands "
            "within the group.", "", "", score="calibration_error", digits=3,
            in_groups_table=False, probabilities=True, policy=False),
    Measure("contact_rate", 1, "Referred (contacts per child)", "Contacts per child",
            "Contacts about {s} in the group per child a year.",
            "{S} in {grp} were the subject of contacts {src}{r} times as often as {ref}",
            "referred more often", policy=False, referral=True, in_groups_table=False),
    Measure("stepped_up", -1, "Contacts that led to help", "Contacts that led to help",
            "The share of contacts about {s} in the group that led to early help or social "
            "care.", "Contacts {src}about {s} in {grp} led to early help or social care {r} "
            "times as often as {ref}", "referrals leading to help less often", policy=False,
            referral=True, in_groups_table=False),
)
MEASURES: dict[str, Measure] = {m.name: m for m in _REGISTRY}

# Generated views of the registry.
RATE_MEASURES = tuple(m.name for m in _REGISTRY if m.parts is not None)
SCORE_MEASURES = tuple(m.name for m in _REGISTRY if m.score is not None)
POLICY_MEASURES = tuple(m.name for m in _REGISTRY if m.policy)
DEFAULT_LEAD = tuple(m.name for m in sorted(_REGISTRY, key=lambda m: m.lead) if m.lead)
MITIGATION_MEASURES = tuple(m.name for m in _REGISTRY if m.in_mitigation)
EQUALISABLE = tuple(m.name for m in sorted(_REGISTRY, key=lambda m: m.lead) if m.equalise)
HARM = {m.name: m.harm for m in _REGISTRY}


def headings(pos: str, neg: str) -> dict[str, str]:
    """Each measure's column heading in the report's words."""
    return {m.name: m.heading.format(pos=pos, neg=neg) for m in _REGISTRY}


def group_columns(probabilities: bool) -> list[Measure]:
    """The measures the groups table shows, in order (rates, then scores)."""
    return [m for m in _REGISTRY if m.in_groups_table and (probabilities or not m.probabilities)]
