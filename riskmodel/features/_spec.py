"""The feature set spec (``features/early_help.yaml``): builders, imputation, knowledge.

``builders`` has one key per registered builder (:data:`~riskmodel.features._builder_base.
BUILDERS`), holding that builder's own ``Config``; nothing here names a builder.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from pydantic import create_model

from riskmodel._core.spec import load_spec
from riskmodel._core.workspace import spec_file
from riskmodel.features._builders import BUILDERS
from riskmodel.features._spec_parts import (
    CurrentValues,
    ImputationSpec,
    KnowledgeSpec,
    LagDays,
    _Strict,
)
from riskmodel.features._windows import window_months

__all__ = [
    "BuildersSpec", "CurrentValues", "FeatureSpec", "ImputationSpec", "KnowledgeSpec", "LagDays",
    "full_spec", "load_feature_spec", "packaged_spec_path",
]

PACKAGED_SPEC = "early_help.yaml"

#: ``builders:``: each registered builder's settings, in the builders' order.
BuildersSpec = create_model(  # type: ignore[call-overload]
    "BuildersSpec", __base__=_Strict,
    **{prefix: (builder.Config, builder.Config()) for prefix, builder in BUILDERS.items()},
)


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
        found: set[str] = set()
        for builder in BUILDERS.values():
            part = builder(self).config
            if part.enabled:
                found.update(getattr(part, "windows", ()))
        # every window but "all" covers a whole number of months
        return sorted((w for w in found if w != "all"), key=lambda w: window_months(w) or 0)


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


def full_spec(extra_window: str = "all", base: FeatureSpec | None = None) -> FeatureSpec:
    """Every builder on, ``base``'s windows plus ``extra_window``: for looking names up.

    ``base`` is the spec whose words are wanted (a model's own, recorded with it); by
    default the packaged one.
    """
    if base is None:
        base = load_spec(packaged_spec_path(), FeatureSpec, note=False)  # a lookup only
    parts = {prefix: builder(base).config.for_lookup(extra_window)
             for prefix, builder in BUILDERS.items() if prefix in BuildersSpec.model_fields}
    return base.model_copy(update={"builders": BuildersSpec(**parts)})
