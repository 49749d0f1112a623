"""Commands for reports: fairness, explain, card."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskmodel._core.errors import InputError
from riskmodel.cli._app import (
    DATA_HELP,
    DATA_METAVAR,
    _as_of,
    _data_source,
    _steps,
    app,
    out,
)

# ---------------------------------------------------------------- evaluation ----------------

@app.command()
def fairness(
    scores: Annotated[
        Path | None, typer.Option(help="Scores table (.csv or .parquet).")
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Outcome column (0/1; empty = not yet known).")
    ] = None,
    score: Annotated[
        str | None, typer.Option(help="Score column (higher = more likely).")
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(help="Instead of --scores: an MLflow candidate run (riskmodel compare); "
                     "its out-of-time test predictions are rebuilt from --data."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="With --run: the extract the run was trained on (folder, DuckDB "
                     "file, database URL or sources.yaml); the report then adds the front "
                     "door (referral rates by group and source, and what they led to).",
                     parser=_data_source, metavar=DATA_METAVAR),
    ] = None,
    sensitive: Annotated[
        str | None,
        typer.Option(help="Characteristic columns, e.g. race,sex; a*b adds an intersection. "
                     "Default: the policy's."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Flag score >= THRESHOLD.")
    ] = None,
    top: Annotated[
        str | None, typer.Option(help="Flag the top scores instead: '10%' or a number.")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the HTML report, CSVs and JSON.")
    ] = Path("fairness-report"),
    policy: Annotated[
        Path | None, typer.Option(help="Fairness policy YAML. Default: the packaged one.")
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(help="Reference group, e.g. race=Caucasian (repeatable)."),
    ] = None,
    mitigate: Annotated[
        bool, typer.Option(help="Also show the policy's mitigation, before and after.")
    ] = False,
    cluster: Annotated[
        str | None, typer.Option(help="Resample whole clusters (e.g. family_id).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    title: Annotated[
        str, typer.Option(help="Report title.")
    ] = "Fairness and disproportionality report",
    subjects: Annotated[str, typer.Option(help="Who is scored, in words.")] = "children",
    positive_words: Annotated[
        str, typer.Option(help="What label 1 means, e.g. 'needed help'.")
    ] = "needed help",
    negative_words: Annotated[
        str, typer.Option(help="What label 0 means.")
    ] = "did not need help",
):
    """Disproportionality report for any scores file: HTML (offline), CSV and JSON."""
    from riskmodel.evaluation import AuditOptions
    from riskmodel.jobs.fairness import fairness_report

    refs = {}
    for item in reference or []:
        name, sep, group = item.partition("=")
        if not sep or not name.strip() or not group.strip():
            raise InputError(f"--reference: expected NAME=GROUP, got {item!r}")
        refs[name.strip()] = group.strip()
    if run is not None:  # a run's test predictions hold these columns
        label, score = label or "label", score or "score"
    elif scores is None or label is None or score is None:
        raise InputError("fairness: give --scores FILE --label COL --score COL "
                         "(or --run RUN_ID --data DIR)")
    options = AuditOptions(
        label=label, score=score, threshold=threshold, top=top, sensitive=sensitive,
        policy=policy, random_state=seed, cluster=cluster, mitigate=mitigate, references=refs,
        subjects=subjects, positive_words=positive_words, negative_words=negative_words,
    )
    with _steps("fairness") as step:
        report = fairness_report(options, out_dir, scores=scores, run=run, data=data,
                                 title=title, progress=step)
    for sentence in report.audit.summary:
        out.print(f"- {sentence}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"report: {report.paths['html']}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def explain(
    data: Annotated[Path, typer.Option(help=DATA_HELP, parser=_data_source,
                                                metavar=DATA_METAVAR)],
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation@champion.")
    ] = "models:/escalation@champion",
    out_path: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path(
        "explain.html"),
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", callback=_as_of, is_eager=True,
                     help="Explain the children open at this date (ISO). "
                     "Default: the extract date."),
    ] = None,
    max_rows: Annotated[int, typer.Option(help="Explain at most this many children.")] = 2000,
):
    """SHAP explanations of a model: what drives it overall and one example child (HTML)."""
    from riskmodel.jobs import explain_extract

    path = explain_extract(model, data, out_path, as_of=as_of, max_rows=max_rows)
    out.print(f"explanation report: {path}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def card(
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation@champion.")
    ] = "models:/escalation@champion",
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write into. Default: the folder of --answers (the card "
        "being answered, updated in place), else model-card.")] = None,
    fairness: Annotated[
        Path | None,
        typer.Option(help="Fairness results (folder or fairness.json from riskmodel fairness). "
                     "Default: the report logged with the model's training run."),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(help="The council's answers (YAML; see council_answers.yaml)."),
    ] = None,
):
    """Model card and ATRS transparency record (Markdown, HTML, JSON) from MLflow."""
    from riskmodel._core.io import check_writable
    from riskmodel.jobs import model_card, write_model_card
    from riskmodel.jobs.card import card_summary

    if out_dir is None:  # `riskmodel card --answers card/council_answers.yaml` updates card/
        out_dir = answers.parent if answers is not None else Path("model-card")
    check_writable(out_dir, folder=True)  # before the work, as score and explain do
    mc = model_card(model, fairness=fairness, answers=answers)
    paths = write_model_card(mc, out_dir, answers=answers)  # never overwrites the answers
    out.print(card_summary(mc, paths, out_dir), markup=False, highlight=False, soft_wrap=True)


