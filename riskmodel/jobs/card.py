"""``riskmodel card``: the model card and ATRS record of a registered model, from the store."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from riskmodel._core.errors import InputError
from riskmodel._core.io import atomic_path, write_text
from riskmodel.evaluation import FairnessAudit
from riskmodel.evaluation.card import (
    FOR_COUNCIL,
    ModelCard,
    ModelFacts,
    build_model_card,
    card_files,
    council_answers_template,
)
from riskmodel.store import download, get_run, load_model, read_csv, version_info

ANSWERS_TEMPLATE = "council_answers.yaml"
# Where the blank template goes when a council_answers.yaml is there already and differs:
# that file may hold the council's answers, and a file the user wrote is never overwritten.
ANSWERS_SPARE = "council_answers.template.yaml"
DOCUMENT_NAMES = {"model_card": "model card", "atrs_record": "ATRS record"}


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
    per_date = read_csv(run.parent_id, "per_date.csv") if run.parent_id else None
    by_loc = read_csv(loaded.run_id, "metrics_by_locality.csv")
    fair: dict | None
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
        per_date=per_date,
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

    The blank template of the council's answers, ``council_answers.yaml``, is written only
    where no file of that name exists. One that exists and differs from the template (the
    council may have filled it in) is left as it is, and the template is written as
    ``council_answers.template.yaml`` instead (the only file replaced in its place). The
    answers file itself is never written.

    Parameters
    ----------
    model : str, LoadedModel or ModelCard
        A registered model (as for :func:`model_card`) or a card already built.
    out_dir : path
        Folder to write ``model_card.{md,html,json}``, ``atrs_record.{md,html,json}`` and
        ``council_answers.yaml`` (a skeleton of the fields left for the council).
    fairness, answers
        As for :func:`model_card` (used to build the card unless ``model`` is a
        ModelCard). An answers file given as a path is never overwritten, whatever
        ``model`` is.

    Returns
    -------
    dict of str to Path
        Each file of the card by name: the six documents and the template, under
        ``council_answers.yaml`` (written, or there already with the same bytes) or
        ``council_answers.template.yaml`` (written beside a different
        ``council_answers.yaml``); neither when both names hold other files and one of them
        is the answers file.

    Raises
    ------
    InputError
        The answers file is where a document would be written (nothing is written).

    Examples
    --------
    >>> paths = write_model_card("models:/escalation@champion", "card")  # doctest: +SKIP
    >>> sorted(paths)[:2]  # doctest: +SKIP
    ['atrs_record.html', 'atrs_record.json']
    """
    mc = model if isinstance(model, ModelCard) else model_card(model, fairness=fairness,
                                                               answers=answers)
    out = Path(out_dir)
    files = card_files(mc)
    keep = Path(answers) if isinstance(answers, str | os.PathLike) else None
    for name in files:
        if _same_file(out / name, keep):
            raise InputError(f"{keep}: the answers file is where the card writes {name}; "
                             "move it or write the card to another --out folder")
    try:  # a read-only folder or a full disk: one line, as for every other output
        out.mkdir(parents=True, exist_ok=True)
        written = {name: write_text(text, out / name) for name, text in files.items()}
        written.update(_write_answers_template(council_answers_template(mc), out, keep))
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise InputError(f"--out: cannot write to {out} ({reason})") from None
    return written


def _same_file(path: Path, other: Path | None) -> bool:
    """Whether ``path`` is the existing file ``other`` (by any name)."""
    try:
        return other is not None and path.exists() and path.samefile(other)
    except OSError:
        return False


def _create(data: bytes, path: Path) -> bool:
    """Write a new file whole, only if nothing is at ``path``; False if something is.

    The bytes go to a hidden temporary file that is then linked to ``path``; a link fails
    when the name is taken, so an existing file is never replaced (not even one that
    appears meanwhile) and a reader never sees the file half-written.
    """
    fd, name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: exclusive creation
            try:
                with open(path, "xb") as fh:
                    fh.write(data)
            except FileExistsError:
                return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _write_answers_template(text: str, out: Path, keep: Path | None) -> dict[str, Path]:
    """Write the blank template of answers without replacing a file the user wrote."""
    data = text.encode("utf-8")
    path = out / ANSWERS_TEMPLATE
    if _create(data, path):
        return {ANSWERS_TEMPLATE: path}
    if path.is_file() and path.read_bytes() == data:  # this very template: nothing to do
        return {ANSWERS_TEMPLATE: path}
    spare = out / ANSWERS_SPARE
    if _same_file(spare, keep):
        return {}
    with atomic_path(spare) as tmp:
        tmp.write_bytes(data)
    return {ANSWERS_SPARE: spare}


def card_summary(mc: ModelCard, written: Mapping[str, Path], out_dir) -> str:
    """What ``riskmodel card`` prints: the files written and the fields left for the council.

    Parameters
    ----------
    mc : ModelCard
        The card written.
    written : mapping of str to Path
        What :func:`write_model_card` returned.
    out_dir : path
        The folder written to.

    Returns
    -------
    str
        One paragraph: each document's count of fields left for the council (the count
        the document shows), and where the template of answers is.

    Examples
    --------
    >>> from riskmodel.evaluation.card._document import Document, Section
    >>> s = Section("s", "S")
    >>> s.add("owner", "Owner", "to be completed by the council")
    >>> doc = Document("model_card", "T", "", {}, [s])
    >>> mc = ModelCard(doc, Document("atrs_record", "T", "", {}, []))
    >>> print(card_summary(mc, {ANSWERS_SPARE: Path("card") / ANSWERS_SPARE}, "card"))
    ... # doctest: +NORMALIZE_WHITESPACE
    model card and ATRS record written to card (1 files); model card: 1 field to be
    completed by the council; ATRS record: 0 fields to be completed by the council.
    card/council_answers.yaml was kept as it is (it is not the blank template riskmodel
    would write); the blank template of the fields still open is
    card/council_answers.template.yaml.
    """
    counts = [f"{DOCUMENT_NAMES.get(key, key)}: {len(todo)} field"
              f"{'s' if len(todo) != 1 else ''} {FOR_COUNCIL}"
              for key, todo in mc.council_fields().items()]
    out = Path(out_dir)
    lines = [f"model card and ATRS record written to {out} ({len(written)} files); "
             + "; ".join(counts) + "."]
    if ANSWERS_TEMPLATE in written and any(mc.council_fields().values()):
        lines.append(f"Answer them in {written[ANSWERS_TEMPLATE]} and run riskmodel card "
                     "again with --answers.")
    elif ANSWERS_SPARE in written:
        lines.append(f"{out / ANSWERS_TEMPLATE} was kept as it is (it is not the blank "
                     "template riskmodel would write); the blank template of the fields "
                     f"still open is {written[ANSWERS_SPARE]}.")
    elif ANSWERS_TEMPLATE not in written:
        lines.append(f"{out / ANSWERS_TEMPLATE} and {out / ANSWERS_SPARE} were kept as they "
                     "are; no blank template was written.")
    return " ".join(lines)
