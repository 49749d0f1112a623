"""Commands for models: train, compare, promote, score, demo, monitor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskmodel._core.errors import InputError
from riskmodel._core.workspace import specs_used
from riskmodel.cli._app import (
    DATA_HELP,
    DATA_METAVAR,
    _as_of,
    _data_source,
    _print_table,
    _steps,
    app,
    console,
    out,
)

# ---------------------------------------------------------------- training ------------------

#: `riskmodel train`'s exit code when no candidate passed every bar (nothing registered).
NOTHING_REGISTERED = 3

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
    """Train every candidate on temporal folds, log to MLflow, print the leaderboard.

    Exits 0 when a candidate passed every bar (registered as champion or challenger), 3 when
    none did and nothing was registered (1 is an internal error, 2 bad input)."""
    from riskmodel.jobs import train as train_models
    from riskmodel.training import (
        leaderboard_table,
        leaderboard_title,
        load_training_spec,
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
    from riskmodel.store import experiment_link

    passed = [c.name for c in result.candidates if c.passed]
    if result.registered:
        r = result.registered
        out.print(f"registered {r['name']} version {r['version']} as {r['alias']}: {r['uri']}",
                  soft_wrap=True)
    elif not passed:
        out.print("no candidate met every pass threshold: nothing registered")
    else:
        out.print(f"{', '.join(passed)} met every pass threshold; not registered "
                  "(--no-register)", soft_wrap=True)
    out.print(f"runs in the MLflow UI: {experiment_link(spec_obj.outcome)}", markup=False,
              highlight=False, soft_wrap=True)
    if not passed:  # for schedulers: the run finished, but no model was good enough
        sys.exit(NOTHING_REGISTERED)


@app.command()
def compare(
    outcome: Annotated[str, typer.Option(help="escalation or disengagement.")] = "escalation",
    last: Annotated[int, typer.Option(help="How many candidate runs to show.")] = 20,
    diff: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Show how two runs differ (spec, parameters, data) and their test "
                     "metrics: RUN RUN (the ids, or the 8 characters compare prints)."),
    ] = None,
):
    """Show the training runs of an outcome side by side (with run ids), or diff two runs."""
    if diff is not None:
        from riskmodel.jobs.compare import diff_runs

        out.print("\n".join(diff_runs(*diff)), markup=False, highlight=False, soft_wrap=True)
        return
    from riskmodel.store import compare_runs

    runs = compare_runs(outcome, max_runs=last)
    # Piped to a file or another program: nothing is cut to fit a terminal that is not there.
    shown = out if out.is_terminal else Console(width=max(out.width, 160))
    shown.print(_compare_metrics(runs, title=f"{outcome}: candidate runs, newest first; test "
                                 "metrics with 95% intervals"))
    for line in _compare_details(runs, width=shown.width):
        shown.print(line, markup=False, highlight=False, soft_wrap=True)


# The lead metrics compare shows, with their column headings (two short lines each).
_SHOWN = (("auc", "AUC"), ("average_precision", "avg\nprec."), ("brier", "Brier"),
          ("calibration_error", "calib.\nerror"), ("precision_at_capacity", "prec.\n@cap"),
          ("recall_at_capacity", "recall\n@cap"))


def _with_interval(row, metric: str) -> str:
    """0.712 over its interval .69-.73 (dim), or a dash when the run has no such metric."""
    import math

    def short(x: float) -> str:
        text = f"{x:.2f}"
        return text[1:] if text.startswith("0.") else text

    value, low, high = row[metric], row[f"{metric}_low"], row[f"{metric}_high"]
    if value is None or math.isnan(value):
        return "–"
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.3f}"
    return f"{value:.3f}\n[dim]{short(low)}–{short(high)}[/]"


def _compare_metrics(runs, *, title: str):
    """The runs' metrics side by side, narrow enough for an 80- to 100-column terminal: the
    run's first 8 characters (what compare --diff and fairness --run take), candidate, result
    and the lead metrics; the rest of each run is in the lines below it."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False,
                  title=title, title_justify="left")
    for col in ("run", "candidate", "result"):
        table.add_column(col, no_wrap=True)
    for _, label in _SHOWN:
        table.add_column(label, justify="right", no_wrap=True)
    for _, row in runs.iterrows():
        table.add_row(row["run_id"][:8], str(row["candidate"]), str(row["result"]),
                      *[_with_interval(row, m) for m, _ in _SHOWN])
    return table


def _compare_details(runs, *, width: int) -> list[str]:
    """Per run, wrapped to the terminal: when it started, its data, registration, capacity
    and parameters (the full run id for MLflow's search box)."""
    import textwrap

    lines = []
    for _, row in runs.iterrows():
        facts = [f"started {row['started']}", f"data {row['data_fingerprint']}",
                 f"registered {row['registered']}" if row["registered"] else "not registered",
                 f"capacity {row['capacity'] or '–'}", f"parameters {row['params'] or '–'}",
                 f"run id {row['run_id']}"]
        lines += textwrap.wrap(f"{row['run_id'][:8]}  " + "; ".join(facts),
                               width=max(width, 40), subsequent_indent=" " * 10)
    return lines


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
        typer.Option("--as-of", callback=_as_of, is_eager=True,
                     help="Score the children open at this date (ISO). "
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
    _print_score_run(score_extract(data, model, as_of, out=out_path, options=options))


def _print_score_run(run) -> None:
    """What ``riskmodel score`` prints: the files, the bands, a table by locality, one OK line."""
    c, r = run.counts, run.record

    def say(text: str) -> None:
        out.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"scores: {run.scores}")
    if run.localities:
        first = next(iter(run.localities.values()))
        say(f"by locality: {len(run.localities)} files beside it, e.g. {first.name}")
    if c["rejected"] or r.get("not_scored"):  # and the open children not in the matrix
        why = "; ".join(f"{k}: {v}" for k, v in {**r["rejected_reasons"],
                                                 **r.get("not_scored", {})}.items())
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
    rows: list[tuple[str, ...]] = [("locality", "in", "scored", "rejected", "within capacity")]
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
              if lengths and run.capacity is not None and not run.capacity.per_locality else "")
    each = "; ".join(f"{k} {v['rows_in']:,} in, {v['scored']:,} scored, {v['rejected']:,} "
                     f"rejected, {v['in_capacity']:,} within capacity"
                     for k, v in run.by_locality.items())
    say(f"OK {r['model']['name']} v{r['model']['version']} at {r['as_of']} in "
        f"{r['seconds']:.1f}s: {c['rows_in']:,} children in, {c['scored']:,} scored, "
        f"{c['rejected']:,} rejected; {c['in_capacity']:,} within capacity "
        f"({r['capacity_rule']}{spread}), reasons for {c['explained']:,}. By locality: {each}")


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for everything the demo writes.")
    ] = Path("riskmodel-demo"),
    children: Annotated[
        int, typer.Option(help="Children in the synthetic council (40,000: enough for the "
                          "packaged pass bars on a year held out).")
    ] = 40_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    spec: Annotated[
        Path | None, typer.Option(help="Training spec; default: the packaged escalation spec.")
    ] = None,
):
    """Run the whole job on a generated synthetic council, end to end."""
    from riskmodel.jobs import run_demo

    run_demo(out_dir, n_children=children, seed=seed, spec=spec, console=out)


@app.command()
def monitor(
    data: Annotated[Path | None, typer.Option(help=DATA_HELP, parser=_data_source,
                                              metavar=DATA_METAVAR)] = None,
    model: Annotated[str, typer.Option(help="Registered model.")] = "models:/escalation@champion",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", callback=_as_of, is_eager=True,
        help="The month: children open at this date (ISO). Default: the extract date.")] = None,
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
    decisions: Annotated[Path | None, typer.Option(
        help="Stored decisions (the folder or file riskmodel decisions add keeps): outcomes "
             "observed/expected among children offered help and not.")] = None,
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
                            progress=step, decisions=decisions)
    out.print(monitor_text(run, record=record), markup=False, highlight=False, soft_wrap=True)
    if code := run.exit_code(fail_on):  # for schedulers: the spec lines, then the status
        for path in specs_used():
            console.print(f"spec: {path}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(code)
