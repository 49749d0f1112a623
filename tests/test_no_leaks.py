"""No identifiers leak: the whole demo, searched for every id and date of birth it was given.

One run of ``python -m riskmodel demo --children 6000`` (with the session's small-council
spec, whose thresholds a council this size can meet) (from an empty working folder, with
its own MLflow store) is shared by the checks. Every MLflow artefact, every row of the
tracking database, the demo's stdout and stderr, and every report and log it wrote are
searched for each ``child_id`` and ``family_id`` of the input (all of them, as whole tokens)
and each date of birth (ISO form). The scores files are the named exception: they exist to
tell the insight hub which child is which.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

# The whole demo in a child process: more than 80 s of CPU before the first check.
pytestmark = pytest.mark.slow

CHILDREN = 6000
# Files that must hold child ids (one row per child, for the insight hub): never searched.
SCORES_FILES = ("scores.parquet", "scores.rejected.parquet")
TOKEN = re.compile(r"[A-Za-z0-9]+")
ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
DATA_URI = re.compile(rb"data:[\w/+.-]+;base64,([A-Za-z0-9+/=]+)")


@dataclass
class Demo:
    root: Path
    cwd: Path
    out: Path
    store: Path
    returncode: int
    stdout: str
    stderr: str
    started: dt.datetime
    finished: dt.datetime

    @property
    def council(self) -> Path:
        return self.out / "council"

    def registered(self) -> list[tuple]:
        db = self.store / "mlflow.db"
        if not db.is_file():
            return []
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("select name, version from model_versions").fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, test_spec) -> Demo:
    root = tmp_path_factory.mktemp("leaks")
    cwd, store = root / "cwd", root / "store"
    cwd.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
           "PYTHONUNBUFFERED": "1"}
    env.pop("RISKMODEL_DEBUG", None)
    started = dt.datetime.now()
    proc = subprocess.run(
        [sys.executable, "-m", "riskmodel", "demo", "--children", str(CHILDREN),
         "--out", "demo", "--spec", str(test_spec)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    return Demo(root=root, cwd=cwd, out=cwd / "demo", store=store,
                returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                started=started, finished=dt.datetime.now())


@dataclass
class Secrets:
    ids: set[str]
    dates_of_birth: set[str]
    public_dates: set[str]


@pytest.fixture(scope="module")
def secrets(demo) -> Secrets:
    """Every id and date of birth in the input, less the dates that are public anyway."""
    path = demo.council / "children.parquet"
    assert path.is_file(), f"the demo wrote no council (exit {demo.returncode}):\n" \
                           f"{demo.stderr[-3000:]}"
    children = pd.read_parquet(path)
    ids = set(children["child_id"].astype(str)) | set(children["family_id"].astype(str))
    # Whole tokens: an id is found unless a letter or digit touches it on either side.
    assert all(TOKEN.fullmatch(i) for i in ids), "ids are not letters and digits"
    assert len(ids) > CHILDREN
    dob = set(pd.to_datetime(children["date_of_birth"]).dt.strftime("%Y-%m-%d").dropna())
    # A date that is also an as-of date (the first of a month), the simulation's start or
    # extract date, or the day the demo ran identifies nobody: reports must show those.
    import json

    manifest = json.loads((demo.council / "manifest.json").read_text())
    public = {str(d.date()) for d in pd.date_range(manifest["start"], manifest["end"],
                                                   freq="MS")}
    public |= {manifest["start"], manifest["end"], manifest["extract_date"]}
    for when in (demo.started, demo.finished):
        public |= {str(when.date()), str(when.astimezone(dt.UTC).date())}
    secret_dob = dob - public
    assert len(secret_dob) > 0.9 * len(dob), "too few dates of birth left to search for"
    return Secrets(ids=ids, dates_of_birth=secret_dob, public_dates=public & dob)


def _text_of(path: Path) -> str:
    """A file's text as a reader would get it: tables as CSV, sqlite as SQL, embedded data."""
    data = path.read_bytes()
    parts = [data.decode("utf-8", errors="replace")]
    if data[:4] == b"PAR1":
        parts.append(pq.read_table(path).to_pandas().to_csv(index=False))
    elif data[:16] == b"SQLite format 3\x00":
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            parts.append("\n".join(con.iterdump()))
        finally:
            con.close()
    for payload in DATA_URI.findall(data):  # images and data embedded in an HTML report
        parts.append(base64.b64decode(payload + b"=" * (-len(payload) % 4)).decode(
            "utf-8", errors="replace"))
    return "\n".join(parts)


def _hits(text: str, secrets: Secrets) -> tuple[set[str], set[str]]:
    ids = set(TOKEN.findall(text)) & secrets.ids
    dates = set(ISO_DATE.findall(text)) & secrets.dates_of_birth
    return ids, dates


def _leaks(files: list[Path], secrets: Secrets, base: Path) -> dict[str, str]:
    found = {}
    for path in files:
        ids, dates = _hits(_text_of(path), secrets)
        if ids or dates:
            found[str(path.relative_to(base))] = (
                f"{len(ids)} ids (e.g. {', '.join(sorted(ids)[:3])}), "
                f"{len(dates)} dates of birth")
    return found


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the checks ----------------


def test_demo_runs_to_the_end(demo):
    assert demo.returncode == 0, (
        f"the demo failed (exit {demo.returncode}); its stderr ends:\n{demo.stderr[-3000:]}")
    assert demo.registered(), (
        "the demo registered no model, so nothing was scored and the scores, fairness, "
        "explanation and model-card outputs could not be checked for leaks; its output "
        f"ends:\n{demo.stdout[-2500:]}")
    for name in ("scores.parquet", "explain.html"):
        assert (demo.out / name).is_file(), f"the demo wrote no {name}"
    for folder in ("fairness", "card"):
        assert _files(demo.out / folder), f"the demo wrote nothing in {folder}/"
    # every path the demo says it wrote exists
    said = re.findall(r"-> (\S+)", demo.stdout.replace("\n", " "))
    assert said and all(Path(demo.cwd, p).exists() for p in said), said
    # it ends by naming the files to open, each of which exists, and the next command to try
    tail = demo.stdout[demo.stdout.index("Open these"):]
    opened = re.findall(r"^  [^:\n]+: (\S+\.(?:html|parquet))$", tail, flags=re.M)
    assert len(opened) == 5 and all(Path(demo.cwd, p).is_file() for p in opened), tail
    assert "riskmodel score --data" in tail and "riskmodel compare" in tail


def test_the_search_finds_what_is_there(demo, secrets):
    """The detector itself: ids and dates of birth in a table are found; scores hold ids."""
    children = pd.read_parquet(demo.council / "children.parquet").head(50)
    ids, dates = _hits(children.to_csv(index=False), secrets)
    assert len(ids) >= 50 and dates
    assert _hits("child C0000012x, 'F0000003'", Secrets({"C0000012", "F0000003"}, set(),
                                                        set()))[0] == {"F0000003"}
    scores = demo.out / SCORES_FILES[0]
    if scores.is_file():  # the named exception: the scores file is meant to hold ids
        assert _hits(_text_of(scores), secrets)[0]


def test_no_identifiers_in_mlflow_artefacts(demo, secrets):
    artefacts = [p for p in _files(demo.store) if not p.name.startswith("mlflow.db")]
    assert len(artefacts) >= 10, f"the demo logged almost nothing to MLflow: {artefacts}"
    assert _leaks(artefacts, secrets, demo.store) == {}


def test_no_identifiers_in_the_tracking_database(demo, secrets):
    db = demo.store / "mlflow.db"
    assert db.is_file(), "the demo created no tracking database"
    text = _text_of(db)
    assert "riskmodel.data_fingerprint" in text  # the runs are there
    ids, dates = _hits(text, secrets)
    assert not ids and not dates, (sorted(ids)[:5], sorted(dates)[:5])


def test_no_identifiers_in_output_logs_or_reports(demo, secrets):
    ids, dates = _hits(demo.stdout + demo.stderr, secrets)
    assert not ids and not dates, ("demo stdout/stderr", sorted(ids)[:5], sorted(dates)[:5])
    # Everything written under the working folder, except the input council itself and
    # the scores files: reports, the scoring audit log, the model card, any log or stray file.
    written = [p for p in _files(demo.cwd)
               if demo.council not in p.parents and p.name not in SCORES_FILES]
    names = {p.name for p in written}
    assert {"scoring-audit.jsonl", "explain.html"} <= names, (
        f"the demo did not write its reports (see test_demo_runs_to_the_end): {sorted(names)}")
    assert _leaks(written, secrets, demo.cwd) == {}
