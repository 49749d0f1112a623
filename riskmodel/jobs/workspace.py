"""``riskmodel init``: write a council's workspace, the specs it edits."""

from __future__ import annotations

import filecmp
import shutil
from importlib import resources
from pathlib import Path

from riskmodel._core.io import check_writable
from riskmodel.features import OUTCOMES

README = "WORKSPACE.md"
SOURCES = "sources.yaml"
README_TEXT = """# A riskmodel workspace

Every `riskmodel` command run in this folder (or below it, or given `--workspace` with this
folder) reads its settings from the files here; each command prints the spec files it used,
and training records them in MLflow. Edit them here, never inside the installed package.

- `training/escalation.yaml`, `training/disengagement.yaml` (data scientists; capacity with
  the panels): the horizon, the as-of schedule, the candidates, the pass thresholds written
  before training, and the **capacity** a panel can take (the top percent overall, or
  `top_n_per_locality`); `riskmodel score` takes its capacity from here.
- `features/early_help.yaml` (data scientists): which feature builders run, their windows,
  imputation.
- `evaluation/fairness.yaml` (equality leads): the protected characteristics, reference
  groups, tolerances, suppression (minimum count).
- `sources.yaml` (the insight hub): where the four tables are in the council's database, for
  `--data sources.yaml` (an example to fill in; files work without it).

Start from the comments in each file. `riskmodel features` prints the features the spec makes;
`riskmodel train --data DIR` checks a changed training spec before any slow work.
"""


def workspace_files() -> dict[str, Path]:
    """Each file a new workspace gets (relative name to the packaged source)."""
    files = {
        "features/early_help.yaml": resources.files("riskmodel.features") / "early_help.yaml",
        "evaluation/fairness.yaml": resources.files("riskmodel.evaluation") / "fairness.yaml",
    }
    for outcome in OUTCOMES:
        files[f"training/{outcome}.yaml"] = (resources.files("riskmodel.training") / "specs" /
                                             f"{outcome}.yaml")
    return {name: Path(str(src)) for name, src in files.items()}


def init_workspace(folder) -> tuple[list[Path], list[Path]]:
    """Write a workspace into ``folder``: the packaged specs and a short guide.

    A file already there is never overwritten: a council's edited spec is kept as it is (and
    listed as kept), so ``init`` can be run again on a workspace to add a missing file.

    Returns
    -------
    written, kept : list of Path
        The files written, and the files already there that differ from the packaged ones.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel._core.workspace import is_workspace
    >>> folder = tempfile.mkdtemp()
    >>> written, kept = init_workspace(folder)
    >>> sorted(p.name for p in written)[:2], kept
    (['WORKSPACE.md', 'disengagement.yaml'], [])
    >>> is_workspace(folder)
    True
    """
    folder = Path(folder)
    check_writable(folder, option="init", folder=True)
    planned = {name: src for name, src in workspace_files().items()}
    written, kept = [], []
    for name, src in planned.items():
        target = folder / name
        if target.exists():
            if not filecmp.cmp(target, src, shallow=False):
                kept.append(target)  # the council's own edit
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    extras = {README: README_TEXT,
              SOURCES: (resources.files("riskmodel.data") / "sources.example.yaml").read_text()}
    for name, text in extras.items():
        target = folder / name
        if not target.exists():  # the council's own file is never replaced
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written, kept
