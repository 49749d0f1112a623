"""``riskmodel train``: build the matrix, evaluate candidates, log to MLflow, register the best."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .._errors import InputError
from ._spec import TrainingSpec, load_training_spec
from ._tracking import (
    CHECKSUM_TAG,
    MODEL_JSON,
    _call,
    _client,
    _configure,
    experiment_id,
    sha256_file,
)
from ._train import (
    TrainResult,
    best_passing,
    data_fingerprint,
    evaluate_candidates,
    fit_final,
    read_truth,
)

MODEL_CODE = Path(__file__).with_name("mlflow_model.py")


def _git_commit() -> str:
    for where in (Path.cwd(), Path(__file__).resolve().parent):
        try:
            out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                 text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return out.stdout.strip()
    return "unknown"


def latest_date(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest event or recording date in the tables: the extract's effective date."""
    cols = [("contacts", "recorded_date"), ("contacts", "contact_date"),
            ("ace_factors", "recorded_date"), ("episodes", "start_date"), ("episodes", "end_date")]
    return max(pd.Timestamp(tables[t][c].max()) for t, c in cols if tables[t][c].notna().any())


def build_training_matrix(data, spec: TrainingSpec):
    """Load the extract and build the spec's matrix.

    Returns
    -------
    tables, matrix, features, feature_spec
    """
    from ..data import load_tables, read_extract_date
    from ..features import build_matrix, feature_columns, load_feature_spec
    from ._train import as_of_schedule

    stated = read_extract_date(data) if Path(data).is_dir() else None
    tables = load_tables(data, extract_date=stated)
    extract = pd.Timestamp(stated) if stated else latest_date(tables)
    dates = as_of_schedule(spec, extract)
    if not dates:
        raise InputError(
            f"training spec: as_of.start {spec.as_of.start} leaves no as-of date whose "
            f"{spec.horizon_months}-month window closes by the data's last date {extract.date()}"
        )
    fspec = load_feature_spec(spec.features) if spec.features else load_feature_spec()
    matrix = build_matrix(tables, dates, outcome=spec.outcome, spec=fspec,
                          horizon_months=spec.horizon_months, extract_date=extract)
    return tables, matrix, feature_columns(matrix), fspec


def _signature(features: list[str]):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("double", f) for f in features]),
                          outputs=Schema([ColSpec("double", "score")]))


def _calibration_plot(result, path: Path) -> None:
    """Observed rate against mean predicted probability in tenths (aggregates only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    pred = result.predictions
    bins = pd.qcut(pred["score"].rank(method="first"), 10, labels=False)
    agg = pred.groupby(bins).agg(p=("score", "mean"), y=("label", "mean"))
    ax.plot([0, 1], [0, 1], color="#999", lw=1, ls="--", label="perfect")
    ax.plot(agg["p"], agg["y"], marker="o", label=result.name)
    lim = max(0.05, float(max(agg["p"].max(), agg["y"].max())) * 1.1)
    ax.set(xlim=(0, lim), ylim=(0, lim), xlabel="mean predicted probability (tenth)",
           ylabel="observed rate", title=f"Calibration on test dates: {result.name}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _metric_key(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in name)


def _log_candidate(res, model, spec: TrainingSpec, spec_text: str, features: list[str],
                   feature_spec: dict, common_tags: dict, parent_run_id: str, exp_id: str,
                   tmp: Path) -> str:
    import mlflow

    with mlflow.start_run(run_name=res.name, experiment_id=exp_id, nested=True,
                          parent_run_id=parent_run_id) as run:
        mlflow.set_tags({**common_tags, "riskmodel.candidate": res.name,
                         "riskmodel.kind": res.kind, "riskmodel.result":
                         "PASS" if res.passed else "FAIL",
                         "riskmodel.why": "; ".join(res.reasons)[:4000] or "meets thresholds"})
        params = {"candidate": res.name, "kind": res.kind, "outcome": spec.outcome,
                  "horizon_months": spec.horizon_months, "calibration": spec.calibration,
                  "capacity": spec.capacity.describe(), "n_features": len(features),
                  "bootstrap": spec.bootstrap, "seed": spec.seed}
        for k, v in next(c for c in spec.candidates if c.name == res.name).params.items():
            params[f"param_{k}"] = v
        mlflow.log_params(params)
        metrics = {}
        for row in res.metrics.itertuples():
            for suffix, val in (("", row.value), ("_low", row.low), ("_high", row.high)):
                if np.isfinite(val):
                    metrics[f"test_{row.metric}{suffix}"] = float(val)
        for row in res.by_locality.itertuples():
            if np.isfinite(row.value):
                metrics[_metric_key(f"test_{row.metric}.{row.locality}")] = float(row.value)
        mlflow.log_metrics(metrics)
        cand_dir = tmp / res.name
        cand_dir.mkdir()
        (cand_dir / "spec.yaml").write_text(spec_text)
        (cand_dir / "features.json").write_text(json.dumps(features, indent=1))
        res.metrics.to_csv(cand_dir / "metrics.csv", index=False)
        res.by_locality.to_csv(cand_dir / "metrics_by_locality.csv", index=False)
        _calibration_plot(res, cand_dir / "calibration.png")
        for f in ("spec.yaml", "features.json", "metrics.csv", "metrics_by_locality.csv",
                  "calibration.png"):
            mlflow.log_artifact(str(cand_dir / f))
        payload = {"model": model.to_dict(), "meta": {
            "outcome": spec.outcome, "horizon_months": spec.horizon_months,
            "candidate": res.name, "kind": res.kind, "features": features,
            "feature_spec": feature_spec, "capacity": spec.capacity.model_dump(),
            "spec": yaml.safe_load(spec_text), "data_fingerprint": common_tags[
                "riskmodel.data_fingerprint"], "git_commit": common_tags["riskmodel.git_commit"],
            "test_metrics": res.metrics.to_dict(orient="records"),
        }}
        model_json = cand_dir / MODEL_JSON
        model_json.write_text(json.dumps(payload, default=str))
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(MODEL_CODE),
            artifacts={"model_json": str(model_json)}, signature=_signature(features),
            # a made-up child with nothing recorded: shows the input shape, holds no real row
            input_example=pd.DataFrame(np.zeros((1, len(features))), columns=features),
            pip_requirements=["riskmodel"],
        )
        mlflow.set_tag("riskmodel.model_uri", info.model_uri)
        mlflow.set_tag(CHECKSUM_TAG, sha256_file(model_json))
        res.run_id = run.info.run_id
        return info.model_uri


def _log_reviews(res, matrix: pd.DataFrame, spec: TrainingSpec, tmp: Path) -> None:
    """Log the fairness and explanation reports of one candidate into its run."""
    import mlflow

    from ..evaluation import fairness_audit, write_explanation_report, write_fairness_report
    from ._replay import with_characteristics

    pred = with_characteristics(res.predictions.drop(columns=["flagged"]), matrix)
    cap = spec.capacity
    audit = fairness_audit(
        pred, label="label", score="score", cluster="family_id", random_state=spec.seed,
        top=f"{cap.top_percent:g}%" if cap.top_percent is not None else None,
        threshold=None if cap.top_percent is not None else _locality_threshold(res),
        source=f"test predictions of {res.name}",
    )
    fair_dir = tmp / f"fairness-{res.name}"
    write_fairness_report(audit, fair_dir, title=f"Fairness review: {spec.outcome} "
                          f"({res.name}), out-of-time test dates")
    labelled = matrix[matrix["label"].notna()]
    explain_path = tmp / f"explain-{res.name}" / "explain.html"
    write_explanation_report(res.model, labelled, explain_path, capacity=cap.model_dump(),
                             title=f"How the {spec.outcome} model ({res.name}) scores")
    with mlflow.start_run(run_id=res.run_id, nested=True):
        mlflow.log_artifacts(str(fair_dir), "fairness")
        mlflow.log_artifact(str(explain_path), "explain")


def _locality_threshold(res) -> float:
    """With per-locality capacity, the lowest score that was in capacity (fairness needs one)."""
    return float(res.predictions.loc[res.predictions["flagged"], "score"].min())


def register(outcome: str, model_uri: str, checksum: str, run_id: str) -> dict:
    """Register a model version; champion if there is none yet, else challenger."""
    import mlflow

    client = _client()
    mv = _call("registering the model", mlflow.register_model, model_uri, outcome)
    client.set_model_version_tag(outcome, mv.version, CHECKSUM_TAG, checksum)
    client.set_model_version_tag(outcome, mv.version, "riskmodel.run_id", run_id)
    aliases = client.get_registered_model(outcome).aliases or {}
    alias = "challenger" if "champion" in aliases else "champion"
    client.set_registered_model_alias(outcome, alias, mv.version)
    return {"name": outcome, "version": str(mv.version), "alias": alias,
            "uri": f"models:/{outcome}@{alias}"}


def train(data, spec=None, *, outcome: str = "escalation", register_best: bool = True,
          progress=None) -> TrainResult:
    """Train and judge every candidate of a spec, log each to MLflow, register the best.

    Parameters
    ----------
    data : path
        A council extract (folder or DuckDB file); a ``truth.parquet`` beside the tables
        (synthetic councils) adds the true probabilities as a reference row.
    spec : path or TrainingSpec, optional
        Default: the packaged spec for ``outcome``.
    register_best : bool, default=True
        Register the best passing candidate as a new version of the model named after the
        outcome (alias ``champion`` if there is none, else ``challenger``).
    progress : callable, optional
        Called with a short message after each step.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> data = generate_council(n_children=3000, seed=2, out=tempfile.mkdtemp())
    >>> result = train(data)  # doctest: +SKIP
    >>> result.leaderboard()[["candidate", "auc", "result"]]  # doctest: +SKIP
    """
    import mlflow

    say = progress or (lambda msg: None)
    if isinstance(spec, TrainingSpec):
        spec_obj = spec
        spec_text = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    else:
        spec_obj = load_training_spec(spec, outcome=outcome)
        spec_text = (Path(spec).read_text() if spec else
                     yaml.safe_dump(spec_obj.model_dump(mode="json"), sort_keys=False))
    from ._train import make_candidate

    for cand in spec_obj.candidates:  # a bad parameter fails now, before any slow work
        make_candidate(cand, calibration=spec_obj.calibration, seed=spec_obj.seed,
                       calibration_folds=spec_obj.calibration_folds)
    t0 = time.perf_counter()
    tables, matrix, features, fspec = build_training_matrix(data, spec_obj)
    say(f"built the matrix: {len(matrix):,} rows, {len(features)} features "
        f"({time.perf_counter() - t0:.1f}s)")
    truth = read_truth(data, outcome=spec_obj.outcome, horizon_months=spec_obj.horizon_months)
    if truth is not None:
        truth["as_of"] = truth["as_of"].astype(matrix["as_of"].dtype)
    result = evaluate_candidates(matrix, spec_obj, features=features, truth=truth, progress=say)
    result.fingerprint = data_fingerprint(tables)
    result.extra["matrix"] = matrix
    result.extra["features"] = features
    result.extra["feature_spec"] = fspec.model_dump(mode="json")
    _configure()
    exp_id = experiment_id(spec_obj.outcome)
    common_tags = {"riskmodel.outcome": spec_obj.outcome,
                   "riskmodel.data_fingerprint": result.fingerprint,
                   "riskmodel.git_commit": _git_commit(),
                   "riskmodel.test_dates": ",".join(str(d.date()) for d in result.test_dates)}
    best = best_passing(result)
    with tempfile.TemporaryDirectory() as tmp, _call(
        "starting the run", mlflow.start_run, run_name=f"train {spec_obj.outcome}",
        experiment_id=exp_id,
    ) as parent:
        tmp = Path(tmp)
        result.parent_run_id = parent.info.run_id
        mlflow.set_tags({**common_tags, "riskmodel.role": "training"})
        mlflow.log_params({"outcome": spec_obj.outcome, "n_rows": result.n_rows,
                           "n_features": len(features), "n_candidates": len(result.candidates)})
        board = result.leaderboard()
        board.to_csv(tmp / "leaderboard.csv", index=False)
        mlflow.log_artifact(str(tmp / "leaderboard.csv"))
        (tmp / "spec.yaml").write_text(spec_text)
        mlflow.log_artifact(str(tmp / "spec.yaml"))
        if result.truth is not None:
            mlflow.log_metrics({f"truth_{r.metric}": float(r.value)
                                for r in result.truth.metrics.itertuples() if np.isfinite(r.value)})
        uris = {}
        for res, cand in zip(result.candidates, spec_obj.candidates, strict=True):
            res.model = fit_final(matrix, features, cand, spec_obj)
            uris[res.name] = _log_candidate(res, res.model, spec_obj, spec_text, features,
                                            result.extra["feature_spec"], common_tags,
                                            parent.info.run_id, exp_id, tmp)
            say(f"logged {res.name} to MLflow")
        reviewed = best or max(result.candidates, key=lambda r: r.metrics.set_index(
            "metric").loc[spec_obj.select_by, "value"])
        _log_reviews(reviewed, matrix, spec_obj, tmp)
        say(f"logged the fairness and explanation reports for {reviewed.name}")
        if best is not None:
            mlflow.set_tag("riskmodel.best", best.name)
        if best is not None and register_best:
            checksum = sha256_file(tmp / best.name / MODEL_JSON)
            result.registered = register(spec_obj.outcome, uris[best.name], checksum,
                                         best.run_id)
            mlflow.set_tag("riskmodel.registered",
                           f"{result.registered['name']} v{result.registered['version']}")
            say(f"registered {best.name} as {spec_obj.outcome} "
                f"v{result.registered['version']} ({result.registered['alias']})")
    return result
