"""Commands for reports: fairness, explain, card."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from riskmodel.evaluation import AuditOptions
    from riskmodel.jobs.fairness import FairnessReport

# ---------------------------------------------------------------- evaluation ----------------

@app.command()
def fairness(
    scores: Annotated[Path | None, typer.Option(help="Scores table (.csv or .parquet).")] = None,
    label: Annotated[str | None, typer.Option(
        help="Outcome column (0/1; empty = not yet known).")] = None,
    score: Annotated[str | None, typer.Option(help="Score column (higher = more likely).")] = None,
    run: Annotated[str | None, typer.Option(
        help="Instead of --scores: an MLflow candidate run (riskmodel compare); "
        "its out-of-time test predictions are rebuilt from --data.")] = None,
    data: Annotated[Path | None, typer.Option(
        help="With --run: the extract the run was trained on (folder, DuckDB "
        "file, database URL or sources.yaml); the report then adds the front "
        "door (referral rates by group and source, and what they led to).",
        parser=_data_source, metavar=DATA_METAVAR)] = None,
    sensitive: Annotated[str | None, typer.Option(
        help="Characteristic columns, e.g. race,sex; a*b adds an intersection. "
        "Default: the policy's.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Flag score >= THRESHOLD.")] = None,
    top: Annotated[str | None, typer.Option(
        help="Flag the top scores instead: '10%' or a number.")] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for the HTML report, CSVs and JSON.")] = Path("fairness-report"),
    policy: Annotated[Path | None, typer.Option(
        help="Fairness policy YAML. Default: the packaged one.")] = None,
    reference: Annotated[list[str] | None, typer.Option(
        help="Reference group, e.g. race=Caucasian (repeatable).")] = None,
    mitigate: Annotated[bool, typer.Option(
        help="Also show the policy's mitigation, before and after.")] = False,
    cluster: Annotated[str | None, typer.Option(
        help="Resample whole clusters (e.g. family_id).")] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    title: Annotated[str, typer.Option(
        help="Report title.")] = "Fairness and disproportionality report",
    subjects: Annotated[str, typer.Option(help="Who is scored, in words.")] = "children",
    positive_words: Annotated[str, typer.Option(
        help="What label 1 means, e.g. 'needed help'.")] = "needed help",
    negative_words: Annotated[str, typer.Option(
        help="What label 0 means.")] = "did not need help",
) -> None:
    """Disproportionality report for any scores file: HTML (offline), CSV and JSON."""
    from riskmodel.jobs.fairness import fairness_report

    _keep_freed_memory()
    options = _audit_options(
        scores=scores, run=run, label=label, score=score, reference=reference,
        threshold=threshold, top=top, sensitive=sensitive, policy=policy, random_state=seed,
        cluster=cluster, mitigate=mitigate, subjects=subjects, positive_words=positive_words,
        negative_words=negative_words)
    with _steps("fairness") as step:
        report = fairness_report(options, out_dir, scores=scores, run=run, data=data,
                                 title=title, progress=step)
    _print_fairness(report)


def _keep_freed_memory() -> None:
    """Let this one command keep the memory it frees for its next arrays (glibc's
    ``mallopt``; elsewhere nothing changes).

    The bootstrap's blocks allocate and free the same few megabytes a thousand times; by
    default glibc gives freed memory at the top of its heap back to the system, and every
    block then faults the same pages in again (1.3 s of system time in the fairness
    bootstrap at 10,000 children, as much as the bootstrap's own work). A command ends in
    seconds, so keeping the pages costs nothing: its peak stays the same (issue 33).
    """
    import ctypes  # noqa: PLC0415

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GB of freed heap
        libc.mallopt(-3, 1 << 26)  # M_MMAP_THRESHOLD: arrays under 64 MB from the heap
    except (OSError, AttributeError):  # not glibc: its allocator's own policy stands
        return


def _references(reference: list[str] | None) -> dict[str, str]:
    """The ``--reference NAME=GROUP`` options as ``{NAME: GROUP}`` (one error for a bad one)."""
    refs = {}
    for item in reference or []:
        name, sep, group = item.partition("=")
        if not sep or not name.strip() or not group.strip():
            raise InputError(f"--reference: expected NAME=GROUP, got {item!r}")
        refs[name.strip()] = group.strip()
    return refs


def _audit_options(*, scores: Path | None, run: str | None, label: str | None,
                   score: str | None, reference: list[str] | None,
                   **settings: Any) -> AuditOptions:
    """The audit's options from the command line (a run's predictions name their columns)."""
    from riskmodel.evaluation import AuditOptions

    refs = _references(reference)
    if run is not None:  # a run's test predictions hold these columns
        label, score = label or "label", score or "score"
    elif scores is None or label is None or score is None:
        raise InputError("fairness: give --scores FILE --label COL --score COL "
                         "(or --run RUN_ID --data DIR)")
    return AuditOptions(label=label, score=score, references=refs, **settings)


def _print_fairness(report: FairnessReport) -> None:
    """The audit's summary sentences and where the report is."""
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




@app.command()
def impact(
    data: Annotated[Path, typer.Option(help="The council's extract folder (outcomes, families; "
                                       "its scores/ folder is searched for lists).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path(
        "impact-report"),
    scores: Annotated[
        list[Path] | None,
        typer.Option(help="Monthly scores files with decisions recorded (repeatable); default "
                     "every list under DATA/scores/."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Fairness policy (its min_count rounds every count).")
    ] = None,
    running: Annotated[
        str, typer.Option(help="Distance from each month's cut-off: log-odds (of the score), "
                          "score, or rank (places as a share of the month's children).")
    ] = "log-odds",
    all_children: Annotated[
        bool, typer.Option(help="Keep child-months of children offered help for a list of "
                           "the 6 months before (left out by default).")
    ] = False,
):
    """Did the lists help? The effect of being listed and of help, at the capacity cut-off."""
    from riskmodel.jobs import report_impact

    report, paths = report_impact(data, out_dir, scores=scores or None, policy=policy,
                                  running=running, all_children=all_children)
    for line in report.summary:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    out.print(f"impact report: {paths['html']}", markup=False, highlight=False, soft_wrap=True)
