"""The worked notebooks: stored without outputs, free of package logic, and runnable end to end
on a small synthetic council (executed with nbclient)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers.privacy import assert_names_no_child

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_cohort_profile", "02_train_and_compare", "03_fairness_review"]
# What a notebook may import: the package, and what displays its results.
ALLOWED_IMPORTS = {"riskmodel", "os", "pathlib", "pandas", "shap"}


def _code_cells(name: str) -> list:
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return [c for c in book.cells if c.cell_type == "code"]


def test_notebooks_are_stored_without_outputs():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(book)
        for cell in _code_cells(name):
            assert cell.outputs == [] and cell.execution_count is None, name


def test_notebooks_hold_no_package_logic():
    """Notebooks call the public API: no functions, classes or private imports of their own."""
    for name in NAMES:
        for cell in _code_cells(name):
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):
                assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef
                                      | ast.ClassDef | ast.Lambda), (name, cell.source)
                if isinstance(node, ast.ImportFrom | ast.Import):
                    modules = ([node.module] if isinstance(node, ast.ImportFrom)
                               else [a.name for a in node.names])
                    for module in modules:
                        assert module.split(".")[0] in ALLOWED_IMPORTS, (name, module)
                        assert not any(p.startswith("_") for p in module.split(".")), module
                    names = [a.name for a in node.names]
                    assert not any(n.startswith("_") for n in names), (name, names)


@pytest.fixture(scope="module")
def notebook_env(council, test_spec, tmp_path_factory) -> dict:
    """Settings for the kernels: the small council, a quick spec, a store of their own."""
    from importlib import resources

    work = tmp_path_factory.mktemp("notebooks")
    spec = yaml.safe_load(Path(test_spec).read_text())
    # The rule and LightGBM are enough to show the comparison, and keep the run quick.
    spec["candidates"] = [c for c in spec["candidates"] if c["kind"] in ("rule", "lightgbm")]
    spec["bootstrap"] = 20
    (work / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    policy = yaml.safe_load((resources.files("riskmodel.evaluation") / "fairness.yaml")
                            .read_text())
    policy["bootstrap"] = {"n": 50, "confidence": 0.95}
    (work / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    return {
        "RISKMODEL_COUNCIL": str(council),
        "RISKMODEL_SPEC": str(work / "spec.yaml"),
        "RISKMODEL_FAIRNESS_POLICY": str(work / "policy.yaml"),
        "RISKMODEL_OUT": str(work / "out"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        "_cwd": str(work),
    }


def _execute(name: str, env: dict) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    settings = {k: v for k, v in env.items() if not k.startswith("_")}
    client = NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": env["_cwd"]}})
    client.execute(env={**os.environ, **settings})  # raises CellExecutionError on any error
    return book


def _text(book) -> str:
    parts = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str((out.get("data") or {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.slow  # about 76 s of CPU: every notebook in a kernel
def test_notebooks_run_on_a_small_council(notebook_env, council):

    profile = _text(_execute("01_cohort_profile", notebook_env))
    assert "children open to early help on" in profile

    trained = _text(_execute("02_train_and_compare", notebook_env))
    assert "'alias': 'champion'" in trained  # registered in the notebooks' own store
    assert "TreeSHAP" in trained

    review = _text(_execute("03_fairness_review", notebook_env))
    assert "left for the council:" in review
    out = Path(notebook_env["RISKMODEL_OUT"])
    for f in ("fairness/fairness_report.html", "model-card/model_card.html",
              "model-card/atrs_record.json"):
        assert (out / f).is_file(), f
    # the only dates shown are the extract's, the as-of dates and today's
    import pandas as pd

    from riskmodel.data import read_extract_date
    from riskmodel.jobs import training_schedule
    from riskmodel.training import load_training_spec

    extract = read_extract_date(council)
    spec = load_training_spec(notebook_env["RISKMODEL_SPEC"])
    dates = {str(d.date()) for d in training_schedule(council, spec)}
    dates |= {extract, pd.Timestamp.today().strftime("%Y-%m-%d")}
    children = pd.read_parquet(council / "children.parquet")
    for text in (profile, trained, review):
        assert_names_no_child(text, children, allowed_dates=dates)
