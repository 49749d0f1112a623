"""Ofsted Annex A in, directly: the lists every English council keeps, read into the contract.

:func:`read_annex_a` reads Lists 1, 2, 3, 6, 7 and 8 of an Annex A workbook (``.xlsx``) or
a folder of one CSV per list (``List 1.csv``, ...), maps the DfE codes onto the contract's
words (code lists in ``riskmodel/data/codelists/``), checks the result against the contract
and returns the tables with a report of what was read, mapped and dropped (counts only: no
child id, no date of birth). ``docs/annex-a.md`` says what Annex A cannot give and what the
import does instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel.data._codelists import UnmappedValues, ValueMap
from riskmodel.data._inputs import describe_missing, missing_inputs
from riskmodel.data._mapping import Mapping, load_mapping, value_map
from riskmodel.data._schemas import normalise_table
from riskmodel.data._tolerant import DAY_FIRST, key, parse_dates, read_csv_rows, read_workbook
from riskmodel.data._validate import validate_tables
from riskmodel.data.annex_a._build import (
    Counts,
    _children,
    _contacts,
    _episodes,
    _factors,
)
from riskmodel.data.annex_a._sheets import (
    NUMBERS,
    ListFrame,
    list_name,
    open_lists,
    read_factors,
    read_list,
)

__all__ = ["AnnexImport", "read_annex_a"]

CANNOT_GIVE = (
    "early-help closure reasons: no disengagement outcome (escalation is labelled from the "
    "start of social care alone), and no features from earlier closures",
    "triage levels, contact needs, MASH ratings and contact outcomes other than a referral "
    "to social care",
    "ACE factors, unless a CIN census assessment factors file is given (--factors)",
    "families (no family_id: each child is a family of one), localities, IMD deciles and "
    "SEN status",
)


@dataclass
class AnnexImport:
    """An Annex A workbook read into the contract.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``children``, ``contacts``, ``episodes`` and, with a factors file, ``ace_factors``,
        checked against the contract.
    extract_date : Timestamp
        The date given, else the latest date in the lists.
    report : dict
        What was read, mapped and dropped, with counts; no child ids, no dates of birth.
    """

    tables: dict[str, pd.DataFrame]
    extract_date: pd.Timestamp
    report: dict

    def report_markdown(self) -> str:
        """The report as Markdown, for people."""
        return report_markdown(self.report)

    def report_json(self) -> str:
        return json.dumps(self.report, indent=2, ensure_ascii=False, default=str) + "\n"


def _per_list(table: dict, label: str):
    for name, value in table.items():
        if key(name) == key(label):
            return value
    return None


def _local_headers(mapping: Mapping, label: str) -> dict[str, str]:
    return _per_list(mapping.annex_a.headers, label) or {}


def _date_format(mapping: Mapping, label: str) -> str:
    """A list's date format: its own (annex_a: date_format: List 3: ...), else the file's."""
    return _per_list(mapping.annex_a.date_format, label) or mapping.date_format or DAY_FIRST


def _rows_of(path: Path, what: str, encoding: str | None) -> tuple[str, list[tuple]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = read_workbook(path, what)
        name = next(iter(sheets))
        return f"{path.name} [{name}]", sheets[name]
    return path.name, read_csv_rows(path, what, encoding)


def _read_lists(path: Path, mapping: Mapping, counts: Counts
                ) -> tuple[dict[int, ListFrame], list[str]]:
    """The lists found, read (headers, per-list date formats, footers counted), and the
    sheets not read."""
    local = {n: _local_headers(mapping, list_name(n)) for n in NUMBERS}
    found, skipped, chosen = open_lists(path, local, mapping.encoding)
    lists = {}
    for n, (name, rows) in sorted(found.items()):
        frame = read_list(n, name, rows, local[n])
        frame.date_format = _date_format(mapping, list_name(n))
        for word, k in frame.footers.items():
            counts.drop(k, f"{list_name(n)} rows that are a total, count or report footer "
                        f"(starting {word!r}), not records")
        lists[n] = frame
    for line in chosen:
        counts.say(line)
    counts.chosen = chosen
    return lists, skipped


def _value_maps(mapping: Mapping) -> dict[str, ValueMap]:
    opts = mapping.annex_a
    return {col: value_map(col, opts.values.get(col), mapping, presets=[preset],
                           section=("annex_a", "values", col))
            for col, preset in (("sex", "dfe_gender"), ("ethnicity", "dfe_ethnicity"),
                                ("source", "dfe_source"), ("factor", "cin_factors"))}


def _factors_frame(factors: str | os.PathLike | None, mapping: Mapping
                   ) -> ListFrame | None:
    if factors is None:
        return None
    fpath = Path(factors)
    if not fpath.is_file():
        raise InputError(f"--factors: {fpath} does not exist")
    source, rows = _rows_of(fpath, "factors", mapping.encoding)
    frame = read_factors(source, rows, _local_headers(mapping, "factors"))
    frame.date_format = _date_format(mapping, "factors")
    return frame


def read_annex_a(path: str | os.PathLike, *, mapping=None, factors=None,
                 extract_date=None) -> AnnexImport:
    """Read an Ofsted Annex A workbook (or folder of list CSVs) into the contract tables.

    Parameters
    ----------
    path : path
        An ``.xlsx`` workbook with a sheet per list, or a folder with one CSV per list named
        like the sheets (``List 1.csv``, ``List 2 - Early Help.csv``, ...). Lists 1 and 2
        and at least one of 6, 7 and 8 are needed; List 3 is read when present.
    mapping : path or Mapping, optional
        ``mapping.yaml``: local headers and values (``annex_a:``), the date format
        (default day-first, as Annex A is written) and ``unmapped``.
    factors : path, optional
        CIN census "factors identified at the end of assessment": a CSV (or workbook) of
        child id, factor code and date; the codes that are ACEs become ``ace_factors``.
    extract_date : str or date, optional
        When the lists were produced; default the latest date in them.

    Returns
    -------
    AnnexImport

    Raises
    ------
    InputError
        One line: a list or column not found, an unreadable file, a date that cannot be read
        day-first, a rule of the contract broken (naming the list and row, e.g.
        ``episode_id L6-14`` is List 6 row 14); :class:`UnmappedValues` for values no code
        list or mapping covers, one line per column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "List 1.csv").write_text(
    ...     "Child Unique ID;Gender;Ethnicity;Date of Birth;Date of Contact;Contact Source\\r\\n"
    ...     "C1;a) Male;APKN;01/02/2015;03/04/2023;q) 6: Police\\r\\n", encoding="utf-8-sig")
    >>> _ = (d / "List 2.csv").write_text(
    ...     "Child Unique ID,Assessment start date,Assessment completion date\\n"
    ...     "C1,10/04/2023,20/05/2023\\n")
    >>> _ = (d / "List 6.csv").write_text("Child Unique ID,CIN Start Date,CIN Closure Date\\n"
    ...                                    "C1,01/09/2023,\\n")
    >>> imp = read_annex_a(d)
    >>> imp.tables["contacts"][["contact_date", "source"]].astype(str).values.tolist()
    [['2023-04-03', 'police']]
    >>> imp.tables["episodes"]["service"].tolist(), imp.tables["episodes"]["end_date"].tolist()
    (['early_help_pathway', 'cin'], [Timestamp('2023-09-01 00:00:00'), NaT])
    """
    path = Path(path)
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    given = None if extract_date is None else parse_date(extract_date, "--extract-date")
    return _import(path, mapping, factors, given)


def _import(path: Path, mapping: Mapping, factors: str | os.PathLike | None,
            given: pd.Timestamp | None) -> AnnexImport:
    """The lists read, mapped, built into the tables and checked (see read_annex_a)."""
    opts = mapping.annex_a
    counts = Counts()
    lists, skipped = _read_lists(path, mapping, counts)
    maps = _value_maps(mapping)
    contacts, people = _contacts(lists, counts, maps=maps, lag_days=opts.recorded_lag_days)
    frame = _factors_frame(factors, mapping)
    latest = [contacts["contact_date"].max()]
    if frame is not None:
        latest.append(parse_dates(frame.data["date"], fmt=frame.date_format,
                                  where=frame.where("date"), row_numbers=frame.rows)[0].max())
    episodes, more, extract = _episodes(
        lists, counts, maps=maps, months=opts.early_help_months, extract=given,
        latest=pd.Series(latest).max())
    children = _children(people + more, counts)
    ace = None
    if frame is not None:
        ace = _factors(frame, children["child_id"], counts, vm=maps["factor"])
    if counts.unmapped:
        raise UnmappedValues(counts.unmapped, path.name)
    contacts["recorded_date"] = contacts["recorded_date"].where(
        contacts["recorded_date"] <= extract, extract)
    tables = {"children": children, "contacts": contacts, "episodes": episodes}
    if ace is not None:
        tables["ace_factors"] = ace
    tables = {t: normalise_table(df, t) for t, df in tables.items()}
    problems = validate_tables(tables, extract_date=extract)
    if problems:
        more_n = len(problems) - 1
        tail = f" (and {more_n} more problem{'s' if more_n > 1 else ''})" if more_n else ""
        raise InputError(f"{problems[0]}{tail} in the tables read from {path.name}")
    report = _report(path, skipped, counts, tables, extract, given, mapping, frame, maps)
    return AnnexImport(tables=tables, extract_date=extract, report=report)


def _report(path, skipped, counts: Counts, tables, extract, given, mapping, frame, maps):
    children = tables["children"]
    values = dict(counts.values)
    for col in ("sex", "ethnicity"):
        values[col] = {k: int(v) for k, v in
                       children[col].fillna("(not recorded)").value_counts().items()}
    episodes = tables["episodes"]
    missing = missing_inputs(tables)
    return {
        "source": path.name,
        "extract_date": f"{extract:%Y-%m-%d}" + ("" if given is not None else
                                                  " (the latest date in the lists)"),
        "date_format": mapping.date_format or DAY_FIRST,
        "lists_read": counts.lists,
        "sheets_chosen": list(counts.chosen),
        "sheets_not_read": list(skipped),
        "values": values,
        "unmapped_sent_to_catch_all": {col: vm.used_catch_all for col, vm in maps.items()
                                       if vm.used_catch_all},
        "steps": counts.steps,
        "dropped": counts.dropped,
        "tables": {t: len(df) for t, df in tables.items()},
        "episodes_by_service": {k: int(v) for k, v in
                                episodes["service"].value_counts().items()},
        "open_episodes": int(episodes["end_date"].isna().sum()),
        "annex_a_cannot_give": list(CANNOT_GIVE),
        "inputs_missing": describe_missing(missing),
        "factors_file": frame.source if frame is not None else None,
    }


def report_markdown(report: dict) -> str:
    """The import report in Markdown (counts and words only)."""
    out = [f"# Import report: {report['source']}", "",
           f"- extract date: {report['extract_date']}",
           f"- text dates read {report['date_format']}", ""]
    out += ["## Lists read", ""]
    for name, info in report["lists_read"].items():
        out.append(f"### {name} ({info['source']}): {info['rows']:,} rows")
        out += [f"- {fld}: {header!r}" for fld, header in info["columns"].items()]
        if info.get("dates"):
            out += [f"- dates in {h!r} read {how}" for h, how in info["dates"].items()]
        if info["ignored"]:
            out.append(f"- other columns, not used: {', '.join(info['ignored'])}")
        if info["staff_columns_never_read"]:
            out.append("- staff names, never read: "
                       + ", ".join(info["staff_columns_never_read"]))
        out.append("")
    if report["sheets_not_read"]:
        out += [f"Sheets or files not read: {', '.join(report['sheets_not_read'])}", ""]
    out += ["## Values mapped", ""]
    for col, tally in report["values"].items():
        out.append(f"- {col}: " + ", ".join(f"{v} {n:,}" for v, n in tally.items()))
    for col, raw in report["unmapped_sent_to_catch_all"].items():
        out.append(f"- {col}: sent to the catch-all by unmapped: other: "
                   + ", ".join(f"{v!r} {n:,}" for v, n in raw.items()))
    out += ["", "## What the import did", ""] + [f"- {s}" for s in report["steps"]]
    if report["dropped"]:
        out += ["", "## Dropped", ""] + [f"- {d}" for d in report["dropped"]]
    out += ["", "## Tables written", ""]
    out += [f"- {t}: {n:,} rows" for t, n in report["tables"].items()]
    out.append("- episodes by service: " + ", ".join(
        f"{k} {v:,}" for k, v in report["episodes_by_service"].items())
        + f"; {report['open_episodes']:,} open")
    out += ["", "## What Annex A cannot give", ""]
    out += [f"- {c}" for c in report["annex_a_cannot_give"]]
    if report["inputs_missing"]:
        out += ["", "## Inputs the tables do not hold (their features are switched off)", ""]
        out += [f"- {m}" for m in report["inputs_missing"]]
    return "\n".join(out) + "\n"
