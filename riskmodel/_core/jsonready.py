"""Values made ready for JSON: what every report's ``.json`` file and MLflow record is written
from, so a number prints the same way in each (NaN and infinities as null)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with string keys, plain Python numbers, lists for tuples, None for NaN and
    infinities, and a typed record (anything with ``to_dict``, such as monitoring's summary
    parts) as its own JSON form.

    Examples
    --------
    >>> jsonable({1: np.float64("nan"), "b": (np.int64(3), 0.5)})
    {'1': None, 'b': [3, 0.5]}
    """
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None and not isinstance(value, Mapping) and hasattr(
            value, "__dataclass_fields__"):
        return to_dict()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
