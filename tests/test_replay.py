"""A review of a training run reads the test scores training stored, and finds the same.

Training logs each candidate's out-of-time test scores (row positions, test dates, scores:
nothing identifying) in its run; ``riskmodel fairness --run`` joins them back to the rebuilt
matrix instead of refitting the candidate. A run trained before that (no artefact) is still
reviewed, by refitting, and both ways give the same report.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.jobs.replay import _rejoined, rows_sha256, stored_predictions
from riskmodel.store import TEST_PREDICTIONS, predictions_bytes, read_predictions_bytes

from helpers.privacy import assert_names_no_child


def _matrix(n: int, seed: int) -> pd.DataFrame:
    """A made-up training matrix: ids, four as-of dates, some labels unknown."""
    rng = np.random.default_rng(seed)
    m = pd.DataFrame({
        "child_id": [f"C{i // 4:07d}" for i in range(n)],
        "family_id": [f"F{i // 12:07d}" for i in range(n)],
        "as_of": pd.to_datetime("2023-01-01") + pd.to_timedelta(
            [91 * (i % 4) for i in range(n)], unit="D"),
        "label": np.where(rng.uniform(size=n) < 0.2, np.nan, rng.integers(0, 2, n)),
        "locality": rng.choice(["north", "south"], n),
        "x": rng.normal(size=n),
    })
    return m


@settings(max_examples=20, deadline=None)
@given(n=st.integers(8, 120), seed=st.integers(0, 10_000), share=st.floats(0.1, 1.0))
def test_stored_scores_come_back_on_the_same_rows_in_the_same_order(n, seed, share):
    m = _matrix(n, seed)
    labelled = m[m.label.notna()].reset_index(drop=True)
    rng = np.random.default_rng(seed + 1)
    picked = rng.permutation(len(labelled))[:max(1, int(share * len(labelled)))]
    pred = labelled.iloc[picked][["child_id", "family_id", "as_of", "label", "locality"]]
    pred = pred.reset_index(drop=True).assign(label=lambda d: d.label.astype(int))
    pred["score"] = rng.uniform(size=len(pred))
    pred["fold"] = pred["as_of"].dt.strftime("%Y-%m-%d").astype(str)
    pred["flagged"] = pred["score"] > 0.5  # not a matrix column: not carried
    data = stored_predictions(pred, m)
    stored = read_predictions_bytes(data)
    assert list(stored.frame.columns) == ["row", "fold", "score"]
    # nothing identifying in the bytes (ids, and no date but the as-of dates)
    assert_names_no_child(data.decode("latin-1") + stored.frame.to_csv(),
                          m.assign(date_of_birth=pd.NaT))
    back = _rejoined(stored, labelled)
    pd.testing.assert_frame_equal(back, pred.drop(columns="flagged"))
    # another matrix (a row more, or rows in another order) is not joined to
    if len(labelled) > 1:
        assert _rejoined(stored, labelled.iloc[::-1].reset_index(drop=True)) is None
        assert rows_sha256(labelled.iloc[1:]) != stored.rows_sha256


def test_the_artefact_refuses_anything_but_positions_dates_and_scores():
    ok = pd.DataFrame({"row": [0, 1], "fold": ["2024-01-01"] * 2, "score": [0.1, 0.2]})
    predictions_bytes(ok, rows_sha256="0" * 64)
    for bad in (ok.assign(child_id=["C1", "C2"]),
                ok.rename(columns={"row": "child_id"}),
                ok.assign(fold=["C0000001", "C0000002"]),
                ok.assign(row=[-1, 0]),
                ok.assign(score=["a", "b"])):
        with pytest.raises(ValueError, match="stored test predictions"):
            predictions_bytes(bad, rows_sha256="0" * 64)
    with pytest.raises(ValueError, match="SHA-256"):
        predictions_bytes(ok, rows_sha256="C0000001")


def _artefact(run_id: str) -> Path:
    import mlflow

    uri = mlflow.MlflowClient().get_run(run_id).info.artifact_uri
    assert uri.startswith("file://"), uri
    return Path(urllib.parse.urlparse(uri).path) / TEST_PREDICTIONS


@pytest.mark.slow  # a refit of the candidate and two audits: about 40 s of CPU
def test_a_review_reads_the_stored_scores_and_an_old_run_is_refitted_to_the_same(
        trained, council, tmp_path, monkeypatch):
    from riskmodel.evaluation import AuditOptions
    from riskmodel.jobs import fairness_report, replay, run_test_predictions

    cand = next(c for c in trained.candidates if c.name == "lightgbm")
    path = _artefact(cand.run_id)
    assert path.is_file(), "training stored no test scores in the candidate's run"
    options = AuditOptions(label="label", score="score", sensitive=["sex", "ethnicity"])

    def refit_forbidden(*args, **kwargs):
        raise AssertionError("the stored scores were not used: the candidate was refitted")

    with monkeypatch.context() as m:
        m.setattr(replay, "fit_and_predict_folds", refit_forbidden)
        stored = run_test_predictions(cand.run_id[:10], council)
        fairness_report(options, tmp_path / "stored", run=cand.run_id, data=council)
    # the scores training made, on the same rows
    made = cand.predictions.drop(columns="flagged").reset_index(drop=True)
    pd.testing.assert_frame_equal(stored[made.columns], made)

    said: list[str] = []
    original = path.read_bytes()
    try:
        path.unlink()  # a run trained before the scores were stored
        old = run_test_predictions(cand.run_id, council, progress=said.append)
        fairness_report(options, tmp_path / "old", run=cand.run_id, data=council)
    finally:
        path.write_bytes(original)
    assert said and said[0].startswith("refitting lightgbm on its ")
    pd.testing.assert_frame_equal(old, stored)
    assert stored.attrs == old.attrs
    doc = {k: json.loads((tmp_path / k / "fairness.json").read_text()) for k in ("stored", "old")}
    assert doc["stored"]["findings"], "the report found nothing to compare"
    assert doc["stored"] == doc["old"]


def test_a_review_builds_only_the_columns_it_reads_with_the_full_matrix_values(council):
    """A review of stored scores builds the matrix with two builders on one window
    (``review_spec``): the same rows, and every column the review carries (characteristics,
    the profile's ACE and need counts) as the full matrix has it."""
    from riskmodel.jobs._extract import open_extract, training_matrix, with_characteristics
    from riskmodel.jobs.replay import review_spec
    from riskmodel.training import load_training_spec

    spec = load_training_spec(outcome="escalation")
    extract = open_extract(council)
    full = training_matrix(extract, spec).matrix
    review = training_matrix(extract, spec, feature_spec=review_spec(spec)).matrix
    assert len(review.columns) < len(full.columns) / 2, "the review built the whole matrix"
    pd.testing.assert_frame_equal(review, full[review.columns])
    keys = ["child_id", "as_of"]
    carried = with_characteristics(review[keys], review)
    assert any(c.startswith("contacts_need_") for c in carried.columns)
    assert "ace_total_all_count" in carried.columns
    pd.testing.assert_frame_equal(carried, with_characteristics(full[keys], full))
