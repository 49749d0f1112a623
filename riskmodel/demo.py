"""The demo: the whole job on a generated synthetic council, end to end."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def run_demo(out_dir: str | Path, *, n_children: int = 20_000, seed: int = 1,
             console: Console | None = None) -> dict[str, Path]:
    """Generate a synthetic council and run every step on it.

    Returns a mapping of what was written to where.

    Examples
    --------
    >>> import tempfile
    >>> written = run_demo(tempfile.mkdtemp(), n_children=500)  # doctest: +SKIP
    """
    from .data import generate_council, read_tables, summarise_tables, validate_tables

    console = console or Console()
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    data = generate_council(n_children=n_children, seed=seed, out=out_dir / "council")
    written["council"] = data
    console.print(f"[bold]1. synthetic council[/]: {n_children:,} children -> {data}")
    tables = read_tables(data)
    problems = validate_tables(tables)
    if problems:
        raise RuntimeError("the synthetic council fails its own contract: " + problems[0])
    console.print("[bold]2. validated[/] against the input contract")
    console.print(summarise_tables(tables))
    return written
