"""Rebuild a training run's out-of-time test predictions from the data, not from MLflow.

No child-level rows are stored in MLflow, so a fairness review of a run re-runs its
candidate's temporal folds on the same data (checked by fingerprint): same data, spec and
seed give the same predictions.
"""

from __future__ import annotations

import pandas as pd
import yaml

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel.jobs._extract import training_matrix, with_characteristics
from riskmodel.store import get_run, read_text
from riskmodel.training import TrainingSpec, fit_and_predict_folds, temporal_folds


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

    Examples
    --------
    >>> frame = run_test_predictions("0123abcd", "council/")  # doctest: +SKIP
    """
    run = get_run(run_id)
    name = run.tags.candidate
    if not name:
        raise InputError(f"run: '{run_id}' is not a riskmodel candidate run "
                         "(pick one from riskmodel compare)")
    text = read_text(run_id, "spec.yaml")
    if text is None:
        raise InputError(f"run: '{run_id}' has no spec.yaml (it was not logged by riskmodel)")
    spec = TrainingSpec.model_validate(yaml.safe_load(text))
    candidate = next(c for c in spec.candidates if c.name == name)
    tm = training_matrix(data, spec)
    expected = run.tags.data_fingerprint
    if expected and tm.extract.fingerprint != expected:
        raise InputError(
            f"data: {data} is not the extract run {run_id} was trained on (fingerprint "
            f"{tm.extract.fingerprint[:12]} != {expected[:12]})"
        )
    labelled = tm.matrix[tm.matrix["label"].notna()].reset_index(drop=True)
    folds = temporal_folds(labelled["as_of"], n_folds=spec.splits.n_folds,
                           horizon_months=spec.horizon_months, holdout=spec.splits.holdout,
                           lag_days=spec.as_of.recording_lag_days)
    pred = fit_and_predict_folds(labelled, tm.features, candidate, spec, folds)
    out = with_characteristics(pred, labelled)
    out.attrs["capacity"] = spec.capacity.model_dump()
    if Capacity.from_spec(spec.capacity).per_locality:
        flags = Capacity.from_spec(spec.capacity).select(out)
        out.attrs["capacity_threshold"] = float(out.loc[flags, "score"].min())
    return out
