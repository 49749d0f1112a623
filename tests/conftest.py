"""Shared fixtures: one small synthetic council and one trained model per test session.

Building them is the slow part of the suite, so every test that needs a council or a
registered model shares these (per pytest-xdist worker); the tests that use the trained
model all run on one worker (:func:`pytest_collection_modifyitems`), so it is trained once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

# One fixed disclosure secret for every test, so rounded counts are the same on every machine
# (otherwise the repository, itself a workspace, would get a random one in .riskmodel/).
os.environ.setdefault("RISKMODEL_DISCLOSURE_KEY", "riskmodel-tests")
SMALL_CHILDREN = 6000

# Nothing the tests run writes outside the repository and temporary folders: what libraries
# keep under ~ (matplotlib's font cache, Chromium's profile and cache, the IPython kernel of
# the notebook checks, MLflow's installation id) goes to a temporary home of the session's
# (set here, before anything is imported, so child processes inherit it), and MLflow sends
# no usage telemetry.
_HOME = Path(tempfile.mkdtemp(prefix="riskmodel-tests-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
for _var, _sub in (("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                   ("XDG_DATA_HOME", "data"), ("MPLCONFIGDIR", "matplotlib"),
                   ("IPYTHONDIR", "ipython"), ("JUPYTER_CONFIG_DIR", "jupyter")):
    os.environ[_var] = str(_HOME / _sub)
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the session's trained model goes to one pytest-xdist worker
    (``--dist loadgroup``, set in pyproject.toml): training it is the slowest step of the
    suite, and each worker that ran one of them would train its own."""
    for item in items:
        if "trained" in getattr(item, "fixturenames", ()) or _asks_for_trained(item):
            item.add_marker(pytest.mark.xdist_group("trained"))


def _asks_for_trained(item: pytest.Item) -> bool:
    """Whether a test asks for ``trained`` while it runs (``request.getfixturevalue``), which
    its declared fixtures do not show."""
    import inspect

    function = getattr(item, "function", None)
    if function is None or "request" not in getattr(item, "fixturenames", ()):
        return False
    try:
        return 'getfixturevalue("trained")' in inspect.getsource(function)
    except (OSError, TypeError):
        return False


@pytest.fixture(scope="session")
def council(tmp_path_factory) -> Path:
    """A small synthetic council (tables, truth, manifest)."""
    from riskmodel.data import generate_council

    return Path(generate_council(n_children=SMALL_CHILDREN, seed=7,
                                 out=tmp_path_factory.mktemp("council") / "council"))


@pytest.fixture(scope="session")
def test_spec(tmp_path_factory) -> Path:
    """The packaged escalation spec with fewer resamples and thresholds a small council meets.

    The thresholds are relaxed because a 6,000-child council has wide intervals; the
    packaged thresholds are exercised by the larger-council benchmark.
    """
    from importlib import resources

    spec = yaml.safe_load(
        (resources.files("riskmodel.training") / "specs" / "escalation.yaml").read_text()
    )
    spec["bootstrap"] = 40
    spec["thresholds"] = {"min_auc": 0.55, "max_calibration_error": 0.2}
    spec["candidates"][2]["params"]["n_estimators"] = 120
    path = tmp_path_factory.mktemp("spec") / "escalation.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def tracking(tmp_path_factory) -> str:
    """An embedded MLflow store of the session's own (never the repository's models/)."""
    store = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


@pytest.fixture(scope="session")
def trained(council, test_spec, tracking):
    """Train the escalation candidates on the small council and register the best."""
    from riskmodel.jobs import train

    result = train(council, test_spec)
    assert result.registered is not None, result.leaderboard().to_string()
    return result


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, test_spec):
    """One ``riskmodel demo`` on a small council (its own working folder and MLflow store),
    then the panels' decisions on its list (``decisions synth``, ``add``, ``report``), as a
    user runs them: shared by the checks that read every output (tests/test_consistency.py,
    tests/test_browser_layout.py)."""
    import subprocess
    import sys
    from types import SimpleNamespace

    root = tmp_path_factory.mktemp("demo-run")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'store' / 'mlflow.db'}",
           "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "riskmodel", *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=3600)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
        return done.stdout

    stdout = run("demo", "--children", str(SMALL_CHILDREN), "--out", "demo",
                 "--spec", str(test_spec))
    out = root / "demo"
    # monitoring at the last date of training's final period (the same children, twice)
    import re

    final = re.search(r"final out-of-time period ((?:\d{4}-\d\d-\d\d,? ?)+)\(never",
                      " ".join(stdout.split()))
    assert final, stdout[-3000:]
    last = re.findall(r"\d{4}-\d\d-\d\d", final.group(1))[-1]
    run("monitor", "--data", str(out / "council"), "--model", "models:/escalation@champion",
        "--as-of", last, "--out", str(out / "monitoring-final"), "--no-record")
    added = run("decisions", "synth", "--scores", str(out / "scores.parquet"),
                "--out", str(root / "decisions.csv"))
    added += run("decisions", "add", str(root / "decisions.csv"),
                 "--scores", str(out / "scores.parquet"))
    run("decisions", "report", "--scores", str(out / "scores.parquet"),
        "--out", str(out / "decisions"), "--data", str(out / "council"))
    return SimpleNamespace(root=root, out=out, stdout=stdout, decisions_stdout=added,
                           store=root / "store")
