"""Jobs: the only code that opens extracts, builds matrices and reads or writes the store.

Each command of the CLI calls one job: :func:`train`, :func:`score`, :func:`explain_extract`,
:func:`model_card`/:func:`write_model_card`, :func:`run_test_predictions` (for fairness
reviews of a run), :func:`add_decisions`/:func:`report_decisions` (the panels' decisions),
:func:`report_impact` (did the lists help?),
:func:`run_demo`, and :func:`import_annex_a`/:func:`import_extract` (a council's own data
into the contract).

Names are imported on first use (:func:`riskmodel._core.lazy.lazy_package`): a build or a
check does not load the modelling libraries that training needs.
"""

from typing import TYPE_CHECKING

from riskmodel._core.lazy import lazy_package

if TYPE_CHECKING:
    from riskmodel.jobs._extract import Extract, open_extract, training_matrix, training_schedule
    from riskmodel.jobs.card import model_card, read_fairness, write_model_card
    from riskmodel.jobs.decisions import add_decisions, report_decisions
    from riskmodel.jobs.demo import run_demo
    from riskmodel.jobs.explain import explain_extract
    from riskmodel.jobs.fairness import fairness_report, read_scores
    from riskmodel.jobs.impact import plant_listed_help, report_impact
    from riskmodel.jobs.imports import import_annex_a, import_extract
    from riskmodel.jobs.monitor import MonitorRun, monitor, monitor_history
    from riskmodel.jobs.replay import run_test_predictions
    from riskmodel.jobs.score import score
    from riskmodel.jobs.train import train

_EXPORTS = {
    "Extract": "riskmodel.jobs._extract",
    "open_extract": "riskmodel.jobs._extract",
    "training_matrix": "riskmodel.jobs._extract",
    "training_schedule": "riskmodel.jobs._extract",
    "model_card": "riskmodel.jobs.card",
    "read_fairness": "riskmodel.jobs.card",
    "write_model_card": "riskmodel.jobs.card",
    "add_decisions": "riskmodel.jobs.decisions",
    "report_decisions": "riskmodel.jobs.decisions",
    "run_demo": "riskmodel.jobs.demo",
    "explain_extract": "riskmodel.jobs.explain",
    "fairness_report": "riskmodel.jobs.fairness",
    "read_scores": "riskmodel.jobs.fairness",
    "plant_listed_help": "riskmodel.jobs.impact",
    "report_impact": "riskmodel.jobs.impact",
    "import_annex_a": "riskmodel.jobs.imports",
    "import_extract": "riskmodel.jobs.imports",
    "MonitorRun": "riskmodel.jobs.monitor",
    "monitor": "riskmodel.jobs.monitor",
    "monitor_history": "riskmodel.jobs.monitor",
    "run_test_predictions": "riskmodel.jobs.replay",
    "score": "riskmodel.jobs.score",
    "train": "riskmodel.jobs.train",
}
__all__ = [
    "Extract", "MonitorRun", "add_decisions", "explain_extract", "fairness_report",
    "import_annex_a", "import_extract", "model_card", "monitor", "monitor_history",
    "open_extract", "read_fairness", "read_scores", "report_decisions", "run_demo",
    "plant_listed_help", "report_impact", "run_test_predictions", "score", "train",
    "training_matrix", "training_schedule", "write_model_card",
]
lazy_package(__name__, _EXPORTS)
