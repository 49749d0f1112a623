"""The model card and ATRS record, built from a model's facts (no store, no files read).

Both documents are filled from what MLflow holds about the model (the registered version, its
training run and the run's artefacts: metrics, per-locality metrics, the leaderboard of every
candidate and, when logged, the fairness report). A field that only the council can know (who
owns the tool, how practitioners use it, the impact assessments) is written as
:data:`FOR_COUNCIL`, never guessed; a council can supply those answers in a YAML file and
regenerate. The model card follows the sections of Mitchell et al. (2019), "Model Cards for
Model Reporting"; the record follows the two tiers of the UK ATRS.

No child-level data is read: every figure is an aggregate logged at training time, and every
table of counts is suppressed below the minimum count before it is written.

Modules: ``_document`` (the document model and its rendering), ``_facts`` (the model's facts
and those facts in words), ``_groups`` (results by locality and by group), ``_model_card``
and ``_record`` (the two documents), ``_answers`` (the council's answers and their template)
and ``_build`` (both documents and their files).
"""

from riskmodel.evaluation.card._answers import council_answers_template
from riskmodel.evaluation.card._build import build_model_card, card_files
from riskmodel.evaluation.card._document import FOR_COUNCIL, ModelCard
from riskmodel.evaluation.card._facts import TEST_ROWS_PARAMS, ModelFacts

__all__ = ["FOR_COUNCIL", "ModelCard", "ModelFacts", "TEST_ROWS_PARAMS", "build_model_card",
           "card_files", "council_answers_template"]
