"""Check the contract tables (placeholder while the full checks are written)."""

from __future__ import annotations

from ._contract import COLUMNS


def validate_tables(tables, *, extract_date=None) -> list[str]:
    problems = []
    for table, cols in COLUMNS.items():
        missing = [c for c in cols if c not in tables[table].columns]
        if missing:
            problems.append(f"{table}.{missing[0]}: column missing")
    return problems
