"""The ground-floor helpers each idea has one of: dates, capacity, fingerprints, atomic writes."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel._core.capacity import (
    Selection,
    capacity_flags,
    capacity_from_meta,
    parse_selection,
    selection_flags,
    top_k_flags,
)
from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import frame_fingerprint, sha256_file, tables_fingerprint
from riskmodel._core.io import atomic_path, check_writable, write_text

# ---------------------------------------------------------------- dates ---------------------

@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_iso_date_round_trips(day):
    assert parse_date(day.isoformat(), "x") == pd.Timestamp(day)
    assert parse_date(day, "x") == pd.Timestamp(day)


@pytest.mark.parametrize("bad", ["01/02/2024", "2024-02-30", "soon", "", 5, None, "24-1-1"])
def test_non_iso_dates_are_refused_with_the_option_named(bad):
    with pytest.raises(InputError, match=r"^--as-of: .* is not a date \(expected YYYY-MM-DD\)$"):
        parse_date(bad, "--as-of")


def test_dates_lose_their_time_and_zone():
    assert parse_date(pd.Timestamp("2024-03-01 13:45", tz="Europe/London"), "x") == \
        pd.Timestamp("2024-03-01")


# ---------------------------------------------------------------- capacity ------------------

@pytest.mark.parametrize("text,kind,value", [
    ("10%", "percent", 10.0), ("2.5 %", "percent", 2.5), ("500", "overall", 500),
    (500, "overall", 500), ("25/locality", "per_locality", 25),
    ("25 per locality", "per_locality", 25)])
def test_capacity_is_read_as_a_panel_writes_it(text, kind, value):
    assert parse_selection(text) == Selection(kind, value)


@pytest.mark.parametrize("bad", ["0%", "101%", "0", "-3", "lots", True, "all"])
def test_bad_capacity_names_the_option(bad):
    with pytest.raises(InputError, match=r"^--top: .* is not a selection"):
        parse_selection(bad)


def test_all_and_none_only_where_allowed():
    assert parse_selection("all", option="--explain-top", allow_all=True).kind == "all"
    assert parse_selection("none", option="--explain-top", allow_all=True).kind == "none"


def test_capacity_from_a_spec():
    assert capacity_from_meta({"top_percent": 5}) == Selection("percent", 5.0)
    assert capacity_from_meta({"top_n_per_locality": 3}) == Selection("per_locality", 3)
    with pytest.raises(InputError):
        capacity_from_meta({})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60),
       st.integers(0, 70))
def test_top_k_flags_exactly_k_of_the_highest(scores, k):
    flags = top_k_flags(scores, k)
    assert flags.sum() == min(k, len(scores))
    s = np.asarray(scores)
    if 0 < flags.sum() < len(s):
        assert s[flags].min() >= s[~flags].max()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1, allow_nan=False), st.sampled_from("abc"),
                          st.sampled_from(["2024-01-01", "2024-02-01"])),
                min_size=1, max_size=50),
       st.integers(1, 5), st.floats(1, 100))
def test_capacity_is_applied_per_date_and_locality(rows, n, pct):
    f = pd.DataFrame(rows, columns=["score", "locality", "as_of"])
    per_loc = selection_flags(f, Selection("per_locality", n))
    counts = f.assign(flag=per_loc).groupby(["as_of", "locality"])["flag"].agg(["sum", "size"])
    assert (counts["sum"] == np.minimum(n, counts["size"])).all()
    pct_flags = capacity_flags(f, top_percent=pct)
    by_date = f.assign(flag=pct_flags).groupby("as_of")["flag"].agg(["sum", "size"])
    assert (by_date["sum"] == np.ceil(by_date["size"] * pct / 100)).all()
    overall = selection_flags(f, Selection("overall", n))
    by_date = f.assign(flag=overall).groupby("as_of")["flag"].agg(["sum", "size"])
    assert (by_date["sum"] == np.minimum(n, by_date["size"])).all()


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    st.builds(lambda v: f"{v:g}%", st.sampled_from([0.5, 1, 5, 10, 12.5, 100])),
    st.builds(str, st.integers(1, 10_000)),
    st.builds(lambda n: f"{n}/locality", st.integers(1, 500)),
))
def test_capacity_is_one_value_that_round_trips_and_says_itself(text):
    from riskmodel._core.capacity import Capacity

    cap = Capacity.parse(text)
    # compared by value, hashable, and each form reads back to the same value
    assert cap == Capacity.parse(cap.option()) and hash(cap) == hash(Capacity.parse(text))
    assert cap.option() == text
    if cap.kind != "overall":
        assert Capacity.from_spec(cap.to_spec()) == cap
    # it says whether the list is the whole cohort's without anyone reading its words
    assert cap.per_locality == text.endswith("/locality")
    assert cap.words().endswith("in each locality" if cap.per_locality else "of the whole cohort")
    f = pd.DataFrame({"score": np.linspace(0, 1, 40), "locality": list("ab") * 20})
    assert (cap.select(f) == selection_flags(f, cap)).all()


# ---------------------------------------------------------------- fingerprints --------------

@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=5), st.integers(-5, 5)), max_size=20), st.randoms())
def test_fingerprints_ignore_row_order_and_see_any_change(rows, rnd):
    df = pd.DataFrame(rows, columns=["a", "b"])
    shuffled = df.sample(frac=1, random_state=rnd.randint(0, 1000))
    assert frame_fingerprint(df) == frame_fingerprint(shuffled)
    assert tables_fingerprint({"t": df}) == tables_fingerprint({"t": shuffled})
    if len(df):
        changed = df.copy()
        changed.loc[changed.index[0], "b"] = 99
        assert frame_fingerprint(changed) != frame_fingerprint(df)
    assert tables_fingerprint({"t": df}) != tables_fingerprint({"u": df})


def test_file_fingerprint_is_sha256(tmp_path):
    import hashlib

    p = tmp_path / "x.bin"
    p.write_bytes(os.urandom(3 << 20))  # more than one read block
    assert sha256_file(p) == hashlib.sha256(p.read_bytes()).hexdigest()


# ---------------------------------------------------------------- atomic writes -------------

def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    write_text("old", target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_the_writable_check_never_names_a_file_a_kill_could_leave(tmp_path):
    # A kill (SIGKILL, which nothing can hold) may land on any line: list the folder at every
    # line the check runs, its own and tempfile's, and see no file appear there.
    import sys

    try:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY))
    except (AttributeError, OSError):
        pytest.skip("this file system has no unnamed temporary files (O_TMPFILE)")
    seen: set[str] = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.endswith(("_core/io.py", "tempfile.py")):
            seen.update(p.name for p in tmp_path.iterdir())
            return tracer
        return None

    sys.settrace(tracer)
    try:
        check_writable(tmp_path / "scores.parquet")
    finally:
        sys.settrace(None)
    assert seen == set() and list(tmp_path.iterdir()) == []


def test_files_with_ids_are_private_and_reports_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text("report", tmp_path / "report.html")
        with atomic_path(tmp_path / "scores.csv", private=True) as tmp:
            tmp.write_text("child_id\nC1\n")
        os.umask(0o027)
        write_text("report", tmp_path / "report2.html")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "report2.html").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "scores.csv").stat().st_mode & 0o777 == 0o600
