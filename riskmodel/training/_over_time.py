"""Quality over time: per-date metrics, list stability, choice by regret, learning curves.

A model is chosen the way DSaPP's audition does it: on each selection date, each candidate's
*regret* is how far it falls short of the best candidate on that date; the candidate with the
least mean regret is chosen. The final out-of-time period (the spec's ``splits.holdout``
dates) is then used only to report and judge the chosen model, never to choose or tune it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from riskmodel.evaluation.metrics import evaluate_predictions
from riskmodel.training._judging import TOLERANCES

if TYPE_CHECKING:
    from riskmodel.training._result import CandidateResult

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


def _power(value: float, end: float, bar: float, date_part: float, side: str,
           n_children: int, n_final_dates: int) -> str:
    """The words of the power calculation for one bar the estimate clears."""
    need = (abs(value - end) / abs(value - bar)) ** 2
    return (f"; the interval (families resampled) narrows as one over the square root of the "
            f"children: its {side} end would reach the bar with about {need:.1f}x as many "
            f"children open to early help on the final dates ({n_children:,} here, "
            f"~{need * n_children:,.0f} then) at this model's quality. The date-to-date "
            f"part (a further half-width of {date_part:.3f} if the {n_final_dates} final dates "
            "were resampled too) is not in the pass interval; more years of data add "
            "training dates, not final dates")


def what_it_would_take(chosen: CandidateResult, thresholds: dict, *, n_children: int,
                       n_final_dates: int) -> list[str]:
    """Plain words on each bar of the chosen candidate, one line per bar: met, or not met and
    what it would take, from a power calculation with the families' and the dates' parts of
    the interval apart.

    The pass interval resamples families on the final period's fixed dates; its half-width
    narrows as one over the square root of the children, so a bar the estimate clears needs
    ``(half-width / (estimate - bar))^2`` times the children. The dates' part (the further
    half-width when the final dates are resampled too) narrows only with more final dates.
    A calibration tolerance (:data:`TOLERANCES`) is judged on the estimate, so its line says
    which way the model is off and whether the interval reaches back inside the tolerance
    (the miss may be this year's chance) or not. The gain over ``beat`` gets the same power
    calculation as a ``min_`` bar of 0.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> m = pd.DataFrame({"metric": ["auc"], "value": [0.74], "low": [0.69], "high": [0.79]})
    >>> h = pd.DataFrame({"metric": ["auc"], "family_half_width": [0.05],
    ...                   "date_half_width": [0.03]})
    >>> c = SimpleNamespace(name="gbm", metrics=m, half_widths=h)
    >>> what_it_would_take(c, {"min_auc": 0.70}, n_children=20000, n_final_dates=4)[0][:57]
    'auc: the bar of 0.7 is not met: gbm 0.740, 95% interval f'
    """
    m = chosen.metrics.set_index("metric")
    halves = (chosen.half_widths.set_index("metric") if chosen.half_widths is not None
              else pd.DataFrame())
    notes = []
    for key, bar in thresholds.items():
        if bar is None or key == "beat":
            continue
        kind, metric = key.split("_", 1)
        if metric not in m.index or not np.isfinite(m.loc[metric, "value"]):
            continue
        if metric in TOLERANCES:
            notes.append(_tolerance_note(chosen.name, metric, kind, bar, m.loc[metric]))
            continue
        date_part = (float(halves.loc[metric, "date_half_width"])
                     if metric in halves.index else float("nan"))
        notes.append(_bar_note(chosen.name, metric, kind, bar, m.loc[metric],
                               (date_part, n_children, n_final_dates)))
    if "auc_gain" in m.index and thresholds.get("beat"):
        notes.append(_beat_note(chosen.name, thresholds["beat"], m.loc["auc_gain"],
                                n_children))
    return notes


def _bar_note(name: str, metric: str, kind: str, bar: float, row: pd.Series,
              power: tuple[float, int, int]) -> str:
    """One quality bar, judged on its interval's conservative end: met, or what it would take
    (``power``: the date part of the half-width, the children, the final dates)."""
    value = float(row["value"])
    end = float(row["low"] if kind == "min" else row["high"])
    side = "from" if kind == "min" else "to"
    if end >= bar if kind == "min" else end <= bar:
        return f"{metric}: the bar of {bar:g} is met ({name} {value:.3f}, 95% interval " \
               f"{side} {end:.3f})"
    head = f"{metric}: the bar of {bar:g} is not met: {name} {value:.3f}, 95% interval " \
           f"{side} {end:.3f}"
    if (value <= bar) if kind == "min" else (value >= bar):
        return (f"{head}; the estimate itself misses the bar, so no council size would meet "
                "it with this model: it needs a better model, or the bar is above what this "
                "outcome allows")
    date_part, n_children, n_final_dates = power
    return head + _power(value, end, bar, date_part, "low" if kind == "min" else "high",
                         n_children, n_final_dates)


#: Which way a model is off when its estimate is outside a calibration tolerance.
_OFF = {("observed_expected", "min"): "it predicts too high: fewer children escalate than "
                                      "its scores expect",
        ("observed_expected", "max"): "it predicts too low: more children escalate than its "
                                      "scores expect",
        ("calibration_slope", "min"): "its scores are too extreme (spread too wide)",
        ("calibration_slope", "max"): "its scores are too timid (spread too narrow)"}


def _tolerance_note(name: str, metric: str, kind: str, bar: float, row: pd.Series) -> str:
    """One calibration tolerance, judged on the estimate."""
    value, low, high = float(row["value"]), float(row["low"]), float(row["high"])
    bound = "at least" if kind == "min" else "at most"
    text = f"{metric}: the tolerance ({bound} {bar:g}, judged on the estimate) is "
    figures = f"{name} {value:.3f}, 95% interval {low:.3f} to {high:.3f}"
    if value >= bar if kind == "min" else value <= bar:
        return f"{text}met ({figures})"
    base = "observed_expected" if metric.startswith("observed_expected") else metric
    where = " among the children in capacity" if metric.endswith("_at_capacity") else ""
    inside = high >= bar if kind == "min" else low <= bar
    chance = ("the interval reaches back inside the tolerance, so the miss may be this "
              "final period's chance; more children would make the estimate steadier"
              if inside else "the whole interval is outside, so a larger council would not "
              "change the verdict")
    return (f"{text}not met: {figures}; {_OFF[(base, kind)]}{where}; {chance}. What it takes "
            "is a model whose level and spread hold on later dates (recalibration, or "
            "features that do not drift), not a lower bar")


def _beat_note(name: str, beat: str, gain: pd.Series, n_children: int) -> str:
    """The paired AUC gain over the baseline: beaten, or what it would take."""
    value, low, high = float(gain["value"]), float(gain["low"]), float(gain["high"])
    text = (f"{name} {'beats' if low > 0 else 'does not beat'} {beat}: AUC {value:+.3f} on "
            f"the same rows (95% interval {low:+.3f} to {high:+.3f})")
    if low > 0:
        return text
    if value <= 0:
        return text + f"; its AUC is not above {beat}'s, so no council size would do"
    need = ((value - low) / value) ** 2
    return (text + f"; the paired interval (families resampled) would clear 0 with about "
            f"{need:.1f}x as many children open to early help on the final dates "
            f"({n_children:,} here, ~{need * n_children:,.0f} then)")
