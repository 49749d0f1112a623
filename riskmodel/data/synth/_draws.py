"""Random streams and categorical draws for the synthetic council.

Every random number comes from a stream keyed on the seed (``_rng(seed, *key)``), so each
part of the simulation (population, each chunk's contacts, episodes, outcomes and referral
bias) draws from its own stream and changing one part never shifts another.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows x k) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def _weights(table: Mapping, names: tuple[str, ...]) -> np.ndarray:
    return np.array([table.get(k, 0.0) for k in names], dtype=float)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
