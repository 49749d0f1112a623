"""Kept for callers of the old path: the metrics now live in :mod:`riskmodel.evaluation.metrics`
(one definition of each measure and one bootstrap)."""

from __future__ import annotations

import numpy as np

from riskmodel.evaluation.metrics import (
    METRICS,
    ScoreCurve,
    capacity_flags,
    evaluate_predictions,
    expected_calibration_error,
    top_k_flags,
)

__all__ = ["METRICS", "capacity_flags", "evaluate_predictions", "expected_calibration_error",
           "top_k_flags"]


class _Sorted(ScoreCurve):
    """The kernel's :class:`ScoreCurve`, one resample at a time (for older tests)."""

    def metrics(self, w: np.ndarray) -> dict[str, float]:
        return {m: float(v[0]) for m, v in self.measures(np.asarray(w)[None], only=METRICS)
                .items()}
