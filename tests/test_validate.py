"""`riskmodel validate`: each kind of bad input gives one clear line and exit 2, no traceback.

Every case drives the real command line on a small hand-made extract with one thing broken,
and checks the line names the table, the column and example row ids.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import statistics
import string
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.cli import main
from riskmodel.data import describe_knowledge, history_changes, knowledge_delays, validate_tables
from riskmodel.data._contract import COLUMNS, DATE_COLUMNS
from riskmodel.data._schemas import ALLOWED, NULLABLE, UNIQUE

from helpers.extract import EXTRACT, valid_tables, write_csv


def run_validate(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["validate", *args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_valid_extract_passes_and_prints_summary(tmp_path, capsys):
    data = write_csv(valid_tables(), tmp_path / "extract")
    main(["validate", str(data), "--extract-date", EXTRACT])  # returns: no SystemExit
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[:5] == [
        "children 5 rows (5 children in 3 families)",
        "contacts 7 rows",
        "ace_factors 4 rows",
        "episodes 5 rows (2 open: 2 early help, 0 social care)",
        "children_history 4 rows",
    ]
    assert "2022-07-07 to 2025-12-31" in out
    assert "early_help_pathway 2, fsw_intervention 1, targeted_support 1, cin 1" in out
    # Counts only: no ids, dates of birth or extra columns on screen.
    for secret in ("C1", "2012-04-01", "2009-12-31", "Smith"):
        assert secret not in out


# ---------------------------------------------------------------- the catalogue -------------
# Each case: how to break the valid extract, then what the one line must say. A break is a
# function (tables, folder) -> extra CLI args, free to rewrite the files it needs.

def _cell(table, column, row, value):
    def brk(t, folder):
        t[table].loc[row, column] = value
        write_csv(t, folder)
    return brk


def _tables(fn):
    def brk(t, folder):
        fn(t)
        write_csv(t, folder)
    return brk


def _rewrite(name, fn):
    def brk(t, folder):
        write_csv(t, folder)
        fn(folder / name)
    return brk


def _drop_col(table, column):
    return _tables(lambda t: t.__setitem__(table, t[table].drop(columns=column)))


def _rename_col(table, old, new):
    return _tables(lambda t: t.__setitem__(table, t[table].rename(columns={old: new})))


def _empty(table):
    return _tables(lambda t: t.__setitem__(table, t[table].iloc[:0]))


def _csv_with(sep=",", encoding="utf-8"):
    def fn(path):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df.loc[1, "locality"] = "Bishop's Stortford Café"
        df.to_csv(path, index=False, sep=sep, encoding=encoding)
    return fn


def _parquet_garbage(t, folder):
    write_csv(t, folder)
    (folder / "contacts.csv").unlink()
    (folder / "contacts.parquet").write_bytes(b"PAR1 this is not really parquet")


def _duckdb(t, folder, *, drop=None):
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "extract.duckdb"
    con = duckdb.connect(str(db))
    for name, df in t.items():
        if name != drop:
            con.register("df", df)
            con.execute(f"create table {name} as select * from df")
            con.unregister("df")
    con.close()
    return db


def _file(path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def _manifest(t, folder):
    write_csv(t, folder)
    (folder / "manifest.json").write_text(json.dumps({"extract_date": "2025-12-25"}))


def _ragged(path):
    lines = path.read_text().splitlines()
    lines[3] += ",surplus"
    path.write_text("\n".join(lines) + "\n")


BREAKS = {
    # reading
    "missing table": (
        _rewrite("episodes.csv", lambda p: p.unlink()),
        ["episodes: no episodes.parquet or episodes.csv in"]),
    "table file with wrong case": (
        _rewrite("episodes.csv", lambda p: p.rename(p.with_name("Episodes.CSV"))),
        ["episodes: no episodes.parquet or episodes.csv", "found Episodes.CSV"]),
    "unreadable parquet": (
        _parquet_garbage, ["contacts: cannot read contacts.parquet as Parquet"]),
    "csv separated by semicolons": (
        _rewrite("children.csv", _csv_with(sep=";")),
        ["children: children.csv is separated by semicolons (;), not commas"]),
    "csv separated by tabs": (
        _rewrite("contacts.csv", lambda p: p.write_text(p.read_text().replace(",", "\t"))),
        ["contacts: contacts.csv is separated by tabs, not commas"]),
    "csv not utf-8": (
        _rewrite("children.csv", _csv_with(encoding="cp1252")),
        ["children: children.csv is not UTF-8 text (byte 0xe9 on line 3", "save it as CSV UTF-8"]),
    "csv utf-16": (
        _rewrite("children.csv", lambda p: p.write_bytes(
            codecs.BOM_UTF16_LE + p.read_text().encode("utf-16-le"))),
        ["children: children.csv is UTF-16 text, not UTF-8"]),
    "csv ragged row": (
        _rewrite("ace_factors.csv", _ragged),
        ["ace_factors: cannot read ace_factors.csv as CSV", "line 4"]),
    "empty csv file": (
        _rewrite("ace_factors.csv", lambda p: p.write_text("")),
        ["ace_factors: ace_factors.csv is empty (no header line)"]),
    "single file instead of folder": (
        lambda t, f: [str(write_csv(t, f) / "children.csv")],
        ["is a single table; give the folder holding children.csv, contacts.csv"]),
    "empty duckdb file": (
        lambda t, f: [_file(f / "x.duckdb", b"")],
        ["x.duckdb is an empty file, not a DuckDB database"]),
    "not a duckdb file": (
        lambda t, f: [_file(f / "x.db", b"hello " * 200)],
        ["x.db is not a DuckDB database"]),
    "duckdb missing table": (
        lambda t, f: [str(_duckdb(t, f, drop="episodes"))],
        ["episodes: table missing from",
         "it holds ace_factors, children, children_history, contacts"]),
    "duckdb with no tables": (
        lambda t, f: [str(_duckdb({}, f))],
        ["children: table missing from", "it holds no tables"]),
    # columns and tables
    "missing column": (_drop_col("contacts", "recorded_date"),
                       ["contacts.recorded_date: column missing"]),
    "column name in capitals": (
        _rename_col("episodes", "service", "Service"),
        ["episodes.service: column missing (found 'Service'; column names are lower-case"]),
    "empty table": (_empty("contacts"), ["contacts: table is empty (0 rows)"]),
    # types and values
    "imd_decile not a number": (
        _cell("children", "imd_decile", 2, "abc"),
        ["children.imd_decile: not a whole number 'abc' in 1 row", "child_id C3"]),
    "imd_decile out of 1-10": (
        _cell("children", "imd_decile", 1, "11"),
        ["children.imd_decile: out of range '11' in 1 row, expected a whole number 1-10",
         "child_id C2"]),
    "unparseable date": (
        _cell("contacts", "contact_date", 0, "10/01/2023"),
        ["contacts.contact_date: unparseable date '10/01/2023' in 1 row, expected an ISO date",
         "contact_id K1"]),
    "impossible date": (
        _cell("episodes", "start_date", 2, "2023-02-30"),
        ["episodes.start_date: impossible date '2023-02-30' in 1 row, no such day",
         "episode_id E3"]),
    "date out of range": (
        _cell("ace_factors", "recorded_date", 1, "1066-10-14"),
        ["ace_factors.recorded_date: date out of range '1066-10-14'", "child_id C1"]),
    "unknown category value (case)": (
        _tables(lambda t: t["contacts"].__setitem__("source", t["contacts"]["source"].where(
            ~t["contacts"]["contact_id"].isin(["K1", "K7"]), "Police"))),
        ["contacts.source: unknown value 'Police' in 2 rows, expected one of police, school,",
         "(lower-case) (e.g. contact_id K1, K7)"]),
    "unknown category value (spelling)": (
        _cell("episodes", "triage_start", 4, "purple"),
        ["episodes.triage_start: unknown value 'purple' in 1 row, expected one of blue, green,"
         " yellow, orange or empty (e.g. episode_id E5)"]),
    "unknown category with spaces": (
        _cell("contacts", "need", 2, "Domestic Abuse"),
        ["contacts.need: unknown value 'Domestic Abuse'", "(lower-case, words joined by _)",
         "contact_id K3"]),
    "null in a required column": (
        _cell("contacts", "contact_date", 3, ""),
        ["contacts.contact_date: empty in 1 row, a value is required (e.g. contact_id K4)"]),
    "null in a required id": (
        _cell("contacts", "child_id", 5, ""),
        ["contacts.child_id: empty in 1 row, a value is required (e.g. contact_id K6)"]),
    # keys
    "duplicate child_id": (
        _tables(lambda t: t.__setitem__("children", pd.concat(
            [t["children"], t["children"].iloc[[0]]], ignore_index=True))),
        ["children.child_id: duplicate ids in 2 rows", "child_id C1"]),
    "duplicate contact_id": (
        _cell("contacts", "contact_id", 3, "K3"),
        ["contacts.contact_id: duplicate ids in 2 rows", "contact_id K3"]),
    "duplicate episode_id": (
        _cell("episodes", "episode_id", 4, "E1"),
        ["episodes.episode_id: duplicate ids in 2 rows", "episode_id E1"]),
    "unknown child in contacts": (
        _cell("contacts", "child_id", 2, "C99"),
        ["contacts.child_id: unknown child id 'C99' in 1 row, not in children.child_id",
         "contact_id K3"]),
    "unknown child in ace_factors": (
        _cell("ace_factors", "child_id", 3, "C77"),
        ["ace_factors.child_id: unknown child id 'C77' in 1 row", "child_id C77"]),
    "unknown child in episodes": (
        _cell("episodes", "child_id", 0, "c1"),
        ["episodes.child_id: unknown child id 'c1' in 1 row, not in children.child_id (ids are"
         " case-sensitive: the same id in another case is known) (e.g. episode_id E1)"]),
    # time
    "recorded before the event": (
        _cell("contacts", "recorded_date", 3, "2024-02-01"),
        ["contacts.recorded_date: before contact_date in 1 row (e.g. contact_id K4)"]),
    "episode ends before it starts": (
        _cell("episodes", "end_date", 2, "2024-01-01"),
        ["episodes.end_date: before start_date in 1 row (e.g. episode_id E3)"]),
    "future-dated record": (
        _cell("ace_factors", "recorded_date", 2, "2026-01-05"),
        ["ace_factors.recorded_date: after the extract date 2025-12-31 in 1 row",
         "child_id C3"]),
    "date of birth years ahead": (
        _cell("children", "date_of_birth", 4, "2029-12-31"),
        ["children.date_of_birth: more than a year after the extract date", "child_id C5"]),
    "closed episode without closure_reason": (
        _cell("episodes", "closure_reason", 2, ""),
        ["episodes.closure_reason: empty on a closed early-help episode (end_date set) in 1 row",
         "episode_id E3"]),
    "open episode with closure_reason": (
        _cell("episodes", "closure_reason", 1, "disengaged"),
        ["episodes.closure_reason: set on an open episode (end_date empty) in 1 row",
         "episode_id E2"]),
    # knowledge dates (when a value filled in later was recorded)
    "rating recorded before the contact": (
        _cell("contacts", "mash_rag_recorded_date", 0, "2023-01-11"),
        ["contacts.mash_rag_recorded_date: before recorded_date in 1 row (e.g. contact_id K1)"]),
    "outcome recorded before the contact": (
        _cell("contacts", "outcome_recorded_date", 3, "2024-02-29"),
        ["contacts.outcome_recorded_date: before recorded_date in 1 row (e.g. contact_id K4)"]),
    "rating date on a contact without a rating": (
        _cell("contacts", "mash_rag_recorded_date", 1, "2023-05-03"),
        ["contacts.mash_rag_recorded_date: set where mash_rag is empty in 1 row "
         "(e.g. contact_id K2)"]),
    "outcome date on a contact without an outcome": (
        _cell("contacts", "outcome", 1, ""),
        ["contacts.outcome_recorded_date: set where outcome is empty in 1 row "
         "(e.g. contact_id K2)"]),
    "triage date on an episode without a triage level": (
        _cell("episodes", "triage_start", 0, ""),
        ["episodes.triage_start_recorded_date: set where triage_start is empty in 1 row "
         "(e.g. episode_id E1)"]),
    "knowledge date not a date": (
        _cell("contacts", "outcome_recorded_date", 0, "20/01/2023"),
        ["contacts.outcome_recorded_date: unparseable date '20/01/2023' in 1 row",
         "contact_id K1"]),
    "knowledge date after the extract date": (
        _cell("episodes", "start_recorded_date", 3, "2026-01-03"),
        ["episodes.start_recorded_date: after the extract date 2025-12-31 in 1 row "
         "(e.g. episode_id E4)"]),
    # children_history
    "unknown child in children_history": (
        _cell("children_history", "child_id", 2, "C42"),
        ["children_history.child_id: unknown child id 'C42' in 1 row, not in "
         "children.child_id (e.g. child_id C42)"]),
    "history row without valid_from": (
        _cell("children_history", "valid_from", 1, ""),
        ["children_history.valid_from: empty in 1 row, a value is required (e.g. child_id C1)"]),
    "history valid_from not a date": (
        _cell("children_history", "valid_from", 2, "01/03/2023"),
        ["children_history.valid_from: unparseable date '01/03/2023' in 1 row",
         "child_id C3"]),
    "history valid_from after the extract date": (
        _cell("children_history", "valid_from", 3, "2026-02-01"),
        ["children_history.valid_from: after the extract date 2025-12-31 in 1 row "
         "(e.g. child_id C4)"]),
    "history with a date twice for a child": (
        _cell("children_history", "valid_from", 1, "2022-7-8"),
        ["children_history.valid_from: duplicate (child_id, valid_from) in 2 rows, each child "
         "has one row per date (e.g. child_id C1)"]),
    "history imd_decile out of 1-10": (
        _cell("children_history", "imd_decile", 0, "0"),
        ["children_history.imd_decile: out of range '0' in 1 row", "child_id C1"]),
    "history without valid_from column": (
        _drop_col("children_history", "valid_from"),
        ["children_history.valid_from: column missing"]),
    "history file with wrong case": (
        _rewrite("children_history.csv",
                 lambda p: p.rename(p.with_name("Children_History.csv"))),
        ["children_history: no children_history.parquet or children_history.csv",
         "found Children_History.csv"]),
    "extract date before the data": (
        lambda t, f: write_csv(t, f) and ["--extract-date", "2020-01-01"],
        ["extract date 2020-01-01 is before every record (the earliest is "
         "contacts.contact_date 2022-07-07)"]),
    "extract date not a date": (
        lambda t, f: write_csv(t, f) and ["--extract-date", "31/12/2025"],
        ["extract date: '31/12/2025' is not a date (expected YYYY-MM-DD)"]),
    "extract date from manifest": (
        _manifest,
        ["contacts.recorded_date: after the extract date 2025-12-25 in 1 row",
         "contact_id K7"]),
}


@pytest.mark.parametrize("kind", list(BREAKS))
def test_each_breakage_gives_one_clear_line(kind, tmp_path, capsys):
    brk, expected = BREAKS[kind]
    folder = tmp_path / "extract"
    extra = brk(valid_tables(), folder) or []  # a path to validate instead, or options
    args = extra if extra and not extra[0].startswith("--") else [str(folder), *extra]
    if kind != "extract date from manifest" and "--extract-date" not in args:
        args += ["--extract-date", EXTRACT]
    code, out, err = run_validate(args, capsys)
    assert code == 2
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    problems = [ln for ln in lines if not ln.startswith("error: ")]
    # One problem, one line: either the only line, or one line before "error: 1 problem(s)".
    if problems:
        assert len(problems) == 1, err
        assert lines[-1].startswith("error: 1 problem(s) in ")
    else:
        assert len(lines) == 1, err
    for part in expected:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"


def test_manifest_extract_date_is_overridden_by_the_option(tmp_path, capsys):
    _manifest(valid_tables(), tmp_path)
    main(["validate", str(tmp_path), "--extract-date", EXTRACT])
    assert "5 rows" in capsys.readouterr().out


def test_messages_never_echo_dates_of_birth(tmp_path, capsys):
    t = valid_tables()
    t["children"].loc[0, "date_of_birth"] = "01/04/2012"
    t["children"].loc[1, "date_of_birth"] = "2015-02-30"
    code, out, err = run_validate(
        [str(write_csv(t, tmp_path)), "--extract-date", EXTRACT], capsys,
    )
    assert code == 2
    assert "children.date_of_birth: unparseable date in 1 row" in err
    assert "children.date_of_birth: impossible date in 1 row" in err
    assert "01/04/2012" not in err and "2015-02-30" not in err


def test_many_problems_all_reported_and_summarised(tmp_path):
    t = valid_tables()
    t["contacts"]["source"] = t["contacts"]["source"].str.upper()
    t["children"]["imd_decile"] = "0"
    problems = validate_tables(t, extract_date=EXTRACT)
    assert problems == [
        "children.imd_decile: out of range '0' in 5 rows, expected a whole number 1-10 or "
        "empty (e.g. child_id C1, C2, C3)",
        "contacts.source: unknown values 'POLICE', 'SCHOOL', 'HEALTH' and 2 more in 7 rows, "
        "expected one of police, school, health, la, voluntary, housing, youth_justice, "
        "family, other or empty (lower-case) (e.g. contact_id K1, K2, K3)",
    ]


def test_typed_tables_are_checked_like_text(tmp_path):
    """Parquet/DuckDB types (datetimes, integers, floats with NaN) pass as their text does."""
    t = valid_tables()
    typed = {name: df.copy() for name, df in t.items()}
    for name, cols in DATE_COLUMNS.items():
        for col in cols:
            typed[name][col] = pd.to_datetime(typed[name][col].replace("", None))
    typed["children"]["imd_decile"] = pd.to_numeric(typed["children"]["imd_decile"])
    typed["children"]["child_id"] = [1, 2, 3, 4, 5]
    for name in ("contacts", "ace_factors", "episodes", "children_history"):
        typed[name]["child_id"] = typed[name]["child_id"].str[1:].astype(int)
    typed["children_history"]["imd_decile"] = pd.to_numeric(
        typed["children_history"]["imd_decile"])
    assert validate_tables(typed, extract_date=EXTRACT) == []
    typed["contacts"].loc[0, "child_id"] = 9
    assert validate_tables(typed, extract_date=EXTRACT) == [
        "contacts.child_id: unknown child id '9' in 1 row, not in children.child_id "
        "(e.g. contact_id K1)"
    ]


def test_catalogue_documents_every_kind():
    """docs/bad-input.md lists each kind of bad input checked above (with test_reliability's
    cases for the other commands)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "bad-input.md").read_text()
    for kind in BREAKS:
        assert f"| `validate` | {kind} |" in doc, kind


def test_bad_extract_date_in_the_library_raises_input_error():
    with pytest.raises(InputError, match="extract date: 'soon' is not a date"):
        validate_tables(valid_tables(), extract_date="soon")


# ---------------------------------------------------------------- property ------------------

_NO_DIGITS = st.text(
    alphabet=string.ascii_letters + string.punctuation + " éß€", min_size=1, max_size=12,
).filter(lambda v: v.strip() != "")


@st.composite
def corruptions(draw):
    """A (table, column, row, bad value) that breaks the contract by itself."""
    tables = valid_tables()
    table = draw(st.sampled_from(list(COLUMNS)))
    column = draw(st.sampled_from(COLUMNS[table]))
    row = draw(st.integers(0, len(tables[table]) - 1))
    key = (table, column)
    options = []
    if key not in NULLABLE:
        options.append(st.sampled_from([None, "", "   "]))
    if column in DATE_COLUMNS[table]:
        options.append(_NO_DIGITS)
        options.append(st.sampled_from(["2023-02-30", "2023-13-01", "2021-04-31"]))
        future = "2027-01-02" if column == "date_of_birth" else "2026-01-01"
        options.append(st.dates(pd.Timestamp(future).date(), pd.Timestamp("2199-12-31").date())
                       .map(str))
    elif column == "imd_decile":
        options.append(st.one_of(_NO_DIGITS, st.integers().filter(lambda i: not 1 <= i <= 10)
                                 .map(str), st.sampled_from(["2.5", "1e3"])))
    elif key in ALLOWED:
        options.append(st.text(min_size=1, max_size=20).filter(
            lambda v, a=ALLOWED[key]: v.strip() != "" and v.strip() not in a))
    elif key in UNIQUE:
        ids = tables[table][column].tolist()
        options.append(st.sampled_from([i for i in ids if i != ids[row]]))
    elif column == "child_id":  # a child table: an id children does not know
        options.append(_NO_DIGITS.filter(lambda v: v.strip() not in {"C1", "C2", "C3", "C4", "C5"}))
    value = draw(st.one_of(options))
    return table, column, row, value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions())
@pytest.mark.slow  # about 19 s of CPU: many random extracts
def test_any_single_corrupted_cell_is_reported_on_its_column(case):
    table, column, row, value = case
    tables = valid_tables()
    tables[table].loc[row, column] = value
    problems = validate_tables(tables, extract_date=EXTRACT)
    assert any(p.startswith(f"{table}.{column}: ") for p in problems), (case, problems)
    assert all("\n" not in p for p in problems)


# ---------------------------------------------------------------- knowledge dates -----------

def _days_between(later: str, earlier: str) -> int:
    return (dt.date.fromisoformat(later) - dt.date.fromisoformat(earlier)).days


def test_knowledge_delays_match_a_hand_computation():
    """Medians and 95th percentiles computed here with the standard library, not pandas."""
    t = valid_tables()
    c, e = t["contacts"], t["episodes"]
    rows = []
    for (table, value, when, after) in (
            ("contacts", "mash_rag", "mash_rag_recorded_date", "recorded_date"),
            ("contacts", "outcome", "outcome_recorded_date", "recorded_date"),
            ("episodes", "start_date", "start_recorded_date", "start_date"),
            ("episodes", "triage_start", "triage_start_recorded_date", "start_date")):
        df = c if table == "contacts" else e
        held = [r for r in df.to_dict("records") if r[value]]
        delays = [_days_between(r[when], r[after]) for r in held if r[when]]
        # numpy's and pandas' default ("linear") is statistics' "inclusive" method.
        p95 = statistics.quantiles(delays, n=20, method="inclusive")[18]
        rows.append((f"{table}.{when}", len(held), len(delays), statistics.median(delays), p95))
    got = knowledge_delays(t)
    assert got["column"].tolist() == [r[0] for r in rows]
    assert got["values"].tolist() == [r[1] for r in rows] == [5, 7, 5, 5]
    assert got["dated"].tolist() == [r[2] for r in rows] == [3, 6, 4, 4]
    assert got["median_days"].tolist() == pytest.approx([r[3] for r in rows])
    assert got["p95_days"].tolist() == pytest.approx([r[4] for r in rows])
    # By hand for one: ratings 1, 0 and 3 days late -> median 1; p95 = 1 + 0.9 * (3 - 1).
    assert got.loc[0, ["median_days", "p95_days"]].tolist() == pytest.approx([1, 2.8])
    # E2 was entered 5 days before it started: a negative delay, not dropped.
    assert got.loc[2, "median_days"] == pytest.approx(statistics.median([0, -5, 8, 2]))
    assert got.loc[0, "after"] == "contacts.recorded_date"
    assert got.loc[3, "dates"] == "episodes.triage_start"


def test_knowledge_delays_leave_out_what_is_not_held():
    t = valid_tables()
    t["contacts"] = t["contacts"].drop(columns=["outcome_recorded_date"])  # left out
    t["episodes"]["start_recorded_date"] = ""  # present but empty in every row
    got = knowledge_delays(t)
    assert got["column"].tolist() == ["contacts.mash_rag_recorded_date",
                                      "episodes.triage_start_recorded_date"]
    del t["children_history"]
    lines = describe_knowledge(t)
    said = {ln.split()[0]: " ".join(ln.split()[1:]) for ln in lines[1:]}
    assert said["contacts.outcome_recorded_date"] == (
        "not held: the feature spec's knowledge.lag_days.outcome applies")
    assert said["episodes.start_recorded_date"] == (
        "not held: the feature spec's knowledge.lag_days.episode_start applies")
    assert said["children_history"] == (
        "not held: the feature spec's knowledge.current_values applies")
    assert said["contacts.mash_rag_recorded_date"] == (
        "3 of 5 MASH ratings dated: median 1 day, 95th percentile 2.8 days after recorded_date")


def test_history_changes_count_children_not_rows():
    t = valid_tables()
    # C1: locality south -> north (north today), IMD 2 -> 1 (1 today); family F1 throughout.
    # C3: south, as today. C4: F3 and 10, as today; her empty locality says nothing.
    assert history_changes(t) == {"children": 3, "family_id": 0, "locality": 1,
                                  "imd_decile": 1}
    # A child whose one history row differs from today's value changed too (C3 moved since).
    t["children"].loc[2, "locality"] = "west"
    t["children_history"]["imd_decile"] = ["2", "1", "", "10.0"]  # 10.0 is the decile 10
    assert history_changes(t) == {"children": 3, "family_id": 0, "locality": 2,
                                  "imd_decile": 1}
    del t["children_history"]
    assert history_changes(t) == {}


def test_validate_prints_the_knowledge_dates_after_ok(tmp_path, capsys):
    data = write_csv(valid_tables(), tmp_path / "extract")
    main(["validate", str(data), "--extract-date", EXTRACT])
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    ok = next(i for i, ln in enumerate(lines) if ln.startswith("OK: "))
    assert lines[ok + 1:] == [
        "knowledge dates (when a value was recorded, in days after its row):",
        "contacts.mash_rag_recorded_date 3 of 5 MASH ratings dated: median 1 day, 95th "
        "percentile 2.8 days after recorded_date",
        "contacts.outcome_recorded_date 6 of 7 contact outcomes dated: median 5 days, 95th "
        "percentile 11 days after recorded_date",
        "episodes.start_recorded_date 4 of 5 episode starts dated: median 1 day, 95th "
        "percentile 7.1 days after start_date",
        "episodes.triage_start_recorded_date 4 of 5 triage levels dated: median 3.5 days, 95th "
        "percentile 7.5 days after start_date",
        "children_history 3 children with history rows; changed: family_id 0, locality 1, "
        "imd_decile 1",
    ]
    for secret in ("C1", "C3", "K1", "E2", "north", "south"):
        assert secret not in out
