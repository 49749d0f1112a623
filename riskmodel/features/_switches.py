"""Features switched off because the extract does not hold the input they read.

Each feature reads some optional inputs (``riskmodel.data._inputs.INPUTS``; its builder's
``needs`` say which): the ACE features read ``ace_factors``, the triage feature
``episodes.triage_start``, and so on. When
an extract holds none of an input, its features are left out of the matrix (a model is never
trained on a column of imputed nothing) and the run says so once, as a warning; training
records them in the model's metadata so the model card shows them.
"""

from __future__ import annotations

import re
import warnings
from functools import cache

from riskmodel._core.errors import InputError, InputWarning
from riskmodel.data import INPUTS, missing_inputs
from riskmodel.features._builder_base import BUILDERS
from riskmodel.features._dictionary import FeatureDef


@cache
def _rules(needs: tuple[tuple[str, tuple[str, ...]], ...],
           ) -> tuple[tuple[re.Pattern, tuple[str, ...]], ...]:
    return tuple((re.compile(p), inputs) for p, inputs in needs)


def feature_needs(d: FeatureDef) -> tuple[str, ...]:
    """The optional inputs a feature reads (none for most: they need only required columns).

    Examples
    --------
    >>> from riskmodel.features._dictionary import FeatureDef
    >>> feature_needs(FeatureDef("ace_total_all_count", "", "ace", "all", "count"))
    ('ace_factors',)
    >>> feature_needs(FeatureDef("contacts_total_12m_count", "", "contacts", "12m", "count"))
    ()
    """
    name = d.flag_of or d.name
    builder = BUILDERS.get(d.builder)
    for pattern, needs in _rules(builder.needs) if builder is not None else ():
        if pattern.search(name):
            return needs
    return ()


def switched_off(defs: list[FeatureDef], tables, before=None,
                 knowledge=None) -> dict[str, list[str]]:
    """For each optional input the tables do not hold, the features among ``defs`` it stops.

    Returns ``{input: [feature names]}`` (inputs in the order of ``INPUTS``, only those that
    stop at least one feature). ``before``: only values known before this date count (the
    last as-of date of a build), so later rows never change a build's feature set.
    ``knowledge``: the feature spec's :class:`~riskmodel.features._spec.KnowledgeSpec` (its
    lags, and which attributes held only as at the extract are off).
    """
    lags = current = None
    if knowledge is not None:
        lags, current = knowledge.lag_days.model_dump(), knowledge.current_values.model_dump()
    missing = missing_inputs(tables, before=before, lags=lags, current=current)
    out: dict[str, list[str]] = {}
    for d in defs:
        for need in feature_needs(d):
            if need in missing:
                out.setdefault(need, []).append(d.name)
                break
    return {k: out[k] for k in INPUTS if k in out}


def summary(off: dict[str, list[str]]) -> str:
    """One line: how many features each missing input switched off.

    Examples
    --------
    >>> summary({"ace_factors": ["a", "b"], "episodes.triage_start": ["t"]})
    'features switched off because the extract does not hold their input: 2 for ACE factors \
(the ace_factors table), 1 for triage levels (episodes.triage_start) (3 in all; see the model \
card or docs/input-contract.md)'
    """
    parts = [f"{len(v)} for {INPUTS[k][0]}" for k, v in off.items()]
    total = sum(len(v) for v in off.values())
    dated = [k.split(".")[1] for k in off if k.startswith("children_history.")]
    why = (f"; {', '.join(dated)} held only as at the extract: see docs/knowledge-dates.md"
           if dated else "")
    return ("features switched off because the extract does not hold their input: "
            f"{', '.join(parts)} ({total} in all; see the model card or docs/input-contract.md"
            f"{why})")


def drop_switched_off(defs: list[FeatureDef], tables, before=None,
                      knowledge=None) -> list[FeatureDef]:
    """``defs`` without the features whose input is missing; warn once, naming the inputs."""
    off = switched_off(defs, tables, before, knowledge)
    if not off:
        return defs
    warnings.warn(InputWarning(summary(off)), stacklevel=3)
    gone = {n for names in off.values() for n in names}
    return [d for d in defs if d.name not in gone]


def check_outcome_inputs(outcome: str, tables) -> None:
    """Refuse an outcome the extract cannot label (disengagement needs closure reasons)."""
    if outcome == "disengagement" and "episodes.closure_reason" in missing_inputs(tables):
        raise InputError(
            "episodes.closure_reason: empty on every early-help episode, so the disengagement "
            "outcome cannot be labelled (Ofsted Annex A holds no early-help closure reasons); "
            "train the escalation outcome, or add closure reasons to the extract")
