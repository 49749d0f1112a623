"""Quality over time: per-date metrics, list stability, choice by regret, learning curves.

A model is chosen the way DSaPP's audition does it: on each selection date, each candidate's
*regret* is how far it falls short of the best candidate on that date; the candidate with the
least mean regret is chosen. The final out-of-time period (the spec's ``splits.holdout``
dates) is then used only to report and judge the chosen model, never to choose or tune it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from riskmodel.evaluation.metrics import evaluate_predictions

PER_DATE = ("base_rate", "auc", "average_precision", "precision_at_capacity",
            "lift_at_capacity", "calibration_error")


def per_date_metrics(pred: pd.DataFrame) -> pd.DataFrame:
    """Point metrics of one candidate's test predictions at each as-of date.

    ``pred`` has ``as_of``, ``label``, ``score`` and ``flagged``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=400)
    >>> pred = pd.DataFrame({"as_of": np.repeat(["2024-01-01", "2024-04-01"], 200),
    ...                      "label": (rng.uniform(size=400) < p).astype(int), "score": p,
    ...                      "flagged": p > 0.9})
    >>> per_date_metrics(pred)[["as_of", "n"]].values.tolist()
    [['2024-01-01', 200], ['2024-04-01', 200]]
    """
    rows = []
    for date, part in pred.groupby("as_of", sort=True):
        m = evaluate_predictions(part["label"], part["score"], flags=part["flagged"],
                                 n_boot=0).set_index("metric")["value"]
        rows.append({"as_of": date, "n": len(part), **{k: float(m[k]) for k in PER_DATE}})
    return pd.DataFrame(rows)


def list_stability(pred: pd.DataFrame) -> pd.DataFrame:
    """How much the capacity list changes from one test date to the next.

    For each pair of consecutive dates, among the children scored at both: the Jaccard index
    of the two capacity lists (1 = the same children listed) and the rank correlation of their
    scores (Spearman).

    Examples
    --------
    >>> pred = pd.DataFrame({"as_of": ["a", "a", "a", "b", "b", "b"],
    ...                      "child_id": ["x", "y", "z", "x", "y", "z"],
    ...                      "score": [0.9, 0.5, 0.1, 0.8, 0.6, 0.2],
    ...                      "flagged": [True, False, False, True, True, False]})
    >>> list_stability(pred)[["jaccard", "rank_correlation"]].round(2).values.tolist()
    [[0.5, 1.0]]
    """
    dates = sorted(pred["as_of"].unique())
    rows = []
    for a, b in zip(dates, dates[1:], strict=False):
        left = pred[pred["as_of"] == a].set_index("child_id")
        right = pred[pred["as_of"] == b].set_index("child_id")
        both = left.index.intersection(right.index)
        if len(both) < 3:
            continue
        fa, fb = left.loc[both, "flagged"].astype(bool), right.loc[both, "flagged"].astype(bool)
        union = int((fa | fb).sum())
        rho = spearmanr(left.loc[both, "score"], right.loc[both, "score"]).statistic
        rows.append({"from": a, "to": b, "children_in_both": len(both),
                     "jaccard": float((fa & fb).sum() / union) if union else float("nan"),
                     "rank_correlation": float(rho)})
    return pd.DataFrame(rows, columns=["from", "to", "children_in_both", "jaccard",
                                       "rank_correlation"])


def regret(per_date: dict[str, pd.DataFrame], dates, metric: str) -> pd.Series:
    """Mean shortfall of each candidate from the best candidate on each of ``dates``.

    Examples
    --------
    >>> a = pd.DataFrame({"as_of": [1, 2], "auc": [0.70, 0.74]})
    >>> b = pd.DataFrame({"as_of": [1, 2], "auc": [0.72, 0.71]})
    >>> regret({"a": a, "b": b}, [1, 2], "auc").round(3).to_dict()
    {'a': 0.01, 'b': 0.015}
    """
    table = pd.DataFrame({name: df.set_index("as_of").loc[list(dates), metric]
                          for name, df in per_date.items()})
    return (table.max(axis=1).to_numpy()[:, None] - table).mean(axis=0)


def attainability(metrics: pd.DataFrame, curve: pd.DataFrame | None, thresholds: dict,
                  n_children: int) -> list[str]:
    """Plain words on whether each minimum bar can be met by any model at this size, one line
    per bar.

    The estimate: the chosen model's value, plus what one more doubling of the training data
    added in the learning curve (from half to all of it), less the interval's half-width at
    this size. A bar above that is one the data cannot support; the number of children it
    would need follows from intervals narrowing as one over the square root of the children.

    Examples
    --------
    >>> m = pd.DataFrame({"metric": ["auc"], "value": [0.69], "low": [0.67], "high": [0.71]})
    >>> attainability(m, None, {"min_auc": 0.70}, 20000)[0][:44]
    'auc: the data cannot support the bar of 0.7:'
    """
    notes = []
    m = metrics.set_index("metric")
    gain = 0.0
    if curve is not None and len(curve) >= 2 and "auc" in curve:
        gain = max(0.0, float(curve["auc"].iloc[-1] - curve["auc"].iloc[-2]))
    for key, bar in thresholds.items():
        if bar is None or not key.startswith("min_"):
            continue
        metric = key[4:]
        if metric not in m.index or not np.isfinite(m.loc[metric, "value"]):
            continue
        value, low = float(m.loc[metric, "value"]), float(m.loc[metric, "low"])
        half = max(value - low, 1e-9)
        best = value + (gain if metric == "auc" else 0.0)
        if low >= bar:
            notes.append(f"{metric}: the bar of {bar:g} is met (the chosen model {value:.3f}, "
                         f"95% interval from {low:.3f})")
            continue
        if best - half >= bar:
            notes.append(f"{metric}: the bar of {bar:g} is not met at this size (the chosen "
                         f"model {value:.3f}, 95% interval from {low:.3f}) but is within reach "
                         f"with about twice the training data (about {best:.3f}, interval "
                         f"from about {best - half:.3f})")
            continue
        if best <= bar:
            notes.append(f"{metric}: the data cannot support the bar of {bar:g}: the best "
                         f"attainable is about {best:.3f} even with twice the training data, "
                         "below the bar itself; no amount of data at this signal would meet it")
        else:
            need = (half / (best - bar)) ** 2
            notes.append(f"{metric}: the data cannot support the bar of {bar:g} at this size: "
                         f"the best attainable is about {best:.3f} with a 95% interval from "
                         f"about {best - half:.3f}; the interval's low end would reach the bar "
                         f"with about {need:.1f}x the children (~{need * n_children:,.0f}) "
                         "or as many more years of as-of dates")
    return notes
