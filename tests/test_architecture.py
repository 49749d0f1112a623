"""The layers of docs/architecture.md hold in the code: no circles, no upward imports, MLflow
only in the store, no oversized module, and an import-linter contract that covers them all."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "riskmodel"
MAX_LINES = 700


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("riskmodel", include_external_packages=True)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_anywhere(graph):
    # Package __init__ modules are nodes like any other, so re-exports count; imports inside
    # functions count too (grimp reads them all).
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d.startswith("riskmodel")}
             for m in graph.modules if m.startswith("riskmodel")}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_store_imports_mlflow(graph):
    importers = {m for m in graph.modules if m.startswith("riskmodel")
                 and any(d == "mlflow" or d.startswith("mlflow.")
                         for d in graph.find_modules_directly_imported_by(m))}
    assert importers and all(m.startswith("riskmodel.store") for m in importers)


def test_no_module_is_oversized():
    sizes = {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_the_layers_contract_covers_every_subpackage():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {part.strip() for layer in layers for part in layer.split("|")}
    subpackages = {f"riskmodel.{p.name}" for p in PACKAGE.iterdir()
                   if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages | {"riskmodel.cli"} == named


def test_every_evaluation_subpackage_is_in_a_contract_and_the_picture():
    """A new part of evaluation/ is placed among the others (a contract) and drawn in
    docs/architecture.md, so the picture and the checks cannot fall behind the code."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    named = set()
    for c in config["contracts"]:
        for key in ("modules", "layers", "source_modules", "forbidden_modules"):
            named |= {part.strip() for item in c.get(key, []) for part in item.split("|")}
    parts = {p.name for p in (PACKAGE / "evaluation").iterdir()
             if p.is_dir() and (p / "__init__.py").exists()}
    assert {p for p in parts if f"riskmodel.evaluation.{p}" not in named} == set()
    picture = (REPO / "docs" / "architecture.md").read_text()
    assert {p for p in parts if f"{p}/" not in picture} == set()


def test_lint_imports_passes():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "broken" in done.stdout and ", 0 broken" in done.stdout


def test_a_build_loads_no_modelling_library_and_lazy_names_resolve(tmp_path):
    # In a fresh interpreter: the build's job imports neither scikit-learn, LightGBM, MLflow
    # nor SciPy; then every name a lazy package exports is its object (not a submodule of
    # the same name, e.g. riskmodel.jobs.score), before and after that submodule is imported.
    code = (
        "import importlib, sys, types\n"
        "import riskmodel.jobs.check\n"
        "print(sorted(m for m in ('sklearn', 'lightgbm', 'mlflow', 'scipy', 'shap', "
        "'riskmodel.training', 'riskmodel.evaluation') if m in sys.modules))\n"
        "import riskmodel.data as d, riskmodel.jobs as j\n"
        "import riskmodel.jobs.score, riskmodel.jobs.train, riskmodel.jobs.monitor\n"
        "for pkg in (d, j):\n"
        "    for name in pkg.__all__:\n"
        "        value = getattr(pkg, name)\n"
        "        assert not isinstance(value, types.ModuleType), (pkg.__name__, name)\n"
        "        where = getattr(value, '__module__', None) or pkg.__name__\n"
        "        assert where.startswith(pkg.__name__), (pkg.__name__, name, where)\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.stdout.split("\n")[:2] == ["[]", "ok"], (done.stdout, done.stderr)
