"""Reading the extract from a database: a real PostgreSQL, started by the tests.

One server per session (``tests/helpers/pg.py``: ``initdb`` + ``pg_ctl`` in a temporary folder, on
127.0.0.1 and a free port), stopped and removed at the end even when a test fails. A small
synthetic council is loaded into it with psycopg's COPY (not riskmodel's readers), and
validate/build must give exactly what they give from the Parquet folder. Every database
failure must be one line, name the table (or host and port) and never show a password.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import json
import logging
import os
import pickle
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from riskmodel import InputError
from riskmodel.data import (
    DatabaseSource,
    as_source,
    is_database,
    load_tables,
    mask,
    read_tables,
)
from riskmodel.data._contract import TABLES
from riskmodel.data._sources import password_for
from riskmodel.jobs._extract import open_extract
from riskmodel.jobs.check import build_matrix_file, validate_extract

from helpers import pg

N_CHILDREN = 1500
EXTRACT = "2025-12-31"
AS_OF = ["2024-07-01", "2025-01-01"]
READER_PW = "rd-Pa55:w0rd@x"  # a password with URL-special characters
SECRET_MARKS = ("rd-Pa55", pg.PASSWORD)


# ---------------------------------------------------------------- the server ----------------

@pytest.fixture(scope="session")
def server(request):
    """A PostgreSQL server of the session's own; stopped and removed whatever happens."""
    if pg.find_bin() is None:
        if os.geteuid() == 0:  # CI runs as root and installs postgresql: never skip there
            pytest.fail("initdb not found: install Debian's postgresql package "
                        "(scripts/test.sh does when run as root)")
        pytest.skip("PostgreSQL's initdb is not installed and this is not root "
                    "(sudo apt-get install postgresql)")
    srv = pg.start()
    request.addfinalizer(srv.stop)
    return srv


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    from riskmodel.data import generate_council

    return Path(generate_council(n_children=N_CHILDREN, seed=11,
                                 out=tmp_path_factory.mktemp("sqlcouncil") / "council"))


@pytest.fixture(scope="session")
def loaded(server, folder):
    """The council in schema ``eh``; roles ``reader`` (SELECT) and ``nosel`` (no SELECT)."""
    pg.load_folder(server, folder, schema="eh")
    with server.connect(autocommit=True) as con:
        for role in ("reader", "nosel"):
            con.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{READER_PW}'")
            con.execute(f"GRANT USAGE ON SCHEMA eh TO {role}")
        con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA eh TO reader")
        # A schema without episodes, and one whose children lack imd_decile.
        con.execute("CREATE SCHEMA partial")
        for t in ("children", "contacts", "ace_factors"):
            con.execute(f"CREATE VIEW partial.{t} AS SELECT * FROM eh.{t}")
        # A required column missing (a contact's recorded date: the rules of time need it).
        con.execute("CREATE SCHEMA nodecile")
        con.execute("CREATE VIEW nodecile.contacts AS SELECT contact_id, child_id, "
                    "contact_date, source, need, mash_rag, outcome FROM eh.contacts")
        for t in ("children", "ace_factors", "episodes"):
            con.execute(f"CREATE VIEW nodecile.{t} AS SELECT * FROM eh.{t}")
        # The council's own names, for sources.yaml: other schema, other column names.
        con.execute("CREATE SCHEMA mosaic")
        con.execute("CREATE TABLE mosaic.person AS SELECT child_id AS person_ref, family_id, "
                    "date_of_birth AS dob, sex, ethnicity, disability, locality, imd_decile, "
                    "'x'::text AS notes FROM eh.children")
        con.execute('CREATE VIEW mosaic."EH Episodes" AS SELECT * FROM eh.episodes')
        con.execute("GRANT USAGE ON SCHEMA mosaic, partial, nodecile TO reader")
        con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA mosaic, partial, nodecile TO reader")
    return server


@pytest.fixture(autouse=True)
def _password_env(monkeypatch, tmp_path):
    """The reader's password comes from the environment, as it would in a council."""
    monkeypatch.setenv("PGPASSWORD", READER_PW)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.delenv("RISKMODEL_DB_PASSWORD", raising=False)


def url(server, *, schema="eh", user="reader", password=None, extra="") -> str:
    q = f"schema={schema}" if schema else ""
    q += ("&" if q and extra else "") + extra
    return server.url(user, password=password, query=q)


def one_line_no_secret(message: str) -> str:
    assert "\n" not in message
    for secret in SECRET_MARKS:
        assert secret not in message, message
    return message


# ---------------------------------------------------------------- same results -------------

@pytest.mark.parametrize("reader", ["adbc", "sqlalchemy"])
def test_validate_gives_the_same_result_as_parquet(loaded, folder, reader):
    files = validate_extract(folder)
    db = validate_extract(url(loaded, extra=f"reader={reader}"), extract_date=EXTRACT)
    assert files.problems == [] and db.problems == files.problems
    assert db.summary == files.summary


@pytest.mark.parametrize("reader", ["adbc", "sqlalchemy"])
def test_build_gives_the_same_matrix_as_parquet(loaded, folder, tmp_path, reader):
    kw = dict(outcome="escalation", as_of=AS_OF, extract_date=EXTRACT)
    files = build_matrix_file(folder, tmp_path / "files.parquet", **kw)
    db = build_matrix_file(url(loaded, extra=f"reader={reader}"), tmp_path / "db.parquet", **kw)
    assert len(files) > 100
    pd.testing.assert_frame_equal(db, files)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "db.parquet"),
                                  pd.read_parquet(tmp_path / "files.parquet"))


def rows(df: pd.DataFrame) -> pd.DataFrame:
    """A table in one order: a database promises none (a parallel scan interleaves rows)."""
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_typed_tables_are_identical(loaded, folder):
    files = load_tables(folder)
    db = load_tables(url(loaded), extract_date=EXTRACT)

    for table in files:
        pd.testing.assert_frame_equal(rows(db[table]), rows(files[table]), check_like=False)


def test_only_contract_columns_are_read(loaded):
    with loaded.connect(autocommit=True) as con:
        con.execute("ALTER TABLE eh.children ADD COLUMN IF NOT EXISTS case_notes text")
    try:
        raw = read_tables(url(loaded))
        assert "case_notes" not in raw["children"].columns
        assert list(raw["episodes"].columns)[:3] == ["episode_id", "child_id", "service"]
    finally:
        with loaded.connect(autocommit=True) as con:
            con.execute("ALTER TABLE eh.children DROP COLUMN case_notes")


def test_cli_validate_and_build_from_a_url(loaded, folder, tmp_path, capsys):
    from riskmodel.cli import main

    main(["validate", url(loaded), "--extract-date", EXTRACT])
    said = capsys.readouterr().out
    assert "meets the input contract" in said and f"{N_CHILDREN:,} rows" in said
    main(["build", "--data", url(loaded), "--outcome", "escalation", "--as-of", AS_OF[0],
          "--out", str(tmp_path / "m.parquet"), "--extract-date", EXTRACT])
    main(["build", "--data", str(folder), "--outcome", "escalation", "--as-of", AS_OF[0],
          "--out", str(tmp_path / "f.parquet"), "--extract-date", EXTRACT])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "m.parquet"),
                                  pd.read_parquet(tmp_path / "f.parquet"))


@pytest.mark.parametrize("args, job", [
    (["train", "--data"], "riskmodel.jobs.train"),
    (["explain", "--data"], "riskmodel.jobs.explain_extract"),
    (["fairness", "--run", "0123abcd", "--data"], "riskmodel.jobs.fairness.fairness_report"),
])
def test_every_data_option_takes_a_url(args, job, monkeypatch):
    """The URL reaches the job whole (a Path would fold '//'), as a masked DatabaseSource."""
    seen = []

    def stop(*a, **kw):
        seen.extend([*a, *kw.values()])
        raise InputError("stopped here")

    module, name = job.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, stop)
    from riskmodel.cli import main

    secret = "pw%40x"
    with warnings.catch_warnings(), pytest.raises(SystemExit):
        warnings.simplefilter("ignore")
        main([*args, f"postgresql://reader:{secret}@db.example:5433/caseload?schema=eh"])
    sources = [a for a in seen if isinstance(a, DatabaseSource)]
    assert len(sources) == 1
    assert str(sources[0]) == "postgresql://reader:***@db.example:5433/caseload?schema=eh"
    assert sources[0].url.password == "pw@x"


def test_extract_date_reads_the_database_as_it_stood(loaded, folder):
    """A live database read at an earlier date leaves out what was recorded later."""
    day = "2024-06-30"
    assert validate_extract(folder, extract_date=day).problems  # a copy is not cut
    assert validate_extract(url(loaded), extract_date=day).problems == []
    raw = read_tables(url(loaded), until=day)
    files = read_tables(folder)
    cut = pd.Timestamp(day)
    rec = pd.to_datetime(files["contacts"]["recorded_date"])
    assert len(raw["contacts"]) == int((rec <= cut).sum())
    ep = files["episodes"]
    entered = pd.to_datetime(ep["start_recorded_date"])
    started = ep[(pd.to_datetime(ep["start_date"]) <= cut) & (entered.isna() | (entered <= cut))]
    assert len(raw["episodes"]) == len(started)
    later = set(started.loc[pd.to_datetime(started["end_date"]) > cut, "episode_id"])
    assert later, "the council should have episodes closing after the cut"
    reopened = raw["episodes"][raw["episodes"]["episode_id"].isin(later)]
    assert reopened[["end_date", "closure_reason", "triage_end"]].isna().all().all()
    ex = open_extract(url(loaded), extract_date=day)
    assert ex.date == cut


# ---------------------------------------------------------------- knowledge dates ----------
# A small hand-made council (tests/test_validate.py's) with every knowledge date and
# children_history, in schema kd; the same without the optional tables and columns in kd4.

def _hand_made(*, optional: bool = True) -> dict[str, pd.DataFrame]:
    from helpers.extract import valid_tables

    t = valid_tables()
    if not optional:
        del t["ace_factors"], t["children_history"]
        t["contacts"] = t["contacts"].drop(
            columns=["mash_rag_recorded_date", "outcome_recorded_date"])
        t["episodes"] = t["episodes"].drop(
            columns=["start_recorded_date", "triage_start_recorded_date"])
    for df in t.values():
        if "imd_decile" in df.columns:
            df["imd_decile"] = pd.to_numeric(df["imd_decile"])
    return t


def _load_hand_made(server, schema: str, tables: dict[str, pd.DataFrame]) -> None:
    with server.connect(autocommit=True) as con:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for name, df in tables.items():
            pg.copy_frame(con, df, schema, name, {c: pg._column_type(name, c) for c in df})
        con.execute(f"GRANT USAGE ON SCHEMA {schema} TO reader")
        con.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO reader")


@pytest.fixture(scope="session")
def knowledge(loaded, tmp_path_factory):
    """Schemas kd (everything) and kd4 (no optional tables or knowledge dates), and the same
    tables as CSV folders to compare with."""
    from helpers.extract import write_csv

    full, bare = _hand_made(), _hand_made(optional=False)
    _load_hand_made(loaded, "kd", full)
    _load_hand_made(loaded, "kd4", bare)
    root = tmp_path_factory.mktemp("kd")
    return loaded, write_csv(full, root / "kd"), write_csv(bare, root / "kd4")


@pytest.mark.parametrize("reader", ["adbc", "sqlalchemy"])
def test_a_database_without_the_optional_tables_reads_them_as_absent(knowledge, reader):
    server, _, bare = knowledge
    src = url(server, schema="kd4", extra=f"reader={reader}")
    raw = read_tables(src, until=EXTRACT)
    assert sorted(raw) == ["children", "contacts", "episodes"]
    db, files = validate_extract(src, extract_date=EXTRACT), validate_extract(bare,
                                                                              extract_date=EXTRACT)
    assert db.problems == [] and db.summary == files.summary and db.knowledge == files.knowledge
    assert "not held: the feature spec's knowledge.current_values applies" in db.knowledge[-1]
    typed = load_tables(src, extract_date=EXTRACT)
    assert len(typed["ace_factors"]) == 0 and len(typed["children_history"]) == 0
    assert typed["contacts"]["mash_rag_recorded_date"].isna().all()


@pytest.mark.parametrize("reader", ["adbc", "sqlalchemy"])
def test_knowledge_dates_and_history_round_trip(knowledge, reader):
    server, full, _ = knowledge
    src = url(server, schema="kd", extra=f"reader={reader}")
    db, files = load_tables(src, extract_date=EXTRACT), load_tables(full, extract_date=EXTRACT)
    assert len(db["children_history"]) == 4
    for table in files:
        pd.testing.assert_frame_equal(rows(db[table]), rows(files[table]), obj=table)
    v = validate_extract(src, extract_date=EXTRACT)
    assert v.problems == [] and v.knowledge == validate_extract(full,
                                                                extract_date=EXTRACT).knowledge


def test_knowledge_dates_are_read_as_they_stood_at_the_extract_date(knowledge):
    server, full, _ = knowledge
    src = url(server, schema="kd")
    # 12 January 2023: K1 recorded that day; its rating (13th) and outcome (20th) not yet.
    k1 = read_tables(src, until="2023-01-12")["contacts"].set_index("contact_id").loc["K1"]
    assert k1[["mash_rag", "mash_rag_recorded_date", "outcome",
               "outcome_recorded_date"]].isna().all()
    # 22 January 2023: E1 started and was entered on the 20th; its triage level came on the 25th.
    e1 = read_tables(src, until="2023-01-22")["episodes"].set_index("episode_id").loc["E1"]
    assert pd.Timestamp(e1["start_date"]) == pd.Timestamp("2023-01-20")
    assert pd.isna(e1["triage_start"]) and pd.isna(e1["triage_start_recorded_date"])
    # 12 March 2024: E3 started on the 10th but was entered on the 18th (backdated): not there
    # yet; C1's move of June 2024 neither. Checked as it stood, the database is valid.
    day = "2024-03-12"
    raw = read_tables(src, until=day)
    assert "E3" not in set(raw["episodes"]["episode_id"])
    assert "E3" in set(read_tables(full)["episodes"]["episode_id"])
    assert pd.to_datetime(raw["children_history"]["valid_from"]).max() <= pd.Timestamp(day)
    assert validate_extract(src, extract_date=day).problems == []
    assert validate_extract(full, extract_date=day).problems  # a copy is not cut


def test_an_optional_table_that_exists_is_read_or_refused_like_any_other(knowledge, capsys):
    server, _, _ = knowledge
    with server.connect(autocommit=True) as con:
        con.execute("CREATE SCHEMA kdperm")
        con.execute("CREATE SCHEMA kdcol")
        for t in ("children", "contacts", "episodes"):
            con.execute(f"CREATE VIEW kdperm.{t} AS SELECT * FROM kd.{t}")
            con.execute(f"CREATE VIEW kdcol.{t} AS SELECT * FROM kd.{t}")
        con.execute("CREATE VIEW kdperm.children_history AS SELECT * FROM kd.children_history")
        con.execute("CREATE VIEW kdcol.children_history AS SELECT child_id, locality "
                    "FROM kd.children_history")
        con.execute("GRANT USAGE ON SCHEMA kdperm, kdcol TO reader")
        con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA kdcol TO reader")
        for t in ("children", "contacts", "episodes"):  # not children_history
            con.execute(f"GRANT SELECT ON kdperm.{t} TO reader")
    for reader in ("adbc", "sqlalchemy"):
        with pytest.raises(InputError) as err:
            read_tables(url(server, schema="kdperm", extra=f"reader={reader}"))
        assert one_line_no_secret(str(err.value)) == (
            "children_history: permission denied reading kdperm.children_history (permission "
            "denied for view children_history); reader needs SELECT on it")
        v = validate_extract(url(server, schema="kdcol", extra=f"reader={reader}"),
                             extract_date=EXTRACT)
        assert v.problems == ["children_history.valid_from: column missing (columns found: "
                              "child_id, locality)"]
    line = run_cli(["validate", url(server, schema="kdcol"), "--extract-date", EXTRACT], capsys)
    assert line.startswith("error: 1 problem(s) in postgresql://reader@127.0.0.1")


def test_sources_yaml_says_whether_an_optional_table_is_held(knowledge, tmp_path):
    server, _, _ = knowledge
    p = sources_yaml(tmp_path, server, "schema: kd\ntables:\n  children_history: null\n")
    assert "children_history" not in read_tables(p)  # the table exists, but is not wanted
    p = sources_yaml(tmp_path, server, "schema: kd\ntables:\n  children_history: kd.moves\n")
    with pytest.raises(InputError) as err:  # named, so a typo is not silently "not held"
        read_tables(p)
    assert one_line_no_secret(str(err.value)).startswith(
        "children_history: no table or view kd.moves in 127.0.0.1:")
    p = sources_yaml(tmp_path, server, "schema: kd\ntables:\n  contacts: null\n")
    with pytest.raises(InputError, match=r"tables.contacts is null, but contacts is required "
                                         r"\(only ace_factors and children_history may be left "
                                         r"out\)"):
        as_source(p)


def test_sqlite_without_the_optional_tables(tmp_path):
    """The generic path asks SQLAlchemy's inspector whether an optional table exists."""
    import sqlite3

    db = tmp_path / "kd.db"
    with sqlite3.connect(db) as con:
        for name, df in _hand_made(optional=False).items():
            df.to_sql(name, con, index=False)
    con.close()
    raw = read_tables(f"sqlite:///{db}")
    assert sorted(raw) == ["children", "contacts", "episodes"]
    assert validate_extract(f"sqlite:///{db}", extract_date=EXTRACT).problems == []


# ---------------------------------------------------------------- sources.yaml --------------

def sources_yaml(tmp_path, server, body: str) -> Path:
    p = tmp_path / "sources.yaml"
    p.write_text(f"url: {url(server, schema=None)}\n{body}")
    return p


def test_sources_yaml_maps_tables_views_and_queries(loaded, folder, tmp_path):
    p = sources_yaml(tmp_path, loaded, """\
schema: eh
extract_date: 2025-12-31
parameters:
  since: 1900-01-01
tables:
  children:
    query: |
      SELECT person_ref AS child_id, family_id, dob::date AS date_of_birth, sex, ethnicity,
             disability, locality, imd_decile, 'a%b' AS pct, '10:30' AS clock
      FROM mosaic.person
      WHERE dob >= :since AND notes <> :marker;
    parameters: {marker: "it's; DROP TABLE eh.contacts; --"}
  contacts: eh.contacts
  episodes: {table: 'mosaic.EH Episodes'}
""")
    src = as_source(p)
    assert is_database(p) and isinstance(src, DatabaseSource)
    assert validate_extract(p).problems == []
    db, files = load_tables(p), load_tables(folder)
    for table in files:
        pd.testing.assert_frame_equal(rows(db[table]), rows(files[table]))
    assert open_extract(p).date == pd.Timestamp(EXTRACT)  # the file's extract_date
    with loaded.connect() as con:  # the parameter was bound, never run as SQL
        assert con.execute("SELECT count(*) FROM eh.contacts").fetchone()[0] > 0


def test_url_can_name_a_sources_file(loaded, tmp_path):
    p = tmp_path / "tables.yaml"
    p.write_text("tables:\n  episodes: {table: 'mosaic.EH Episodes'}\n")
    src = as_source(url(loaded, extra=f"sources={p}"))
    assert src.tables["episodes"].describe() == "mosaic.EH Episodes"
    assert src.tables["children"].describe() == "eh.children"
    assert len(read_tables(src)["episodes"]) > 0


def test_a_query_parameter_without_a_value(loaded, tmp_path):
    p = sources_yaml(tmp_path, loaded, """\
schema: eh
tables:
  ace_factors:
    query: SELECT * FROM eh.ace_factors WHERE recorded_date >= :since
""")
    with pytest.raises(InputError, match=r"^ace_factors: the query uses :since, which has no "
                                         r"value; add it under parameters: in sources.yaml"):
        read_tables(p)


@pytest.mark.parametrize("body, message", [
    ("tabels: {}\n", r"key 'tabels'"),
    ("tables:\n  kids: eh.children\n", r"key 'tables.kids.*'children', 'contacts'"),
    ("tables:\n  children: {table: a, query: SELECT 1}\n", r"exactly one of table"),
    ("tables:\n  children: a.b.c.d\n", r"'a.b.c.d' is not a table name"),
])
def test_sources_yaml_mistakes_are_one_line(tmp_path, body, message):
    p = tmp_path / "sources.yaml"
    p.write_text("url: postgresql://reader@127.0.0.1:1/db\n" + body)
    with pytest.raises(InputError, match=message) as err:
        as_source(p)
    one_line_no_secret(str(err.value))


def test_a_sources_yaml_needs_a_url(tmp_path):
    p = tmp_path / "sources.yaml"
    p.write_text("schema: eh\n")
    with pytest.raises(InputError, match=r"sources.yaml: no url:"):
        as_source(p)


# ---------------------------------------------------------------- failures ------------------

def run_cli(args, capsys) -> str:
    from riskmodel.cli import main

    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    return one_line_no_secret(err.splitlines()[-1])


def test_cannot_connect_names_host_and_port_and_masks_the_password(capsys):
    port = pg.free_port()
    bad = f"postgresql://reader:{READER_PW.replace('@', '%40').replace(':', '%3A')}" \
          f"@127.0.0.1:{port}/caseload?schema=eh"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError) as err:
            read_tables(bad)
    msg = one_line_no_secret(str(err.value))
    assert msg.startswith(f"data: cannot connect to the database at 127.0.0.1 port {port}")
    assert "refused" in msg.lower()
    assert any("holds a password" in str(w.message) for w in caught)
    line = run_cli(["validate", bad], capsys)
    assert line.startswith("error: data: cannot connect") and str(port) in line


def test_wrong_password_is_masked(loaded, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    with pytest.raises(InputError, match=r"password authentication failed for user \"reader\""
                                         r"\); the password comes from PGPASSWORD") as err:
        read_tables(url(loaded))
    one_line_no_secret(str(err.value))


def test_pgpass_file_gives_the_password(loaded, tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    escaped = READER_PW.replace(":", "\\:")  # .pgpass escapes colons in a field
    passfile.write_text(f"127.0.0.1:{loaded.port}:*:reader:{escaped}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    for reader in ("adbc", "sqlalchemy"):
        assert len(read_tables(url(loaded, extra=f"reader={reader}"))["children"]) == N_CHILDREN


def test_a_missing_table(loaded, capsys):
    with pytest.raises(InputError) as err:
        read_tables(url(loaded, schema="partial"))
    msg = one_line_no_secret(str(err.value))
    assert msg.startswith("episodes: no table or view partial.episodes in 127.0.0.1:")
    assert 'relation "partial.episodes" does not exist' in msg
    line = run_cli(["build", "--data", url(loaded, schema="partial"), "--outcome", "escalation",
                    "--as-of", AS_OF[0], "--out", "never.parquet"], capsys)
    assert line.startswith("error: episodes: no table or view partial.episodes")


def test_a_missing_column_is_reported_as_for_files(loaded, capsys):
    v = validate_extract(url(loaded, schema="nodecile"), extract_date=EXTRACT)
    assert v.problems[0].startswith("contacts.recorded_date: column missing")
    with pytest.raises(InputError, match=r"^contacts.recorded_date: column missing"):
        load_tables(url(loaded, schema="nodecile"))
    line = run_cli(["validate", url(loaded, schema="nodecile")], capsys)
    assert line.startswith("error: 1 problem(s) in postgresql://reader@127.0.0.1")


def test_permission_refused(loaded, capsys):
    with pytest.raises(InputError) as err:
        read_tables(url(loaded, user="nosel"))
    msg = one_line_no_secret(str(err.value))
    assert msg == ("children: permission denied reading eh.children (permission denied for "
                   "table children); nosel needs SELECT on it")
    run_cli(["validate", url(loaded, user="nosel")], capsys)


SLOW = """\
schema: eh
tables:
  contacts:
    query: SELECT c.* FROM eh.contacts AS c, pg_sleep(20) AS z
"""


def test_connection_dropped_mid_read(loaded, tmp_path):
    """Another connection terminates the reading backend while it sleeps in its query."""
    p = sources_yaml(tmp_path, loaded, SLOW)
    killed = []

    def terminate():
        deadline = time.monotonic() + 15
        with loaded.connect(autocommit=True) as con:
            while time.monotonic() < deadline and not killed:
                rows = con.execute(
                    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND "
                    "query LIKE '%pg_sleep(20)%' AND query NOT LIKE '%pg_stat_activity%' "
                    "AND query NOT LIKE '%1 = 0%'").fetchall()
                for (pid,) in rows:
                    con.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
                time.sleep(0.05)

    for reader in ("adbc", "sqlalchemy"):
        killed.clear()
        src = as_source(p)
        src.reader = reader
        thread = threading.Thread(target=terminate)
        thread.start()
        started = time.monotonic()
        try:
            with pytest.raises(InputError) as err:
                read_tables(src)
        finally:
            thread.join()
        assert killed and time.monotonic() - started < 15
        msg = one_line_no_secret(str(err.value))
        assert msg.startswith("contacts: the connection to 127.0.0.1:"), msg
        assert "was lost while reading the query for contacts" in msg
        assert "terminating connection due to administrator command" in msg


def test_statement_timeout_cancels_the_read(loaded, tmp_path):
    p = tmp_path / "slow.yaml"
    p.write_text(SLOW)
    with pytest.raises(InputError) as err:
        read_tables(url(loaded, extra=f"sources={p}&options=-c%20statement_timeout%3D300"))
    msg = one_line_no_secret(str(err.value))
    assert msg.startswith("contacts: the database cancelled reading the query for contacts "
                          "(canceling statement due to statement timeout)")


def test_a_failing_query_names_its_file(loaded, tmp_path):
    p = sources_yaml(tmp_path, loaded, "tables:\n  children: {query: SELECT child_id FORM x}\n")
    with pytest.raises(InputError, match=r'^children: the query for children in .*sources.yaml '
                                         r'failed \(syntax error at or near "x"\)$'):
        read_tables(p)


# ---------------------------------------------------------------- passwords -----------------

def test_a_password_in_the_url_never_shows(loaded, tmp_path, caplog, capsys, monkeypatch):
    """Messages, logs, the CLI's output and MLflow never hold the password."""
    from riskmodel.cli import main

    monkeypatch.delenv("PGPASSWORD")
    secret = READER_PW.replace("@", "%40").replace(":", "%3A")
    with_pw = url(loaded, password=secret)
    caplog.set_level(logging.INFO, logger="riskmodel")
    tables = read_tables(with_pw)
    assert len(tables["children"]) == N_CHILDREN
    src = as_source(with_pw)
    assert copy.deepcopy(src) is src and copy.deepcopy({"d": src})["d"].url.password
    texts = [str(src), repr(src), f"{src}", "%s" % (src,), json.dumps(src),  # noqa: UP031
             os.fspath(Path(src)), pickle.loads(pickle.dumps(src)), caplog.text]
    for text in texts:
        one_line_no_secret(text.replace("\n", " "))
    assert "reader:***@127.0.0.1" in str(src)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # warned already in this process
        main(["validate", with_pw, "--extract-date", EXTRACT])
    out = capsys.readouterr()
    one_line_no_secret((out.out + out.err).replace("\n", " "))
    assert "OK: postgresql://reader:***@127.0.0.1" in out.out
    assert "warning: data: the database URL holds a password" in out.err
    # An error while reading (a missing table) masks it too.
    line = run_cli(["validate", url(loaded, schema="partial", password=secret)], capsys)
    assert "reader:***@" not in line or "***" in line


@pytest.mark.slow
def test_train_logs_no_password_to_mlflow(loaded, test_spec, tmp_path, monkeypatch):
    import yaml

    from riskmodel.jobs import train

    spec = yaml.safe_load(test_spec.read_text())  # a quick one: two candidates, few dates
    spec.update(candidates=spec["candidates"][:2], bootstrap=20)
    spec["as_of"]["start"] = "2022-07-01"  # a training date recorded before the first fold
    test_spec = tmp_path / "escalation.yaml"
    test_spec.write_text(yaml.safe_dump(spec))

    store = tmp_path / "mlflow"  # the database and, beside it, artifacts/
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}/mlflow.db")
    monkeypatch.delenv("PGPASSWORD")
    secret = READER_PW.replace("@", "%40").replace(":", "%3A")
    result = train(url(loaded, password=secret), test_spec, register_best=False)
    assert result.candidates
    files = [p for p in store.rglob("*") if p.is_file()]
    assert len(files) > 5
    for p in files:
        blob = p.read_bytes()
        for mark in SECRET_MARKS:
            assert mark.encode() not in blob, p


# ---------------------------------------------------------------- no server needed ----------

def test_any_sqlalchemy_url_reads_the_same(folder, tmp_path):
    """The generic path (SQLAlchemy + pandas), on SQLite: no server, same results."""
    import sqlite3

    db = tmp_path / "eh.db"
    with sqlite3.connect(db) as con:
        for table in TABLES:
            if (folder / f"{table}.parquet").exists():
                pd.read_parquet(folder / f"{table}.parquet").to_sql(table, con, index=False)
    con.close()
    src = f"sqlite:///{db}"
    assert validate_extract(src, extract_date=EXTRACT) == validate_extract(folder)
    kw = dict(outcome="escalation", as_of=AS_OF[:1], extract_date=EXTRACT)
    pd.testing.assert_frame_equal(build_matrix_file(src, tmp_path / "s.parquet", **kw),
                                  build_matrix_file(folder, tmp_path / "f.parquet", **kw))


def test_mask_hides_passwords_in_any_text():
    assert mask("x postgresql+psycopg://a:b%40c@h:1/d y") == "x postgresql+psycopg://a:***@h:1/d y"
    assert mask("mssql+pyodbc://sa:Pw@srv/db?driver=ODBC") == "mssql+pyodbc://sa:***@srv/db?driver=ODBC"
    assert mask("DRIVER={x};PWD=secret;UID=sa") == "DRIVER={x};PWD=***;UID=sa"
    assert mask("no url here") == "no url here"


def test_as_source_tells_paths_from_databases(tmp_path):
    assert as_source(tmp_path) == tmp_path
    assert not is_database(tmp_path) and not is_database(tmp_path / "missing.yaml")
    src = as_source("postgresql://reader@db.example:5433/caseload?schema=eh&sslmode=require")
    assert src.where() == "db.example:5433/caseload"
    assert src.url.query == {"sslmode": "require"}  # riskmodel's keys are not the driver's
    assert str(src) == "postgresql://reader@db.example:5433/caseload?sslmode=require&schema=eh"
    with pytest.raises(InputError, match=r"reader=fast is not one of auto, adbc, sqlalchemy"):
        as_source("postgresql://db/x?reader=fast")


def test_sqlalchemy_is_used_when_adbc_is_missing(monkeypatch):
    from riskmodel.data import _sql

    monkeypatch.setattr(_sql, "_adbc_available", lambda: False)
    with pytest.raises(InputError, match=r"reader=adbc is not installed"):
        _sql._connect(as_source("postgresql://r@127.0.0.1:1/x?reader=adbc"))
    with pytest.raises(InputError, match=r"cannot connect to the database at 127.0.0.1 port 1"):
        _sql._connect(as_source("postgresql://r@127.0.0.1:1/x"))


def test_password_for_other_databases(tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url

    u = make_url("mssql+pyodbc://reader@sql.example:1433/caseload")
    assert password_for(u) is None
    monkeypatch.setenv("RISKMODEL_DB_PASSWORD", "from-env")
    assert password_for(u) == "from-env"
    monkeypatch.delenv("RISKMODEL_DB_PASSWORD")
    f = tmp_path / "pass"
    f.write_text("# comment\nsql.example:*:caseload:reader:from-file\n")
    monkeypatch.setenv("PGPASSFILE", str(f))
    assert password_for(u) == "from-file"


def test_database_dates_outside_a_date_cut_are_refused_clearly():
    from sqlalchemy.dialects import postgresql

    from riskmodel.data._sources import TableSource
    from riskmodel.data._sql import _select

    sql, params = _select(TableSource("episodes", name=("eh", "episodes")),
                          ["episode_id", "child_id", "service", "start_date", "End_Date",
                           "closure_reason", "triage_start", "triage_end"],
                          postgresql.dialect(), dt.date(2024, 6, 30))
    assert 't."End_Date" > :riskmodel_until' in sql and "AS end_date" in sql
    assert params == {"riskmodel_until": dt.date(2024, 6, 30)}
    assert "2024" not in sql  # the date is bound, not written into the SQL


def test_a_wrong_password_given_in_the_url_is_named_as_such(loaded, monkeypatch):
    """The URL's own password was refused: the message does not send the analyst to
    PGPASSWORD, which played no part."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the URL holds a password: warned elsewhere
        with pytest.raises(InputError) as err:
            read_tables(url(loaded, password="not-the-Pa55word"))
    msg = one_line_no_secret(str(err.value))
    assert "not-the-Pa55word" not in msg
    assert "password authentication failed" in msg
    assert "the password given in the URL was refused" in msg
    assert "comes from PGPASSWORD" not in msg


class _Stopped(Exception):
    """What psycopg raises when the server goes away: no SQLSTATE, the words only."""


def test_the_server_lost_during_the_table_checks_is_said(loaded, monkeypatch):
    """The server stops after the connection is made, while the tables are being checked:
    the message says the connection was lost while checking, not "cannot connect"."""
    from riskmodel.data import _sql

    real = _sql._connect

    def stopping(source):
        reader = real(source)

        def gone(*_args, **_kwargs):
            raise _Stopped("consuming input failed: server closed the connection "
                           "unexpectedly\n\tThis probably means the server terminated")
        reader.columns = gone
        reader.has_table = gone
        return reader

    monkeypatch.setattr(_sql, "_connect", stopping)
    with pytest.raises(InputError) as err:
        read_tables(url(loaded))
    msg = one_line_no_secret(str(err.value))
    assert "was lost while checking the tables" in msg, msg
    assert "server closed the connection unexpectedly" in msg
    assert "cannot connect" not in msg and "check the host" not in msg


def test_the_server_stopping_as_the_checks_start_is_not_a_wrong_host():
    """A connection accepted then ended by the server (57P01) is not "check the host"."""
    from riskmodel.data import _sql

    class Terminated(Exception):
        sqlstate = "57P01"

    exc = Terminated("FATAL:  terminating connection due to administrator command")
    msg = str(_sql._connect_error(as_source("postgresql://reader@db.example:5432/eh"), exc))
    assert "closed the connection while riskmodel was starting to check the tables" in msg
    assert "terminating connection due to administrator command" in msg
    assert "check the host" not in msg
