"""Window names (``3m``, ``12m``, ``all``) and their plain words."""

from __future__ import annotations

import re

WINDOW_PATTERN = re.compile(r"^(?:(\d+)m|all)$")


def window_months(window: str) -> int | None:
    """Months covered by a window name: ``"12m"`` gives 12, ``"all"`` gives None."""
    m = WINDOW_PATTERN.match(window)
    if m is None:
        raise ValueError(f"expected a window like '3m', '12m' or 'all', got {window!r}")
    return int(m.group(1)) if m.group(1) else None


def window_phrase(window: str) -> str:
    """Plain words for a window, as used in per-child reasons."""
    n = window_months(window)
    if n is None:
        return "on record"
    if n % 12 == 0 and n > 12:
        return f"in the last {n // 12} years"
    return "in the last month" if n == 1 else f"in the last {n} months"


def window_description(window: str) -> str:
    """Plain words for a window, as used in the feature dictionary."""
    n = window_months(window)
    if n is None:
        return "at any time before the as-of date"
    return f"in the {n} month{'s' if n != 1 else ''} before the as-of date"
