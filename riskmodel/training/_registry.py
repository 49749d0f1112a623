"""Compare training runs and move the champion/challenger aliases."""

from __future__ import annotations

import pandas as pd

from .._errors import InputError
from ._tracking import _call, _client, resolve_model_version

LEAD_METRICS = ("auc", "average_precision", "brier", "calibration_error",
                "precision_at_capacity", "recall_at_capacity", "base_rate")


def compare_runs(outcome: str = "escalation", *, max_runs: int = 50) -> pd.DataFrame:
    """Candidate runs of an outcome side by side, newest first, with intervals and aliases.

    Returns
    -------
    DataFrame
        One row per candidate run: ``run_id``, ``started``, ``candidate``, ``result``,
        ``data_fingerprint``, each lead metric with ``_low``/``_high``, ``registered``.
    """
    import mlflow

    _client()
    found = _call("looking up the experiment", mlflow.get_experiment_by_name,
                  f"riskmodel-{outcome}")
    if found is None:
        raise InputError(f"compare: no training runs for '{outcome}' yet (run riskmodel train)")
    exp = found.experiment_id
    runs = _call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                 filter_string="tags.`riskmodel.candidate` != '' "
                               "and attributes.status = 'FINISHED'",
                 order_by=["attributes.start_time DESC"], max_results=max_runs)
    # A killed or crashed training leaves its parent unfinished: its candidates are not shown.
    parents = _call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                    filter_string="tags.`riskmodel.role` = 'training' "
                                  "and attributes.status = 'FINISHED'")
    if not runs.empty:
        done = set(parents["run_id"]) if not parents.empty else set()
        runs = runs[runs["tags.mlflow.parentRunId"].isin(done)]
    if runs.empty:
        raise InputError(f"compare: no training runs for '{outcome}' yet (run riskmodel train)")
    client = _client()
    registered: dict[str, str] = {}
    try:
        for mv in client.search_model_versions(f"name='{outcome}'"):
            aliases = [a for a in (client.get_registered_model(outcome).aliases or {})
                       if str(client.get_registered_model(outcome).aliases[a]) == str(mv.version)]
            registered[mv.run_id] = f"v{mv.version}" + (f" ({', '.join(aliases)})" if aliases
                                                         else "")
    except Exception:  # no registered model yet is normal
        registered = {}
    out = pd.DataFrame({
        "run_id": runs["run_id"],
        "started": pd.to_datetime(runs["start_time"]).dt.strftime("%Y-%m-%d %H:%M"),
        "candidate": runs.get("tags.riskmodel.candidate"),
        "result": runs.get("tags.riskmodel.result"),
        "data_fingerprint": runs.get("tags.riskmodel.data_fingerprint", "").str[:12],
    })
    for m in LEAD_METRICS:
        for suffix in ("", "_low", "_high"):
            col = f"metrics.test_{m}{suffix}"
            out[f"{m}{suffix}"] = runs[col] if col in runs else float("nan")
    out["registered"] = out["run_id"].map(registered).fillna("")
    return out.reset_index(drop=True)


def promote(outcome: str, *, version: str | int | None = None, alias: str = "champion") -> dict:
    """Point ``alias`` at a model version (default: the current challenger becomes champion).

    The version that held ``alias`` before loses it; promoting the challenger to champion
    also removes the challenger alias.

    Returns
    -------
    dict
        ``name``, ``version``, ``alias``, ``previous`` (the version that held it, or None).
    """
    client = _client()
    if version is None:
        version = resolve_model_version(f"models:/{outcome}@challenger").version
    else:
        version = resolve_model_version(f"models:/{outcome}/{version}").version
    aliases = client.get_registered_model(outcome).aliases or {}
    previous = aliases.get(alias)
    client.set_registered_model_alias(outcome, alias, str(version))
    if alias == "champion" and str(aliases.get("challenger")) == str(version):
        client.delete_registered_model_alias(outcome, "challenger")
    return {"name": outcome, "version": str(version), "alias": alias,
            "previous": None if previous is None else str(previous)}
