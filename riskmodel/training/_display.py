"""Terminal tables for the leaderboard and run comparison (rich)."""

from __future__ import annotations

import math

import pandas as pd
from rich import box
from rich.table import Table

SHOWN = (("auc", "AUC"), ("average_precision", "avg\nprec."), ("brier", "Brier"),
         ("calibration_error", "calib.\nerror"), ("precision_at_capacity", "prec.\n@cap"),
         ("recall_at_capacity", "recall\n@cap"))


def _ci(row, metric: str) -> str:
    v, lo, hi = row[metric], row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return f"{v:.3f}"
    # value above its interval, so the table fits an 80-column terminal
    return f"{v:.3f}\n[dim]{_short(lo)}–{_short(hi)}[/]"


def _short(x: float) -> str:
    """0.4123 -> '.41' (intervals of rates and AUCs, to fit the terminal)."""
    text = f"{x:.2f}"
    return text[1:] if text.startswith("0.") else text


def _flags(row) -> str:
    """Fairness flags against a group, and the worst (the spec's fairness bars)."""
    v = row.get("fairness_flags")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "\u2013"
    worst = row.get("fairness_worst") or ""
    return f"{int(v)}" + (f"\n[dim]{worst}[/]" if worst else "")


def leaderboard_table(board: pd.DataFrame, *, title: str, capacity: str) -> Table:
    """The leaderboard with 95% intervals, the base rate, and PASS/FAIL."""
    base = board["base_rate"].iloc[0] if len(board) else float("nan")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, title_justify="left",
                  title=f"{title}\nbase rate {base:.1%}; capacity {capacity}; "
                        "95% intervals (family bootstrap)")
    table.add_column("candidate", no_wrap=True)
    for _, label in SHOWN:
        table.add_column(label, justify="right", min_width=7, no_wrap=True)
    fair = "fairness_flags" in board.columns
    if fair:
        table.add_column("fair.\nflags", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for _, row in board.iterrows():
        result = "ref" if row["result"] == "reference" else row["result"]
        style = {"PASS": "bold green", "FAIL": "bold red"}.get(result, "dim")
        extra = [_flags(row)] if fair else []
        table.add_row(row["candidate"], *[_ci(row, m) for m, _ in SHOWN], *extra,
                      f"[{style}]{result}[/]")
    return table


def compare_table(runs: pd.DataFrame, *, title: str) -> Table:
    """Candidate runs side by side: run id (for ``fairness --run`` and ``compare --diff``),
    capacity and parameters, so rows judged differently are seen to differ."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), title=title, title_justify="left")
    for col in ("run id", "started", "candidate", "result", "data", "capacity"):
        table.add_column(col, no_wrap=col != "started")
    for _, label in SHOWN:
        table.add_column(label, justify="right")
    table.add_column("registered")
    table.add_column("parameters")
    for _, row in runs.iterrows():
        table.add_row(row["run_id"], row["started"], str(row["candidate"]), str(row["result"]),
                      str(row["data_fingerprint"]), str(row.get("capacity", "") or ""),
                      *[_ci(row, m) for m, _ in SHOWN], row["registered"],
                      str(row.get("params", "") or ""))
    return table


def diff_lines(left: dict, right: dict, *, names: tuple[str, str]) -> list[str]:
    """Plain lines naming every key whose value differs between two flat mappings.

    Examples
    --------
    >>> diff_lines({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}, names=("r1", "r2"))
    ['b: 2 (r1) -> 3 (r2)', 'c: (absent) (r1) -> 4 (r2)']
    """
    out = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key, "(absent)"), right.get(key, "(absent)")
        if a != b:
            out.append(f"{key}: {a} ({names[0]}) -> {b} ({names[1]})")
    return out


def leaderboard_title(result) -> str:
    """What the leaderboard's figures are measured on, in words."""
    outcome = result.spec.outcome
    if not result.holdout_dates:
        return f"{outcome}: test dates " + ", ".join(str(d.date()) for d in result.test_dates)
    final = ", ".join(str(d.date()) for d in result.holdout_dates)
    chosen_on = [d for d in result.test_dates if d not in result.holdout_dates]
    return (f"{outcome}: final out-of-time period {final} (never used to choose or tune); "
            f"chosen on {len(chosen_on)} earlier dates {chosen_on[0].date()} to "
            f"{chosen_on[-1].date()}")


def over_time_lines(result) -> list[str]:
    """Plain lines on the choice, quality date to date, list stability and the bars."""
    lines = []
    if getattr(result, "plan", None) is not None:
        lines.append(result.plan.describe(result.spec.horizon_months))
    chosen = next((r for r in result.candidates if r.name == result.chosen), None)
    if chosen is None:
        return lines
    verdict = "passed every bar" if chosen.passed else "failed: nothing registered"
    lines.append(f"chosen by least regret on the selection dates ({result.spec.select_by}): "
                 f"{chosen.name} (mean regret {chosen.regret:.3f}); on the final period it "
                 f"{verdict}")
    if chosen.per_date is not None and len(chosen.per_date) > 1:
        auc = chosen.per_date["auc"]
        lines.append(f"{chosen.name}'s AUC date to date: {auc.min():.3f} to {auc.max():.3f} "
                     f"(standard deviation {auc.std(ddof=1):.3f} over {len(auc)} dates)")
    if chosen.stability is not None and len(chosen.stability):
        st = chosen.stability
        lines.append(f"list stability from one test date to the next (children at both): "
                     f"Jaccard {st['jaccard'].mean():.2f} of the capacity lists, rank "
                     f"correlation {st['rank_correlation'].mean():.2f}")
    if result.learning_curve is not None:
        parts = [f"{r.training_dates} dates {r.auc:.3f}" for r in
                 result.learning_curve.itertuples()]
        lines.append(f"learning curve of {chosen.name} (final-period AUC by training dates): "
                     + ", ".join(parts))
    lines.extend(result.notes)
    return lines
