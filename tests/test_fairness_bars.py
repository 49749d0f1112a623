"""Fairness before registration: a training spec's fairness bars, judged and shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from riskmodel import InputError
from riskmodel.jobs.train import _judge_fairness
from riskmodel.training import CandidateResult, TrainResult, load_training_spec
from riskmodel.training._display import leaderboard_table
from riskmodel.training._spec import FairnessBars


def _candidate(name, bias, seed=0, n=6000):
    """Out-of-time predictions where the score over-rates black children by ``bias``."""
    rng = np.random.default_rng(seed)
    eth = rng.choice(["white", "asian", "black"], n, p=[0.6, 0.25, 0.15])
    risk = rng.beta(2, 6, n)
    y = (rng.uniform(size=n) < risk).astype(int)
    score = np.clip(risk * np.where(eth == "black", bias, 1.0), 0, 1)
    pred = pd.DataFrame({"child_id": [f"c{i}" for i in range(n)],
                         "family_id": [f"f{i // 2}" for i in range(n)],
                         "as_of": pd.Timestamp("2024-01-01"), "label": y,
                         "locality": "north", "score": score})
    pred["flagged"] = pred["score"].rank(method="first", ascending=False) <= n // 10
    metrics = pd.DataFrame({"metric": ["auc"], "value": [0.7], "low": [0.68], "high": [0.72]})
    res = CandidateResult(name=name, kind="logistic", metrics=metrics,
                          by_locality=pd.DataFrame(), predictions=pred, passed=True, reasons=[])
    matrix = pred[["child_id", "as_of"]].assign(ethnicity=eth, sex=rng.choice(
        ["female", "male"], n))
    return res, matrix


def test_fairness_bars_stop_a_biased_candidate_and_the_leaderboard_shows_them():
    fair, matrix = _candidate("fair", 1.0)
    biased, _ = _candidate("biased", 2.5)
    spec = load_training_spec(outcome="escalation").model_copy(
        update={"fairness": FairnessBars(characteristics=["ethnicity", "sex"])})
    result = TrainResult(spec=spec, candidates=[fair, biased], truth=None, fingerprint="",
                         test_dates=[], n_rows=len(matrix))
    _judge_fairness(result, matrix, spec, lambda msg: None)
    assert fair.passed and fair.fairness["fairness_flags"] == 0
    assert not biased.passed and biased.fairness["fairness_flags"] >= 1
    assert any(r.startswith("fairness: ethnicity 'black'") for r in biased.reasons)
    board = result.leaderboard()
    assert board.set_index("candidate").loc["biased", "result"] == "FAIL"
    assert "fairness_flags" in board.columns and "black" in board.fairness_worst.iloc[1]
    board["base_rate"] = 0.2
    for m in ("average_precision", "brier", "calibration_error", "precision_at_capacity",
              "recall_at_capacity"):
        board[m] = np.nan
    console = Console(width=120, record=True)
    console.print(leaderboard_table(board, title="t", capacity="top 10%"))
    text = console.export_text()
    assert "fair." in text and "flags" in text and "black" in text


def test_without_bars_nothing_is_judged_and_a_bad_bar_is_one_line():
    fair, matrix = _candidate("fair", 1.0)
    spec = load_training_spec(outcome="escalation")
    assert spec.fairness is None
    result = TrainResult(spec=spec, candidates=[fair], truth=None, fingerprint="",
                         test_dates=[], n_rows=len(matrix))
    _judge_fairness(result, matrix, spec, lambda msg: None)
    assert fair.passed and fair.fairness == {}
    spec = spec.model_copy(update={"fairness": FairnessBars(characteristics=["religion"])})
    with pytest.raises(InputError, match="none of \\['religion'\\]"):
        _judge_fairness(result, matrix, spec, lambda msg: None)
