"""Planted referral bias: parsing ``--referral-bias`` and adding the spurious contacts.

A bias ``column=value:factor`` multiplies the police and school contacts of the children in
that group by about ``factor`` with spurious copies drawn from a stream of their own. The
copies never reach the front door or any hazard, so children, ACEs, episodes and the truth
are the same, byte for byte, with or without bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import riskmodel.data.synth._params as P
from riskmodel._core.errors import InputError
from riskmodel.data._contract import CONTACT_OUTCOMES, DISABILITY, ETHNICITY, SEX, SOURCES
from riskmodel.data.synth._dates import _ADULT, _PREBIRTH

_BIAS_COLUMNS = {"ethnicity": ETHNICITY, "sex": SEX, "disability": DISABILITY}
_BIAS_SOURCES = ("police", "school")


@dataclass(frozen=True)
class _Bias:
    column: str
    value: str
    factor: float


def split_group_factor(spec) -> tuple[str, str, str, float, bool]:
    """Split ``column=value:factor`` into its parts: (text, column, value, factor, well formed).

    The factor is NaN when it is missing or not a number; each caller checks its own range.

    Examples
    --------
    >>> split_group_factor(" ethnicity=black:2 ")
    ('ethnicity=black:2', 'ethnicity', 'black', 2.0, True)
    >>> split_group_factor("ethnicity:2")[4]
    False
    """
    text = str(spec).strip()
    head, sep, factor = text.rpartition(":")
    column, eq, value = head.partition("=")
    try:
        f = float(factor) if sep else float("nan")
    except ValueError:
        f = float("nan")
    return text, column.strip(), value.strip(), f, bool(sep and eq)


def parse_referral_bias(specs) -> tuple[_Bias, ...]:
    """Parse ``column=value:factor`` strings; raise InputError naming the option."""
    if specs is None:
        return ()
    if isinstance(specs, str):
        specs = [specs]
    out = []
    for spec in specs:
        text, column, value, f, well_formed = split_group_factor(spec)
        if not well_formed or column not in _BIAS_COLUMNS:
            raise InputError(
                f"--referral-bias: '{text}' is not column=value:factor with column one of "
                f"{', '.join(_BIAS_COLUMNS)} (e.g. ethnicity=black:2.0)")
        if value not in _BIAS_COLUMNS[column]:
            raise InputError(f"--referral-bias: '{text}': {column} has no value '{value}' "
                             f"(one of {', '.join(_BIAS_COLUMNS[column])})")
        if not np.isfinite(f) or f < 1.0 or f > 20.0:
            raise InputError(f"--referral-bias: '{text}': factor must be a number from 1 to 20")
        out.append(_Bias(column, value, f))
    return tuple(out)


def _group_mask(sim: dict, bias: _Bias) -> np.ndarray:
    if bias.column == "ethnicity":
        names = tuple(P.ETHNICITY_WEIGHT)
        return sim["eth"][sim["fam"]] == names.index(bias.value)
    codes = sim["sex"] if bias.column == "sex" else sim["dis"]
    return codes == _BIAS_COLUMNS[bias.column].index(bias.value)


def _add_bias(contacts: dict, sim: dict, bias: _Bias, rng, start: int, end: int) -> dict:
    group = _group_mask(sim, bias)
    src = np.array([SOURCES.index(x) for x in _BIAS_SOURCES])
    base = (~contacts["spurious"]) & group[contacts["child"]] & np.isin(contacts["source"], src)
    idx = np.flatnonzero(base)
    extra = rng.poisson(bias.factor - 1.0, len(idx))
    idx = np.repeat(idx, extra)
    k = len(idx)
    c = contacts["child"][idx]
    cdate = contacts["cdate"][idx] + rng.integers(-90, 91, k)
    rdate = cdate + rng.choice(np.array([0, 1, 2, 3]), k)
    dob = sim["dob"][c]
    ok = ((cdate >= np.maximum(start, dob - _PREBIRTH)) & (cdate < dob + _ADULT)
          & (rdate <= end) & (cdate <= sim["reloc"][c]))
    add = {
        "child": c, "cdate": cdate, "rdate": rdate, "need": contacts["need"][idx],
        "source": contacts["source"][idx], "conv": np.zeros(k, np.int64),
        "trigger": np.zeros(k, np.int8),
        "outcome": np.where(rng.random(k) < 0.7, CONTACT_OUTCOMES.index("nfa"),
                            CONTACT_OUTCOMES.index("signposted")),
        "rag": np.where(rng.random(k) < 0.8, 3, 2), "spurious": np.ones(k, dtype=bool),
    }
    return {key: np.concatenate([contacts[key], add[key][ok]]) for key in contacts}
