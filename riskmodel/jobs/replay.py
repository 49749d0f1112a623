"""A training run's out-of-time test predictions, for reviewing the run after it ended.

Training stores each candidate's test scores in its run (``test_predictions.parquet``:
row positions, test dates and scores; no child ids, see :mod:`riskmodel.store`). A review
rebuilds the matrix from the same data (checked by fingerprint), checks that its labelled
rows are the ones the scores were stored for (one SHA-256 of their keys) and joins the scores
back by position. A run trained before the scores were stored, or whose rows no longer line
up, has its candidate refitted on its temporal folds instead: same data, spec and seed give
the same predictions.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import pandas as pd
import yaml

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel.features import FeatureSpec
from riskmodel.jobs._extract import (
    Extract,
    TrainingMatrix,
    feature_spec_of,
    training_matrix,
    with_characteristics,
)
from riskmodel.store import (
    RunInfo,
    StoredPredictions,
    get_run,
    predictions_bytes,
    read_test_predictions,
    read_text,
)
from riskmodel.training import (
    Candidate,
    TrainingSpec,
    fit_and_predict_folds,
    labelled_rows,
    temporal_folds,
)

KEYS = ["child_id", "as_of"]
#: The columns a prediction has that the matrix does not (the rest are the matrix's).
PREDICTED = ("score", "fold")


def rows_sha256(labelled: pd.DataFrame) -> str:
    """One SHA-256 of the labelled rows' keys (child and as-of date), in their order.

    It identifies no child: it only tells whether two matrices have the same rows in the
    same order.

    Examples
    --------
    >>> m = pd.DataFrame({"child_id": ["C1", "C2"], "as_of": pd.to_datetime(["2024-01-01"] * 2)})
    >>> rows_sha256(m) == rows_sha256(m.iloc[::-1])
    False
    """
    hashed = pd.util.hash_pandas_object(labelled[KEYS], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def stored_predictions(predictions: pd.DataFrame, matrix: pd.DataFrame) -> bytes:
    """The artefact training logs for a candidate: its test scores keyed by row position.

    Parameters
    ----------
    predictions : DataFrame
        The candidate's out-of-time predictions (``child_id``, ``as_of``, ``score``,
        ``fold`` and matrix columns), as training made them.
    matrix : DataFrame
        The training matrix they were made on (its labelled rows are the positions).

    Returns
    -------
    bytes
        ``test_predictions.parquet`` (see :func:`riskmodel.store.predictions_bytes`).

    Examples
    --------
    >>> m = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "label": [0, None, 1],
    ...                   "as_of": pd.to_datetime(["2024-01-01"] * 3)})
    >>> p = m.iloc[[2]].assign(score=0.4, fold="2024-01-01")
    >>> from riskmodel.store import read_predictions_bytes
    >>> read_predictions_bytes(stored_predictions(p, m)).frame.row.tolist()
    [1]
    """
    keys = labelled_rows(matrix[[*KEYS, "label"]])[KEYS]
    rows = predictions[KEYS].merge(keys.assign(row=range(len(keys))), on=KEYS, how="left",
                                   validate="one_to_one")["row"]
    if rows.isna().any():
        raise ValueError("stored predictions: a predicted row is not a labelled matrix row")
    frame = pd.DataFrame({"row": rows.to_numpy(dtype="int64"),
                          "fold": predictions["fold"].astype(str).to_numpy(),
                          "score": predictions["score"].to_numpy(dtype="float64")})
    taken = [c for c in predictions.columns if c in matrix.columns or c in PREDICTED]
    return predictions_bytes(frame, rows_sha256=rows_sha256(keys), columns=taken)


def _rejoined(stored: StoredPredictions, labelled: pd.DataFrame) -> pd.DataFrame | None:
    """The stored scores on the rebuilt rows, as training's predictions were; None when the
    rows do not line up (another matrix) or a carried column is missing."""
    taken = [c for c in stored.columns if c not in PREDICTED]
    if (stored.rows_sha256 != rows_sha256(labelled) or not taken
            or any(c not in labelled.columns for c in taken)):
        return None
    out = labelled[taken].iloc[stored.frame["row"].to_numpy()].reset_index(drop=True)
    out["score"] = stored.frame["score"].to_numpy()
    out["fold"] = stored.frame["fold"]
    out["label"] = out["label"].astype(int)
    return out[[c for c in stored.columns if c in out.columns]]


def _run_spec(run_id: str) -> tuple[RunInfo, TrainingSpec, Candidate]:
    """The run, its training spec and its candidate's entry in the spec."""
    run = get_run(run_id)
    name = run.tags.candidate
    if not name:
        raise InputError(f"run: '{run_id}' is not a riskmodel candidate run "
                         "(pick one from riskmodel compare)")
    text = read_text(run.run_id, "spec.yaml")
    if text is None:
        raise InputError(f"run: '{run_id}' has no spec.yaml (it was not logged by riskmodel)")
    spec = TrainingSpec.model_validate(yaml.safe_load(text))
    return run, spec, next(c for c in spec.candidates if c.name == name)


def run_test_predictions(run_id: str, data: str | os.PathLike | Extract, *, refit: bool = False,
                         progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The out-of-time test predictions of a candidate run, on the rows of ``data``.

    Parameters
    ----------
    run_id : str
        An MLflow run of one candidate (``riskmodel compare`` lists them; its first 8 or more
        characters will do).
    data : path or Extract
        The extract the run was trained on (or it, opened); its fingerprint must match the
        run's.
    refit : bool, default=False
        Refit the candidate on its temporal folds even when the run stored its scores.
    progress : callable, optional
        Called with a short message when the candidate has to be refitted.

    Returns
    -------
    DataFrame
        ``child_id``, ``family_id``, ``as_of``, ``label``, ``score``, ``fold`` and the carried
        characteristics (``ethnicity``, ``sex``, ``disability``, ``age_band``, ``locality``,
        ``imd_quintile``); the same rows, order and scores whether stored or refitted.

    Examples
    --------
    >>> frame = run_test_predictions("0123abcd", "council/")  # doctest: +SKIP
    """
    say = progress or (lambda msg: None)
    run, spec, candidate = _run_spec(run_id)
    stored = None if refit else read_test_predictions(run.run_id)
    # stored scores need only the cohort, labels and carried columns: the rest is not built
    tm = _checked_matrix(run, spec, data, None if stored is None else review_spec(spec))
    labelled = labelled_rows(tm.matrix)
    pred = None if stored is None else _rejoined(stored, labelled)
    if pred is None:
        if stored is not None:  # rows that do not line up: the whole matrix, to refit on
            tm = _checked_matrix(run, spec, tm.extract, None)
            labelled = labelled_rows(tm.matrix)
        folds = temporal_folds(labelled["as_of"], n_folds=spec.splits.n_folds,
                               horizon_months=spec.horizon_months,
                               holdout=spec.splits.holdout,
                               lag_days=spec.as_of.recording_lag_days)
        if not refit:
            say(f"refitting {candidate.name} on its {len(folds)} out-of-time folds (the run "
                "stored no test scores for these rows)…")
        pred = fit_and_predict_folds(labelled, tm.features, candidate, spec, folds)
    return _with_capacity(with_characteristics(pred, labelled), spec)


def review_spec(spec: TrainingSpec) -> FeatureSpec:
    """The run's feature spec cut to what a review of its stored scores reads besides the
    cohort, labels and carried columns: the cohort profile's counts over all time (the ACE
    count and contacts by need, :func:`~riskmodel.jobs._extract.with_characteristics`).

    The other builders are switched off and these two keep only their ``all`` window, so the
    matrix has the same rows and, in these columns, the same values as the full one
    (``tests/test_replay.py`` compares the reports). The schedule of as-of dates still
    follows the full spec (:func:`training_matrix`).

    Examples
    --------
    >>> from riskmodel.training import load_training_spec
    >>> fs = review_spec(load_training_spec(outcome="escalation"))
    >>> [n for n, b in fs.builders if b.enabled], fs.builders.contacts.windows
    (['ace', 'contacts'], ['all'])
    """
    fspec = feature_spec_of(spec)
    full = fspec.builders
    parts = {name: part.model_copy(update={"enabled": False}) for name, part in full}
    for name in ("ace", "contacts"):
        parts[name] = getattr(full, name).model_copy(update={"windows": ["all"]})
    return fspec.model_copy(update={"builders": full.model_copy(update=parts)})


def _checked_matrix(run: RunInfo, spec: TrainingSpec, data: str | os.PathLike | Extract,
                    feature_spec: FeatureSpec | None) -> TrainingMatrix:
    """The run's matrix on ``data`` (with ``feature_spec``'s features, given one), after
    checking that ``data`` is the extract the run was trained on (its fingerprint)."""
    tm = training_matrix(data, spec, feature_spec=feature_spec)
    expected = run.tags.data_fingerprint
    if expected and tm.extract.fingerprint != expected:
        raise InputError(
            f"data: {tm.extract.source} is not the extract run {run.run_id} was trained on "
            "(fingerprint "
            f"{tm.extract.fingerprint[:12]} != {expected[:12]})"
        )
    return tm


def _with_capacity(out: pd.DataFrame, spec: TrainingSpec) -> pd.DataFrame:
    """The run's capacity (and, per locality, the lowest score it flagged) in ``attrs``."""
    out.attrs["capacity"] = spec.capacity.model_dump()
    if Capacity.from_spec(spec.capacity).per_locality:
        flags = Capacity.from_spec(spec.capacity).select(out)
        out.attrs["capacity_threshold"] = float(out.loc[flags, "score"].min())
    return out
