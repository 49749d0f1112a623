"""What training produced: each candidate's out-of-time evaluation and the leaderboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from riskmodel.models import CalibratedModel
from riskmodel.training._folds import DatePlan
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
    #: Metrics pooled over the selection folds (the final period's are ``metrics``).
    selection_metrics: pd.DataFrame | None = None
    #: Point metrics at each test date (selection and final), and their spread.
    per_date: pd.DataFrame | None = None
    #: Consecutive test dates: Jaccard of the capacity lists, rank correlation of scores.
    stability: pd.DataFrame | None = None
    #: Mean regret on the selection dates (0 = best on every date).
    regret: float = float("nan")
    fairness: dict = field(default_factory=dict)
    #: Each final-period metric's interval half-width: the families' part and the dates' part.
    half_widths: pd.DataFrame | None = None


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
    #: The candidate chosen on the selection folds (least regret), whatever its verdict.
    chosen: str | None = None
    #: The as-of dates of the final out-of-time period (empty: no period was held out).
    holdout_dates: list[pd.Timestamp] = field(default_factory=list)
    #: The chosen candidate's final-period AUC trained on a quarter, half and all the dates.
    learning_curve: pd.DataFrame | None = None
    #: Plain sentences: which bars this data cannot support, and what it would need.
    notes: list[str] = field(default_factory=list)
    #: The as-of dates that chose the model, the gap after them, and the final period.
    plan: DatePlan | None = None

    def leaderboard(self) -> pd.DataFrame:
        """One row per candidate (and the truth, when known) with intervals and PASS/FAIL."""
        rows = []
        for r in self.candidates + ([self.truth] if self.truth is not None else []):
            m = r.metrics.set_index("metric")
            row: dict[str, Any] = {"candidate": r.name, "kind": r.kind}
            for metric in m.index:
                row[metric] = m.loc[metric, "value"]
                row[f"{metric}_low"] = m.loc[metric, "low"]
                row[f"{metric}_high"] = m.loc[metric, "high"]
            row.update(r.fairness)
            row["result"] = ("PASS" if r.passed else "FAIL") if r.kind != "truth" else "reference"
            row["why"] = "; ".join(r.reasons)
            row["regret"] = r.regret
            row["chosen"] = r.name == self.chosen
            if r.per_date is not None and len(r.per_date) > 1:
                row["auc_spread"] = float(r.per_date["auc"].std(ddof=1))
            if r.stability is not None and len(r.stability):
                row["list_jaccard"] = float(r.stability["jaccard"].mean())
            rows.append(row)
        return pd.DataFrame(rows)

    def per_date(self) -> pd.DataFrame:
        """Every candidate's point metrics at every test date, with the period it belongs to."""
        held = set(self.holdout_dates)
        parts = []
        for r in self.candidates + ([self.truth] if self.truth is not None else []):
            if r.per_date is not None:
                part = r.per_date.copy()
                part.insert(0, "candidate", r.name)
                part["period"] = ["final" if d in held else "selection" for d in part["as_of"]]
                parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def best_passing(result: TrainResult) -> CandidateResult | None:
    """The chosen candidate if it passed every bar on the final period, else None.

    The choice is made on the selection folds only (least regret); a chosen candidate that
    fails is not swapped for another that passed, because choosing by the final period's
    verdict would make it a selection fold and its figures optimistic.
    """
    chosen = next((r for r in result.candidates if r.name == result.chosen), None)
    return chosen if chosen is not None and chosen.passed else None
