"""Scoring a built matrix: probabilities, ranks, bands, capacity and per-child reasons.

:func:`score_cohort` scores a matrix in memory; :func:`score_matrix` also writes the scores
file, the rejected rows and an audit line. Reading an extract and loading a model is the
job of :func:`riskmodel.jobs.score`.
"""

from riskmodel._core.capacity import Capacity, Selection, parse_selection
from riskmodel.scoring._bands import (
    FROM_MODEL,
    BandCuts,
    band_cut_points,
    cuts_from_meta,
    risk_bands,
)
from riskmodel.scoring._common import COMMON_SHARE, MIN_COHORT
from riskmodel.scoring._options import ScoreOptions
from riskmodel.scoring._output import ScoreRun, matrix_fingerprint, score_matrix
from riskmodel.scoring._score import (
    CHARACTERISTIC_COLUMNS,
    DEFAULT_CHUNK_SIZE,
    REJECTED_COLUMNS,
    SCORE_COLUMNS,
    ScoredCohort,
    score_cohort,
)
from riskmodel.scoring._write import AUDIT_NAME, output_paths, read_audit

__all__ = [
    "AUDIT_NAME", "BandCuts", "CHARACTERISTIC_COLUMNS", "COMMON_SHARE", "DEFAULT_CHUNK_SIZE",
    "FROM_MODEL", "MIN_COHORT", "REJECTED_COLUMNS", "SCORE_COLUMNS", "Capacity", "ScoreOptions",
    "ScoreRun", "ScoredCohort", "Selection", "band_cut_points",
    "cuts_from_meta", "matrix_fingerprint", "output_paths", "parse_selection", "read_audit",
    "risk_bands", "score_cohort", "score_matrix",
]
