"""``riskmodel decisions``: the command group (add, report, synth).

It only parses options, calls one job and prints, like every command (``riskmodel.cli``
adds this group to the app); errors are ``InputError``s that ``main`` prints as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

decisions = typer.Typer(
    help="What the panels decided: record decisions beside the scores, report on them.",
    no_args_is_help=True,
)
_out = Console()


def _say(text: str) -> None:
    _out.print(text, markup=False, highlight=False, soft_wrap=True)


@decisions.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="The panel's decisions: .csv, .xlsx or .parquet "
                                         "(child_id, scoring_month, decision, reason, "
                                         "decision_date).")],
    scores: Annotated[Path, typer.Option(help="The scores file the decisions answer.")],
    mapping: Annotated[
        Path | None, typer.Option(help="YAML of the council's column names and words "
                                  "(docs/decisions.md).")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the decisions recorded for this list.")
    ] = False,
):
    """Check a panel's decisions against their list and store them beside the scores."""
    from riskmodel.jobs.decisions import add_decisions

    r = add_decisions(file, scores, mapping=mapping, replace=replace)
    _say(f"decisions: {r.path} (private)")
    _say(f"OK {'replaced with' if r.replaced else 'recorded'} {r.counts['rows']:,} decisions "
         f"for the list of {r.month} ({r.counts['stored']:,} recorded in all): "
         + added_line(r.counts))


def added_line(c: dict) -> str:
    """The recorded counts in the report's words (exact here; the report rounds them).

    Examples
    --------
    >>> added_line({"listed": 10, "reviewed": 9, "listed_offered": 5, "listed_declined": 1,
    ...             "listed_already_supported": 1, "listed_not_needed": 2, "not_reviewed": 1,
    ...             "added": 2, "not_listed_decided": 3})  # doctest: +NORMALIZE_WHITESPACE
    '10 listed: reviewed by a panel 9; offered early help 5, offered, declined by the family
    1, already supported 1, not needed (listed but not offered) 2, not reviewed 1; added
    though not listed (offered help) 2 (3 decisions for children not on the list)'
    """
    from riskmodel.evaluation.decisions import COUNTS

    each = ", ".join(f"{COUNTS[k][0]} {c[k]:,}" for k in (
        "listed_offered", "listed_declined", "listed_already_supported", "listed_not_needed",
        "not_reviewed"))
    line = (f"{c['listed']:,} listed: {COUNTS['reviewed'][0]} {c['reviewed']:,}; {each}; "
            f"{COUNTS['added'][0]} {c['added']:,}")
    if c["not_listed_decided"] != c["added"]:
        line += f" ({c['not_listed_decided']:,} decisions for children not on the list)"
    return line


@decisions.command("report")
def report(
    scores: Annotated[
        list[Path], typer.Option(help="A scores file with recorded decisions; repeat for "
                                 "several months.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html and "
                                          "summary.json.")] = Path("decisions-report"),
    data: Annotated[
        Path | None, typer.Option(help="The council's extract: adds outcomes once the "
                                  "horizon has passed, and characteristics the scores lack.")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Fairness policy YAML. Default: the workspace's.")
    ] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "What the panels decided",
    seed: Annotated[int, typer.Option(help="Seed of the intervals' draws.")] = 0,
):
    """Override rates by locality and group, the list vs the decisions, and outcomes."""
    from riskmodel.jobs.decisions import report_decisions

    run = report_decisions(scores, out_dir, data=data, policy=policy, title=title, seed=seed)
    for sentence in run.report.summary:
        _say(f"- {sentence}")
    for note in run.report.notes:
        _say(f"note: {note}")
    _say(f"report: {run.paths['html']}")
    _say(f"summary: {run.paths['json']}")


@decisions.command("synth")
def synth(
    scores: Annotated[Path, typer.Option(help="The scores file to answer.")],
    out: Annotated[Path, typer.Option(help="Decisions file to write (.csv or .xlsx).")],
    override_bias: Annotated[
        list[str] | None,
        typer.Option(help="Plant an override bias, e.g. ethnicity=black:0.5 (that group's "
                     "chance of an offer times 0.5); repeatable."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
):
    """Synthetic panel decisions for a scores file (known truth, for testing the report)."""
    from riskmodel.jobs.decisions import write_synth_decisions

    path, d = write_synth_decisions(scores, out, override_bias=override_bias or None,
                                    seed=seed)
    counts = d["decision"].value_counts()
    _say(f"synthetic decisions: {len(d):,} written to {path} ("
         + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()) + ")")
