"""The model card and ATRS record of one model, built from its facts, and their files."""

from __future__ import annotations

import json
from collections.abc import Mapping

from riskmodel._core.errors import InputError
from riskmodel.evaluation.card._answers import apply_answers
from riskmodel.evaluation.card._document import ModelCard, missing_fields
from riskmodel.evaluation.card._facts import ModelFacts
from riskmodel.evaluation.card._model_card import card_document
from riskmodel.evaluation.card._record import record_document


def build_model_card(facts: ModelFacts, answers: Mapping | None = None, *,
                     where: str = "answers") -> ModelCard:
    """Build the model card and ATRS record from a model's facts and the council's answers.

    Parameters
    ----------
    facts : ModelFacts
        What the model store holds about the model (aggregates only).
    answers : mapping, optional
        ``model_card:`` and ``atrs_record:`` mappings of section to field to text, for the
        fields only the council can fill.
    where : str
        Where the answers came from, for error messages.

    Returns
    -------
    ModelCard
        ``.card`` and ``.record``; no field is empty: each is filled from the facts or says
        :data:`FOR_COUNCIL`.
    """
    card = ModelCard(card=card_document(facts), record=record_document(facts))
    given = dict(answers or {})
    unknown = set(given) - {"model_card", "atrs_record"}
    if unknown:
        raise InputError(f"{where}: key '{sorted(unknown)[0]}': expected model_card or "
                         "atrs_record")
    for doc in card.documents():
        apply_answers(doc, given, where)
        empty = missing_fields(doc.to_dict())
        if empty:  # a bug, not a user error: every field must be filled or marked
            raise RuntimeError(f"{doc.key}: empty field(s) {', '.join(empty[:5])}")
    return card


def card_files(mc: ModelCard) -> dict[str, str]:
    """Every file of a card by name: each document as Markdown, HTML and JSON.

    Parameters
    ----------
    mc : ModelCard

    Returns
    -------
    dict of str to str
        ``model_card.{md,html,json}`` and ``atrs_record.{md,html,json}``, each file's text.
    """
    files = {}
    for doc in mc.documents():
        for ext, text in (("md", doc.to_markdown()), ("html", doc.to_html()),
                          ("json", json.dumps(doc.to_dict(), indent=2, ensure_ascii=False,
                                              default=str) + "\n")):
            files[f"{doc.key}.{ext}"] = text
    return files
