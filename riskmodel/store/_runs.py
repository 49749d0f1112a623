"""Training runs in MLflow: log a training and its candidates, read runs back, compare them.

Nothing that identifies a child is logged: metrics, aggregate tables, specs, reports, the
model's JSON (tree splits and coefficients, not children) and each candidate's out-of-time
test scores by row position, test date and score only (``riskmodel.store._predictions``).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import sha256_file
from riskmodel.store._client import (
    NotInStore,
    call,
    client,
    configure,
    embedded_store,
    experiment_id,
    experiment_name,
    held_interrupt,
)
from riskmodel.store._models import MODEL_JSON
from riskmodel.store._tags import RunTags, Tag

MODEL_CODE = Path(__file__).with_name("mlflow_model.py")
LEAD_METRICS = ("auc", "average_precision", "brier", "calibration_error",
                "precision_at_capacity", "recall_at_capacity", "base_rate")


def _metric_key(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in name)


def _signature(features: list[str]):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("double", f) for f in features]),
                          outputs=Schema([ColSpec("double", "score")]))


@dataclass
class CandidateRecord:
    """What is logged for one candidate: its tags, params, metrics, files and model."""

    name: str
    tags: RunTags
    params: dict
    metrics: pd.DataFrame            # metric, value, low, high
    by_locality: pd.DataFrame        # locality, metric, value, ...
    files: dict[str, bytes]          # artefact name -> content (aggregates only)
    model_payload: dict              # {"model": ..., "meta": ...}
    features: list[str]
    run_id: str | None = None
    model_uri: str | None = None
    checksum: str | None = None


@dataclass
class TrainingRun:
    """An open training (parent) run; candidates are logged as nested runs under it."""

    run_id: str
    experiment_id: str
    tmp: Path
    children: dict[str, CandidateRecord] = field(default_factory=dict)

    def log_file(self, name: str, content: bytes | str, run_id: str | None = None,
                 folder: str | None = None) -> None:
        """Log one file's content into this run (or a candidate's run)."""
        import mlflow

        where = self.tmp / (run_id or self.run_id) / (folder or "")
        where.mkdir(parents=True, exist_ok=True)
        path = where / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        call("logging an artefact", mlflow.MlflowClient().log_artifact, run_id or self.run_id,
             str(path), folder)

    def log_folder(self, folder: str | Path, artifact_path: str, run_id: str) -> None:
        """Log a folder of files (a report) into a candidate's run."""
        import mlflow

        call("logging artefacts", mlflow.MlflowClient().log_artifacts, run_id, str(folder),
             artifact_path)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        import mlflow

        finite = {k: float(v) for k, v in metrics.items() if np.isfinite(v)}
        call("logging metrics", mlflow.log_metrics, finite)

    def set_tags(self, tags: RunTags) -> None:
        import mlflow

        call("setting tags", mlflow.set_tags, tags.to_mlflow())

    def log_candidate(self, rec: CandidateRecord) -> CandidateRecord:
        """Log a candidate as a nested run with its model (MLflow pyfunc flavour).

        The run ends FINISHED once all of it is logged; an error or Ctrl-C part-way leaves it
        for :func:`training_run` to end (FAILED, or KILLED with its parent).
        """
        import mlflow

        run = call("starting a candidate run", mlflow.start_run, run_name=rec.name,
                   experiment_id=self.experiment_id, nested=True, parent_run_id=self.run_id)
        call("setting tags", mlflow.set_tags, rec.tags.to_mlflow())
        call("logging params", mlflow.log_params, rec.params)
        call("logging metrics", mlflow.log_metrics, _candidate_metrics(rec))
        folder = self.tmp / rec.name
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in rec.files.items():
            (folder / name).write_bytes(content)
            call("logging an artefact", mlflow.log_artifact, str(folder / name))
        model_json = folder / MODEL_JSON
        model_json.write_text(json.dumps(rec.model_payload, default=str))
        features = rec.features
        info = call(
            "logging the model", mlflow.pyfunc.log_model,
            name="model", python_model=str(MODEL_CODE),
            artifacts={"model_json": str(model_json)}, signature=_signature(features),
            # a made-up child with nothing recorded: shows the input shape, holds no real row
            input_example=pd.DataFrame(np.zeros((1, len(features))), columns=features),
            pip_requirements=["riskmodel"],
        )
        rec.checksum = sha256_file(model_json)
        call("setting tags", mlflow.set_tags, {Tag.MODEL_URI.value: info.model_uri,
                                               Tag.CHECKSUM.value: rec.checksum})
        rec.run_id, rec.model_uri = run.info.run_id, info.model_uri
        call("ending the candidate run", mlflow.end_run, "FINISHED")
        self.children[rec.name] = rec
        return rec


def _candidate_metrics(rec: CandidateRecord) -> dict[str, float]:
    """A candidate's test metrics with their interval ends, and by locality, as logged."""
    metrics = {}
    for row in rec.metrics.itertuples():
        for suffix, val in (("", row.value), ("_low", row.low), ("_high", row.high)):
            if np.isfinite(val):
                metrics[f"test_{row.metric}{suffix}"] = float(val)
    for row in rec.by_locality.itertuples():
        if np.isfinite(row.value):
            metrics[_metric_key(f"test_{row.metric}.{row.locality}")] = float(row.value)
    return metrics


@contextlib.contextmanager
def training_run(outcome: str, *, run_name: str, tags: RunTags,
                 params: dict) -> Iterator[TrainingRun]:
    """Open the parent run of a training; it is FINISHED only if the block completes.

    An error marks it FAILED; Ctrl-C (``KeyboardInterrupt``) marks it and every candidate run
    under it KILLED and removes any model version registered from them, so nothing of an
    interrupted training reads as finished. Every store call holds Ctrl-C until it returns
    (:func:`riskmodel.store._client.held_interrupt`), so an interruption never leaves the
    store locked against the marking.
    """
    import mlflow

    configure(create=True)
    exp = experiment_id(outcome)
    assert exp is not None  # created when missing
    with tempfile.TemporaryDirectory() as tmp:
        parent = call("starting the run", mlflow.start_run, run_name=run_name,
                      experiment_id=exp)
        try:
            call("setting tags", mlflow.set_tags, tags.to_mlflow())
            call("logging params", mlflow.log_params, params)
            yield TrainingRun(run_id=parent.info.run_id, experiment_id=exp, tmp=Path(tmp))
        except KeyboardInterrupt:
            _kill_training(parent.info.run_id, exp)
            raise
        except BaseException:
            _end_active_runs("FAILED")
            raise
        _end_active_runs("FINISHED")


def _end_active_runs(status: str) -> None:
    import mlflow

    while mlflow.active_run() is not None:
        call("ending the run", mlflow.end_run, status)


def _kill_training(run_id: str, exp: str) -> None:
    """Mark an interrupted training's parent run and its candidate runs KILLED, and delete
    the model versions registered from them (an interrupted training registers nothing)."""
    import warnings

    import mlflow

    def mark() -> None:
        _end_active_runs("KILLED")
        c = client()
        nested = call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                      filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
        runs = ([] if nested.empty else list(nested["run_id"])) + [run_id]
        for killed in runs:
            call("marking the run killed", c.set_terminated, killed, "KILLED")
        _unregister(c, runs)

    with held_interrupt(drop=True):  # a second Ctrl-C must not leave the runs half-marked
        try:
            mark()
        except Exception as exc:
            # a store that fails here (a server gone away): the interruption is still
            # reported as one (exit 130), with why the runs were not marked
            warnings.warn(f"interrupted: the runs could not be marked KILLED ({exc})",
                          RuntimeWarning, stacklevel=2)


def _unregister(c: Any, run_ids: list[str]) -> None:
    """Delete the model versions registered from ``run_ids`` (their aliases go with them),
    and a registered model left with no version (one this training created)."""
    for rid in run_ids:
        versions = call("searching model versions", c.search_model_versions,
                        f"run_id = '{rid}'")
        for mv in versions:
            call("deleting the model version", c.delete_model_version, mv.name, mv.version)
            if not call("searching model versions", c.search_model_versions,
                        f"name = '{mv.name}'"):
                call("deleting the registered model", c.delete_registered_model, mv.name)


@dataclass
class RunInfo:
    """A run as riskmodel reads it back: typed tags, params, metrics and its parent."""

    run_id: str
    tags: RunTags
    params: dict
    metrics: dict
    parent_id: str | None


def full_run_id(run_id: str) -> str:
    """A run id as given, or the one run whose id starts with it (the 8 characters
    ``riskmodel compare`` prints); a prefix no run or several runs have is an input error.

    Examples
    --------
    >>> full_run_id("3f1c2a9b")  # doctest: +SKIP
    '3f1c2a9b0d6e4c1f9a7b5e3d2c1b0a98'
    """
    import re

    import mlflow

    if re.fullmatch(r"[0-9a-f]{32}", run_id) or not re.fullmatch(r"[0-9a-f]{4,31}", run_id):
        return run_id
    configure()
    runs = call("searching runs", mlflow.search_runs, search_all_experiments=True,
                output_format="list", max_results=50_000)
    found = sorted({r.info.run_id for r in runs if r.info.run_id.startswith(run_id)})
    if not found:
        raise NotInStore(f"run: no MLflow run whose id starts with '{run_id}' in the "
                         "tracking store (riskmodel compare lists them)")
    if len(found) > 1:
        raise InputError(f"run: '{run_id}' starts {len(found)} run ids "
                         f"({', '.join(f[:12] for f in found[:5])}); give more of it")
    return found[0]


def get_run(run_id: str) -> RunInfo:
    """Read a run (its id, or the first 8 or more characters of it); a run that does not
    exist is :class:`NotInStore`."""
    run_id = full_run_id(run_id)
    run = call("reading the run", client().get_run, run_id,
               missing=f"run: no MLflow run '{run_id}' in the tracking store")
    return RunInfo(run_id=run_id, tags=RunTags.from_mlflow(run.data.tags),
                   params=dict(run.data.params), metrics=dict(run.data.metrics),
                   parent_id=run.data.tags.get("mlflow.parentRunId"))


def last_training(outcome: str) -> RunInfo | None:
    """The newest finished training (parent) run of an outcome, or None (also where no
    store exists yet: a first training)."""
    import mlflow

    if (db := embedded_store()) is not None and not db.is_file():
        return None
    exp = experiment_id(outcome, create=False)
    if exp is None:
        return None
    runs = call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                filter_string=f"tags.`{Tag.ROLE}` = 'training' and attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"], max_results=1)
    return None if runs.empty else get_run(str(runs["run_id"].iloc[0]))


def download(run_id: str, artifact_path: str, dst: str | Path) -> Path | None:
    """Download a run's artefact (file or folder) into ``dst``; None when the run has none."""
    import mlflow

    parent = str(Path(artifact_path).parent)
    listed = call("listing artefacts", client().list_artifacts, run_id,
                  None if parent == "." else parent)
    if artifact_path not in {a.path for a in listed}:
        return None
    return Path(call("downloading an artefact", mlflow.artifacts.download_artifacts,
                     run_id=run_id, artifact_path=artifact_path, dst_path=str(dst)))


def read_text(run_id: str, artifact_path: str) -> str | None:
    """A text artefact of a run, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        local = download(run_id, artifact_path, tmp)
        return None if local is None else local.read_text(encoding="utf-8")


def read_csv(run_id: str, artifact_path: str) -> pd.DataFrame | None:
    """A CSV artefact of a run as a frame, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        local = download(run_id, artifact_path, tmp)
        return None if local is None else pd.read_csv(local)


def compare_runs(outcome: str = "escalation", *, max_runs: int = 50) -> pd.DataFrame:
    """Candidate runs of an outcome side by side, newest first, with intervals and aliases.

    Returns
    -------
    DataFrame
        One row per candidate run: ``run_id``, ``started``, ``candidate``, ``result``,
        ``data_fingerprint``, ``capacity``, ``params`` (the candidate's parameters), each lead
        metric with ``_low``/``_high``, ``registered``.
    """
    import mlflow

    exp = experiment_id(outcome, create=False)
    none_yet = f"compare: no training runs for '{outcome}' yet (run riskmodel train)"
    if exp is None:
        raise NotInStore(none_yet)
    runs = call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                filter_string=f"tags.`{Tag.CANDIDATE}` != '' and attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC"], max_results=max_runs)
    # A killed or crashed training leaves its parent unfinished: its candidates are not shown.
    parents = call("searching runs", mlflow.search_runs, experiment_ids=[exp],
                   filter_string=f"tags.`{Tag.ROLE}` = 'training' "
                                 "and attributes.status = 'FINISHED'")
    if not runs.empty:
        done = set(parents["run_id"]) if not parents.empty else set()
        runs = runs[runs["tags.mlflow.parentRunId"].isin(done)]
    if runs.empty:
        raise NotInStore(none_yet)
    c = client()
    registered: dict[str, str] = {}
    try:
        with held_interrupt():
            aliases_of = c.get_registered_model(outcome).aliases or {}
            versions = c.search_model_versions(f"name='{outcome}'")
        for mv in versions:
            aliases = [a for a in aliases_of if str(aliases_of[a]) == str(mv.version)]
            registered[mv.run_id] = f"v{mv.version}" + (f" ({', '.join(aliases)})" if aliases
                                                         else "")
    except Exception:  # no registered model yet is normal
        registered = {}
    param_cols = sorted(c for c in runs.columns if c.startswith("params.param_"))

    def _params(row) -> str:
        items = [(c[len("params.param_"):], row[c]) for c in param_cols]
        return ", ".join(f"{k}={v}" for k, v in items if isinstance(v, str) and v != "")

    out = pd.DataFrame({
        "run_id": runs["run_id"],
        "started": pd.to_datetime(runs["start_time"]).dt.strftime("%Y-%m-%d %H:%M"),
        "candidate": runs.get(f"tags.{Tag.CANDIDATE}"),
        "result": runs.get(f"tags.{Tag.RESULT}"),
        "data_fingerprint": runs.get(f"tags.{Tag.DATA_FINGERPRINT}", "").str[:12],
        "capacity": runs.get("params.capacity", ""),
        "params": runs.apply(_params, axis=1) if len(runs) else "",
    })
    for m in LEAD_METRICS:
        for suffix in ("", "_low", "_high"):
            col = f"metrics.test_{m}{suffix}"
            out[f"{m}{suffix}"] = runs[col] if col in runs else float("nan")
    out["registered"] = out["run_id"].map(registered).fillna("")
    return out.reset_index(drop=True)


def experiment_of(outcome: str) -> str:
    """The experiment name of an outcome (for messages)."""
    return experiment_name(outcome)


__all__ = ["CandidateRecord", "InputError", "RunInfo", "TrainingRun", "compare_runs",
           "download", "full_run_id", "get_run", "last_training", "read_csv", "read_text",
           "training_run"]
