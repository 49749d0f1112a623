"""Jobs: the only code that opens extracts, builds matrices and reads or writes the store.

Each command of the CLI calls one job: :func:`train`, :func:`score`, :func:`explain_extract`,
:func:`model_card`/:func:`write_model_card`, :func:`run_test_predictions` (for fairness
reviews of a run) and :func:`run_demo`.
"""

from riskmodel.jobs._extract import Extract, open_extract, training_matrix
from riskmodel.jobs.card import model_card, read_fairness, write_model_card
from riskmodel.jobs.demo import run_demo
from riskmodel.jobs.explain import explain_extract
from riskmodel.jobs.fairness import fairness_report, read_scores
from riskmodel.jobs.monitor import MonitorRun, monitor, monitor_history
from riskmodel.jobs.replay import run_test_predictions
from riskmodel.jobs.score import score
from riskmodel.jobs.train import train

__all__ = [
    "Extract", "MonitorRun", "explain_extract", "fairness_report", "model_card", "monitor",
    "monitor_history", "open_extract",
    "read_fairness", "read_scores", "run_demo", "run_test_predictions", "score", "train",
    "training_matrix", "write_model_card",
]
