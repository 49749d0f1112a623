"""Batch scoring for the insight hub: scores, ranks, bands, capacity and per-child reasons.

:func:`score` is what ``riskmodel score`` runs: the council's extract and a registered
model in, a scores file (one row per child), a rejected-rows file and an audit line out.
:func:`score_cohort` does the scoring itself on a built matrix, in memory.
"""

from ._cohort import (
    DEFAULT_CHUNK_SIZE,
    REJECTED_COLUMNS,
    SCORE_COLUMNS,
    ScoredCohort,
    score_cohort,
)
from ._run import ScoreRun, score, score_matrix
from ._select import Selection, parse_selection
from ._write import AUDIT_NAME, read_audit

__all__ = [
    "AUDIT_NAME", "DEFAULT_CHUNK_SIZE", "REJECTED_COLUMNS", "SCORE_COLUMNS", "ScoreRun",
    "ScoredCohort", "Selection", "parse_selection", "read_audit", "score", "score_cohort",
    "score_matrix",
]
