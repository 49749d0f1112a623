"""Reliability and security across the commands (issue 8).

- Bad input to ``build``, ``train``, ``score``, ``fairness``, ``synth``, ``promote`` and
  ``compare``: exit 2, exactly one line on stderr naming what and where, no traceback, and
  nothing written (no output file or folder, no change to the MLflow store).
  ``tests/test_validate.py`` holds the 42 kinds for ``validate``; ``docs/bad-input.md``
  lists both.
- Faults: ``synth``, ``build``, ``score`` and ``train`` killed with SIGKILL part-way leave
  the previous output (files, or the registry's champion) exactly as it was and nothing a
  reader would pick up; the rerun completes. An unreachable MLflow server fails fast with one
  line. A tampered model artefact is refused; nothing is unpickled.
- Reproducibility: the same model, data and date give byte-identical scores twice.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

import riskmodel
from riskmodel.cli import main

from helpers.model_files import flip_a_digit, model_json

# ---------------------------------------------------------------- helpers -------------------


def _cli(args, capsys) -> tuple[int, str, str]:
    """Run the command line in this process; (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _said(err: str) -> list[str]:
    """stderr without the informational lines every run may print: a step starting
    ("  [   3s] ..."), a spec file read ("spec: ...")."""
    return [ln for ln in err.splitlines()
            if not ln.startswith(("  [", "spec: "))]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(*folders: Path) -> dict[str, str]:
    """Every file (with its SHA-256) and folder under ``folders``, hidden ones included."""
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            out[str(p)] = _sha(p) if p.is_file() else "folder"
    return out


def _visible(folder: Path) -> dict[str, str]:
    """What a reader globbing the folder would see: files not under a ``.tmp-`` name."""
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".tmp-")
                                       for part in p.relative_to(folder).parts)}


def _store_db() -> Path:
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    assert uri.startswith("sqlite:///"), f"tests need the session's sqlite store, not {uri!r}"
    return Path(uri[len("sqlite:///"):])


def _query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _store_state() -> dict[str, str]:
    """A fingerprint of the whole MLflow store: every row of the database and every artefact."""
    db = _store_db()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    files = {k: v for k, v in _tree(db.parent).items() if not Path(k).name.startswith(db.name)}
    return {"database": hashlib.sha256(dump.encode()).hexdigest(), **files}


def _champion(db: Path, name: str = "escalation") -> str | None:
    rows = _query(db, "select version from registered_model_aliases "
                      f"where name = '{name}' and alias = 'champion'")
    return str(rows[0][0]) if rows else None


def _extract_date(council: Path) -> str:
    return json.loads((council / "manifest.json").read_text())["extract_date"]


# ---------------------------------------------------------------- the catalogue -------------
# Each case builds its command line in a fresh folder (writing any bad spec or data it
# needs), then must fail with one line holding every expected part. ``ctx.out(name)`` names
# an output path; none may exist afterwards, and nothing else may change: not the folder,
# not the council, not the MLflow store.


@dataclass
class Ctx:
    council: Path
    tmp: Path
    test_spec: Path
    outs: list[Path] = field(default_factory=list)

    def out(self, name: str) -> Path:
        path = self.tmp / "out" / name
        self.outs.append(path)
        return path

    def write(self, name: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.tmp / name
        path.write_text(text, encoding=encoding)
        return path

    def training_spec(self, change: Callable[[dict], None], name="spec.yaml") -> Path:
        spec = yaml.safe_load(self.test_spec.read_text())
        change(spec)
        return self.write(name, yaml.safe_dump(spec, sort_keys=False))

    def feature_spec(self, change: Callable[[dict], None], name="features.yaml") -> Path:
        from riskmodel.features._spec import packaged_spec_path

        spec = yaml.safe_load(packaged_spec_path().read_text())
        change(spec)
        return self.write(name, yaml.safe_dump(spec, sort_keys=False))

    def extract(self, change: Callable[[dict[str, pd.DataFrame], Path], None]) -> Path:
        """A copy of the council with one thing broken by ``change(tables, folder)``."""
        folder = self.tmp / "extract"
        shutil.copytree(self.council, folder)
        tables = {n: pd.read_parquet(folder / f"{n}.parquet")
                  for n in ("children", "contacts", "ace_factors", "episodes")}
        change(tables, folder)
        return folder


def _set(table: str, column: str, row: int, value):
    def change(t, folder):
        t[table].loc[row, column] = value
        t[table].to_parquet(folder / f"{table}.parquet", index=False)
    return change


def _as_csv(table: str, *, sep: str = ",", encoding: str = "utf-8", locality=None):
    """Replace a table's Parquet file by a CSV written with another separator or encoding."""
    def change(t, folder):
        df = t[table].astype("string")
        if locality is not None:
            df.loc[0, "locality"] = locality
        (folder / f"{table}.parquet").unlink()
        df.to_csv(folder / f"{table}.csv", index=False, sep=sep, encoding=encoding)
    return change


def _duplicate_child(t, folder):
    t["children"] = pd.concat([t["children"], t["children"].iloc[[0]]], ignore_index=True)
    t["children"].to_parquet(folder / "children.parquet", index=False)


def _empty(table: str):
    def change(t, folder):
        t[table].iloc[:0].to_parquet(folder / f"{table}.parquet", index=False)
    return change


def _scores_csv(ctx: Ctx, change: Callable[[pd.DataFrame], None] | None = None) -> Path:
    """A small scores table with a label, a score and two characteristics."""
    n = 200
    df = pd.DataFrame({
        "child_id": [f"S{i:04d}" for i in range(n)],
        "label": [(i * 7) % 5 == 0 for i in range(n)],
        "score": [((i * 37) % 100) / 100 for i in range(n)],
        "ethnicity": [("white", "asian", "black", "mixed")[i % 4] for i in range(n)],
        "sex": [("female", "male")[i % 2] for i in range(n)],
    })
    df["label"] = df["label"].astype(int)
    if change is not None:
        change(df)
    path = ctx.tmp / "scores.csv"
    df.to_csv(path, index=False)
    return path


def _fair(ctx, *extra, scores=None):
    return ["fairness", "--scores", scores or _scores_csv(ctx), "--label", "label", "--score",
            "score", "--sensitive", "ethnicity,sex", "--out", ctx.out("fairness"), *extra]


def _build(ctx, *extra, data=None, as_of="2024-01-01", outcome="escalation"):
    return ["build", "--data", data or ctx.council, "--outcome", outcome, "--as-of", as_of,
            "--out", ctx.out("matrix.parquet"), *extra]


def _train(ctx, spec=None, data=None):
    return ["train", "--data", data or ctx.council, "--spec", spec or ctx.test_spec]


def _score(ctx, *extra, data=None, out="scores.parquet"):
    return ["score", "--data", data or ctx.council, "--out", ctx.out(out), *extra]


def _synth(ctx, *extra):
    return ["synth", "--children", "50", "--out", ctx.out("council"), *extra]


# (command, bad input) -> (how to build the command line, parts of the one line printed)
CASES: dict[tuple[str, str], tuple[Callable[[Ctx], list], list[str]]] = {
    # ---- build
    ("build", "unknown outcome"): (
        lambda c: _build(c, outcome="escalatoin"),
        ["outcome: unknown outcome 'escalatoin' (expected escalation or disengagement)"]),
    ("build", "as-of date after the extract date"): (
        lambda c: _build(c, as_of="2026-03-01"),
        ["as_of: 2026-03-01 is after the extract date 2025-12-31"]),
    ("build", "as-of date before the data"): (
        lambda c: _build(c, as_of="2018-06-01"),
        ["as_of: 2018-06-01 is not after the first record (first recorded date 2019-"]),
    ("build", "as-of date that is not a date"): (
        lambda c: _build(c, as_of="soon"),
        ["--as-of: 'soon' is not a date (expected YYYY-MM-DD)"]),
    ("build", "as-of date that does not exist"): (
        lambda c: _build(c, as_of="2024-02-30"),
        ["--as-of: '2024-02-30' is not a date (expected YYYY-MM-DD)"]),
    ("build", "as-of date written day/month/year"): (
        # pandas would read 01/02/2024 as 2 January (month first): a UK user means 1 February
        lambda c: _build(c, as_of="01/02/2024"),
        ["--as-of: '01/02/2024' is not a date (expected YYYY-MM-DD)"]),
    ("build", "horizon of 0 months"): (
        lambda c: _build(c, "--horizon", "0"),
        ["horizon_months: expected a whole number of months 1-120, got 0"]),
    ("build", "feature spec with an unknown key"): (
        lambda c: _build(c, "--spec", c.feature_spec(
            lambda s: s["builders"]["contacts"].update(windowz=["3m"]))),
        ["features.yaml: key 'builders.contacts.windowz': unknown key (allowed: enabled, "
         "repeat_within_months, windows)"]),
    ("build", "feature spec value of the wrong type"): (
        lambda c: _build(c, "--spec", c.feature_spec(
            lambda s: s["builders"]["contacts"].update(repeat_within_months="often"))),
        ["features.yaml: key 'builders.contacts.repeat_within_months': Input should be a "
         "valid integer", "(got 'often')"]),
    ("build", "feature spec file missing"): (
        lambda c: _build(c, "--spec", c.tmp / "nofile.yaml"),
        ["nofile.yaml: spec file not found"]),
    ("build", "matrix file with another suffix"): (
        # the help says .parquet or .csv; Parquet bytes are written into matrix.txt today
        lambda c: ["build", "--data", c.council, "--outcome", "escalation", "--as-of",
                   "2024-01-01", "--out", c.out("matrix.txt")],
        ["--out", "matrix.txt", ".parquet or .csv"]),
    ("build", "extract folder missing"): (
        lambda c: _build(c, data=c.tmp / "nowhere"),
        ["data: ", "nowhere does not exist"]),
    ("build", "unknown child in contacts"): (
        lambda c: _build(c, data=c.extract(_set("contacts", "child_id", 0, "NOBODY"))),
        ["contacts.child_id: unknown child id 'NOBODY' in 1 row, not in children.child_id",
         "(e.g. contact_id "]),
    ("build", "duplicate child_id"): (
        lambda c: _build(c, data=c.extract(_duplicate_child)),
        ["children.child_id: duplicate ids in 2 rows, each must be unique"]),
    ("build", "empty table"): (
        lambda c: _build(c, data=c.extract(_empty("contacts"))),
        ["contacts: table is empty (0 rows)"]),
    ("build", "CSV separated by semicolons"): (
        lambda c: _build(c, data=c.extract(_as_csv("children", sep=";"))),
        ["children: children.csv is separated by semicolons (;), not commas"]),
    ("build", "extract date not ISO"): (
        lambda c: _build(c, "--extract-date", "31/12/2025"),
        ["extract date: '31/12/2025' is not a date (expected YYYY-MM-DD)"]),
    # ---- train
    ("train", "spec with an unknown key"): (
        lambda c: _train(c, c.training_spec(lambda s: s.update(horizon=6))),
        ["spec.yaml: key 'horizon': unknown key (allowed: as_of, bootstrap,"]),
    ("train", "spec with an unknown nested key"): (
        lambda c: _train(c, c.training_spec(lambda s: s["as_of"].update(every=3))),
        ["spec.yaml: key 'as_of.every': unknown key (allowed: end, every_months, "
         "recording_lag_days, start, warm_up_months)"]),
    ("train", "spec value of the wrong type"): (
        lambda c: _train(c, c.training_spec(lambda s: s.update(horizon_months="six"))),
        ["spec.yaml: key 'horizon_months': Input should be a valid integer", "(got 'six')"]),
    ("train", "spec with an unknown outcome"): (
        lambda c: _train(c, c.training_spec(lambda s: s.update(outcome="exclusion"))),
        ["spec.yaml: key 'outcome': Input should be 'escalation' or 'disengagement'"]),
    ("train", "spec with an unknown candidate kind"): (
        lambda c: _train(c, c.training_spec(lambda s: s["candidates"][0].update(kind="forest"))),
        ["spec.yaml: key 'candidates.0.kind': Input should be 'rule', 'logistic' or 'lightgbm'"]),
    ("train", "spec with an unknown candidate parameter"): (
        # found only after the first candidate is evaluated, with progress lines printed
        lambda c: _train(c, c.training_spec(lambda s: (
            s["candidates"][1]["params"].update(nonsense=3),
            s["as_of"].update(start="2023-01-01")))),
        ["training spec: candidate 'logistic':", "nonsense"]),
    ("train", "spec file missing"): (
        lambda c: _train(c, c.tmp / "nofile.yaml"),
        ["nofile.yaml: spec file not found"]),
    ("train", "spec that is not YAML"): (
        lambda c: _train(c, c.write("spec.yaml", "outcome: escalation\nas_of: {start: 2020\n"
                                                 "candidates: [\n")),
        ["spec.yaml: not valid YAML at line"]),
    ("train", "spec that is a list"): (
        lambda c: _train(c, c.write("spec.yaml", "- outcome\n- escalation\n")),
        ["spec.yaml: expected a mapping of keys to values at the top level"]),
    ("train", "as_of.start leaving no as-of dates"): (
        lambda c: _train(c, c.training_spec(lambda s: s["as_of"].update(start="2025-10-01"))),
        ["key 'as_of.start': 2025-10-01 leaves no as-of date whose 6-month window "
         "closes by the data's last date 2025-12-31"]),
    ("train", "future-dated record"): (
        lambda c: _train(c, data=c.extract(_set("ace_factors", "recorded_date", 0,
                                                pd.Timestamp("2026-02-01").date()))),
        ["ace_factors.recorded_date: after the extract date 2025-12-31 in 1 row"]),
    # ---- score
    ("score", "unknown alias"): (
        lambda c: _score(c, "--model", "models:/escalation@nosuchalias"),
        ["model: no registered model 'escalation' with alias 'nosuchalias' in sqlite:///"]),
    ("score", "no such model"): (
        lambda c: _score(c, "--model", "models:/nosuchmodel@champion"),
        ["model: no registered model 'nosuchmodel' with alias 'champion'"]),
    ("score", "no such model version"): (
        lambda c: _score(c, "--model", "models:/escalation/999"),
        ["model: no registered model 'escalation' with version 999"]),
    ("score", "model that is not a model URI"): (
        lambda c: _score(c, "--model", "escalation"),
        ["model: 'escalation' is not a model URI; expected models:/NAME@ALIAS or "
         "models:/NAME/VERSION"]),
    ("score", "scores file with another suffix"): (
        lambda c: _score(c, out="scores.txt"),
        ["--out: scores.txt must end in .parquet, .csv or .xlsx"]),
    ("score", "scores path that is a folder"): (
        lambda c: (c.tmp.joinpath("out", "old.parquet").mkdir(parents=True),
                   ["score", "--data", c.council, "--out", c.tmp / "out" / "old.parquet"])[1],
        ["--out: ", "old.parquet is a folder; give a file name such as scores.parquet"]),
    ("score", "as-of date after the extract date"): (
        lambda c: _score(c, "--as-of", "2026-03-01"),
        ["--as-of: 2026-03-01 is after the extract date 2025-12-31"]),
    ("score", "as-of date before the data"): (
        lambda c: _score(c, "--as-of", "2018-06-01"),
        ["as_of: 2018-06-01 is not after the first record"]),
    ("score", "as-of date written day/month/year"): (
        lambda c: _score(c, "--as-of", "01/02/2025"),
        ["--as-of: '01/02/2025' is not a date (expected YYYY-MM-DD)"]),
    ("score", "capacity that is not a selection"): (
        lambda c: _score(c, "--top", "lots"),
        ["--top: 'lots' is not a selection"]),
    ("score", "extract folder missing"): (
        lambda c: _score(c, data=c.tmp / "nowhere"),
        ["data: ", "nowhere does not exist"]),
    ("score", "CSV not in UTF-8"): (
        lambda c: _score(c, data=c.extract(_as_csv("children", encoding="cp1252",
                                                   locality="Bishop's Stortford Café"))),
        ["children: children.csv is not UTF-8 text (byte 0xe9 on line 2",
         "save it as CSV UTF-8"]),
    ("score", "back-dated record"): (
        lambda c: _score(c, data=c.extract(_set("contacts", "recorded_date", 0,
                                                pd.Timestamp("2018-01-01").date()))),
        ["contacts.recorded_date: before contact_date in 1 row"]),
    # ---- fairness
    ("fairness", "label column missing"): (
        lambda c: ["fairness", "--scores", _scores_csv(c), "--label", "outcome", "--score",
                   "score", "--sensitive", "ethnicity", "--top", "10%", "--out",
                   c.out("fairness")],
        ["scores.csv: no label column 'outcome' (columns: child_id, label, score, ethnicity,"]),
    ("fairness", "score column missing"): (
        lambda c: ["fairness", "--scores", _scores_csv(c), "--label", "label", "--score",
                   "probability", "--sensitive", "ethnicity", "--top", "10%", "--out",
                   c.out("fairness")],
        ["scores.csv: no score column 'probability'"]),
    ("fairness", "label not 0/1"): (
        lambda c: _fair(c, "--top", "10%", scores=_scores_csv(
            c, lambda df: df.__setitem__("label", df["label"].where(df.index != 3, 2)))),
        ["scores.csv: column 'label' must be 0/1 (or empty when unknown); other values in "
         "rows S0003"]),
    ("fairness", "score not a number"): (
        lambda c: _fair(c, "--top", "10%", scores=_scores_csv(
            c, lambda df: df.__setitem__("score", df["score"].astype(str).where(
                df.index != 5, "high")))),
        ["scores.csv: column 'score' must hold a number in every row; missing or not a "
         "number in rows S0005"]),
    ("fairness", "both --threshold and --top"): (
        lambda c: _fair(c, "--top", "10%", "--threshold", "0.5"),
        ["fairness: give exactly one of --threshold or --top"]),
    ("fairness", "neither --threshold nor --top"): (
        lambda c: _fair(c),
        ["fairness: give exactly one of --threshold or --top"]),
    ("fairness", "characteristic column missing"): (
        lambda c: ["fairness", "--scores", _scores_csv(c), "--label", "label", "--score",
                   "score", "--sensitive", "religion", "--top", "10%", "--out",
                   c.out("fairness")],
        ["scores.csv: no characteristic (religion) column 'religion'"]),
    ("fairness", "scores file missing"): (
        lambda c: _fair(c, "--top", "10%", scores=c.tmp / "nofile.csv"),
        ["nofile.csv: scores file not found"]),
    ("fairness", "scores file with another suffix"): (
        lambda c: _fair(c, "--top", "10%", scores=c.write("scores.txt", "label,score\n1,0.5\n")),
        ["scores.txt: expected a .csv or .parquet scores file"]),
    ("fairness", "reference group not NAME=GROUP"): (
        lambda c: _fair(c, "--top", "10%", "--reference", "ethnicity"),
        ["--reference: expected NAME=GROUP, got 'ethnicity'"]),
    # ---- synth
    ("synth", "referral bias not column=value:factor"): (
        lambda c: _synth(c, "--referral-bias", "ethnicity:2"),
        ["--referral-bias: 'ethnicity:2' is not column=value:factor"]),
    ("synth", "referral bias with an unknown value"): (
        lambda c: _synth(c, "--referral-bias", "ethnicity=martian:2"),
        ["--referral-bias: 'ethnicity=martian:2': ethnicity has no value 'martian'"]),
    ("synth", "referral bias factor out of range"): (
        lambda c: _synth(c, "--referral-bias", "ethnicity=black:50"),
        ["--referral-bias: 'ethnicity=black:50': factor must be a number from 1 to 20"]),
    ("synth", "no children"): (
        lambda c: ["synth", "--children", "0", "--out", c.out("council")],
        ["--children: must be a whole number of at least 1, got 0"]),
    ("synth", "start date written day/month/year"): (
        lambda c: _synth(c, "--start", "01/02/2019"),
        ["--start: '01/02/2019' is not a date (expected YYYY-MM-DD)"]),
    ("synth", "output path that is a file"): (
        lambda c: ["synth", "--children", "50", "--out", c.write("council", "not a folder")],
        ["--out: ", "council exists and is not a folder"]),
    # ---- promote / compare
    ("promote", "no such model"): (
        lambda c: ["promote", "--outcome", "nosuchmodel"],
        ["model: no registered model 'nosuchmodel' with alias 'challenger'"]),
    ("promote", "no such version"): (
        lambda c: ["promote", "--outcome", "escalation", "--version", "999"],
        ["model: no registered model 'escalation' with version 999"]),
    ("compare", "no such model"): (
        # must not create an experiment for the mistyped name as a side effect
        lambda c: ["compare", "--outcome", "nosuchmodel"],
        ["compare: no training runs for 'nosuchmodel' yet (run riskmodel train)"]),
}
NEEDS_MODEL = {"score", "train", "promote", "compare"}


@pytest.fixture
def ctx(council, test_spec, tmp_path) -> Ctx:
    return Ctx(council=council, tmp=tmp_path, test_spec=test_spec)


@pytest.mark.parametrize("case", list(CASES), ids=[f"{c}: {k}" for c, k in CASES])
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(case, ctx, request, capsys):
    command, _ = case
    if command in NEEDS_MODEL:
        request.getfixturevalue("trained")  # a store with a champion, and its sqlite file
        capsys.readouterr()  # what training printed is not this command's output
    build, expected = CASES[case]
    args = build(ctx)
    before = _tree(ctx.tmp, ctx.council)
    store = _store_state() if command in NEEDS_MODEL else None

    code, out, err = _cli(args, capsys)

    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err
    lines = _said(err)
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("error: "), line
    for part in expected:
        assert part in line, f"{part!r} not in {line!r}"
    for path in ctx.outs:
        assert not path.exists(), f"{path} was written"
    assert _tree(ctx.tmp, ctx.council) == before, "files were written or changed"
    if store is not None:
        assert _store_state() == store, "the MLflow store was changed"


def test_catalogue_documents_every_case():
    """docs/bad-input.md lists each case above (test_validate checks the `validate` rows)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "bad-input.md").read_text()
    for command, kind in CASES:
        assert f"| `{command}` | {kind} |" in doc, (command, kind)
    rows = [ln for ln in doc.splitlines() if ln.startswith("| `")]
    assert len([ln for ln in rows if not ln.startswith("| `validate` |")]) >= 30


# The real entry point (`python -m riskmodel`), where warnings and third-party progress bars
# would also reach stderr: one case per command, run side by side.
REAL = [
    ("build", "unknown outcome"), ("train", "spec file missing"),
    ("score", "as-of date after the extract date"), ("fairness", "both --threshold and --top"),
    ("synth", "referral bias with an unknown value"), ("promote", "no such model"),
]


@pytest.mark.slow  # about 22 s of CPU: six commands, each its own Python
def test_the_installed_command_prints_one_line(ctx, trained):
    procs = []
    for case in REAL:
        sub = ctx.tmp / "-".join(case).replace(" ", "_")
        sub.mkdir()
        c = Ctx(council=ctx.council, tmp=sub, test_spec=ctx.test_spec)
        args = [str(a) for a in CASES[case][0](c)]
        procs.append((case, c, subprocess.Popen(
            [sys.executable, "-m", "riskmodel", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)))
    for case, c, proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 2, (case, out, err)
        assert "Traceback" not in out + err
        lines = _said(err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (case, err)
        assert all(part in lines[0] for part in CASES[case][1]), (case, lines[0])
        assert not any(p.exists() for p in c.outs), case


# ---------------------------------------------------------------- killed runs ---------------


def _new_tmp(folder: Path, seen: set[str]) -> bool:
    return folder.is_dir() and any(p.name.startswith(".tmp-") and p.name not in seen
                                   for p in folder.iterdir())


def _kill(cmd: list, *, env: dict, delay: float | None = None,
          when: Callable[[], bool] | None = None, log: Path, limit: float = 900) -> bool:
    """Start ``cmd``; SIGKILL it after ``delay`` seconds or once ``when()`` is true.

    Returns True if it was killed, False if it finished first (then nothing is tested).
    """
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(a) for a in cmd], env=env, stdout=fh, stderr=fh,
                                start_new_session=True)
    start = time.monotonic()
    while proc.poll() is None:
        elapsed = time.monotonic() - start
        if elapsed > limit:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{cmd[3]} neither finished nor reached its kill point in {limit}s")
        if (delay is not None and elapsed >= delay) or (when is not None and when()):
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    return proc.returncode == -signal.SIGKILL


def _run(cmd: list, *, env: dict) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in cmd], env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, f"{cmd[3]} failed:\n{proc.stdout}\n{proc.stderr}"
    return time.monotonic() - start, proc.stdout


RISKMODEL = [sys.executable, "-m", "riskmodel"]


def _killed_runs_leave_the_previous_output(folder: Path, make_cmd, seeds, *, watch: Path,
                                           fractions=(0.3, 0.6), env=None) -> int:
    """Kill ``make_cmd(seed)`` at fractions of a full run's time and when it starts writing.

    ``folder`` holds the previous output, written by ``make_cmd(seeds[0])``; every killed
    run would write something different, so a partial or mixed result cannot pass as the
    previous one. Returns how many runs were killed before they finished.
    """
    env = env or {**os.environ}
    full, _ = _run(make_cmd(seeds[0]), env=env)
    before = _visible(folder)
    assert before, "the first run wrote nothing"
    points = [{"delay": f * full} for f in fractions] + [{"watch": True}]
    killed = 0
    assert len(points) == len(seeds) - 1
    for point, seed in zip(points, seeds[1:], strict=True):
        seen = {p.name for p in watch.iterdir()} if watch.is_dir() else set()
        when = (lambda s=seen: _new_tmp(watch, s)) if point.get("watch") else None
        if _kill(make_cmd(seed), env=env, delay=point.get("delay"), when=when,
                 log=folder.parent / f"kill-{seed}.log"):
            killed += 1
            after = _visible(folder)
            if after != before:
                # Killed after its final rename (e.g. while the interpreter shut down on a
                # busy machine): then the output must be the whole new one, byte for byte;
                # an append-only log (the scoring audit) may only have grown by the rerun.
                logs = {n: (folder / n).read_bytes() for n in after if n.endswith(".jsonl")}
                _run(make_cmd(seed), env=env)
                again = _visible(folder)
                assert {n: h for n, h in again.items() if n not in logs} == {
                    n: h for n, h in after.items() if n not in logs}, \
                    f"killed at {point}: partial output left"
                for name, old in logs.items():
                    grown = (folder / name).read_bytes()
                    assert grown.startswith(old) and grown.count(b"\n") == \
                        old.count(b"\n") + 1, f"killed at {point}: {name} damaged"
                before = again
        else:  # it finished first: what it wrote is now the output a kill must keep
            before = _visible(folder)
    return killed


@pytest.mark.slow  # about 12 s of CPU: 20,000-child councils, killed and rerun
def test_killed_synth_keeps_the_previous_council_and_writes_no_partial_one(tmp_path):
    out = tmp_path / "council"

    def cmd(seed):
        return [*RISKMODEL, "synth", "--children", "20000", "--seed", seed, "--out", out]

    killed = _killed_runs_leave_the_previous_output(out, cmd, [1, 2, 3, 4], watch=out)
    assert killed >= 2, "the runs finished before the kill points: nothing was tested"
    # a council written into a new folder appears whole or not at all
    fresh = tmp_path / "fresh"
    if _kill([*RISKMODEL, "synth", "--children", "20000", "--out", fresh], env={**os.environ},
             when=lambda: any(p.name.startswith(".tmp-fresh.") for p in tmp_path.iterdir()),
             log=tmp_path / "fresh.log"):
        assert not fresh.exists()
    # the rerun completes and the council is whole
    _run(cmd(5), env={**os.environ})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "children.parquet", "contacts.parquet", "ace_factors.parquet", "episodes.parquet",
        "children_history.parquet", "truth.parquet", "manifest.json"}
    assert len(pd.read_parquet(out / "children.parquet")) == 20000


@pytest.mark.slow  # about 18 s of CPU: builds killed and rerun
def test_killed_build_keeps_the_previous_matrix(council, tmp_path):
    folder = tmp_path / "features"
    folder.mkdir()
    out = folder / "matrix.parquet"
    dates = {1: "2023-01-01", 2: "2023-04-01", 3: "2023-07-01", 4: "2023-10-01"}

    def cmd(seed):
        return [*RISKMODEL, "build", "--data", council, "--outcome", "escalation",
                "--as-of", dates[seed], "--out", out]

    killed = _killed_runs_leave_the_previous_output(folder, cmd, [1, 2, 3], watch=folder,
                                                    fractions=(0.5,))
    assert killed >= 1, "the runs finished before the kill points: nothing was tested"
    _run(cmd(4), env={**os.environ})
    matrix = pd.read_parquet(out)
    assert set(matrix["as_of"].astype(str).str[:10]) == {"2023-10-01"} and len(matrix) > 0


@pytest.mark.slow  # about 30 s of CPU: scoring runs killed and rerun
def test_killed_score_keeps_the_previous_scores(trained, council, tmp_path):
    folder = tmp_path / "scores"
    folder.mkdir()
    dates = {1: "2025-03-01", 2: "2025-06-01", 3: "2025-09-01", 4: "2025-12-01"}

    def cmd(seed):
        return [*RISKMODEL, "score", "--data", council, "--out", folder / "scores.parquet",
                "--as-of", dates[seed]]

    killed = _killed_runs_leave_the_previous_output(folder, cmd, [1, 2, 3], watch=folder,
                                                    fractions=(0.5,))
    assert killed >= 1, "the runs finished before the kill points: nothing was tested"
    _run(cmd(4), env={**os.environ})
    assert set(pd.read_parquet(folder / "scores.parquet")["as_of"].astype(str)) == {
        "2025-12-01"}
    assert not list(folder.glob(".tmp-*")), "the rerun left (or did not clear) temporaries"


@pytest.fixture(scope="module")
def small_council(tmp_path_factory) -> Path:
    from riskmodel.data import generate_council

    return Path(generate_council(n_children=2000, seed=11,
                                 out=tmp_path_factory.mktemp("small") / "council"))


@pytest.mark.slow  # about 114 s of CPU: trainings killed and rerun
def test_killed_train_leaves_the_champion_and_hides_its_runs(
        trained, small_council, test_spec, tmp_path):
    from riskmodel.store import compare_runs, load_model

    spec = yaml.safe_load(test_spec.read_text())
    spec["as_of"]["start"] = "2022-01-01"
    spec["candidates"] = [c for c in spec["candidates"] if c["kind"] != "lightgbm"]
    spec["bootstrap"] = 20
    spec["thresholds"] = {"min_auc": 0.0, "max_calibration_error": 1.0}  # always registers
    fast = tmp_path / "fast.yaml"
    fast.write_text(yaml.safe_dump(spec, sort_keys=False))
    cmd = [*RISKMODEL, "train", "--data", small_council, "--spec", fast]
    db = _store_db()

    def count(table: str) -> int:
        try:
            return _query(db, f"select count(*) from {table}")[0][0]
        except sqlite3.OperationalError:  # locked by the writer for a moment
            return -1

    champion = _champion(db)
    assert champion is not None
    listed = set(compare_runs("escalation", max_runs=1000)["run_id"])
    runs, versions = count("runs"), count("model_versions")
    points = {
        "while loading and building": {"delay": 3.0},
        "after the parent run started": {"when": lambda: count("runs") >= runs + 1},
        "while logging candidates": {"when": lambda: count("runs") >= runs + 2},
        "while registering": {"when": lambda: count("model_versions") > versions},
    }
    for name, point in points.items():
        runs, versions = count("runs"), count("model_versions")
        killed = _kill(cmd, env={**os.environ}, log=tmp_path / "train.log", **point)
        assert killed, f"train finished before the kill point '{name}'"
        assert _champion(db) == champion, f"killed {name}: the champion moved"
        assert load_model("models:/escalation@champion").version == champion
        assert set(compare_runs("escalation", max_runs=1000)["run_id"]) == listed, (
            f"killed {name}: compare lists the killed run as a candidate")
    _, out = _run(cmd, env={**os.environ})
    assert re.search(r"registered escalation version \d+ as challenger", out), out
    assert _champion(db) == champion
    assert len(set(compare_runs("escalation", max_runs=1000)["run_id"]) - listed) == 2


# ---------------------------------------------------------------- Ctrl-C --------------------


def _interrupt(cmd: list, *, when: Callable[[], bool], log: Path, limit: float = 600,
               poll: float = 0.01) -> subprocess.CompletedProcess | None:
    """Start ``cmd`` as a terminal would (SIGINT not ignored); send the process group SIGINT
    (Ctrl-C) once ``when()`` is true (asked every ``poll`` seconds). None if it finished
    first."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [str(a) for a in cmd], env={**os.environ}, stdout=fh, stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    start = time.monotonic()
    while proc.poll() is None and not when():
        if time.monotonic() - start > limit:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{cmd[3]} neither finished nor reached its interrupt point")
        time.sleep(poll)
    if proc.poll() is not None:
        return None
    os.killpg(proc.pid, signal.SIGINT)
    err = proc.communicate(timeout=120)[1].decode()
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err)


def _was_interrupted(done: subprocess.CompletedProcess | None, what: str) -> None:
    assert done is not None, f"{what} finished before the interrupt point"
    assert done.returncode == 130, (what, done.returncode, done.stderr)
    said = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert said[-1] == "interrupted", (what, done.stderr)  # after what it said before Ctrl-C
    assert "Traceback" not in done.stderr and "error" not in done.stderr, (what, done.stderr)


def test_ctrl_c_during_synth_exits_130_and_writes_no_council(tmp_path):
    out = tmp_path / "council"
    done = _interrupt([*RISKMODEL, "synth", "--children", "20000", "--out", out],
                      when=lambda: _new_tmp(tmp_path, set()), log=tmp_path / "s.log")
    _was_interrupted(done, "synth")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_ctrl_c_during_score_exits_130_and_writes_no_scores(trained, council, tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()
    done = _interrupt([*RISKMODEL, "score", "--data", council, "--out",
                       scores / "scores.parquet"],
                      when=lambda: _new_tmp(scores, set()), log=tmp_path / "score.log")
    _was_interrupted(done, "score")
    assert _visible(scores) == {}, "an interrupted score left a scores file"


def _writing(db: Path) -> bool:
    """Whether a write transaction is open on the store: SQLite keeps its rollback journal
    beside the database only while one is."""
    return db.with_name(db.name + "-journal").exists()


def _moment(db: Path, runs: int, *, in_write: bool) -> Callable[[], bool]:
    """True once the store holds ``runs`` runs and then, if ``in_write``, at the first moment
    a write transaction is open (polled every millisecond or so)."""
    reached = False

    def now() -> bool:
        nonlocal reached
        if not reached:
            try:
                reached = _query(db, "select count(*) from runs")[0][0] >= runs
            except sqlite3.OperationalError:  # locked by the writer for a moment
                return False
        return reached and (not in_write or _writing(db))
    return now


# A training's store writes, interrupted by Ctrl-C at a random moment, over and over; prints
# how many trials ran and, if the runs could not be marked KILLED, "LOCKED" (a Ctrl-C that
# never came through: "NOT INTERRUPTED", at once rather than at the timeout). Run in a process
# of its own (SIGINT to itself), as a command is.
_INTERRUPTED_WRITES = """
import os, random, signal, sqlite3, sys, threading, time, warnings
from riskmodel.store import RunTags, training_run
warnings.filterwarnings("error", message="interrupted: the runs could not")
rng = random.Random(int(sys.argv[2]))
for trial in range(int(sys.argv[1])):
    timer = threading.Timer(rng.uniform(0.0, 0.15), lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        with training_run("ctrlc", run_name="t", params={"t": trial},
                          tags=RunTags(role="training")) as run:
            timer.start()
            lost = time.monotonic() + 30  # the Ctrl-C was sent and never came through
            for i in range(100_000):
                if timer.finished.is_set() and time.monotonic() > lost:
                    print("NOT INTERRUPTED", trial, flush=True)
                    os._exit(1)
                run.log_metrics({f"m{j}": float(i) for j in range(20)})
                run.set_tags(RunTags(best=f"b{i}"))
    except KeyboardInterrupt:
        pass
    except RuntimeWarning as exc:
        print("LOCKED", trial, exc)
        break
    timer.join()
    status = sqlite3.connect(sys.argv[3]).execute(
        "select status, count(*) from runs group by status").fetchall()
    if status != [("KILLED", trial + 1)]:
        print("NOT KILLED", trial, status)
        break
print("trials", trial + 1)
"""


@pytest.mark.slow  # about 11 s of CPU: 40 trainings' worth of store writes
def test_ctrl_c_at_random_moments_of_store_writes_leaves_the_runs_killed(tmp_path):
    """Ctrl-C at 40 random moments of a training's store writes (most inside SQLAlchemy's
    session): every time the interruption comes through and the training's runs are marked
    KILLED. Before the store held SIGINT during its calls, one of the first 1 to 13 moments
    left the SQLite store locked ("database is locked") and the runs RUNNING (9 runs)."""
    db = tmp_path / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
    # SIGINT as a terminal leaves it: a child inherits an ignored SIGINT from whatever an
    # earlier test in this process left, and would then never see its own Ctrl-C
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_WRITES, "40", "26", str(db)],
                          env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.stdout.strip().splitlines()[-1:] == ["trials 40"], done.stdout + done.stderr


# When Ctrl-C lands in a real training, counted in runs after those already in the store: 2
# once the first candidate's run exists, 3 the second's (then the reports, the
# registration), each at the first moment a write transaction is open after that (a test
# above interrupts 40 random moments of store writes, more cheaply).
CTRL_C_MOMENTS = {"candidate-write": (2, True), "last-candidate-write": (3, True)}


@pytest.mark.slow  # about 30 s of CPU each: a small training up to its logging
@pytest.mark.parametrize("moment", list(CTRL_C_MOMENTS))
def test_ctrl_c_during_train_exits_130_and_marks_its_runs_killed(
        trained, small_council, test_spec, tmp_path, moment):
    spec = yaml.safe_load(test_spec.read_text())
    spec["as_of"]["start"] = "2022-01-01"
    spec["candidates"] = [c for c in spec["candidates"] if c["kind"] != "lightgbm"]
    spec["bootstrap"] = 20
    fast = tmp_path / "fast.yaml"
    fast.write_text(yaml.safe_dump(spec, sort_keys=False))
    db = _store_db()
    champion = _champion(db)
    before = {r[0] for r in _query(db, "select run_uuid from runs")}
    versions = _query(db, "select name, version from model_versions")
    runs, in_write = CTRL_C_MOMENTS[moment]

    done = _interrupt([*RISKMODEL, "train", "--data", small_council, "--spec", fast],
                      when=_moment(db, len(before) + runs, in_write=in_write),
                      log=tmp_path / "train.log", poll=0.001)
    _was_interrupted(done, f"train ({moment})")
    assert "could not be marked" not in done.stderr, done.stderr
    new = {r[0]: r[1] for r in _query(db, "select run_uuid, status from runs")
           if r[0] not in before}
    assert len(new) >= runs and set(new.values()) == {"KILLED"}, new
    # an interrupted training registers nothing: no new version, the champion as it was
    assert _query(db, "select name, version from model_versions") == versions
    assert _champion(db) == champion


# ---------------------------------------------------------------- MLflow faults -------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # about 8 s of CPU (quick lane kept under 3 min)
def test_unreachable_tracking_server_fails_fast_with_one_line(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(key, None)  # the package's own defaults must do it
    # Loading Python and MLflow is not the fault; the wait on the dead server is.
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import mlflow, riskmodel.cli, riskmodel.training"],
                   env=env, check=True, capture_output=True)
    startup = time.monotonic() - start
    start = time.monotonic()
    proc = subprocess.run([*RISKMODEL, "compare"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: mlflow: cannot reach the tracking server at {uri}")
    assert elapsed - startup < 10, (
        f"compare took {elapsed:.1f}s ({startup:.1f}s of it loading) against a dead server")


def test_tampered_or_corrupted_model_is_refused(trained, council, tmp_path, capsys):
    from riskmodel.store import load_model

    version = load_model("models:/escalation@champion").version
    path = model_json()
    original = path.read_bytes()
    tampered = flip_a_digit(original)
    json.loads(tampered)  # still a well-formed model file: only the checksum can tell
    changed = {"tampered (one digit changed)": tampered,
               "corrupted (truncated)": original[: len(original) // 2]}
    try:
        for what, data in changed.items():
            path.write_bytes(data)
            out = tmp_path / "scores.parquet"
            code, _, err = _cli(["score", "--data", council, "--out", out], capsys)
            assert code == 2, (what, err)
            lines = err.splitlines()
            assert len(lines) == 1 and "Traceback" not in err, (what, err)
            assert "fails its checksum" in lines[0] and "refusing to load it" in lines[0], what
            assert "models:/escalation@champion" in lines[0], lines[0]
            assert not out.exists() and not list(tmp_path.iterdir()), what
    finally:
        path.write_bytes(original)
    assert load_model("models:/escalation@champion").version == version


_UNPICKLERS = {"pickle", "_pickle", "cPickle", "cloudpickle", "joblib", "dill", "shelve",
               "marshal", "skops", "torch"}


def _unsafe_calls(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in _UNPICKLERS]
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if (name.endswith(("read_pickle", "Unpickler"))
                    or re.fullmatch(r"mlflow\.\w+\.load_model", name)
                    or any(k.arg == "allow_pickle" for k in node.keywords)):
                found.append(name)
    return found


def test_nothing_is_unpickled():
    package = Path(riskmodel.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 20
    found = {str(p.relative_to(package)): calls for p in sources
             if (calls := _unsafe_calls(p.read_text(encoding="utf-8")))}
    assert found == {}, f"code that can unpickle: {found}"
    # the checker itself finds what it should
    assert _unsafe_calls("import joblib\nm = joblib.load(p)\n") == ["import joblib"]
    assert _unsafe_calls("import mlflow\nmlflow.sklearn.load_model(u)\n") == [
        "mlflow.sklearn.load_model"]
    assert _unsafe_calls("pd.read_pickle(p)\nnp.load(p, allow_pickle=True)\n") == [
        "pd.read_pickle", "np.load"]


def test_loading_and_scoring_never_call_pickle(trained, council, tmp_path, monkeypatch):
    from riskmodel.jobs import score

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    run = score(council, "models:/escalation@champion", out=tmp_path / "scores.parquet")
    assert run.counts["scored"] > 0


# ---------------------------------------------------------------- reproducibility -----------


def test_the_same_model_data_and_date_give_identical_scores(trained, council, tmp_path, capsys):
    files = []
    for run in ("first", "second"):
        out = tmp_path / run / "scores.parquet"
        code, _, err = _cli(["score", "--data", council, "--out", out, "--as-of", "2025-09-01",
                             "--explain-top", "all"], capsys)
        assert code == 0, err
        files.append(out)
    a, b = (pd.read_parquet(f) for f in files)
    assert len(a) > 100 and a["reason_1"].notna().all()
    pd.testing.assert_frame_equal(a, b)
    assert files[0].read_bytes() == files[1].read_bytes()
    rejected = [f.with_name("scores.rejected.parquet").read_bytes() for f in files]
    assert rejected[0] == rejected[1]
