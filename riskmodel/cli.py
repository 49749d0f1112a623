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
        str | None, typer.Option(help="Date of the extract; no event may come after it.")
    ] = None,
):
    """Check a council extract against the input contract."""
    from .data import read_tables, summarise_tables, validate_tables

    tables = read_tables(data)
    problems = validate_tables(tables, extract_date=extract_date)
    if problems:
        for p in problems:
            console.print(p, markup=False, highlight=False, soft_wrap=True)
        raise InputError(f"{len(problems)} problem(s) in {data}")
    out.print(summarise_tables(tables))


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
