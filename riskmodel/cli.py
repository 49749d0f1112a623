"""The ``riskmodel`` command. It parses options and calls library functions; no logic lives here."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskmodel._core.errors import InputError, InputWarning
from riskmodel._core.workspace import reset_specs, specs_used

app = typer.Typer(
    help="Predictive risk models for children's early help services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


def _version(value: bool) -> None:
    if value:
        from riskmodel._core.version import __version__

        out.print(f"riskmodel {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the version and exit."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also print MLflow's own messages and "
                           "riskmodel's detail (e.g. riskmodel --verbose train ...).")
    ] = False,
    workspace: Annotated[
        Path | None,
        typer.Option(help="The council's workspace (riskmodel init writes one). Default: the "
                     "current folder or the first above it that is one, else the packaged "
                     "specs.", envvar="RISKMODEL_WORKSPACE"),
    ] = None,
) -> None:
    """Predictive risk models for children's early help services."""
    import logging

    from riskmodel._core.workspace import use_workspace
    from riskmodel.store import set_verbose

    use_workspace(workspace)
    set_verbose(verbose)
    if verbose:
        logging.basicConfig(format="%(name)s: %(message)s")
        logging.getLogger("riskmodel").setLevel(logging.INFO)


def _print_table(table) -> None:
    """Print a table whole: at its natural width when stdout is a file or pipe (a scheduled
    job's log, ``| less``), where rich would otherwise cut every column to fit 80."""
    needed = out.measure(table, options=out.options.update(max_width=10_000)).maximum
    if out.is_terminal:
        if needed > out.width:
            console.print(f"(widen the terminal to {needed} columns to see every column whole)",
                          style="dim", highlight=False)
        out.print(table)
    else:
        # print(width=...) is capped at the console's width; a console of the needed width is not
        Console(width=max(out.width, needed)).print(table)


@contextlib.contextmanager
def _steps(title: str):
    """A ``progress`` callback for a long job: one line per step on stderr (a scheduler's log),
    and a spinner with the elapsed time in a terminal."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"{title}…", total=None)
        started = time.perf_counter()

        def step(msg: str) -> None:
            bar.console.print(f"  [{time.perf_counter() - started:5.0f}s] {msg}", markup=False,
                              highlight=False)
            bar.update(task, description=f"{title}: {msg}")

        yield step


def _data_source(value: str):
    """``--data``: a folder or DuckDB file (a Path), or a database URL or sources.yaml (a
    DatabaseSource, whose text masks the password wherever it is printed)."""
    from riskmodel.data import as_source

    return as_source(value)


DATA_HELP = ("Council extract: a folder of Parquet/CSV tables, a DuckDB file, a database URL "
             "(postgresql://user@host/db?schema=NAME, password in PGPASSWORD or ~/.pgpass) or "
             "a sources.yaml (docs/sql.md).")
DATA_METAVAR = "<path|url>"


# ---------------------------------------------------------------- data ----------------------

@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder for the workspace (made if new).")],
):
    """Write a council workspace: the training, feature and fairness specs to edit."""
    from riskmodel.jobs.workspace import init_workspace

    written, kept = init_workspace(folder)
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
    for path in kept:
        out.print(f"kept {path} (edited; not overwritten)", markup=False, highlight=False,
                  soft_wrap=True)
    out.print(f"workspace ready: {folder.resolve()} (see {folder / 'WORKSPACE.md'})",
              markup=False, highlight=False, soft_wrap=True)

@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the council into.")],
    children: Annotated[int, typer.Option(help="Number of children.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 1,
    start: Annotated[str, typer.Option(help="First simulated day (ISO date).")] = "2019-01-01",
    end: Annotated[str, typer.Option(help="Last simulated day = extract date.")] = "2025-12-31",
    referral_bias: Annotated[
        list[str] | None,
        typer.Option(help="Plant referral bias, e.g. ethnicity=black:2.0 (repeatable)."),
    ] = None,
    drift: Annotated[
        list[str] | None,
        typer.Option(help="Plant a change from a date (repeatable): recording:DATE[:FACTOR"
                     "[:SOURCE]], population:DATE[:FACTOR] or risk:DATE[:FACTOR], e.g. "
                     "risk:2025-06-01:3 (docs/monitoring.md)."),
    ] = None,
):
    """Generate a synthetic council with known truth (four tables, truth, manifest)."""
    from riskmodel.data import generate_council

    path = generate_council(
        n_children=children, seed=seed, out=out_dir, start=start, end=end,
        referral_bias=referral_bias or None, drift=drift or None,
    )
    out.print(f"synthetic council: {children:,} children written to {path}")


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help=DATA_HELP, parser=_data_source)],
    extract_date: Annotated[
        str | None,
        typer.Option(
            help="Date of the extract (ISO); no record may come after it. "
            "Default: manifest.json's extract_date in DATA, else today."
        ),
    ] = None,
):
    """Check a council extract against the input contract."""
    from riskmodel.jobs.check import validate_extract

    result = validate_extract(data, extract_date=extract_date)
    if result.problems:
        for p in result.problems:
            console.print(p, markup=False, highlight=False, soft_wrap=True)
        raise InputError(f"{len(result.problems)} problem(s) in {data}")
    out.print(result.summary, markup=False, highlight=False, soft_wrap=True)
    out.print(f"OK: {data} meets the input contract", markup=False, highlight=False,
              soft_wrap=True)


# ---------------------------------------------------------------- features ------------------

@app.command()
def build(
    data: Annotated[Path, typer.Option(help=DATA_HELP, parser=_data_source,
                                                metavar=DATA_METAVAR)],
    outcome: Annotated[str, typer.Option(help="escalation or disengagement.")],
    as_of: Annotated[
        list[str], typer.Option("--as-of", help="As-of date (ISO); repeat for several.")
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Matrix file (.parquet or .csv).")],
    spec: Annotated[
        Path | None, typer.Option(help="Feature spec YAML. Default: the packaged early_help.")
    ] = None,
    horizon: Annotated[int, typer.Option(help="Months after the as-of date for the label.")] = 6,
    extract_date: Annotated[
        str | None,
        typer.Option(help="Date of the extract (ISO). Default: manifest.json's extract_date "
                     "in DATA, else the latest date in the data."),
    ] = None,
):
    """Build the feature matrix: one row per child open to early help at each as-of date."""
    from riskmodel.features import feature_columns
    from riskmodel.jobs.check import build_matrix_file

    matrix = build_matrix_file(data, out_path, outcome=outcome, as_of=as_of, spec=spec,
                               horizon_months=horizon, extract_date=extract_date)
    out.print(
        f"feature matrix: {len(matrix):,} rows x {len(feature_columns(matrix))} features "
        f"({outcome}, {len(set(matrix['as_of']))} as-of dates) written to {out_path}",
        markup=False, highlight=False, soft_wrap=True,
    )


@app.command()
def features(
    spec: Annotated[
        Path | None, typer.Option(help="Feature spec YAML. Default: the packaged early_help.")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Also write the dictionary (.csv or .parquet).")
    ] = None,
):
    """Print the feature dictionary: name, plain-words description, builder and window."""
    from riskmodel._core.io import write_table
    from riskmodel.features import feature_dictionary

    fd = feature_dictionary(spec)
    # Plain aligned lines, never truncated, so names can be copied and grepped.
    width = max((len(n) for n in fd["name"]), default=4)
    lines = [f"{'name':<{width}}  {'builder':<8}  {'window':<6}  description"]
    lines += [f"{r.name:<{width}}  {r.builder:<8}  {r.window:<6}  {r.description}"
              for r in fd.itertuples(index=False)]
    lines.append(f"{len(fd)} features")
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    if out_path is not None:
        write_table(fd, out_path)


# ---------------------------------------------------------------- training ------------------

@app.command()
def train(
    data: Annotated[Path, typer.Option(help=DATA_HELP, parser=_data_source,
                                                metavar=DATA_METAVAR)],
    spec: Annotated[
        Path | None, typer.Option(help="Training spec (YAML); default: training/<outcome>.yaml.")
    ] = None,
    outcome: Annotated[str, typer.Option(help="Outcome when no spec is given.")] = "escalation",
    register: Annotated[bool, typer.Option(help="Register the best passing candidate.")] = True,
):
    """Train every candidate on temporal folds, log to MLflow, print the leaderboard."""
    from riskmodel.jobs import train as train_models
    from riskmodel.training import load_training_spec
    from riskmodel.training._display import (
        leaderboard_table,
        leaderboard_title,
        over_time_lines,
    )

    spec_obj = load_training_spec(spec, outcome=outcome)
    with _steps(f"training {spec_obj.outcome}") as step:
        result = train_models(data, spec, outcome=outcome, register_best=register, progress=step)
    _print_table(leaderboard_table(result.leaderboard(), title=leaderboard_title(result),
                                   capacity=spec_obj.capacity.describe()))
    for c in result.candidates:
        if not c.passed:
            out.print(f"  {c.name} FAIL: {'; '.join(c.reasons)}", markup=False, highlight=False)
    for line in over_time_lines(result):
        out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    from riskmodel.store import experiment_url

    passed = [c.name for c in result.candidates if c.passed]
    if result.registered:
        r = result.registered
        out.print(f"registered {r['name']} version {r['version']} as {r['alias']}: {r['uri']}")
    elif not passed:
        out.print("no candidate met every pass threshold: nothing registered")
    else:
        out.print(f"{', '.join(passed)} met every pass threshold; not registered "
                  "(--no-register)")
    out.print(f"runs in the MLflow UI: {experiment_url(spec_obj.outcome)}", markup=False,
              highlight=False, soft_wrap=True)


@app.command()
def compare(
    outcome: Annotated[str, typer.Option(help="escalation or disengagement.")] = "escalation",
    last: Annotated[int, typer.Option(help="How many candidate runs to show.")] = 20,
    diff: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Show how two runs differ (spec, parameters, data): RUN_ID RUN_ID."),
    ] = None,
):
    """Show the training runs of an outcome side by side (with run ids), or diff two runs."""
    if diff is not None:
        from riskmodel.jobs.compare import diff_runs

        lines = diff_runs(*diff)
        out.print("\n".join(lines) if lines else
                  f"runs {diff[0][:8]} and {diff[1][:8]} have the same spec, data and code",
                  markup=False, highlight=False, soft_wrap=True)
        return
    from riskmodel.store import compare_runs
    from riskmodel.training._display import compare_table

    runs = compare_runs(outcome, max_runs=last)
    _print_table(compare_table(runs, title=f"{outcome}: candidate runs, newest first"))


@app.command()
def promote(
    outcome: Annotated[str, typer.Option(help="Registered model (the outcome).")] = "escalation",
    version: Annotated[
        int | None, typer.Option(help="Version to promote; default: the challenger.")
    ] = None,
    alias: Annotated[str, typer.Option(help="Alias to set.")] = "champion",
):
    """Point the champion (or another alias) at a registered model version."""
    from riskmodel.store import promote as promote_version

    r = promote_version(outcome, version=version, alias=alias)
    was = f" (was version {r['previous']})" if r["previous"] else ""
    out.print(f"{r['name']}@{r['alias']} -> version {r['version']}{was}")


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
        Path | None, typer.Option(help="With --run: the extract the run was trained on "
                                  "(folder, DuckDB file, database URL or sources.yaml).",
                                  parser=_data_source, metavar=DATA_METAVAR)
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
        typer.Option("--as-of", help="Explain the children open at this date (ISO). "
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
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path(
        "model-card"),
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
    from riskmodel.jobs import model_card, write_model_card
    from riskmodel.jobs.card import card_summary

    mc = model_card(model, fairness=fairness, answers=answers)
    paths = write_model_card(mc, out_dir, answers=answers)  # never overwrites the answers
    out.print(card_summary(mc, paths, out_dir), markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- scoring -------------------

@app.command()
def score(
    data: Annotated[Path, typer.Option(help=DATA_HELP, parser=_data_source,
                                       metavar=DATA_METAVAR)],
    out_path: Annotated[
        Path, typer.Option("--out", help="Scores file to write: scores.parquet, scores.csv "
                           "or scores.xlsx.")
    ],
    model: Annotated[
        str, typer.Option(help="Registered model, e.g. models:/escalation@champion.")
    ] = "models:/escalation@champion",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Score the children open at this date (ISO). "
                     "Default: the extract date."),
    ] = None,
    top: Annotated[
        str | None,
        typer.Option(help="Capacity: 500 or 10% (of the whole cohort) or 25/locality (each "
                     "locality's panel). Default: the workspace's training spec, else the "
                     "model's."),
    ] = None,
    explain_top: Annotated[
        str | None,
        typer.Option(help="Who gets reasons: as --top, or all/none. Default: in capacity."),
    ] = None,
    by_locality: Annotated[
        bool, typer.Option("--by-locality", help="Also write one CSV per locality beside "
                           "the scores file.")
    ] = False,
    with_characteristics: Annotated[
        bool, typer.Option("--with-characteristics", help="Add ethnicity, sex, disability, "
                           "age band and IMD quintile (personal data) for riskmodel fairness.")
    ] = False,
    chunk_size: Annotated[
        int, typer.Option(help="Rows scored at a time (bounds memory).")
    ] = 50_000,
):
    """Score every open child; write scores with reasons, rejected rows and an audit line."""
    from riskmodel.jobs import score as score_extract
    from riskmodel.scoring import ScoreOptions

    options = ScoreOptions(top=top, explain_top=explain_top, chunk_size=chunk_size,
                           by_locality=by_locality, with_characteristics=with_characteristics)
    run = score_extract(data, model, as_of, out=out_path, options=options)
    c, r = run.counts, run.record

    def say(text: str) -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"scores: {run.scores}")
    if run.localities:
        first = next(iter(run.localities.values()))
        say(f"by locality: {len(run.localities)} files beside it, e.g. {first.name}")
    if c["rejected"]:
        why = "; ".join(f"{k}: {v}" for k, v in r["rejected_reasons"].items())
        say(f"rejected: {run.rejected} ({why})")
    say(f"audit: {run.audit}")
    b = r["risk_bands"]
    say("risk bands: " + ", ".join(f"{k} {v:,}" for k, v in b["counts"].items())
        + f" ({b['rule']}; {b['source']})")
    left = sorted(((v["reasons_left_out"], v["share"], v["words"])
                   for v in r["reasons_left_out"]["features"].values()), reverse=True)
    if left and left[0][0]:
        say("reasons leave out what at least 75% of the children share, e.g. "
            + "; ".join(f"\"{w}\" ({s:.0%} of the children; {n:,} reasons left out)"
                        for n, s, w in left[:3] if n) + " (all in the audit)")
    rows = [("locality", "in", "scored", "rejected", "within capacity")]
    rows += [(k, *(f"{v[x]:,}" for x in ("rows_in", "scored", "rejected", "in_capacity")))
             for k, v in run.by_locality.items()]
    rows.append(("all", *(f"{c[x]:,}" for x in ("rows_in", "scored", "rejected",
                                                 "in_capacity"))))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        say("  " + "  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i])
                             for i, v in enumerate(row)))
    lengths = [v["in_capacity"] for v in run.by_locality.values()]
    spread = (f"; lists by locality {min(lengths):,}-{max(lengths):,} children "
              "(--top N/locality gives every panel N)"
              if lengths and r["capacity_rule"].endswith("whole cohort") else "")
    each = "; ".join(f"{k} {v['rows_in']:,} in, {v['scored']:,} scored, {v['rejected']:,} "
                     f"rejected, {v['in_capacity']:,} within capacity"
                     for k, v in run.by_locality.items())
    say(f"OK {r['model']['name']} v{r['model']['version']} at {r['as_of']} in "
        f"{r['seconds']:.1f}s: {c['rows_in']:,} children in, {c['scored']:,} scored, "
        f"{c['rejected']:,} rejected; {c['in_capacity']:,} within capacity "
        f"({r['capacity_rule']}{spread}), reasons for {c['explained']:,}. By locality: {each}")


@app.command()
def monitor(
    data: Annotated[Path | None, typer.Option(help=DATA_HELP, parser=_data_source,
                                              metavar=DATA_METAVAR)] = None,
    model: Annotated[str, typer.Option(help="Registered model.")] = "models:/escalation@champion",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The month: children open at this date (ISO). Default: the extract "
        "date.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for report.html and "
                                                 "summary.json.")] = None,
    history: Annotated[bool, typer.Option("--history", help="Print every month monitored "
                                          "since go-live and stop.")] = False,
    fail_on: Annotated[str | None, typer.Option(help="watch: exit 3 on watch, 4 on retrain "
                                                "recommended; retrain: exit 4 on it.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy YAML with the monitoring "
                                                "thresholds. Default: the workspace's.")] = None,
    record: Annotated[bool, typer.Option(help="Add the summary to the model's MLflow "
                                         "record.")] = True,
):
    """Is the model still working, and still fair? Drift, performance and one verdict."""
    from riskmodel.jobs.monitor import check_fail_on, history_text, monitor_text

    if history:
        out.print(history_text(model), markup=False, highlight=False, soft_wrap=True)
        return
    check_fail_on(fail_on)
    if data is None or out_dir is None:
        raise InputError("monitor: give --data DIR and --out DIR (or --history)")
    from riskmodel.jobs import monitor as monitor_month

    with _steps("monitoring") as step:
        run = monitor_month(data, model, as_of, out=out_dir, policy=policy, record=record,
                            progress=step)
    out.print(monitor_text(run, record=record), markup=False, highlight=False, soft_wrap=True)
    if code := run.exit_code(fail_on):  # for schedulers: the spec lines, then the status
        for path in specs_used():
            console.print(f"spec: {path}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(code)


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for everything the demo writes.")
    ] = Path("riskmodel-demo"),
    children: Annotated[int, typer.Option(help="Children in the synthetic council.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    spec: Annotated[
        Path | None, typer.Option(help="Training spec; default: the packaged escalation spec.")
    ] = None,
):
    """Run the whole job on a generated synthetic council, end to end."""
    from riskmodel.jobs import run_demo

    run_demo(out_dir, n_children=children, seed=seed, spec=spec, console=out)


# ---------------------------------------------------------------- entry ---------------------

def _is_click(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is click's ``name`` exception (click's own, or the copy typer vendors)."""
    return any(cls.__name__ == name and cls.__module__.split(".")[-1] == "exceptions"
               for cls in type(exc).__mro__)


def _usage_line(exc) -> str:
    """Click's message in one line, with the command it belongs to and where to read more."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "riskmodel"
    where = "riskmodel" + where[where.index(" "):] if " " in where else "riskmodel"
    return f"error: {' '.join(exc.format_message().split())} (see {where} --help)"


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, InputWarning):
        if str(message) not in _warned:  # an extract read twice warns once
            _warned.add(str(message))
            console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning
_warned: set[str] = set()


def main(argv: list[str] | None = None) -> None:
    """Run the command line; user errors print one line and exit 2, never a traceback."""
    warnings.showwarning = _show_warning
    _warned.clear()
    reset_specs()
    try:
        app(args=argv, standalone_mode=False, prog_name="riskmodel")
        # Once, at the end of a run that worked: the spec files it read (full paths).
        for path in specs_used():
            console.print(f"spec: {path}", markup=False, highlight=False, soft_wrap=True)
    except InputError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _is_click(exc, "Abort"):
            console.print("aborted")
            sys.exit(130)
        if _is_click(exc, "NoArgsIsHelpError"):
            exc.show()  # bare `riskmodel` or a command with nothing: its help, as a usage error
            sys.exit(2)
        if _is_click(exc, "ClickException"):
            # Usage errors (a missing option, an unknown one, a bad value): click's own
            # message on one line, exit 2 as click does.
            console.print(_usage_line(exc), markup=False, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code if exc.exit_code not in (0, 1) else 2)
        if os.environ.get("RISKMODEL_DEBUG"):  # a bug, not a user error: one line unless asked
            raise
        console.print(
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set RISKMODEL_DEBUG=1 for a traceback)",
            markup=False, highlight=False, soft_wrap=True,
        )
        sys.exit(1)
