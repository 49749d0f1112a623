"""The registry of candidate kinds: each kind is one module that registers itself here.

A kind is its estimator (a :class:`~riskmodel.models._base.Base` subclass: fit, margin,
contributions, JSON state) and its plain words: what the model is (the model card) and how
its contributions are computed (the explanation report). Training specs, the card, the
explanation report and the store all ask this registry; none of them names a kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from riskmodel.models._base import Base

__all__ = ["KINDS", "Kind", "kind_of", "register_kind"]


@dataclass(frozen=True)
class Kind:
    """One candidate kind: its name, estimator and words.

    Examples
    --------
    >>> kind_of("logistic").words
    'logistic regression on standardised features (L2-regularised)'
    """

    name: str
    estimator: type[Base]
    #: What the model is, for the model card.
    words: str
    #: How its contributions are computed, for the explanation report.
    method_words: str


class _Registry(Mapping[str, Kind]):
    """Kinds by name, in the order they were registered."""

    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def add(self, kind: Kind) -> Kind:
        if kind.name in self._kinds and self._kinds[kind.name] != kind:
            raise ValueError(f"model kind {kind.name!r} is registered already")
        if kind.estimator.kind != kind.name:
            raise ValueError(f"model kind {kind.name!r}: its estimator says "
                             f"kind = {kind.estimator.kind!r}")
        self._kinds[kind.name] = kind
        return kind

    def remove(self, name: str) -> None:
        self._kinds.pop(name, None)


#: Every candidate kind a training spec may name.
KINDS = _Registry()


def register_kind(kind: Kind) -> Kind:
    """Add a kind to :data:`KINDS` (its module does this once, when imported)."""
    return KINDS.add(kind)


def kind_of(name: str) -> Kind:
    """The registered kind of this name.

    Raises
    ------
    ValueError
        An unknown kind, naming the known ones.
    """
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown model kind {name!r} (known: {', '.join(KINDS)})") from None
