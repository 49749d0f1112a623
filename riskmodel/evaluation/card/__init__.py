"""The model card and ATRS record, built from a model's facts (no store, no files read)."""

from riskmodel.evaluation.card._card import (
    FOR_COUNCIL,
    ModelCard,
    ModelFacts,
    build_model_card,
    card_files,
    council_answers_template,
)

__all__ = ["FOR_COUNCIL", "ModelCard", "ModelFacts", "build_model_card", "card_files",
           "council_answers_template"]
