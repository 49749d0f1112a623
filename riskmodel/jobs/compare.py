"""``riskmodel compare --diff``: how two training runs differ (spec, parameters, data) and
how their test metrics compare."""

from __future__ import annotations

import yaml

from riskmodel.store import LEAD_METRICS, RunInfo, get_run, read_text
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


def run_facts(run: RunInfo) -> dict[str, object]:
    """What defines a run: its spec (flattened), candidate, data and capacity."""
    text = read_text(run.run_id, "spec.yaml")
    facts = flatten(yaml.safe_load(text) or {}, "spec.") if text else {}
    facts.update({"candidate": run.tags.candidate or "(training run)",
                  "data fingerprint": run.tags.data_fingerprint[:12],
                  "git commit": run.tags.git_commit[:12]})
    return facts


def metric_lines(first: RunInfo, second: RunInfo) -> list[str]:
    """The lead test metrics of two runs side by side, with the change and both intervals.

    Examples
    --------
    >>> metric_lines(get_run("3f1c2a9b"), get_run("9ab2c4d1"))  # doctest: +SKIP
    ['test auc: 0.712 [0.690-0.733] (3f1c2a9b) -> 0.705 [0.683-0.727] (9ab2c4d1), -0.007']
    """
    def shown(run: RunInfo, metric: str) -> str:
        m = run.metrics
        value = m.get(f"test_{metric}")
        if value is None:
            return "(absent)"
        low, high = m.get(f"test_{metric}_low"), m.get(f"test_{metric}_high")
        return f"{value:.3f}" + (f" [{low:.3f}-{high:.3f}]" if low is not None
                                 and high is not None else "")

    lines = []
    for metric in LEAD_METRICS:
        a, b = (r.metrics.get(f"test_{metric}") for r in (first, second))
        if a is None and b is None:
            continue
        change = f", {b - a:+.3f}" if a is not None and b is not None else ""
        lines.append(f"test {metric}: {shown(first, metric)} ({first.run_id[:8]}) -> "
                     f"{shown(second, metric)} ({second.run_id[:8]}){change}")
    return lines


def diff_runs(first: str, second: str) -> list[str]:
    """One line per difference in set-up between two runs (empty when set up alike), then
    their test metrics side by side. A run is its id or its first 8 or more characters.

    Examples
    --------
    >>> for line in diff_runs("3f1c2a9b", "9ab2c4d1"):  # doctest: +SKIP
    ...     print(line)
    spec.capacity.top_percent: 10.0 (3f1c2a9b) -> 5.0 (9ab2c4d1)
    test auc: 0.712 [0.690-0.733] (3f1c2a9b) -> 0.705 [0.683-0.727] (9ab2c4d1), -0.007
    """
    one, two = get_run(first), get_run(second)
    names = (one.run_id[:8], two.run_id[:8])
    setup = diff_lines(run_facts(one), run_facts(two), names=names)
    metrics = metric_lines(one, two)
    return (setup or [f"runs {names[0]} and {names[1]} have the same spec, data and code"]) \
        + metrics
