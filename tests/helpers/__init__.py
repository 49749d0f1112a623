"""What several test files share.

``pyproject.toml`` puts ``tests/`` on the path (``pythonpath`` in ``[tool.pytest.ini_options]``),
so a test file writes ``from helpers.browser import chromium``. Test files import from here or
use the fixtures of ``tests/conftest.py``; they never import another test file.
"""
