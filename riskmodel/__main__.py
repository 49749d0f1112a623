"""``python -m riskmodel``: the command line.

Run from the folder that holds a clone named ``riskmodel/``, Python finds that folder first
(the current folder leads ``sys.path``) and imports it as a namespace package, whose top-level
``models/``, ``features/`` ... would then hide ``riskmodel.models`` and the rest. This module
itself was found in the real package, so it puts the real package in the namespace's place.
"""

import importlib.util
import sys
from pathlib import Path


def _use_the_real_package() -> None:
    """Make ``riskmodel`` the package this file belongs to, not a folder of that name."""
    found = sys.modules.get("riskmodel")
    if found is None or getattr(found, "__file__", None) is not None:
        return  # the regular package: nothing to do
    folder = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        "riskmodel", folder / "__init__.py", submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["riskmodel"] = package
    spec.loader.exec_module(package)


_use_the_real_package()

from riskmodel.cli import main  # noqa: E402 (after the package is the real one)

main()
