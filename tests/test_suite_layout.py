"""The test suite's own rules (docs/testing.md): test files share code only through
``tests/helpers/`` and ``conftest.py``, and nothing outside the repository is read but the
``../shared`` file the README names.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _python_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_test_file_imports_another_or_touches_sys_path():
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imported_modules(tree):
            top = name.split(".")[0]
            if top.startswith("test_") or top in {"tests", "conftest"}:
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "path" and \
                    isinstance(node.value, ast.Name) and node.value.id == "sys":
                offenders.append(f"{path.relative_to(REPO)} uses sys.path")
    assert not offenders, offenders


def test_the_only_path_outside_the_repository_is_the_readme_s_shared_file():
    """A path two folders up (beside the clone) is written in helpers/shared.py alone, and the
    file it names is the one the README names."""
    up = ("parents[2]", "parents[3]", "../shared")  # from tests/ or tests/helpers/
    outside = [p.relative_to(REPO) for p in _python_files() if p != Path(__file__).resolve()
               and any(u in p.read_text(encoding="utf-8") for u in up)]
    assert outside == [Path("tests/helpers/shared.py")], outside
    from helpers.shared import COMPAS, SHARED

    assert SHARED == REPO.parent / "shared"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"../shared/{COMPAS.relative_to(SHARED).as_posix()}" in readme


def test_docs_place_every_test_file_in_a_layer():
    doc = (REPO / "docs" / "testing.md").read_text(encoding="utf-8")
    missing = [p.name for p in TESTS.glob("test_*.py") if f"`{p.name}`" not in doc]
    assert not missing, f"docs/testing.md does not list {missing}"
