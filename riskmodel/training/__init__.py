"""Training: specs, the as-of schedule and temporal folds, fitting and judging candidates.

Pure computation on matrices: :func:`evaluate_candidates` returns a :class:`TrainResult`
(leaderboard, each candidate's out-of-time predictions and metrics, PASS/FAIL against the
spec's thresholds). Nothing here talks to MLflow; :func:`riskmodel.jobs.train` does.
"""

from riskmodel.training._decisions import apply_decisions, offered_rows
from riskmodel.training._display import (
    compare_table,
    diff_lines,
    leaderboard_table,
    leaderboard_title,
    over_time_lines,
)
from riskmodel.training._evaluate import (
    evaluate_candidates,
    fit_and_predict_folds,
    fit_candidate,
    fit_final,
    judge,
    judge_fairness,
    labelled_rows,
    make_candidate,
)
from riskmodel.training._folds import as_of_schedule, temporal_folds
from riskmodel.training._over_time import regret
from riskmodel.training._result import CandidateResult, TrainResult, best_passing
from riskmodel.training._spec import Candidate, TrainingSpec, load_training_spec

__all__ = [
    "Candidate", "CandidateResult", "TrainResult", "TrainingSpec", "apply_decisions",
    "as_of_schedule", "best_passing", "compare_table", "diff_lines", "evaluate_candidates",
    "fit_and_predict_folds", "fit_candidate", "fit_final", "judge", "judge_fairness",
    "labelled_rows", "leaderboard_table", "leaderboard_title", "load_training_spec",
    "make_candidate",
    "offered_rows", "over_time_lines", "regret", "temporal_folds",
]
