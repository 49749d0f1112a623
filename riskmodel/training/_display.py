"""Terminal tables for the leaderboard and run comparison (rich)."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

SHOWN = (("auc", "AUC"), ("average_precision", "avg precision"), ("brier", "Brier"),
         ("calibration_error", "calib. error"), ("precision_at_capacity", "precision@cap"),
         ("recall_at_capacity", "recall@cap"))


def _ci(row, metric: str) -> str:
    v, lo, hi = row[metric], row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return f"{v:.3f}"
    return f"{v:.3f} [{lo:.3f}–{hi:.3f}]"


def leaderboard_table(board: pd.DataFrame, *, title: str, capacity: str) -> Table:
    """The leaderboard with 95% intervals, the base rate, and PASS/FAIL."""
    base = board["base_rate"].iloc[0] if len(board) else float("nan")
    table = Table(title=f"{title} — base rate {base:.1%}, capacity {capacity}, "
                        "95% intervals (family bootstrap)", title_justify="left")
    table.add_column("candidate")
    for _, label in SHOWN:
        table.add_column(label, justify="right")
    table.add_column("result")
    for _, row in board.iterrows():
        result = row["result"]
        style = {"PASS": "bold green", "FAIL": "bold red"}.get(result, "dim")
        table.add_row(row["candidate"], *[_ci(row, m) for m, _ in SHOWN],
                      f"[{style}]{result}[/]")
    return table


def compare_table(runs: pd.DataFrame, *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("started", "candidate", "result", "data"):
        table.add_column(col)
    for _, label in SHOWN:
        table.add_column(label, justify="right")
    table.add_column("registered")
    for _, row in runs.iterrows():
        table.add_row(row["started"], str(row["candidate"]), str(row["result"]),
                      str(row["data_fingerprint"]), *[_ci(row, m) for m, _ in SHOWN],
                      row["registered"])
    return table
