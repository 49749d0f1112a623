"""Look up any feature name a spec could produce, and say one child's value in words."""

from __future__ import annotations

from functools import lru_cache

from riskmodel._core.errors import InputError
from riskmodel.features._builders import all_definitions
from riskmodel.features._dictionary import FeatureDef, parse_name
from riskmodel.features._spec import full_spec


@lru_cache(maxsize=32)
def _registry(extra_window: str) -> dict[str, FeatureDef]:
    return {d.name: d for d in all_definitions(full_spec(extra_window))}


def lookup(name: str) -> FeatureDef:
    """The definition of any feature name a spec could produce."""
    _, _, window, _ = parse_name(name)
    found = _registry(window).get(name)
    if found is None:
        raise InputError(f"feature '{name}': no builder makes a feature of this name")
    return found


def describe_feature(name: str, value) -> str:
    """Plain words for one child's value of one feature, for per-child reasons.

    Parameters
    ----------
    name : str
        A feature name, e.g. ``"contacts_source_police_12m_count"``.
    value : number or missing
        The child's value. A missing value (None/NaN) is described as not recorded.

    Returns
    -------
    str

    Raises
    ------
    InputError
        When no builder makes a feature of that name.

    Examples
    --------
    >>> from riskmodel.features import describe_feature
    >>> describe_feature("contacts_source_police_12m_count", 3)
    '3 police contacts in the last 12 months'
    >>> describe_feature("ace_total_all_count", 4)
    '4 ACEs recorded'
    >>> describe_feature("episodes_current_all_daysopen", 120)
    'open 120 days'
    >>> describe_feature("episodes_prior_all_count", 0)
    'no earlier early-help episode'
    """
    return lookup(name).describe(value)
