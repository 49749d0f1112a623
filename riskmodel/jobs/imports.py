"""``riskmodel import``: a council's own data into the contract, written as an extract folder.

``import annex-a`` reads an Ofsted Annex A workbook (or a folder of its lists as CSV);
``import extract`` reads any extract through the council's ``mapping.yaml``. Both check the
tables against the contract before anything is written, then write the folder whole: the
tables (Parquet, readable by their owner only, as they hold child ids), ``manifest.json``
(the extract date) and ``import_report.md``/``.json`` (counts only, no child ids).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel._core.io import PRIVATE, check_writable, umask_mode, write_text
from riskmodel.data import (
    CONTRACT_VERSION,
    DATE_COLUMNS,
    TABLES,
    Mapping,
    UnmappedValues,
    describe_missing,
    load_mapping,
    map_extract,
    missing_inputs,
    normalise_table,
    todo_path,
    todo_text,
    validate_tables,
)
from riskmodel.data.annex_a import read_annex_a

REPORT = "import_report"
_WRITTEN = tuple(f"{t}.parquet" for t in TABLES) + (
    "manifest.json", f"{REPORT}.md", f"{REPORT}.json")


@dataclass
class ImportResult:
    """What an import wrote: the folder, rows per table, the extract date and the report."""

    out: Path
    rows: dict[str, int]
    extract_date: str
    report: dict

    def lines(self) -> list[str]:
        """What the command prints: counts only (and the values unmapped: other moved)."""
        tables = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        out = list(self.report.get("sheets_chosen") or [])
        out.append(f"wrote {self.out}: {tables} (extract date {self.extract_date})")
        out += catch_all_lines(self.report.get("unmapped_sent_to_catch_all") or {})
        missing = self.report.get("inputs_missing") or []
        if missing:
            out.append(f"not in the data, so their features will be switched off: "
                       f"{len(missing)} inputs (listed in the report)")
        out.append(f"report: {self.out / (REPORT + '.md')}")
        return out


def catch_all_lines(sent: dict[str, dict[str, int]]) -> list[str]:
    """What ``unmapped: other`` did, per column: how many rows, which values.

    Examples
    --------
    >>> catch_all_lines({"ethnicity": {"Martian": 3, "Venusian": 1}})
    ["unmapped: other sent 4 ethnicity values (2 distinct) to the catch-all: 'Martian' 3, \
'Venusian' 1"]
    """
    out = []
    for col, raw in sent.items():
        items = sorted(raw.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{v!r} {n:,}" for v, n in items[:10])
        more = f" and {len(items) - 10} more (all in the report)" if len(items) > 10 else ""
        out.append(f"unmapped: other sent {sum(raw.values()):,} {col} values ({len(items)} "
                   f"distinct) to the catch-all: {shown}{more}")
    return out


@contextlib.contextmanager
def _todo_on_unmapped(mapping: str | os.PathLike | Mapping | None, out: Path
                      ) -> Iterator[None]:
    """Values no mapping covers: every one written to ``mapping.todo.yaml``, then the error."""
    try:
        yield
    except UnmappedValues as exc:
        path = todo_path(mapping if not isinstance(mapping, Mapping) else None, out)
        write_text(todo_text(exc.found, mapping if not isinstance(mapping, Mapping) else None),
                   path)
        raise exc.with_todo(path) from None


def _check_out(out: Path) -> None:
    if out.is_dir() and any(out.iterdir()):
        own = (out / f"{REPORT}.json").is_file()
        strangers = [p.name for p in out.iterdir() if p.name not in _WRITTEN]
        if not own or strangers:
            raise InputError(f"--out: {out} holds other files; give a new or empty folder "
                             "(or one a previous import wrote)")
    check_writable(out, folder=True)


def _write(out: Path, tables: dict[str, pd.DataFrame], manifest: dict, report_md: str,
           report: dict) -> None:
    """Write the folder whole: built beside ``out`` and moved in, the manifest last."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}.", dir=out.parent))
    try:
        for t, df in tables.items():
            df.to_parquet(tmp / f"{t}.parquet", index=False)
            os.chmod(tmp / f"{t}.parquet", PRIVATE)  # child ids: the owner only
        (tmp / f"{REPORT}.md").write_text(report_md, encoding="utf-8")
        (tmp / f"{REPORT}.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
        for name in (f"{REPORT}.md", f"{REPORT}.json", "manifest.json"):
            os.chmod(tmp / name, umask_mode())
        if not out.exists() or not any(out.iterdir()):
            with contextlib.suppress(FileNotFoundError):
                out.rmdir()
            os.replace(tmp, out)
            return
        (out / "manifest.json").unlink(missing_ok=True)  # a folder with a manifest is whole
        for name in _WRITTEN:
            if name != "manifest.json" and (out / name).exists() and not (tmp / name).exists():
                (out / name).unlink()  # e.g. ace_factors from an earlier import with factors
        for p in sorted(tmp.iterdir(), key=lambda p: p.name == "manifest.json"):
            os.replace(p, out / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _manifest(source: str, how: str, extract_date: str) -> dict:
    from riskmodel._core.version import __version__

    return {"generator": f"riskmodel import {how}", "riskmodel_version": __version__,
            "contract_version": CONTRACT_VERSION, "source": source,
            "extract_date": extract_date}


def import_annex_a(source, out, *, mapping=None, factors=None,
                   extract_date=None) -> ImportResult:
    """Read an Annex A workbook (or list CSVs) and write the contract extract to ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "List 1.csv").write_text("Child Unique ID,Date of Contact,Contact Source\\n"
    ...                                   "C1,03/04/2023,6\\n")
    >>> _ = (d / "List 2.csv").write_text("Child Unique ID,Assessment start date\\n"
    ...                                   "C1,10/04/2023\\n")
    >>> _ = (d / "List 7.csv").write_text("Child Unique ID,Child Protection Plan Start Date\\n"
    ...                                   "C1,01/09/2023\\n")
    >>> r = import_annex_a(d, d / "extract")
    >>> r.rows
    {'children': 1, 'contacts': 1, 'episodes': 2}
    """
    out = Path(out)
    _check_out(out)
    with _todo_on_unmapped(mapping, out):
        imp = read_annex_a(source, mapping=mapping, factors=factors, extract_date=extract_date)
    day = f"{imp.extract_date:%Y-%m-%d}"
    _write(out, imp.tables, _manifest(Path(source).name, "annex-a", day),
           imp.report_markdown(), imp.report)
    return ImportResult(out=out, rows={t: len(df) for t, df in imp.tables.items()},
                        extract_date=day, report=imp.report)


def import_extract(source, out, *, mapping, extract_date=None) -> ImportResult:
    """Read any extract through ``mapping.yaml`` and write the contract extract to ``out``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "children.csv").write_text("Child ID;Sex\\r\\nC1;F\\r\\n", encoding="utf-8-sig")
    >>> _ = (d / "contacts.csv").write_text(
    ...     "contact_id,child_id,contact_date,recorded_date,source\\nK1,C1,03/04/2023,"
    ...     "04/04/2023,Police\\n")
    >>> _ = (d / "episodes.csv").write_text(
    ...     "episode_id,child_id,service,start_date,end_date\\nE1,C1,CIN,05/04/2023,\\n")
    >>> _ = (d / "mapping.yaml").write_text(
    ...     "date_format: day-first\\ntables:\\n  children:\\n    values: {sex: dfe_gender}\\n")
    >>> import_extract(d, d / "out", mapping=d / "mapping.yaml").rows
    {'children': 1, 'contacts': 1, 'episodes': 1}
    """
    out = Path(out)
    _check_out(out)
    m = load_mapping(mapping)
    with _todo_on_unmapped(mapping, out):
        mapped = map_extract(source, m)
    tables = {t: normalise_table(df, t) for t, df in mapped.tables.items()}
    if extract_date is not None:
        day = parse_date(extract_date, "--extract-date")
    else:
        # Every event and knowledge date (valid_from too), never a date of birth.
        dates = [df[c] for t, df in tables.items() for c in df.columns
                 if c in DATE_COLUMNS[t] and c != "date_of_birth"]
        day = pd.Timestamp(pd.concat(dates).max()).normalize()
    problems = validate_tables(tables, extract_date=day)
    if problems:
        more = len(problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise InputError(f"{problems[0]}{tail} in the tables read from {Path(source).name}")
    missing = missing_inputs(tables)
    stamp, rows = f"{day:%Y-%m-%d}", {t: len(df) for t, df in tables.items()}
    report: dict[str, Any] = {
        "source": Path(source).name, "extract_date": stamp, "read": mapped.notes,
        "unmapped_sent_to_catch_all": mapped.catch_all, "tables": rows,
        "inputs_missing": describe_missing(missing)}
    md = [f"# Import report: {report['source']}", "", f"- extract date: {stamp}"]
    for t, notes in mapped.notes.items():
        md += [f"- {t}: {n}" for n in notes]
    for col, raw in mapped.catch_all.items():
        md.append(f"- {col}: sent to the catch-all by unmapped: other: "
                  + ", ".join(f"{v!r} {n:,}" for v, n in raw.items()))
    md += ["", "## Tables written", ""] + [f"- {t}: {n:,} rows" for t, n in rows.items()]
    if missing:
        md += ["", "## Inputs the tables do not hold (their features are switched off)", ""]
        md += [f"- {line}" for line in report["inputs_missing"]]
    _write(out, tables, _manifest(Path(source).name, "extract", stamp), "\n".join(md) + "\n",
           report)
    return ImportResult(out=out, rows=rows, extract_date=stamp, report=report)
