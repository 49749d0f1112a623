"""An import-linter contract: no module imports another package's private module.

A module named with a leading underscore (``riskmodel.data._inputs``) is private to the package
that holds it (``riskmodel.data``): modules inside that package may import it, modules outside
ask the package's public names instead (its ``__init__``). ``pyproject.toml`` registers the
contract type (``contract_types``); ``lint-imports`` in the test command checks it.
"""

from __future__ import annotations

from importlinter import Contract, ContractCheck, fields, output


def _owner(module: str) -> str | None:
    """The package a module is private to, or None for a public module."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


class PrivateImportsContract(Contract):
    """Forbid importing a private module from outside the package that holds it."""

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        broken = []
        for container in self.containers:  # type: ignore[attr-defined]
            for importer in sorted(graph.find_descendants(container) | {container}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    owner = _owner(imported)
                    if owner is None or not imported.startswith(container + "."):
                        continue
                    if importer != owner and not importer.startswith(owner + "."):
                        broken.append((importer, imported))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported in check.metadata["broken"]:
            output.print_error(f"{importer} imports {imported}, private to another package")
