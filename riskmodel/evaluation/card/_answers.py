"""The council's answers: applying them to the documents, and the blank template to fill in.

Only a field that says :data:`FOR_COUNCIL` can be answered; a field filled from the model's
facts is refused, with an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskmodel._core.errors import InputError
from riskmodel.evaluation.card._document import Document, ModelCard


def apply_answers(doc: Document, answers: Mapping, where: str) -> None:
    """Fill a document's council fields from the council's answers, in place.

    Parameters
    ----------
    doc : Document
        The model card or ATRS record.
    answers : mapping
        ``model_card:`` and ``atrs_record:`` mappings of section to field to text; only the
        one under ``doc.key`` is read. A field left out or answered with nothing (``null``)
        stays :data:`FOR_COUNCIL`.
    where : str
        Where the answers came from, for error messages.

    Raises
    ------
    InputError
        An unknown section or field, a field filled from the model's facts, or a blank answer.
    """
    given = answers.get(doc.key) or {}
    if not isinstance(given, Mapping):
        raise InputError(f"{where}: key '{doc.key}': expected a mapping of sections")
    sections = {s.key: s for s in doc.sections}
    for sec_key, fields in given.items():
        fields = {} if fields is None else fields  # a section with every answer left out
        if sec_key not in sections:
            raise InputError(f"{where}: key '{doc.key}.{sec_key}': no such section (expected "
                             f"one of {', '.join(sections)})")
        if not isinstance(fields, Mapping):
            raise InputError(f"{where}: key '{doc.key}.{sec_key}': expected a mapping")
        by_key = {f.key: f for f in sections[sec_key].fields}
        for f_key, text in fields.items():
            if text is None:
                continue
            f = by_key.get(f_key)
            where_key = f"{doc.key}.{sec_key}.{f_key}"
            if f is None:
                raise InputError(f"{where}: key '{where_key}': no such field")
            if not f.for_council:
                raise InputError(f"{where}: key '{where_key}': filled from the model's "
                                 "metadata, not by the council")
            if not str(text).strip():
                raise InputError(f"{where}: key '{where_key}': expected text, got nothing")
            f.value = " ".join(str(text).split())


def council_answers_template(card: ModelCard) -> str:
    """A YAML skeleton of every field left for the council, to fill in and pass back.

    ``riskmodel card`` writes it beside the documents as ``council_answers.yaml`` (or, when
    a file of that name is there already and differs, as ``council_answers.template.yaml``);
    each field is commented out until the council fills it in.

    Parameters
    ----------
    card : ModelCard
        The documents, with any answers already applied: only the fields still open are
        listed.

    Returns
    -------
    str
        YAML text: ``model_card:`` and ``atrs_record:``, each section's open fields as
        comments with their labels and hints.
    """
    lines = ["# Answers only the council can give. Fill in any of these and run",
             "#   riskmodel card --model URI --out DIR --answers council_answers.yaml",
             "# Fields left out stay marked 'to be completed by the council'."]
    for doc in card.documents():
        lines.append(f"{doc.key}:")
        for s in doc.sections:
            todo = [f for f in s.fields if f.for_council]
            if not todo:
                continue
            lines.append(f"  {s.key}:")
            for f in todo:
                hint = f"  # {f.label}" + (f": {f.hint}" if f.hint else "")
                lines.append(f"    # {f.key}: ''{hint}")
    return "\n".join(lines) + "\n"
