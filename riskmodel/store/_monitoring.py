"""The monitoring history of a model: one summary per month in its MLflow training run.

Each ``riskmodel monitor`` run adds ``monitoring/<as-of>.json`` (its summary: no child ids,
small counts suppressed) to the run that logged the registered model, and logs its headline
numbers as metrics (``monitor_<name>``, step = the month as YYYYMM), so the MLflow UI shows
them over time beside the model's test metrics. A second run for the same month replaces
that month's summary; no other month's is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

from riskmodel.store._client import call, client
from riskmodel.store._runs import download

FOLDER = "monitoring"


def log_monitoring(run_id: str, as_of: str, summary: dict, metrics: dict) -> None:
    """Add one month's summary (and its headline numbers) to a model's training run.

    Parameters
    ----------
    run_id : str
        The run that logged the model (``LoadedModel.run_id``).
    as_of : str
        The month's as-of date, ISO.
    summary : dict
        JSON-ready; must hold no child-level data.
    metrics : dict of str to float
        Headline numbers; non-finite ones are skipped.

    Examples
    --------
    >>> log_monitoring(run_id, "2025-07-01", summary, {"children": 436})  # doctest: +SKIP
    """
    from mlflow.entities import Metric

    c = client()
    day = dt.date.fromisoformat(as_of)
    step = day.year * 100 + day.month
    stamp = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{as_of}.json"
        path.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
        call("logging the monitoring summary", c.log_artifact, run_id, str(path), FOLDER)
    batch = [Metric(f"monitor_{k}", float(v), stamp, step) for k, v in metrics.items()
             if v is not None and math.isfinite(float(v))]
    if batch:
        call("logging monitoring metrics", c.log_batch, run_id, metrics=batch)


def monitoring_history(run_id: str) -> list[dict]:
    """Every month's summary logged for a model, oldest first (empty before go-live).

    Examples
    --------
    >>> [s["as_of"] for s in monitoring_history(run_id)]  # doctest: +SKIP
    ['2025-06-01', '2025-07-01']
    """
    with tempfile.TemporaryDirectory() as tmp:
        local = download(run_id, FOLDER, tmp)
        if local is None:
            return []
        out = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted(Path(local).glob("*.json"))]
    return sorted(out, key=lambda s: s.get("as_of", ""))
