"""The ``riskmodel`` command. It parses options and calls one job; no logic lives here.

The commands are registered on :data:`app` by the modules imported below, one per area.
"""

from riskmodel.cli import _data, _models, _reports  # noqa: F401 (they register the commands)
from riskmodel.cli._app import app, main
from riskmodel.cli._decisions import decisions

app.add_typer(decisions, name="decisions")

__all__ = ["app", "main"]
