"""Look up any feature name a spec could produce, and say one child's value in words.

The words depend on the spec (``repeat_within_months: 6`` is "within 6 months"): a model's
words come from the feature spec recorded with it (``spec``), the packaged spec's only when
none is given.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from riskmodel._core.errors import InputError
from riskmodel.features._builders import BUILDERS, all_definitions
from riskmodel.features._dictionary import FeatureDef, parse_name
from riskmodel.features._spec import FeatureSpec, full_spec


@lru_cache(maxsize=32)
def _registry(extra_window: str, spec_json: str | None,
              builders: tuple) -> dict[str, FeatureDef]:
    # ``builders``: the registered builders, so registering one is never hidden by the cache
    base = None if spec_json is None else FeatureSpec.model_validate_json(spec_json)
    return {d.name: d for d in all_definitions(full_spec(extra_window, base))}


def _spec_key(spec: FeatureSpec | dict | None) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, dict):
        spec = FeatureSpec.model_validate(spec)
    return spec.model_dump_json()


def lookup(name: str, spec: FeatureSpec | dict | None = None) -> FeatureDef:
    """The definition of any feature name a spec could produce.

    ``spec``: the feature spec whose words are wanted (a model's own; a dict is its JSON
    form); default the packaged one.
    """
    return _lookup(name, _spec_key(spec))


def _lookup(name: str, key: str | None) -> FeatureDef:
    _, _, window, _ = parse_name(name, tuple(BUILDERS))
    found = _registry(window, key, tuple(BUILDERS.values())).get(name)
    if found is None:
        raise InputError(f"feature '{name}': no builder makes a feature of this name")
    return found


def describer(spec: FeatureSpec | dict | None = None) -> Callable[[str, object], str]:
    """``describe(name, value)`` in the words of ``spec`` (a model's own feature spec).

    Examples
    --------
    >>> from riskmodel.features import describer, load_feature_spec
    >>> spec = load_feature_spec().model_dump()
    >>> spec["builders"]["contacts"]["repeat_within_months"] = 6
    >>> describer(spec)("contacts_repeat_12m_count", 2)
    '2 repeat contacts (within 6 months of the one before) in the last 12 months'
    """
    key = _spec_key(spec)
    return lambda name, value: _lookup(name, key).describe(value)


def describe_feature(name: str, value: object,
                     spec: FeatureSpec | dict | None = None) -> str:
    """Plain words for one child's value of one feature, for per-child reasons.

    Parameters
    ----------
    name : str
        A feature name, e.g. ``"contacts_source_police_12m_count"``.
    value : number or missing
        The child's value. A missing value (None/NaN) is described as not recorded.
    spec : FeatureSpec or dict, optional
        The feature spec the model was trained with (its words); default: the packaged one.

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
    return lookup(name, spec).describe(value)
