"""Reading the contract tables: CSV, Parquet and DuckDB give the same typed tables."""

from __future__ import annotations

import datetime as dt
import doctest
import json
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import riskmodel.data
from riskmodel import InputError
from riskmodel._core.errors import InputWarning
from riskmodel.data import (
    _read,
    _schemas,
    _summary,
    _validate,
    coerce_tables,
    load_tables,
    read_extract_date,
    read_tables,
    summarise_tables,
    validate_tables,
)
from riskmodel.data._contract import COLUMNS

EXTRACT = "2025-12-31"


def small_extract() -> dict[str, pd.DataFrame]:
    """Two children in one family, as text; one open and one closed episode."""
    return {
        "children": pd.DataFrame({
            "child_id": ["007", "C2"], "family_id": ["F1", "F1"],
            "date_of_birth": ["2014-06-01", "2019-02-28"], "sex": ["female", "male"],
            "ethnicity": ["white", "black"], "disability": ["none", "ehcp"],
            "locality": ["north", "north"], "imd_decile": ["2", ""],
        }),
        "contacts": pd.DataFrame({
            "contact_id": ["K1", "K2", "K3"], "child_id": ["007", "C2", "C2"],
            "contact_date": ["2023-03-01", "2023-04-10", "2024-10-01"],
            "recorded_date": ["2023-03-02", "2023-04-10", "2024-10-03"],
            "source": ["police", "school", "health"], "need": ["neglect", "other", "housing"],
            "mash_rag": ["amber", "", "green"], "outcome": ["early_help", "nfa", "early_help"],
            "mash_rag_recorded_date": ["2023-03-04", "", "2024-10-03"],
            "outcome_recorded_date": ["2023-03-09", "2023-04-10", ""],
        }),
        "ace_factors": pd.DataFrame({
            "child_id": ["007"], "factor": ["domestic_abuse"], "recorded_date": ["2023-03-02"],
        }),
        "episodes": pd.DataFrame({
            "episode_id": ["E1", "E2"], "child_id": ["007", "C2"],
            "service": ["early_help_pathway", "cp"], "start_date": ["2023-03-15", "2024-10-20"],
            "end_date": ["2024-01-31", ""], "closure_reason": ["disengaged", ""],
            "triage_start": ["green", "orange"], "triage_end": ["yellow", ""],
            "start_recorded_date": ["2023-03-20", "2024-10-18"],
            "triage_start_recorded_date": ["2023-03-21", ""],
        }),
        "children_history": pd.DataFrame({
            "child_id": ["007", "007"], "valid_from": ["2020-05-01", "2023-06-30"],
            "family_id": ["F1", ""], "locality": ["south", "north"], "imd_decile": ["4", "2"],
        }),
    }


def typed_like_a_database(tables):
    """The same extract as Parquet or a database stores it: dates typed, deciles numeric."""
    out = {name: df.copy() for name, df in tables.items()}
    for df in out.values():
        for col in df.columns:
            if col.endswith("_date") or col in ("date_of_birth", "valid_from"):
                df[col] = pd.to_datetime(df[col].replace("", None)).dt.date  # date32 in Parquet
            elif df[col].eq("").any():
                df[col] = df[col].replace("", None)
    out["children"]["imd_decile"] = pd.to_numeric(out["children"]["imd_decile"])  # float + NaN
    if "children_history" in out:
        history = out["children_history"]
        history["imd_decile"] = pd.to_numeric(history["imd_decile"])
    return out


def write_all(tables, folder, fmt):
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "duckdb":
        con = duckdb.connect(str(folder / "extract.duckdb"))
        for name, df in tables.items():
            con.register("df", df)
            con.execute(f"create table {name} as select * from df")
            con.unregister("df")
        con.close()
        return folder / "extract.duckdb"
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_csv_parquet_and_duckdb_read_to_the_same_typed_tables(tmp_path):
    text = small_extract()
    typed = typed_like_a_database(text)
    results = {}
    for fmt, tables in (("csv", text), ("parquet", typed), ("duckdb", typed)):
        raw = read_tables(write_all(tables, tmp_path / fmt, fmt))
        assert validate_tables(raw, extract_date=EXTRACT) == [], fmt
        results[fmt] = coerce_tables(raw)
    for fmt in ("parquet", "duckdb"):
        for name in COLUMNS:
            pd.testing.assert_frame_equal(results[fmt][name], results["csv"][name], obj=name)
    children = results["csv"]["children"]
    assert children["child_id"].tolist() == ["007", "C2"]  # a CSV id keeps its leading zeros
    assert str(children["date_of_birth"].dtype) == "datetime64[ns]"
    assert str(children["imd_decile"].dtype) == "Int64"
    assert children["imd_decile"].isna().tolist() == [False, True]
    assert results["csv"]["episodes"]["end_date"].isna().tolist() == [False, True]
    contacts, history = results["csv"]["contacts"], results["csv"]["children_history"]
    assert str(contacts["mash_rag_recorded_date"].dtype) == "datetime64[ns]"
    assert contacts["outcome_recorded_date"].isna().tolist() == [False, False, True]
    assert str(history["valid_from"].dtype) == "datetime64[ns]"
    assert history["imd_decile"].tolist() == [4, 2] and history["family_id"].isna().tolist() == [
        False, True]  # an empty history cell stays empty: it says nothing


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_knowledge_dates_and_history_may_be_left_out(tmp_path, fmt):
    """No knowledge-date columns and no children_history: read, valid, empty when typed."""
    tables = small_extract()
    del tables["children_history"], tables["ace_factors"]
    tables["contacts"] = tables["contacts"].drop(
        columns=["mash_rag_recorded_date", "outcome_recorded_date"])
    tables["episodes"] = tables["episodes"].drop(
        columns=["start_recorded_date", "triage_start_recorded_date"])
    if fmt != "csv":
        tables = typed_like_a_database(tables)
    raw = read_tables(write_all(tables, tmp_path, fmt))
    assert sorted(raw) == ["children", "contacts", "episodes"]
    assert validate_tables(raw, extract_date=EXTRACT) == []
    typed = coerce_tables(raw)
    assert len(typed["children_history"]) == 0
    assert list(typed["children_history"].columns) == list(COLUMNS["children_history"])
    assert typed["episodes"]["start_recorded_date"].isna().all()
    assert str(typed["contacts"]["mash_rag_recorded_date"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
@pytest.mark.parametrize("left_out", [(), ("children_history", "ace_factors")])
def test_load_tables_types_as_coerce_tables_does(tmp_path, fmt, left_out):
    """load_tables types the tables it checked (normalised once): the same frames, dtypes
    and warnings as coerce_tables over the raw tables, whatever the format."""
    tables = small_extract()
    tables["episodes"]["episode_id"] = ["101.0", " E2 "]  # a spreadsheet's decimal id, spaces
    for name in left_out:
        del tables[name]
    if fmt != "csv":
        tables = typed_like_a_database(tables)
    folder = write_all(tables, tmp_path, fmt)
    with pytest.warns(InputWarning, match="decimals"):
        loaded = load_tables(folder, extract_date=EXTRACT)
    with pytest.warns(InputWarning, match="decimals"):
        expected = coerce_tables(read_tables(folder))
    assert list(loaded) == list(expected)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(loaded[name], expected[name], obj=name)
    assert loaded["episodes"]["episode_id"].tolist() == ["101", "E2"]


def test_children_history_is_not_a_near_miss_for_children(tmp_path):
    folder = write_all(small_extract(), tmp_path, "csv")
    (folder / "children.csv").unlink()
    with pytest.raises(InputError) as exc:
        read_tables(folder)
    assert str(exc.value) == f"children: no children.parquet or children.csv in {folder}"


def test_coerce_trims_text_drops_extra_columns_and_keeps_the_day():
    tables = small_extract()
    tables["children"]["notes"] = ["x", "y"]
    tables["children"].loc[0, "child_id"] = " 007 "
    tables["contacts"]["contact_date"] = pd.to_datetime(
        ["2023-03-01 23:30", "2023-04-10 00:00", "2024-10-01 09:00"]
    ).tz_localize("Europe/London")
    typed = coerce_tables(tables)
    assert list(typed["children"].columns) == list(COLUMNS["children"])
    assert typed["children"].loc[0, "child_id"] == "007"
    assert typed["contacts"]["contact_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-03-01", "2023-04-10", "2024-10-01",
    ]
    assert typed["episodes"]["closure_reason"].isna().tolist() == [False, True]


def test_parquet_is_preferred_to_csv_of_the_same_table(tmp_path):
    write_all(small_extract(), tmp_path, "csv")
    small = small_extract()["children"].iloc[:1]
    small.to_parquet(tmp_path / "children.parquet", index=False)
    assert len(read_tables(tmp_path)["children"]) == 1


def test_utf8_with_byte_order_mark_reads(tmp_path):
    write_all(small_extract(), tmp_path, "csv")
    p = tmp_path / "children.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())  # what Excel writes for "CSV UTF-8"
    assert list(read_tables(tmp_path)["children"].columns[:1]) == ["child_id"]


def test_missing_folder_is_one_line(tmp_path):
    with pytest.raises(InputError, match=r"^data: .*nowhere does not exist$"):
        read_tables(tmp_path / "nowhere")


def test_read_extract_date(tmp_path):
    assert read_extract_date(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({"extract_date": "2025-06-30"}))
    assert read_extract_date(tmp_path) == "2025-06-30"
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="manifest.json: not a JSON object"):
        read_extract_date(tmp_path)


def test_load_tables_uses_the_manifest_date_and_reports_the_first_problem(tmp_path):
    folder = write_all(small_extract(), tmp_path, "csv")
    typed = load_tables(folder, extract_date=EXTRACT)
    assert sorted(typed) == sorted(COLUMNS)
    (folder / "manifest.json").write_text(json.dumps({"extract_date": "2024-06-30"}))
    # After mid-2024: K3 (contact, record, rating) and E2 (start, entered); the first is named,
    # the rest counted.
    with pytest.raises(InputError) as exc:
        load_tables(folder)
    assert str(exc.value) == (
        "contacts.contact_date: after the extract date 2024-06-30 in 1 row (e.g. contact_id K3)"
        f" (and 4 more problems; `riskmodel validate {folder}` lists them)"
    )
    assert sorted(load_tables(folder, extract_date=dt.date(2025, 1, 1))) == sorted(COLUMNS)


def test_synthetic_council_meets_its_contract(council):
    tables = read_tables(council)
    assert validate_tables(tables, extract_date=read_extract_date(council)) == []
    summary = summarise_tables(tables)
    assert summary.splitlines()[0].startswith("children")
    assert "open:" in summary


@pytest.mark.parametrize("module", [_read, _schemas, _summary, _validate])
def test_docstring_examples_run(module):
    finder = doctest.DocTestFinder()
    tests = finder.find(module)
    if not hasattr(riskmodel.data, "generate_council"):  # until the synthetic council exists
        tests = [t for t in tests if "generate_council" not in t.docstring]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0
    assert sum(len(t.examples) for t in tests) > 0 or module is _schemas


# ---------------------------------------------------------------- the SQL pass (DuckDB) -----

@pytest.mark.parametrize("fmt", ["parquet", "duckdb"])
@pytest.mark.parametrize("left_out", [(), ("children_history", "ace_factors")])
def test_a_clean_extract_is_checked_and_typed_in_duckdb_as_the_detailed_path_types_it(
        tmp_path: Path, fmt: str, left_out: tuple[str, ...]) -> None:
    """The SQL pass accepts a clean extract and gives the detailed path's frames, dtypes and
    near-miss warnings (an optional column written another way is said, not read)."""
    from riskmodel.data._fastload import clean_tables

    tables = typed_like_a_database(small_extract())
    tables["children"] = tables["children"].rename(columns={"date_of_birth": "Date of Birth"})
    for name in left_out:
        del tables[name]
    data = write_all(tables, tmp_path, fmt)
    with pytest.warns(InputWarning, match="did you mean date_of_birth"):
        fast = clean_tables(data, pd.Timestamp(EXTRACT))
    assert fast is not None
    with pytest.warns(InputWarning, match="did you mean date_of_birth"):
        raw = read_tables(data)
        assert validate_tables(raw, extract_date=EXTRACT) == []
    expected = coerce_tables(raw)
    assert list(fast) == list(expected)
    for name in COLUMNS:
        pd.testing.assert_frame_equal(fast[name], expected[name], obj=name)


Change = Callable[[dict[str, pd.DataFrame]], None]


def _set(table: str, column: str, row: int, value: object) -> Change:
    def change(tables: dict[str, pd.DataFrame]) -> None:
        tables[table][column] = tables[table][column].astype(object)
        tables[table].loc[row, column] = value
    return change


def _dup_contact(tables: dict[str, pd.DataFrame]) -> None:
    tables["contacts"].loc[1, "contact_id"] = tables["contacts"].loc[0, "contact_id"]


def _dup_history(tables: dict[str, pd.DataFrame]) -> None:
    tables["children_history"].loc[1, "valid_from"] = tables["children_history"].loc[
        0, "valid_from"]


def _dup_contact_out_of_order(tables: dict[str, pd.DataFrame]) -> None:
    tables["contacts"]["contact_id"] = ["K3", "K1", "K3"]  # not in order: the GROUP BY finds it


def _drop(table: str, column: str) -> Change:
    def change(tables: dict[str, pd.DataFrame]) -> None:
        tables[table] = tables[table].drop(columns=[column])
    return change


def _closed_without_reason(tables: dict[str, pd.DataFrame]) -> None:
    episodes = tables["episodes"]  # E2, early help, closes without a reason (E1 has one)
    episodes.loc[1, ["service", "end_date"]] = ["early_help_pathway", dt.date(2025, 1, 31)]


def _int_ids(tables: dict[str, pd.DataFrame]) -> None:
    tables["contacts"]["contact_id"] = [1, 2, 3]


# Each way an extract is not plainly clean, and what the detailed path does with it: reports
# a problem, warns, or rewrites a cell (trims it) as it types the tables.
_NOT_CLEAN = {
    "value in capitals": (_set("contacts", "source", 0, "Police"), "problem"),
    "value not allowed where empty is": (_set("contacts", "mash_rag", 2, "purple"), "problem"),
    "value not allowed in a second category": (_set("episodes", "service", 1, "x"), "problem"),
    "unknown child": (_set("contacts", "child_id", 1, "C9"), "problem"),
    "duplicate id": (_dup_contact, "problem"),
    "duplicate id, ids out of order": (_dup_contact_out_of_order, "problem"),
    # A record's child id is checked only by being found among the children's ids.
    "spaces around a contact's child id": (_set("contacts", "child_id", 0, "007 "),
                                           "rewritten"),
    "a contact's child id as a decimal": (_set("contacts", "child_id", 0, "007.0"), "warning"),
    "blank child id on an episode": (_set("episodes", "child_id", 1, ""), "problem"),
    "required cell empty": (_set("episodes", "service", 0, None), "problem"),
    "imd out of range": (_set("children", "imd_decile", 0, 11.0), "problem"),
    "imd not whole": (_set("children", "imd_decile", 0, 2.5), "problem"),
    "recorded before contact": (_set("contacts", "recorded_date", 0, dt.date(2023, 2, 1)),
                                "problem"),
    "rating before contact recorded": (
        _set("contacts", "mash_rag_recorded_date", 0, dt.date(2023, 3, 1)), "problem"),
    "rating date on no rating": (_set("contacts", "mash_rag_recorded_date", 1,
                                      dt.date(2023, 4, 11)), "problem"),
    "ends before start": (_set("episodes", "end_date", 0, dt.date(2023, 1, 1)), "problem"),
    "reason on open episode": (_set("episodes", "closure_reason", 1, "needs_met"), "problem"),
    "early help closed without reason": (_closed_without_reason, "problem"),
    "after the extract": (_set("contacts", "recorded_date", 2, dt.date(2026, 1, 2)), "problem"),
    "born years after the extract": (_set("children", "date_of_birth", 0, dt.date(2027, 6, 1)),
                                     "problem"),
    "date before 1900": (_set("ace_factors", "recorded_date", 0, dt.date(1850, 1, 1)),
                         "problem"),
    "history twice on a day": (_dup_history, "problem"),
    "required column missing": (_drop("contacts", "recorded_date"), "problem"),
    "decimal id": (_set("episodes", "episode_id", 1, "101.0"), "warning"),
    "spaces around an id": (_set("children", "family_id", 0, " F1"), "rewritten"),
    "blank text": (_set("children", "locality", 0, ""), "rewritten"),
    "ids stored as numbers": (_int_ids, "rewritten"),
}


@pytest.mark.parametrize("case", list(_NOT_CLEAN))
def test_the_sql_pass_leaves_anything_not_plainly_clean_to_the_detailed_checks(
        tmp_path: Path, case: str) -> None:
    """Each check of the detailed path has its SQL counterpart: an extract it would refuse,
    warn about or rewrite is never typed by the SQL pass, so the messages stay its own."""
    import warnings

    from riskmodel.data._fastload import clean_tables

    change, kind = _NOT_CLEAN[case]
    tables = typed_like_a_database(small_extract())
    change(tables)
    data = write_all(tables, tmp_path, "parquet")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert clean_tables(data, pd.Timestamp(EXTRACT)) is None
        problems = validate_tables(read_tables(data), extract_date=EXTRACT)
    assert bool(problems) == (kind == "problem"), problems
    assert any(issubclass(w.category, InputWarning) for w in said) == (kind == "warning")
    if kind == "problem":
        with pytest.raises(InputError, match=problems[0].split(":")[0]):
            load_tables(data, extract_date=EXTRACT)


def test_missing_inputs_looks_past_the_first_rows_and_only_at_rows_known_in_time():
    """The first rows settle the inputs they hold; the rest are looked for in every row, and
    a value known only after ``before`` does not count, wherever it sits."""
    from riskmodel.data import missing_inputs

    n = 12_000  # more rows than missing_inputs looks at first
    recorded = pd.Series(pd.Timestamp("2023-01-10"), index=range(n))
    recorded.iloc[-1] = pd.Timestamp("2024-06-01")  # the last contact: known late
    contacts = pd.DataFrame({
        "contact_id": [f"K{i}" for i in range(n)], "child_id": "C1",
        "contact_date": recorded, "recorded_date": recorded,
        "source": pd.Series([None] * n, dtype="string"),
        "need": pd.Series([None] * n, dtype="string"),
        "mash_rag": pd.Series(["red"] + [None] * (n - 1), dtype="string"),
        "outcome": pd.Series([None] * n, dtype="string")})
    contacts.loc[n - 2, "source"] = "police"  # held, far past the first rows
    contacts.loc[n - 1, "need"] = "neglect"  # only on the contact known late
    tables = {"children": pd.DataFrame({"child_id": ["C1"]}), "contacts": contacts,
              "episodes": pd.DataFrame({"service": pd.Series([], dtype="string")})}
    missing = missing_inputs(tables, before="2024-01-01")
    assert "contacts.source" not in missing and "contacts.mash_rag" not in missing
    assert "contacts.need" in missing and "contacts.outcome" in missing
    assert "contacts.need" not in missing_inputs(tables, before="2024-07-01")


# ------------------------------------------------ tables kept in DuckDB (riskmodel build) -----

def _copy_council(council: Path, folder: Path) -> Path:
    folder.mkdir()
    for p in council.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "duckdb"])
def test_tables_kept_in_duckdb_answer_as_the_frames_do(
        council: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """``in_duckdb`` keeps a clean extract in DuckDB: every table it gives is the frame
    ``load_tables`` gives, and the extract's dates and which inputs it holds are the same,
    also when an input is held only past the first rows looked at (or known only late)."""
    from riskmodel.data import DuckTables, _inputs, date_bounds, history_holds, missing_inputs

    monkeypatch.setattr(_inputs, "_HEAD_ROWS", 10)  # the first rows settle too little
    folder = _copy_council(council, tmp_path / "council")
    contacts = pd.read_parquet(folder / "contacts.parquet")
    last = contacts["recorded_date"].idxmax()  # a need held on the last-recorded contact only
    contacts["need"] = contacts["need"].where(contacts.index == last, None)
    contacts.to_parquet(folder / "contacts.parquet", index=False)
    data = folder
    if fmt == "duckdb":
        data = write_all(read_tables(folder), tmp_path / "db", "duckdb")
    frames = load_tables(data, extract_date=EXTRACT)
    kept = load_tables(data, extract_date=EXTRACT, in_duckdb=True)
    try:
        assert isinstance(kept, DuckTables) and list(kept) == list(frames)
        late = contacts.loc[last, "recorded_date"]
        cols = [("contacts", "recorded_date"), ("episodes", "end_date")]
        assert date_bounds(kept, cols) == date_bounds(frames, cols)
        for before in (None, late, late + pd.Timedelta(days=1)):
            assert missing_inputs(kept, before=before) == missing_inputs(frames, before=before)
            for a in ("family_id", "locality", "imd_decile"):
                assert history_holds(kept, a, before) == history_holds(frames, a, before)
        assert "contacts.need" in missing_inputs(kept, before=late)
        for name in COLUMNS:
            pd.testing.assert_frame_equal(kept[name], frames[name], obj=name)
    finally:
        kept.close()


def test_an_extract_the_sql_pass_does_not_take_is_given_as_frames(tmp_path: Path) -> None:
    """``in_duckdb`` asks, it does not force: a CSV extract comes back as checked frames."""
    data = write_all(typed_like_a_database(small_extract()), tmp_path, "csv")
    tables = load_tables(data, extract_date=EXTRACT, in_duckdb=True)
    assert isinstance(tables, dict) and sorted(tables) == sorted(COLUMNS)


def test_duckdb_out_of_memory_is_said_not_sent_down_the_pandas_path(council, tmp_path,
                                                                     monkeypatch, capsys):
    """A clean extract too big for DuckDB's memory share: the SQL pass raises instead of
    handing the extract to the detailed pandas path (which needs far more memory, and at
    5,000,000 children took 22 GB), and `riskmodel build` says so in one line naming the
    setting, exit 1, no traceback, the matrix written before kept as it was."""
    from riskmodel.cli import main
    from riskmodel.data._fastload import clean_tables

    monkeypatch.setenv("RISKMODEL_DUCKDB_MEMORY", "4MB")
    with pytest.raises(duckdb.OutOfMemoryException):
        clean_tables(Path(council), pd.Timestamp(EXTRACT))
    out = tmp_path / "m.parquet"
    out.write_bytes(b"the matrix of last month")
    with pytest.raises(SystemExit) as done:
        main(["build", "--data", str(council), "--outcome", "escalation",
              "--as-of", "2024-04-01", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 1, err
    assert err.startswith("error: the extract's database ran out of the memory it may use "
                          "(4MB). Set RISKMODEL_DUCKDB_MEMORY"), err
    assert "\n" not in err and "Traceback" not in err, err
    assert out.read_bytes() == b"the matrix of last month"


@given(values=st.lists(st.one_of(st.none(), st.text(alphabet="ab\u00e9 \t\u2003\u00a0.01",
                                                         max_size=4)), max_size=12),
       batch=st.integers(1, 4))
@example(values=["a", "10.00"], batch=1)
@example(values=["1", "b "], batch=2)
@settings(max_examples=60, deadline=None)
def test_unique_ids_are_told_by_their_order_or_by_grouping(values: list[str | None],
                                                          batch: int) -> None:
    """One scan of an id column: any id empty, with a space at an edge (one Python's strip
    removes) or written as a decimal is found; ids read in strictly increasing order (across
    batches too) are unique without a GROUP BY; any others are judged by the GROUP BY: never
    a repeat let through."""
    from unittest import mock

    from riskmodel.data import _fastload

    present = [v for v in values if v is not None]
    trimmed = all(v != "" and v == v.strip() and not re.fullmatch(r"[0-9]+\.0+", v)
                  for v in present)
    con = duckdb.connect()
    con.register("given", pd.DataFrame({"x": pd.Series(values, dtype=object)}))
    con.execute("CREATE TABLE t AS SELECT x::VARCHAR AS x FROM given")
    con.execute("CREATE VIEW v_t AS SELECT x FROM t")
    with mock.patch.object(_fastload, "_BATCH_ROWS", batch):
        scanned = _fastload._scan_ids(con, "t", "x")
        unique = _fastload._unique(con, "t", "x")
    pairs = zip(present[:-1], present[1:], strict=True)
    increasing = all(a.encode() < b.encode() for a, b in pairs)
    assert scanned == (increasing if trimmed else None)
    assert unique == (trimmed and len(set(present)) == len(present))
    con.close()
