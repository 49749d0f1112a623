"""``riskmodel card``: the model card and ATRS record of a registered model, from the store."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from riskmodel._core.errors import InputError
from riskmodel._core.io import write_text
from riskmodel.evaluation import FairnessAudit
from riskmodel.evaluation.card import (
    ModelCard,
    ModelFacts,
    build_model_card,
    card_files,
    council_answers_template,
)
from riskmodel.store import download, get_run, load_model, read_csv, version_info

ANSWERS_TEMPLATE = "council_answers.yaml"


def read_fairness(source) -> dict:
    """Read a fairness report's machine-readable results (a folder or its JSON file).

    Parameters
    ----------
    source : path, dict or FairnessAudit
        What :func:`riskmodel.evaluation.write_fairness_report` wrote (its folder or its
        ``fairness.json``), or the result of :func:`riskmodel.evaluation.fairness_audit`.

    Returns
    -------
    dict
        The report's JSON form.
    """
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, FairnessAudit):  # the same form write_fairness_report writes
        return source.to_dict()
    path = Path(source)
    if path.is_dir():
        found = sorted(path.rglob("fairness.json")) or sorted(path.rglob("*.json"))
        if not found:
            raise InputError(f"fairness: no JSON results in {path} (expected the folder "
                             "written by riskmodel fairness)")
        path = found[0]
    if not path.is_file():
        raise InputError(f"fairness: {path} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"fairness: {path} is not a JSON file") from None


def gather_facts(model, *, fairness=None) -> ModelFacts:
    """Read a registered model's metadata, metrics and artefacts from the store."""
    loaded = load_model(model) if isinstance(model, str) else model
    uri = model if isinstance(model, str) else f"models:/{loaded.name}/{loaded.version}"
    info = version_info(loaded.name, loaded.version)
    run = get_run(loaded.run_id)
    parent = get_run(run.parent_id) if run.parent_id else None
    leaderboard = read_csv(run.parent_id, "leaderboard.csv") if run.parent_id else None
    by_loc = read_csv(loaded.run_id, "metrics_by_locality.csv")
    if fairness is not None:
        fair, source = read_fairness(fairness), "the fairness report given"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            local = download(loaded.run_id, "fairness", tmp)
            fair = read_fairness(local) if local is not None else None
        source = "the fairness report logged with the training run"
    return ModelFacts(
        uri=uri, name=loaded.name, version=str(loaded.version), aliases=info.aliases,
        registered=info.registered, run_id=loaded.run_id, meta=loaded.meta,
        params=run.params, tags=dict(run.tags.__dict__),
        parent_params=parent.params if parent else {},
        parent_metrics=parent.metrics if parent else {},
        leaderboard=leaderboard, by_locality=by_loc, fairness=fair, fairness_source=source,
    )


def read_answers(answers) -> dict:
    """The council's answers: a YAML file (or a mapping already read)."""
    if answers is None:
        return {}
    if isinstance(answers, Mapping):
        return dict(answers)
    path = Path(answers)
    if not path.is_file():
        raise InputError(f"{path}: answers file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise InputError(f"{path}: not valid YAML") from None
    if not isinstance(raw, Mapping):
        raise InputError(f"{path}: expected model_card: and atrs_record: mappings at the top")
    return dict(raw)


def model_card(model="models:/escalation@champion", *, fairness=None,
               answers=None) -> ModelCard:
    """Build the model card and ATRS record of a registered model from the store.

    Parameters
    ----------
    model : str or LoadedModel, default="models:/escalation@champion"
        A registered model URI (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``) or a
        model from :func:`riskmodel.store.load_model`.
    fairness : path, dict or FairnessAudit, optional
        Fairness results to report (a folder or JSON written by ``riskmodel fairness``);
        default: the fairness report logged with the model's training run, if any.
    answers : path or dict, optional
        The council's answers (YAML with ``model_card:`` and ``atrs_record:`` mappings of
        section to field to text) for the fields only the council can fill.

    Returns
    -------
    ModelCard

    Examples
    --------
    >>> mc = model_card("models:/escalation@champion")  # doctest: +SKIP
    >>> mc.record.council_fields()[:2]  # doctest: +SKIP
    ['tier_1.website', 'tier_1.contact_email']
    """
    facts = gather_facts(model, fairness=fairness)
    where = str(answers) if isinstance(answers, str | os.PathLike) else "answers"
    return build_model_card(facts, read_answers(answers), where=where)


def write_model_card(model="models:/escalation@champion", out_dir="model-card", *,
                     fairness=None, answers=None) -> dict[str, Path]:
    """Write the model card and ATRS record as Markdown, HTML and JSON.

    Parameters
    ----------
    model : str, LoadedModel or ModelCard
        A registered model (as for :func:`model_card`) or a card already built.
    fairness, answers
        As for :func:`model_card` (ignored when ``model`` is a ModelCard).
    out_dir : path
        Folder to write ``model_card.{md,html,json}``, ``atrs_record.{md,html,json}`` and
        ``council_answers.yaml`` (a skeleton of the fields left for the council).

    Returns
    -------
    dict of str to Path
        Each file written, by name.

    Examples
    --------
    >>> paths = write_model_card("models:/escalation@champion", "card")  # doctest: +SKIP
    >>> sorted(paths)[:2]  # doctest: +SKIP
    ['atrs_record.html', 'atrs_record.json']
    """
    mc = model if isinstance(model, ModelCard) else model_card(model, fairness=fairness,
                                                               answers=answers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {name: write_text(text, out / name) for name, text in card_files(mc).items()}
    written[ANSWERS_TEMPLATE] = write_text(council_answers_template(mc), out / ANSWERS_TEMPLATE)
    return written
