"""Where a folder holds each contract table: the file names read, and near misses of them."""

from __future__ import annotations

from pathlib import Path

from riskmodel.data._contract import TABLES

SUFFIXES = (".parquet", ".csv")


def _find(folder: Path, table: str) -> Path | None:
    for suffix in SUFFIXES:
        p = folder / f"{table}{suffix}"
        if p.is_file():
            return p
    return None


def _near_misses(folder: Path, table: str) -> list[str]:
    # children_history.csv starts with "children" but is another table, not a near miss.
    longer = [t for t in TABLES if t != table and t.startswith(table)]
    return sorted(
        p.name for p in folder.iterdir()
        if p.name.lower().startswith(table) and p.name.lower() != table
        and not p.name.lower().startswith(tuple(longer))
    )
