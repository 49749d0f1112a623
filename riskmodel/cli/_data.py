"""Commands for data: init, synth, import, validate, build, features."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from riskmodel._core.errors import InputError
from riskmodel.cli._app import (
    DATA_HELP,
    DATA_METAVAR,
    _as_of,
    _data_source,
    app,
    console,
    out,
)

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
                     "[:SOURCE]], population:DATE[:FACTOR], risk:DATE[:FACTOR], "
                     "decay:DATE[:SHARE] (escalations moved to other open children) or "
                     "season:MONTH[:SHARE[:SOURCE]] (every year), e.g. risk:2025-06-01:3, "
                     "season:8:0.7:school (docs/monitoring.md)."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="native (the four contract tables) or annex-a (an "
                     "Ofsted Annex A workbook and CIN assessment factors, as a council "
                     "holds them; import it with riskmodel import annex-a)."),
    ] = "native",
    knowledge_dates: Annotated[
        bool,
        typer.Option("--knowledge-dates/--no-knowledge-dates",
                     help="Record when late-filled values became known (MASH ratings and "
                     "outcomes, backdated episode starts, triage) and children_history "
                     "(moves between localities); --no-knowledge-dates: a council that "
                     "records none (the children table still as at the extract)."),
    ] = True,
    help_effect: Annotated[
        float | None,
        typer.Option(help="Plant monthly lists and help of known effect: an offered child's "
                     "chance of escalating in the next 6 months times FACTOR (0.5: help "
                     "halves it; 1.0: help does nothing). Writes scores/ and decisions "
                     "(docs/impact.md).", metavar="FACTOR"),
    ] = None,
    help_start: Annotated[
        str, typer.Option(help="With --help-effect: the first monthly list (ISO date).")
    ] = "2021-01-01",
):
    """Generate a synthetic council with known truth (contract tables, truth, manifest)."""
    from riskmodel.data import generate_council

    if fmt not in ("native", "annex-a"):
        raise InputError(f"--format: expected native or annex-a, got {fmt!r}")
    if help_effect is not None and (fmt != "native" or not 0 <= help_effect <= 1):
        raise InputError(f"--help-effect: must be from 0 to 1 (the risk multiplier of help), "
                         f"with --format native; got {help_effect} ({fmt})")
    path = generate_council(
        n_children=children, seed=seed, out=out_dir, start=start, end=end,
        referral_bias=referral_bias or None, drift=drift or None, fmt=fmt,
        knowledge_dates=knowledge_dates,
    )
    what = "as an Ofsted Annex A workbook " if fmt == "annex-a" else ""
    out.print(f"synthetic council: {children:,} children written {what}to {path}")
    if help_effect is not None:
        _plant_help(path, help_effect, help_start, seed)


def _plant_help(path: Path, factor: float, start: str, seed: int) -> None:
    """``synth --help-effect``: monthly lists, decisions and help of known effect."""
    from riskmodel.jobs import plant_listed_help

    rec = plant_listed_help(path, factor, start=start, seed=seed)
    out.print(f"help planted: {rec['lists']} monthly lists from {rec['start']}, "
              f"{rec['children_offered']:,} children offered help, risk x{factor}; "
              f"true local risk ratio at the cut-off {rec['local_risk_ratio']}")


import_app = typer.Typer(
    help="Bring a council's own data in: an Ofsted Annex A workbook, or any extract with a "
    "mapping.yaml. Writes an extract folder the other commands read.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


def _print_lines(lines) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _unmapped_listed():
    """Values no mapping covers, in several columns: one line per column, then the error."""
    from riskmodel.data import UnmappedValues

    try:
        yield
    except UnmappedValues as exc:
        if len(exc.lines) > 1:
            for line in exc.lines:
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        raise


@import_app.command("annex-a")
def import_annex_a(
    source: Annotated[Path, typer.Argument(
        help="The Annex A workbook (.xlsx), or a folder of one CSV per list (List 1.csv, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the extract into.")],
    mapping: Annotated[Path | None, typer.Option(
        help="mapping.yaml: local headers and values, date format (default day-first).")
    ] = None,
    factors: Annotated[Path | None, typer.Option(
        help="CIN census assessment factors (child id, factor code, date): the ACE codes "
        "become ace_factors.")] = None,
    extract_date: Annotated[str | None, typer.Option(
        help="When the lists were produced (ISO). Default: the latest date in them.")] = None,
):
    """Read Ofsted Annex A Lists 1, 2, 3, 6, 7, 8 into the input contract (with a report)."""
    from riskmodel.jobs.imports import import_annex_a as run

    with _unmapped_listed():
        result = run(source, out_dir, mapping=mapping, factors=factors,
                     extract_date=extract_date)
    _print_lines(result.lines())


@import_app.command("extract")
def import_extract(
    source: Annotated[Path, typer.Argument(
        help="A folder of CSV/Parquet files, or an .xlsx workbook with a sheet per table.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the extract into.")],
    mapping: Annotated[Path, typer.Option(
        help="mapping.yaml: where each table is, column renames, value maps, date format.")],
    extract_date: Annotated[str | None, typer.Option(
        help="When the extract was taken (ISO). Default: the latest date in it.")] = None,
):
    """Read any extract through the council's mapping.yaml into the input contract."""
    from riskmodel.jobs.imports import import_extract as run

    with _unmapped_listed():
        result = run(source, out_dir, mapping=mapping, extract_date=extract_date)
    _print_lines(result.lines())


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
    """Check a council extract against the input contract; say when late-filled values
    (MASH ratings, outcomes, episode starts, triage levels, family and locality) were known."""
    from riskmodel.jobs.check import validate_extract

    result = validate_extract(data, extract_date=extract_date)
    if result.problems:
        for p in result.problems:
            console.print(p, markup=False, highlight=False, soft_wrap=True)
        raise InputError(f"{len(result.problems)} problem(s) in {data}")
    out.print(result.summary, markup=False, highlight=False, soft_wrap=True)
    out.print(f"OK: {data} meets the input contract", markup=False, highlight=False,
              soft_wrap=True)
    _print_lines(result.knowledge)  # when late-filled values became known (counts only)


# ---------------------------------------------------------------- features ------------------

@app.command()
def build(
    data: Annotated[Path, typer.Option(help=DATA_HELP, parser=_data_source,
                                                metavar=DATA_METAVAR)],
    outcome: Annotated[str, typer.Option(help="escalation or disengagement.")],
    as_of: Annotated[
        list[str], typer.Option("--as-of", callback=_as_of, is_eager=True,
                     help="As-of date (ISO); repeat for several.")
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
        f"({outcome}, {matrix['as_of'].nunique()} as-of dates) written to {out_path}",
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


