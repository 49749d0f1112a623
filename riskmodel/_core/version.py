"""The package version (one place; the root package and pyproject read it)."""

__version__ = "0.1.0"
