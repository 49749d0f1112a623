"""Every number a report publishes about children passes through here.

Two parts: small-count suppression with exact complement checks (:mod:`._suppress`), and
cell-key rounding from each child's permanent key with the public path every report asks
(:mod:`._cellkey`: protected counts, cells, totals, rates and their intervals).
"""

from riskmodel.evaluation._disclosure._cellkey import (  # noqa: F401
    CONFUSION_CELLS,
    KEY_BITS,
    MIN_FOR_SCORES,
    PARTS,
    RATES,
    SECRET_ENV,
    SECRET_FILE,
    cell_keys,
    council_secret,
    protect_cells,
    protect_confusion,
    protect_counts,
    protect_table,
    protect_total,
    protected_rate,
    published_rate,
    rate_interval,
    record_keys,
    round_counts,
    rounding_note,
    total_key,
)
from riskmodel.evaluation._disclosure._suppress import (  # noqa: F401
    DEFAULT_BASE,
    SUPPRESSED,
    atoms,
    is_small,
    plan_suppression,
    plan_with_complements,
    shown,
    small_text,
    suppress,
)

__all__ = [
    "CONFUSION_CELLS",
    "DEFAULT_BASE",
    "KEY_BITS",
    "MIN_FOR_SCORES",
    "PARTS",
    "RATES",
    "SECRET_ENV",
    "SECRET_FILE",
    "SUPPRESSED",
    "atoms",
    "cell_keys",
    "council_secret",
    "is_small",
    "plan_suppression",
    "plan_with_complements",
    "protect_cells",
    "protect_confusion",
    "protect_counts",
    "protect_table",
    "protect_total",
    "protected_rate",
    "published_rate",
    "rate_interval",
    "record_keys",
    "round_counts",
    "rounding_note",
    "shown",
    "small_text",
    "suppress",
    "total_key",
]
