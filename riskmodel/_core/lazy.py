"""A package whose exported names are imported on first use.

A command imports only what it runs: ``riskmodel build`` should not pay for scikit-learn,
LightGBM and MLflow because ``riskmodel.jobs`` also exports ``train``. A lazy package keeps
its imports under ``typing.TYPE_CHECKING`` too, so the type checker and the import-linter
contracts still see every edge.
"""

from __future__ import annotations

import importlib
import sys
import types


def lazy_package(package: str, exports: dict[str, str]) -> None:
    """Make ``package`` import each exported name from its module on first use (PEP 562).

    Where an exported name is also a submodule's name (``riskmodel.jobs.score`` holds
    ``score``), the name stays the exported object once the submodule is imported, as it
    would had the package imported it eagerly.

    Parameters
    ----------
    package : str
        The package's ``__name__``; the package must already be in ``sys.modules``.
    exports : dict of str to str
        Exported name to the module that defines it.

    Examples
    --------
    >>> import sys, types
    >>> sys.modules["demo_pkg"] = types.ModuleType("demo_pkg")
    >>> lazy_package("demo_pkg", {"sqrt": "math"})
    >>> sys.modules["demo_pkg"].sqrt(9.0)
    3.0
    """

    class _LazyPackage(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            module = exports.get(name)
            if module is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(module), name)
            types.ModuleType.__setattr__(self, name, value)
            return value

        def __setattr__(self, name: str, value: object) -> None:
            # the import system binds a submodule to its parent's attribute of that name
            if (name in exports and isinstance(value, types.ModuleType)
                    and value.__name__ == f"{package}.{name}"):
                return
            types.ModuleType.__setattr__(self, name, value)

        def __dir__(self) -> list[str]:
            return sorted(set(super().__dir__()) | set(exports))

    sys.modules[package].__class__ = _LazyPackage
