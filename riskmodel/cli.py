"""The ``riskmodel`` command. It parses options and calls library functions; no logic lives here."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from ._errors import InputError

app = typer.Typer(
    help="Predictive risk models for children's early help services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


# ---------------------------------------------------------------- data ----------------------

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
):
    """Generate a synthetic council with known truth (four tables, truth, manifest)."""
    from .data import generate_council

    path = generate_council(
        n_children=children, seed=seed, out=out_dir, start=start, end=end,
        referral_bias=referral_bias or None,
    )
    out.print(f"synthetic council: {children:,} children written to {path}")


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Folder of Parquet/CSV tables, or a DuckDB file.")],
    extract_date: Annotated[
        str | None,
        typer.Option(
            help="Date of the extract (ISO); no record may come after it. "
            "Default: manifest.json's extract_date in DATA, else today."
        ),
    ] = None,
):
    """Check a council extract against the input contract."""
    from .data import read_extract_date, read_tables, summarise_tables, validate_tables

    if extract_date is None and data.is_dir():
        extract_date = read_extract_date(data)
    tables = read_tables(data)
    problems = validate_tables(tables, extract_date=extract_date)
    if problems:
        for p in problems:
            console.print(p, markup=False, highlight=False, soft_wrap=True)
        raise InputError(f"{len(problems)} problem(s) in {data}")
    out.print(summarise_tables(tables), markup=False, highlight=False)


# ---------------------------------------------------------------- training ------------------

@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Council extract: folder or DuckDB file.")],
    spec: Annotated[
        Path | None, typer.Option(help="Training spec (YAML); default: training/<outcome>.yaml.")
    ] = None,
    outcome: Annotated[str, typer.Option(help="Outcome when no spec is given.")] = "escalation",
    register: Annotated[bool, typer.Option(help="Register the best passing candidate.")] = True,
):
    """Train every candidate on temporal folds, log to MLflow, print the leaderboard."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .training import load_training_spec
    from .training import train as train_models
    from .training._display import leaderboard_table

    spec_obj = load_training_spec(spec, outcome=outcome)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"training {spec_obj.outcome}: building features", total=None)

        def step(msg: str) -> None:
            bar.console.print(f"  {msg}", markup=False, highlight=False)
            bar.update(task, description=f"training {spec_obj.outcome}: {msg}")

        result = train_models(data, spec, outcome=outcome, register_best=register, progress=step)
    out.print(leaderboard_table(result.leaderboard(), title=f"{spec_obj.outcome}: test dates "
              + ", ".join(str(d.date()) for d in result.test_dates),
              capacity=spec_obj.capacity.describe()))
    for c in result.candidates:
        if not c.passed:
            out.print(f"  {c.name} FAIL: {'; '.join(c.reasons)}", markup=False, highlight=False)
    if result.registered:
        r = result.registered
        out.print(f"registered {r['name']} version {r['version']} as {r['alias']}: {r['uri']}")
    else:
        out.print("no candidate met every pass threshold: nothing registered")


@app.command()
def compare(
    outcome: Annotated[str, typer.Option(help="escalation or disengagement.")] = "escalation",
    last: Annotated[int, typer.Option(help="How many candidate runs to show.")] = 20,
):
    """Show the training runs of an outcome side by side."""
    from .training import compare_runs
    from .training._display import compare_table

    runs = compare_runs(outcome, max_runs=last)
    out.print(compare_table(runs, title=f"{outcome}: candidate runs, newest first"))


@app.command()
def promote(
    outcome: Annotated[str, typer.Option(help="Registered model (the outcome).")] = "escalation",
    version: Annotated[
        int | None, typer.Option(help="Version to promote; default: the challenger.")
    ] = None,
    alias: Annotated[str, typer.Option(help="Alias to set.")] = "champion",
):
    """Point the champion (or another alias) at a registered model version."""
    from .training import promote as promote_version

    r = promote_version(outcome, version=version, alias=alias)
    was = f" (was version {r['previous']})" if r["previous"] else ""
    out.print(f"{r['name']}@{r['alias']} -> version {r['version']}{was}")


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for everything the demo writes.")
    ] = Path("riskmodel-demo"),
    children: Annotated[int, typer.Option(help="Children in the synthetic council.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
):
    """Run the whole job on a generated synthetic council, end to end."""
    from .demo import run_demo

    run_demo(out_dir, n_children=children, seed=seed, console=out)


# ---------------------------------------------------------------- entry ---------------------

def main(argv: list[str] | None = None) -> None:
    """Run the command line; user errors print one line and exit 2, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except InputError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Abort:
        console.print("aborted")
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug, not a user error: still one line unless asked
        if os.environ.get("RISKMODEL_DEBUG"):
            raise
        console.print(
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set RISKMODEL_DEBUG=1 for a traceback)",
            markup=False, highlight=False, soft_wrap=True,
        )
        sys.exit(1)
