"""The command line: usage errors are exit 2 with click's message on one line, never an
"internal error"; --version; an unknown outcome is named with the known ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from riskmodel import __version__
from riskmodel.cli import main


def _cli(args, capsys) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args,says", [
    (["build", "--data", "x", "--outcome", "escalation", "--out", "m.parquet"],
     "error: Missing option '--as-of'. (see riskmodel build --help)"),
    (["validate"], "error: Missing argument 'data'. (see riskmodel validate --help)"),
    (["validate", "x", "--bogus"],
     "error: No such option: --bogus (see riskmodel validate --help)"),
    (["nosuchcommand"], "error: No such command 'nosuchcommand'. (see riskmodel --help)"),
    (["score", "--data", "x", "--out", "s.csv", "--chunk-size", "many"],
     "error: Invalid value for '--chunk-size'"),
])
def test_usage_errors_are_exit_2_and_one_line(args, says, capsys):
    code, out, err = _cli(args, capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(says), err
    assert "internal error" not in err and "Traceback" not in err


def test_bare_riskmodel_shows_its_commands_as_a_usage_error(capsys):
    code, out, err = _cli([], capsys)
    assert code == 2 and "demo" in out + err and "internal error" not in out + err


def test_version(capsys):
    code, out, _ = _cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"riskmodel {__version__}"


def test_the_installed_typer_and_click_give_the_same_exits():
    # The command as a scheduler runs it, with whatever typer/click this machine installed.
    done = subprocess.run([sys.executable, "-m", "riskmodel", "validate"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: Missing argument"), done


# setuptools' editable install finds the package this way (this repository's copy here): a
# finder after the path, so a folder named riskmodel/ in the current folder is met first.
_EDITABLE = """
import importlib.machinery as m, runpy, sys
class Finder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "riskmodel":
            return m.PathFinder.find_spec(name, [{repo!r}])
        if name.rpartition(".")[0] == "riskmodel":
            return m.PathFinder.find_spec(name, [{package!r}])
sys.meta_path.insert(sys.meta_path.index(m.PathFinder) + 1, Finder)
sys.path.insert(0, "")
sys.argv[0] = "riskmodel"
runpy.run_module("riskmodel", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("args,exit_code,says", [
    (["--version"], 0, f"riskmodel {__version__}"),
    # a command's own check of its input (one that imports the data layer, not MLflow: ~1.5 s
    # of CPU where `score` took ~4.5 s)
    (["synth", "--children", "0", "--out", "s"], 2, "error: --children: must be a whole"),
])
def test_python_m_riskmodel_works_from_the_folder_holding_a_clone(args, exit_code, says,
                                                                   tmp_path):
    import os
    from pathlib import Path

    import riskmodel

    package = Path(riskmodel.__file__).resolve().parent
    (tmp_path / "riskmodel").symlink_to(package.parent)  # the clone, in the current folder
    boot = _EDITABLE.format(repo=str(package.parent), package=str(package))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", boot, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == exit_code, done.stderr
    assert (done.stdout + done.stderr).startswith(says), done.stderr


def test_an_unknown_outcome_names_the_known_ones(capsys):
    code, _, err = _cli(["train", "--data", "x", "--outcome", "disengagment"], capsys)
    assert code == 2
    assert err.strip() == ("error: --outcome: unknown outcome 'disengagment' "
                           "(escalation, disengagement)")


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody may write into, root included (chattr +i; chmod for other users)."""
    import os
    import shutil

    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a filesystem without chattr +i: "
                        "no folder is read-only to root")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


@pytest.mark.parametrize("command", [
    ["score", "--data", "{council}", "--out", "{ro}/scores.csv"],
    ["build", "--data", "{council}", "--outcome", "escalation", "--as-of", "2024-01-01",
     "--out", "{ro}/m.parquet"],
    ["explain", "--model", "models:/escalation@champion", "--data", "{council}",
     "--out", "{ro}/sub/explain.html"],
    ["synth", "--children", "50", "--out", "{ro}/council"],
    ["demo", "--children", "50", "--out", "{ro}/demo"],
    ["card", "--out", "{ro}/card"],
])
def test_a_read_only_output_fails_before_any_work(command, read_only, council, capsys):
    args = [a.format(council=council, ro=read_only) for a in command]
    code, out, err = _cli(args, capsys)
    assert code == 2, err
    assert err.startswith("error: --out: cannot write to ") and err.count("\n") == 1, err
    assert list(read_only.iterdir()) == []


def test_a_spec_takes_capacity_as_the_command_line_does(tmp_path):
    from importlib import resources

    import yaml

    from riskmodel.training import load_training_spec

    spec = yaml.safe_load((resources.files("riskmodel.training") / "specs" /
                           "escalation.yaml").read_text())
    spec["capacity"] = {"top_percent": "7.5%"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert load_training_spec(path).capacity.top_percent == 7.5


def test_validate_says_ok(council, capsys):
    code, out, err = _cli(["validate", council], capsys)
    lines = out.strip().splitlines()
    ok = lines.index(f"OK: {council} meets the input contract")
    # After OK, what the knowledge dates show (or which spec lag applies without them).
    assert code == 0 and lines[ok + 1].startswith("knowledge dates") and len(lines) == ok + 7


def test_ids_a_spreadsheet_made_decimal_are_read_whole_with_a_warning(council, tmp_path, capsys):
    import pandas as pd

    from riskmodel.data import load_tables

    tables = {t: pd.read_parquet(council / f"{t}.parquet")
              for t in ("children", "contacts", "ace_factors", "episodes")}
    number = {c: str(1000 + i) for i, c in enumerate(tables["children"]["child_id"])}
    out = tmp_path / "export"
    out.mkdir()
    for name, df in tables.items():
        df = df.copy()
        # every child id as a spreadsheet writes it, except one table's first row (mixed)
        df["child_id"] = df["child_id"].map(number) + ".0"
        if name == "episodes":
            df.loc[df.index[0], "child_id"] = df.loc[df.index[0], "child_id"][:-2]
        df.to_csv(out / f"{name}.csv", index=False)
    (out / "manifest.json").write_text((council / "manifest.json").read_text())
    code, stdout, err = _cli(["validate", out], capsys)
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warned) == 4 and all("written as decimals (e.g. '10" in w for w in warned)
    assert warned[0].startswith("warning: children.child_id: ")
    assert "OK:" in stdout
    ids = load_tables(out)["children"]["child_id"]
    assert set(ids) == set(number.values())


def test_the_repository_is_a_workspace_like_init_writes(tmp_path, capsys):
    """The top-level features/, training/, evaluation/ are what `riskmodel init` writes."""
    import filecmp
    from pathlib import Path

    from riskmodel.jobs.workspace import workspace_files

    repo = Path(__file__).resolve().parents[1]
    code, out, err = _cli(["init", tmp_path / "ws"], capsys)
    assert code == 0, err
    names = set(workspace_files())
    made = {p.relative_to(tmp_path / "ws").as_posix() for p in (tmp_path / "ws").rglob("*.yaml")
            if p.parent != tmp_path / "ws"}
    assert made == names
    assert (tmp_path / "ws" / "sources.yaml").is_file()  # an example for a database
    for name in sorted(names):
        assert filecmp.cmp(repo / name, tmp_path / "ws" / name, shallow=False), (
            f"{name} in the repository differs from what riskmodel init writes: copy "
            f"riskmodel's packaged spec over it, or change both")
    # run again: nothing overwritten, an edited spec kept
    edited = tmp_path / "ws" / "training" / "escalation.yaml"
    edited.write_text(edited.read_text().replace("top_percent: 10", "top_percent: 5"))
    code, out, err = _cli(["init", tmp_path / "ws"], capsys)
    assert code == 0 and "kept" in out and "top_percent: 5" in edited.read_text()


def test_a_command_in_a_workspace_uses_and_names_its_specs(tmp_path, monkeypatch, capsys):
    from riskmodel.training import load_training_spec

    _cli(["init", tmp_path / "ws"], capsys)
    spec = tmp_path / "ws" / "training" / "escalation.yaml"
    spec.write_text(spec.read_text().replace("top_percent: 10", "top_percent: 4"))
    monkeypatch.chdir(tmp_path / "ws" / "training")  # below the workspace: found upwards
    assert load_training_spec(outcome="escalation").capacity.top_percent == 4
    monkeypatch.chdir(tmp_path)  # outside: the packaged spec
    assert load_training_spec(outcome="escalation").capacity.top_percent == 10
    code, out, err = _cli(["--workspace", tmp_path / "ws", "features"], capsys)
    assert code == 0
    said = [ln for ln in err.splitlines() if ln.startswith("spec: ")]
    assert said == [f"spec: {(tmp_path / 'ws' / 'features' / 'early_help.yaml').resolve()}"]
    code, _, err = _cli(["--workspace", tmp_path, "features"], capsys)
    assert code == 2 and "is not a workspace" in err


def test_in_a_workspace_the_spec_capacity_sets_who_is_within_capacity(trained, council,
                                                                       tmp_path, capsys):
    import pandas as pd

    _cli(["init", tmp_path / "ws"], capsys)
    spec = tmp_path / "ws" / "training" / "escalation.yaml"
    counts = {}
    for pct in (10, 30):
        text = spec.read_text()
        spec.write_text(text.replace("  top_percent: 10 ", f"  top_percent: {pct} ", 1)
                        if pct != 10 else text)
        out = tmp_path / f"scores-{pct}.csv"
        code, stdout, err = _cli(["--workspace", tmp_path / "ws", "score", "--data", council,
                                  "--out", out], capsys)
        assert code == 0, err
        assert f"spec: {spec.resolve()}" in err  # the run names the spec it used
        counts[pct] = int(pd.read_csv(out)["in_capacity"].sum())
    assert counts[30] > 2 * counts[10] > 0


def _in_a_terminal(args: list[str], columns: int) -> tuple[int, str]:
    """Run the command in a pseudo-terminal ``columns`` wide; (exit code, what it showed)."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50"}
    proc = subprocess.Popen([sys.executable, "-m", "riskmodel", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return proc.returncode, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.mark.parametrize("columns", [100, 120])
def test_compare_shows_every_metric_on_a_100_column_terminal(trained, columns):
    from riskmodel.store import compare_runs

    code, shown = _in_a_terminal(["compare"], columns)
    assert code == 0, shown
    lines = shown.splitlines()
    assert max(len(ln) for ln in lines) <= columns, shown
    assert "…" not in shown and "widen" not in shown, shown
    for heading in ("AUC", "Brier", "calib.", "recall"):
        assert heading in shown, shown
    for _, run in compare_runs("escalation").iterrows():
        row = next(ln for ln in lines if ln.strip().startswith(run["run_id"][:8] + " ")
                   and f" {run['candidate']} " in ln)
        for metric in ("auc", "brier", "recall_at_capacity"):
            assert f"{run[metric]:.3f}" in row, (metric, row)
        assert run["run_id"] in shown.replace("\n", "").replace(" ", ""), shown


def test_compare_diff_takes_the_ids_it_prints_and_shows_the_metrics(trained, capsys):
    from riskmodel.store import compare_runs

    runs = compare_runs("escalation")
    first, second = runs.iloc[0], runs.iloc[1]
    code, out, err = _cli(["compare", "--diff", first["run_id"][:8], second["run_id"][:8]],
                          capsys)
    assert code == 0, err
    auc = next(ln for ln in out.splitlines() if ln.startswith("test auc: "))
    assert f"{first['auc']:.3f}" in auc and f"{second['auc']:.3f}" in auc, auc
    assert f"{second['auc'] - first['auc']:+.3f}" in auc, auc
    code, _, err = _cli(["compare", "--diff", "0000000f", second["run_id"][:8]], capsys)
    assert code == 2 and err.startswith("error: run: no MLflow run whose id starts with"), err


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a small file system filled to the last byte (a tmpfs; root only)."""
    import os

    disk = tmp_path / "full"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k",
                                            "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (root only)")
    try:
        with open(disk / "filler", "wb") as fh:
            while True:
                fh.write(b"x" * 4096)
                fh.flush()
    except OSError:
        pass
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_card_onto_a_full_disk_is_one_error_line(trained, full_disk, capsys):
    code, out, err = _cli(["card", "--out", full_disk / "card"], capsys)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("  [", "spec: "))]
    assert len(lines) == 1 and lines[0].startswith("error: --out: cannot write to "), err
    assert "no space" in lines[0], err


@pytest.mark.parametrize("args", [
    ["score", "--data", "{tmp}", "--out", "s.csv", "--as-of", "2024-13-01"],
    ["build", "--data", "{tmp}", "--outcome", "escalation", "--out", "m.parquet",
     "--as-of", "2024-01-01", "--as-of", "01/02/2024"],
    ["monitor", "--data", "{tmp}", "--out", "o", "--as-of", "yesterday"],
])
def test_a_bad_as_of_is_refused_before_the_extract_and_heavy_libraries(args, tmp_path):
    # In a fresh interpreter: which libraries the refusal needed.
    code = ("import sys\nfrom riskmodel.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit as exc:\n    print(exc.code)\n"
            "print(sorted(m for m in ('mlflow', 'sklearn', 'lightgbm', 'riskmodel.data', "
            "'riskmodel.store') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *[a.format(tmp=tmp_path) for a in args]],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.split("\n")[:2] == ["2", "[]"], (done.stdout, done.stderr)
    assert done.stderr.startswith("error: --as-of: ") and done.stderr.count("\n") == 1


def test_a_workspace_from_the_environment_is_named_as_such(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RISKMODEL_WORKSPACE", str(tmp_path / "nowhere"))
    code, _, err = _cli(["features"], capsys)
    assert code == 2 and err.startswith("error: RISKMODEL_WORKSPACE: "), err
    monkeypatch.delenv("RISKMODEL_WORKSPACE")
    code, _, err = _cli(["--workspace", tmp_path / "nowhere", "features"], capsys)
    assert code == 2 and err.startswith("error: --workspace: "), err


def test_explain_writes_html_under_an_html_name_only(tmp_path, capsys):
    code, _, err = _cli(["explain", "--data", tmp_path, "--out", tmp_path / "explain.pdf"],
                        capsys)
    assert code == 2 and err.startswith("error: --out: explain writes an HTML report"), err
    assert list(tmp_path.iterdir()) == []


def test_the_cards_own_command_updates_the_card_it_is_in(trained, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["card", "--out", "card"], capsys)
    assert code == 0, err
    html = (tmp_path / "card" / "model_card.html").read_text()
    assert "riskmodel card --answers council_answers.yaml" in html  # the banner's command
    (tmp_path / "card" / "model_card.html").unlink()
    monkeypatch.chdir(tmp_path / "card")  # run as the banner says, where the answers are
    code, _, err = _cli(["card", "--answers", "council_answers.yaml"], capsys)
    assert code == 0, err
    assert (tmp_path / "card" / "model_card.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card"]  # no new model-card/


def test_a_job_that_fails_says_one_line_not_its_step_first(capsys):
    from riskmodel._core.errors import InputError
    from riskmodel.cli._app import _steps

    with pytest.raises(InputError), _steps("training") as step:
        step("reading the extract…")
        raise InputError("data: nowhere does not exist")
    assert capsys.readouterr().err == ""
    with _steps("training") as step:
        step("reading the extract…")
        step("built the matrix")
    assert [ln.split("] ")[1] for ln in capsys.readouterr().err.splitlines()] == [
        "reading the extract…", "built the matrix"]


def test_a_second_score_onto_the_same_output_is_refused_while_the_first_writes(
        trained, council, tmp_path, capsys):
    import fcntl

    out = tmp_path / "scores.csv"
    with open(tmp_path / ".tmp-lock.scores.csv", "a") as held:  # a first run, writing now
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = _cli(["score", "--data", council, "--out", out], capsys)
        assert code == 2 and err.startswith("error: --out: another riskmodel score is "
                                            "writing"), err
        assert not out.exists()
        (tmp_path / ".tmp-lock.scores.csv").unlink()  # the first run ends
    code, _, err = _cli(["score", "--data", council, "--out", out], capsys)
    assert code == 0 and out.is_file(), err
    assert not list(tmp_path.glob(".tmp-*")), "the lock was left behind"


def test_a_column_that_nearly_matches_the_contract_is_named_with_its_match(council, tmp_path,
                                                                           capsys):
    import shutil

    import pandas as pd

    copy = tmp_path / "council"
    shutil.copytree(council, copy)
    children = pd.read_parquet(copy / "children.parquet")
    children.rename(columns={"date_of_birth": "DOB"}).to_parquet(copy / "children.parquet")
    code, _, err = _cli(["validate", copy], capsys)
    assert code == 0, err
    assert "warning: children: unknown column DOB — did you mean date_of_birth?" in err, err


def test_every_open_child_is_scored_or_named_in_the_rejected_file(trained, council, tmp_path,
                                                                  capsys):
    import json

    import pandas as pd

    from riskmodel.data._contract import EARLY_HELP_SERVICES

    day = json.loads((council / "manifest.json").read_text())["extract_date"]
    out = tmp_path / "scores.csv"
    code, _, err = _cli(["score", "--data", council, "--out", out, "--as-of", day], capsys)
    assert code == 0, err
    ep = pd.read_parquet(council / "episodes.parquet")
    when = pd.Timestamp(day)
    start, end = pd.to_datetime(ep["start_date"]), pd.to_datetime(ep["end_date"])
    open_now = set(ep.loc[ep["service"].isin(EARLY_HELP_SERVICES) & (start < when)
                          & (end.isna() | (end >= when)), "child_id"].astype(str))
    scored = set(pd.read_csv(out, dtype={"child_id": str})["child_id"])
    rejected = pd.read_csv(tmp_path / "scores.rejected.csv", dtype={"child_id": str})
    waiting = rejected[rejected["reason"].str.startswith("early-help episode not yet known")]
    assert len(waiting), "the council has no child whose episode is not yet known: no test"
    assert open_now == scored | set(rejected["child_id"]), "an open child is neither scored " \
                                                           "nor named"
    assert not set(waiting["child_id"]) & scored
    assert f"{len(waiting):,} children with an early-help episode open" in err
