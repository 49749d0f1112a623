"""The command line's shell: the typer app, its consoles, shared option helpers and ``main``."""

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
from riskmodel._core.workspace import ENV, reset_specs, specs_used

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
    ctx: typer.Context,
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
                     "specs.", envvar=ENV),
    ] = None,
) -> None:
    """Predictive risk models for children's early help services."""
    import logging

    from riskmodel._core.workspace import use_workspace

    try:
        use_workspace(workspace)
    except InputError as exc:
        source = ctx.get_parameter_source("workspace")
        if source is not None and source.name == "ENVIRONMENT":  # say where it came from
            raise InputError(str(exc).replace("--workspace:", f"{ENV}:", 1)) from None
        raise
    if verbose:  # quiet is the store's default: importing it (and MLflow) can wait
        from riskmodel.store import set_verbose

        set_verbose(verbose)
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
    and a spinner with the elapsed time in a terminal.

    A step's line is printed once the next step begins (or the job ends), so a job that fails
    prints its one ``error:`` line, not the step it failed in and then the error.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"{title}…", total=None)
        started = time.perf_counter()
        held: list[str] = []

        def say_held() -> None:
            for line in held:
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            held.clear()

        def step(msg: str) -> None:
            say_held()
            held.append(f"  [{time.perf_counter() - started:5.0f}s] {msg}")
            bar.update(task, description=f"{title}: {msg}")

        yield step
        say_held()


def _as_of(value: str | list[str] | None) -> str | list[str] | None:
    """``--as-of`` checked as soon as it is parsed (the option is eager), so a mistyped date
    is refused in a second, before the extract is read and the heavy libraries load."""
    from riskmodel._core.dates import parse_date

    for one in [value] if isinstance(value, str) else value or []:
        parse_date(one, "--as-of")
    return value


def _data_source(value: str):
    """``--data``: a folder or DuckDB file (a Path), or a database URL or sources.yaml (a
    DatabaseSource, whose text masks the password wherever it is printed)."""
    from riskmodel.data import as_source

    return as_source(value)


DATA_HELP = ("Council extract: a folder of Parquet/CSV tables, a DuckDB file, a database URL "
             "(postgresql://user@host/db?schema=NAME, password in PGPASSWORD or ~/.pgpass) or "
             "a sources.yaml (docs/sql.md).")
DATA_METAVAR = "<path|url>"


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


def _out_of_memory_line() -> str:
    """What to do when DuckDB runs out of the memory it may use (it spills what it can)."""
    from riskmodel.data import duckdb_settings

    return ("error: the extract's database ran out of the memory it may use ("
            f"{duckdb_settings()['memory_limit']}). Set RISKMODEL_DUCKDB_MEMORY to a larger "
            "share (e.g. 4GB) if the machine has it")


def main(argv: list[str] | None = None) -> None:
    """Run the command line; user errors print one line and exit 2, never a traceback."""
    warnings.showwarning = _show_warning
    _warned.clear()
    reset_specs()
    try:
        code = app(args=argv, standalone_mode=False, prog_name="riskmodel")
        if code == 130:  # typer turns Ctrl-C into exit code 130 and returns it
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
        # Once, at the end of a run that worked: the spec files it read (full paths).
        for path in specs_used():
            console.print(f"spec: {path}", markup=False, highlight=False, soft_wrap=True)
    except InputError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        # A scheduler must not read Ctrl-C (or SIGINT) as success: 130, one line.
        console.print("interrupted", markup=False, highlight=False)
        sys.exit(130)
    except Exception as exc:
        if _is_click(exc, "Abort"):
            console.print("aborted")
            sys.exit(130)
        if _is_click(exc, "NoArgsIsHelpError"):
            exc.show()  # type: ignore[attr-defined]  # bare `riskmodel` or a command with nothing: its help, as a usage error
            sys.exit(2)
        if _is_click(exc, "ClickException"):
            # Usage errors (a missing option, an unknown one, a bad value): click's own
            # message on one line, exit 2 as click does.
            console.print(_usage_line(exc), markup=False, highlight=False, soft_wrap=True)
            code = getattr(exc, "exit_code", 2)
            sys.exit(code if code not in (0, 1) else 2)
        if type(exc).__name__ == "OutOfMemoryException" and not os.environ.get(
                "RISKMODEL_DEBUG"):  # DuckDB's: the machine's limit, not a bug
            console.print(_out_of_memory_line(), markup=False, highlight=False, soft_wrap=True)
            sys.exit(1)
        if os.environ.get("RISKMODEL_DEBUG"):  # a bug, not a user error: one line unless asked
            raise
        console.print(
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(set RISKMODEL_DEBUG=1 for a traceback)",
            markup=False, highlight=False, soft_wrap=True,
        )
        sys.exit(1)
