"""Rebuild a training run's out-of-time test predictions from the data, not from MLflow.

No child-level rows are stored in MLflow, so a fairness review of a run re-runs its
candidate's temporal folds on the same data (checked by fingerprint): same data, spec and
seed give the same predictions.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import yaml

from .._errors import InputError
from ._spec import TrainingSpec
from ._tracking import _call, _client
from ._train import data_fingerprint, fit_and_predict_folds, temporal_folds

CARRIED = ("locality", "ethnicity", "sex", "disability", "age_band", "imd_quintile")


def with_characteristics(predictions: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """Add the carried characteristics (and ACE/need columns for the profile) to predictions."""
    extra = [c for c in matrix.columns
             if c in CARRIED or c == "ace_total_all_count"
             or (c.startswith("contacts_need_") and c.endswith("_all_count"))]
    extra = [c for c in extra if c not in predictions.columns]
    return predictions.merge(matrix[["child_id", "as_of", *extra]], on=["child_id", "as_of"],
                             how="left", validate="one_to_one")


def run_test_predictions(run_id: str, data) -> pd.DataFrame:
    """The out-of-time test predictions of a candidate run, rebuilt from ``data``.

    Parameters
    ----------
    run_id : str
        An MLflow run of one candidate (``riskmodel compare`` lists them).
    data : path
        The extract the run was trained on; its fingerprint must match the run's.

    Returns
    -------
    DataFrame
        ``child_id``, ``family_id``, ``as_of``, ``label``, ``score``, ``fold`` and the carried
        characteristics (``ethnicity``, ``sex``, ``disability``, ``age_band``, ``locality``,
        ``imd_quintile``).
    """
    from ._run import build_training_matrix

    client = _client()
    try:
        run = _call("reading the run", client.get_run, run_id)
    except Exception:
        raise InputError(f"run: no MLflow run '{run_id}' in the tracking store") from None
    name = run.data.tags.get("riskmodel.candidate")
    if not name:
        raise InputError(f"run: '{run_id}' is not a riskmodel candidate run "
                         "(pick one from riskmodel compare)")
    local = _call("downloading the spec", mlflow.artifacts.download_artifacts,
                  run_id=run_id, artifact_path="spec.yaml")
    spec = TrainingSpec.model_validate(yaml.safe_load(Path(local).read_text()))
    candidate = next(c for c in spec.candidates if c.name == name)
    tables, matrix, features, _ = build_training_matrix(data, spec)
    expected = run.data.tags.get("riskmodel.data_fingerprint")
    if expected and data_fingerprint(tables) != expected:
        raise InputError(
            f"data: {data} is not the extract run {run_id} was trained on (fingerprint "
            f"{data_fingerprint(tables)[:12]} != {expected[:12]})"
        )
    labelled = matrix[matrix["label"].notna()].reset_index(drop=True)
    folds = temporal_folds(labelled["as_of"], labelled["family_id"],
                           n_folds=spec.splits.n_folds, horizon_months=spec.horizon_months)
    pred = fit_and_predict_folds(labelled, features, candidate, spec, folds)
    out = with_characteristics(pred, labelled)
    out.attrs["capacity"] = spec.capacity.model_dump()
    if spec.capacity.top_n_per_locality is not None:
        from ..evaluation._metrics import capacity_flags

        flags = capacity_flags(out, top_n_per_locality=spec.capacity.top_n_per_locality)
        out.attrs["capacity_threshold"] = float(out.loc[flags, "score"].min())
    return out
