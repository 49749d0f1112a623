"""Per-group measures from weighted counts (AUC and calibration on every bootstrap resample),
and fairlearn's MetricFrame of the rates (the tests check the report's rates against it).

Every measure of every group of one table comes from one pass of bincounts over the rows'
weights, so a bootstrap resample costs a few array operations, not a pandas group-by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Per-group measures, in table order.
MEASURES = (
    "base_rate", "selection_rate", "true_positive_rate", "false_negative_rate",
    "false_positive_rate", "precision", "auc", "calibration", "calibration_error",
)
PROBABILITY_MEASURES = ("calibration", "calibration_error")


FAIRLEARN_MEASURES = (
    "base_rate", "selection_rate", "true_positive_rate", "false_negative_rate",
    "false_positive_rate", "precision",
)


def _cells(y: np.ndarray, f: np.ndarray, codes: np.ndarray, n_groups: int, w=None) -> np.ndarray:
    """Weighted counts per group: columns TN, FP, FN, TP (index 2 * label + flag)."""
    key = codes * 4 + (2 * y + f).astype(np.int64)
    return np.bincount(key, weights=w, minlength=n_groups * 4).reshape(n_groups, 4)


class Prepared:
    """Per-table sort orders that make AUC and calibration error one pass of bincounts."""

    def __init__(self, codes, n_groups, y, s):
        self.codes, self.g = codes, n_groups
        order = np.lexsort((np.arange(len(s)), s, codes))
        self.order = order
        sc, gc = s[order], codes[order]
        new = np.ones(len(order), bool)
        new[1:] = (sc[1:] != sc[:-1]) | (gc[1:] != gc[:-1])
        level = np.cumsum(new) - 1                      # (group, score) level per sorted row
        self.level_of_sorted = level
        self.n_levels = int(level[-1] + 1) if len(level) else 0
        self.level_group = gc[new]
        self.group_first_level = np.searchsorted(self.level_group, np.arange(n_groups))
        self.group_sorted = gc
        self.group_start = np.searchsorted(gc, np.arange(n_groups))
        self.y_sorted, self.s_sorted = y[order], sc


def group_measures(y, f, s, prep: Prepared, w, probabilities: bool) -> np.ndarray:
    """All measures for every group of one table, for row weights ``w`` (groups x measures)."""
    g = prep.g
    with np.errstate(divide="ignore", invalid="ignore"):
        tn, fp, fn, tp = _cells(y, f, prep.codes, g, w).T
        n = tn + fp + fn + tp
        pos, neg = fn + tp, tn + fp
        out = np.full((g, len(MEASURES)), np.nan)
        out[:, 0] = pos / n
        out[:, 1] = (fp + tp) / n
        out[:, 2] = tp / pos
        out[:, 3] = fn / pos
        out[:, 4] = fp / neg
        out[:, 5] = tp / (tp + fp)
        ws = w[prep.order] if w is not None else np.ones(len(prep.order))
        if prep.n_levels:
            p_lv = np.bincount(prep.level_of_sorted, ws * prep.y_sorted, prep.n_levels)
            n_lv = np.bincount(prep.level_of_sorted, ws * (1 - prep.y_sorted), prep.n_levels)
            below = np.cumsum(n_lv) - n_lv
            start = below[np.minimum(prep.group_first_level, prep.n_levels - 1)]
            below = below - start[prep.level_group]
            num = np.bincount(prep.level_group, p_lv * (below + 0.5 * n_lv), g)
            auc = num / (pos * neg)
            out[:, 6] = np.where((pos > 0) & (neg > 0), auc, np.nan)
        if probabilities:
            wsum_s = np.bincount(prep.group_sorted, ws * prep.s_sorted, g)
            out[:, 7] = np.where(wsum_s > 0, pos / wsum_s, np.nan)
            # Calibration error as in _metrics: equal-weight bins within each group.
            before = np.concatenate([[0.0], np.cumsum(ws)])
            cum = before[1:] - before[prep.group_start][prep.group_sorted]
            tot = np.bincount(prep.group_sorted, ws, g)
            bins = np.minimum((cum - ws / 2) / tot[prep.group_sorted] * 10, 9)
            bins = np.nan_to_num(bins, nan=0).astype(np.int64)
            key = prep.group_sorted * 10 + bins
            py = np.bincount(key, ws * prep.s_sorted, g * 10).reshape(g, 10)
            yy = np.bincount(key, ws * prep.y_sorted, g * 10).reshape(g, 10)
            out[:, 8] = np.where(tot > 0, np.abs(py - yy).sum(axis=1) / tot, np.nan)
    return out


def fairlearn_frame(codes: np.ndarray, y, f):
    """fairlearn's MetricFrame of the confusion-table rates for one table's groups.

    ``codes`` is the group index of every row. Only ``y_true`` and ``y_pred`` are passed:
    MetricFrame copies every argument element by element for every group, so scores (for AUC
    and calibration) are handled by :func:`group_measures`, whose definitions the tests check
    against scikit-learn's.
    """
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    def base_rate(y_true, y_pred):
        return float(np.mean(y_true))

    def precision(y_true, y_pred):
        flagged = np.asarray(y_pred) == 1
        return float(np.mean(np.asarray(y_true)[flagged])) if flagged.any() else np.nan

    fns = {
        "base_rate": base_rate,
        "selection_rate": lambda yt, yp: selection_rate(yt, yp, pos_label=1),
        "true_positive_rate": lambda yt, yp: true_positive_rate(yt, yp, pos_label=1),
        "false_negative_rate": lambda yt, yp: false_negative_rate(yt, yp, pos_label=1),
        "false_positive_rate": lambda yt, yp: false_positive_rate(yt, yp, pos_label=1),
        "precision": precision,
    }
    return MetricFrame(metrics=fns, y_true=y.astype(int), y_pred=f.astype(int),
                       sensitive_features=pd.Series(codes, name="group"))
