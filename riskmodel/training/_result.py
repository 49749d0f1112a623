"""What training produced: each candidate's out-of-time evaluation and the leaderboard."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from riskmodel.models import CalibratedModel
from riskmodel.training._spec import TrainingSpec


@dataclass
class CandidateResult:
    """One candidate's out-of-time evaluation."""

    name: str
    kind: str
    metrics: pd.DataFrame
    by_locality: pd.DataFrame
    predictions: pd.DataFrame
    passed: bool
    reasons: list[str]
    model: CalibratedModel | None = None
    run_id: str | None = None
    fairness: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    """What ``train`` produced: a leaderboard, each candidate, and what was registered."""

    spec: TrainingSpec
    candidates: list[CandidateResult]
    truth: CandidateResult | None
    fingerprint: str
    test_dates: list[pd.Timestamp]
    n_rows: int
    registered: dict | None = None
    parent_run_id: str | None = None
    extra: dict = field(default_factory=dict)

    def leaderboard(self) -> pd.DataFrame:
        """One row per candidate (and the truth, when known) with intervals and PASS/FAIL."""
        rows = []
        for r in self.candidates + ([self.truth] if self.truth is not None else []):
            m = r.metrics.set_index("metric")
            row = {"candidate": r.name, "kind": r.kind}
            for metric in m.index:
                row[metric] = m.loc[metric, "value"]
                row[f"{metric}_low"] = m.loc[metric, "low"]
                row[f"{metric}_high"] = m.loc[metric, "high"]
            row.update(r.fairness)
            row["result"] = ("PASS" if r.passed else "FAIL") if r.kind != "truth" else "reference"
            row["why"] = "; ".join(r.reasons)
            rows.append(row)
        return pd.DataFrame(rows)


def best_passing(result: TrainResult) -> CandidateResult | None:
    """The passing candidate with the best ``select_by`` metric, or None."""
    metric = result.spec.select_by
    passing = [r for r in result.candidates if r.passed]
    if not passing:
        return None
    return max(passing, key=lambda r: r.metrics.set_index("metric").loc[metric, "value"])
