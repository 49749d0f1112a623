"""``riskmodel compare --diff``: how two training runs differ (spec, parameters, data)."""

from __future__ import annotations

import yaml

from riskmodel.store import get_run, read_text
from riskmodel.training import diff_lines


def flatten(value, prefix: str = "") -> dict[str, object]:
    """Nested mappings and lists as ``a.b.0.c`` keys (candidates by name, not position)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        out = {}
        for v in value:
            out.update(flatten({k: x for k, x in v.items() if k != "name"},
                             f"{prefix}{v['name']}."))
        return out
    return {prefix[:-1]: value}


def run_facts(run_id: str) -> dict[str, object]:
    """What defines a run: its spec (flattened), candidate, data and capacity."""
    run = get_run(run_id)
    text = read_text(run_id, "spec.yaml")
    facts = flatten(yaml.safe_load(text) or {}, "spec.") if text else {}
    facts.update({"candidate": run.tags.candidate or "(training run)",
                  "data fingerprint": run.tags.data_fingerprint[:12],
                  "git commit": run.tags.git_commit[:12]})
    return facts


def diff_runs(first: str, second: str) -> list[str]:
    """One line per difference between two runs; empty when they were set up alike.

    Examples
    --------
    >>> for line in diff_runs("3f1c…", "9ab2…"):  # doctest: +SKIP
    ...     print(line)
    spec.capacity.top_percent: 10.0 (3f1c…) -> 5.0 (9ab2…)
    """
    return diff_lines(run_facts(first), run_facts(second), names=(first[:8], second[:8]))
