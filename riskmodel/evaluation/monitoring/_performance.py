"""Performance: realised once outcomes have matured, estimated before, and early outcomes.

- :func:`realised`: for a scoring month whose outcome window has closed, AUC, calibration
  error, precision and recall at capacity and outcomes observed over expected, each with a
  family-clustered 95% interval (:func:`riskmodel.evaluation._metrics.evaluate_predictions`),
  judged against the model card's promise (its out-of-time test metrics) on the conservative
  end of the interval.
- :func:`by_group`: the same by protected group, with each group's missed share and
  observed-over-expected as ratios to the reference (the rest of the cohort or a named group,
  as the fairness report compares), the fairness policy's tolerance, and the counts
  cell-key rounded by the fairness report's path.
- :func:`estimate`: before outcomes mature, the performance the calibrated scores imply if
  they stay calibrated (NannyML's confidence-based performance estimation, CBPE): an
  *estimate*, blind to a change in risk itself.
- :func:`early_outcomes`: outcomes in the first month after last month's list against what
  the scores and the training data's timing of outcomes lead one to expect: the first sign of
  a change in risk, months before the window closes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from riskmodel.evaluation.metrics import evaluate_predictions
from riskmodel.evaluation.monitoring._bootstrap import bootstrap, bootstrap_sets
from riskmodel.evaluation.monitoring._publish import (
    CELLS,
    group_cells,
    is_small,
    publish_measures,
    publish_ratios,
    rounded,
)

EVERYONE = -1  # the reference "everyone": the rest of the cohort, as the fairness report
LEAD = ("auc", "calibration_error", "precision_at_capacity", "recall_at_capacity")
WORDS = {"auc": "AUC", "calibration_error": "calibration error",
         "precision_at_capacity": "precision at capacity",
         "recall_at_capacity": "recall at capacity",
         "observed_over_expected": "outcomes observed over expected",
         "base_rate": "base rate"}


def _promised(promise, metric):
    for row in promise or []:
        if isinstance(row, dict) and row.get("metric") == metric:
            return row
    return None


#: How far each measure may move, and which way is worse: (policy bar, kind).
_BARS = {"auc": ("auc_drop", "drop"), "calibration_error": ("calibration_error_rise", "rise"),
         "precision_at_capacity": ("precision_drop", "share"),
         "recall_at_capacity": ("recall_drop", "share"),
         "observed_over_expected": (None, "log")}
#: Power at which the smallest detectable change is given (8 times in 10).
Z_POWER = float(stats.norm.isf(0.2))


def _se(m: dict) -> float:
    """A standard error from a 95% interval (0 when there is none)."""
    lo, hi = m.get("low"), m.get("high")
    if lo is None or hi is None or not np.isfinite(lo) or not np.isfinite(hi):
        return 0.0
    return float(hi - lo) / 3.92


def _change(metric: str, m: dict, p: dict | None, bars,
            outcome_ratio: float) -> tuple[float, float, float] | None:
    """(change in the worse direction, its standard error, the bar) or None."""
    bar_key, kind = _BARS[metric]
    v, se = m["value"], _se(m)
    if kind == "log":
        return abs(math.log(v)) if v > 0 else math.inf, se / max(v, 1e-12), \
            math.log(outcome_ratio)
    if p is None or not np.isfinite(p.get("value", math.nan)):
        return None
    w, se_p = p["value"], _se(p)
    bar = getattr(bars, str(bar_key))
    if kind == "drop":
        return w - v, math.hypot(se, se_p), bar
    if kind == "rise":
        return v - w, math.hypot(se, se_p), bar
    if w <= 0:
        return None
    return 1 - v / w, math.hypot(se / w, se_p * v / w ** 2), bar


def judge(metrics: dict, promise, bars, *, outcome_ratio: float, alpha: float = 0.001,
          against: str = "the promised") -> list[dict]:
    """Each measure against the promise (or a reference estimate): size and significance.

    A measure falls ``short`` when it moved the worse way by at least the policy's bar and
    that is unlikely by chance (one-sided normal test at ``alpha`` with the standard errors
    of both figures read off their 95% intervals; two-sided for outcomes observed over
    expected, whose promise is 1). ``smallest`` is the change this much data would show 8
    times in 10: the bar, or more when the intervals are wide.

    Examples
    --------
    >>> from riskmodel.evaluation.fairness import MonitoringThresholds
    >>> bars = MonitoringThresholds().performance
    >>> out = judge({"auc": {"value": 0.6, "low": 0.55, "high": 0.65}},
    ...             [{"metric": "auc", "value": 0.78, "low": 0.74, "high": 0.81}],
    ...             bars, outcome_ratio=1.5)
    >>> out[0]["short"], round(float(out[0]["smallest"]), 3)
    (True, 0.122)
    >>> out[0]["text"]
    'AUC 0.600 (0.550-0.650) against the promised 0.780: 0.180 worse (p = 4e-09)'
    """
    out = []
    for metric, m in metrics.items():
        if metric not in _BARS or m is None or m.get("hidden") or not np.isfinite(
                m.get("value", math.nan)):
            continue
        p = _promised(promise, metric)
        got = _change(metric, m, p, bars, outcome_ratio)
        if got is None:
            continue
        change, se, bar = got
        two = _BARS[metric][1] == "log"
        pv = float((2 if two else 1) * stats.norm.sf(change / se)) if se > 0 else \
            float(change > 0)
        z = stats.norm.isf(alpha / (2 if two else 1))
        short = bool(change >= bar and pv < alpha)
        text = f"{WORDS.get(metric, metric)} {m['value']:.3f} ({m['low']:.3f}-{m['high']:.3f})"
        text += "" if two else f" against {against} {p['value']:.3f}"
        text += (f": {change:.3f} worse (p = {pv:.1g})" if short and not two else
                 ": the scores no longer match how often the outcome happens" if short else "")
        out.append({"metric": metric, "value": m["value"], "change": change, "p": pv,
                    "bar": bar, "smallest": float(max(bar, (z + Z_POWER) * se)), "short": short,
                    "text": text})
    return out


def realised(y, p, flags, families=None, *, n_boot: int = 200, seed: int = 0,
             min_count: int = 5, draws: dict | None = None, ids=None,
             cells: pd.Series | None = None) -> dict:
    """Realised performance of one matured scoring month.

    Parameters
    ----------
    y : array-like of 0/1
        The outcome within the horizon.
    p : array-like of float
        The calibrated scores the month's children had.
    flags : array-like of bool
        Who was within capacity.
    families : array-like, optional
        Family ids: the bootstrap resamples whole families.
    draws : dict, optional
        Each measure's values over resamples already drawn (:func:`by_group` draws one set of
        resamples for every group); default: ``n_boot`` resamples of these rows.
    ids : array-like, optional
        Each row's identity (``child_id|as_of``, as the fairness report keys a record), for
        the cell keys of the published counts; default the row number.
    cells : Series, optional
        The rows' published confusion cells, when already made (:func:`by_group`).

    Returns
    -------
    dict
        ``n``, ``positives`` and ``flagged`` (published counts: cell-key rounded to a
        multiple of ``min_count``) and, for each of ``auc``, ``calibration_error``,
        ``precision_at_capacity``, ``recall_at_capacity``, ``base_rate`` and
        ``observed_over_expected``, ``value``/``low``/``high`` as published
        (:func:`~riskmodel.evaluation.monitoring._publish.publish_measures`: rates from the
        published counts, AUC and calibration to two decimals, ``hidden`` where too few).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0, 0.4, 2000); y = (rng.uniform(size=2000) < p).astype(int)
    >>> r = realised(y, p, p > np.quantile(p, 0.9), n_boot=50)
    >>> 0.65 < r["metrics"]["auc"]["value"] < 0.8, r["n"]
    (True, 2000)
    """
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    f = np.asarray(flags, bool)
    codes = (np.arange(len(y)) if families is None
             else pd.factorize(np.asarray(families), sort=False)[0])
    # the point values as the model card measures them; intervals from the same resampling
    point = evaluate_predictions(y, p, flags=f, n_boot=0).set_index("metric")["value"]
    point["observed_over_expected"] = y.sum() / p.sum() if p.sum() > 0 else math.nan
    if draws is None:
        draws = bootstrap(y, p, f, codes, n_boot=n_boot, seed=seed)
    if cells is None:
        rows = np.arange(len(y)).astype(str) if ids is None else np.asarray(ids, str)
        cells = group_cells(np.full(len(y), "all"), y > 0, f, rows, min_count=min_count).iloc[0]
    metrics = publish_measures(_intervals(point, draws), cells, float(p.sum()),
                               min_count=min_count)
    return {"n": int(cells["children"]), "positives": int(cells["needed_help"]),
            "flagged": int(cells["flagged"]), "metrics": metrics}


def _intervals(point: pd.Series, draws: dict) -> dict:
    """Each measure's point value with the 2.5th-97.5th percentile of its draws around it."""
    metrics = {}
    for m in (*LEAD, "base_rate", "observed_over_expected"):
        v = float(point[m])
        d = draws[m][np.isfinite(draws[m])]
        lo, hi = (np.quantile(d, [0.025, 0.975]) if len(d)
                  else (math.nan, math.nan))
        metrics[m] = {"value": v, "low": float(min(lo, v)) if np.isfinite(v) else float(lo),
                      "high": float(max(hi, v)) if np.isfinite(v) else float(hi)}
    return metrics


def _auc_sorted(y, ends, pos, neg):
    tp = np.cumsum(y)[ends]
    fp = (ends + 1) - tp
    tpr = np.r_[0.0, tp / pos]
    fpr = np.r_[0.0, fp / neg]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def estimate(p, flags, *, n_sim: int = 200, seed: int = 0) -> dict:
    """Performance the calibrated scores imply (CBPE), with the spread of outcomes they allow.

    Each child's score is taken as the chance of the outcome: the expected AUC comes from
    the expected true- and false-positive counts down the ranking, precision at capacity is
    the mean score of the flagged children, recall their share of the summed scores. The
    interval is the 2.5th-97.5th percentile of the same measures over ``n_sim`` sets of
    outcomes drawn from the scores. It assumes calibration holds, so a change in risk itself
    does not show here: :func:`early_outcomes` and :func:`realised` see that.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.random.default_rng(0).uniform(0, 0.3, 3000)
    >>> e = estimate(p, p > np.quantile(p, 0.9), n_sim=50)
    >>> round(e["precision_at_capacity"]["value"], 2), e["estimate"]
    (0.28, True)
    """
    p = np.asarray(p, float)
    f = np.asarray(flags, bool)
    if not len(p):
        nothing = {"value": math.nan, "low": math.nan, "high": math.nan}
        return {"estimate": True, "n": 0, **{k: dict(nothing) for k in (
            "auc", "precision_at_capacity", "recall_at_capacity", "base_rate")}}
    order = np.argsort(-p, kind="stable")
    ps = p[order]
    ends = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True])
    tp = np.cumsum(ps)[ends]
    fp = np.cumsum(1 - ps)[ends]
    point = {
        "auc": float(np.sum(np.diff(np.r_[0.0, fp / fp[-1]])
                            * (np.r_[0.0, tp / tp[-1]][1:] + np.r_[0.0, tp / tp[-1]][:-1]) / 2)),
        "precision_at_capacity": float(p[f].mean()) if f.any() else math.nan,
        "recall_at_capacity": float(p[f].sum() / p.sum()) if p.sum() else math.nan,
        "base_rate": float(p.mean()),
    }
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in point}
    fs = f[order]
    for _ in range(n_sim):
        y = (rng.random(len(ps)) < ps).astype(float)
        pos = y.sum()
        if pos == 0 or pos == len(y):
            continue
        draws["auc"].append(_auc_sorted(y, ends, pos, len(y) - pos))
        hits = (y * fs).sum()
        draws["precision_at_capacity"].append(hits / max(fs.sum(), 1))
        draws["recall_at_capacity"].append(hits / pos)
        draws["base_rate"].append(pos / len(y))
    out: dict[str, Any] = {"estimate": True, "n": int(len(p))}
    for k, v in point.items():
        lo, hi = (np.quantile(draws[k], [0.025, 0.975]) if draws[k] else (math.nan, math.nan))
        out[k] = {"value": v, "low": float(lo), "high": float(hi)}
    return out


def early_outcomes(p, events: int, *, early: dict, min_count: int = 5, thresholds=None,
                   alpha: float | None = None, published: int | None = None) -> dict:
    """Outcomes in the first month(s) after a list against what its scores lead one to expect.

    The expected number is the sum of the scores (outcomes expected within the horizon)
    times the share of the horizon's outcomes that came within the first ``months`` in the
    training data (``early``: ``events`` and ``events_horizon``). The test conditions on both
    counts (the training share is itself an estimate): given their total, this month's count
    is binomial under no change. The test and the level use the exact count; what is
    published (``observed``, ``ratio``, ``p`` and the words) comes from ``published``, the
    count rounded by its children's cell keys (:func:`published_counts`), with ``p`` to two
    decimals, so no figure gives the exact count back. Without ``published`` (data already
    public, a test) the exact count is shown.

    Examples
    --------
    >>> import numpy as np
    >>> e = early_outcomes(np.full(400, 0.07), 25, early={"months": 1, "events": 40,
    ...                    "events_horizon": 200})
    >>> round(e["expected"], 1), round(e["ratio"], 1), e["p"] < 0.001
    (5.6, 4.5, True)
    """
    p = np.asarray(p, float)
    ref, ref_h = early.get("events") or 0, early.get("events_horizon") or 0
    out = {"months": early.get("months", 1), "children": int(len(p)), "observed": events,
           "expected": math.nan, "ratio": math.nan, "p": math.nan, "level": "", "why": ""}
    if not ref or not ref_h or not len(p) or p.sum() <= 0:
        return out
    expected = p.sum() * ref / ref_h
    out["expected"], out["ratio"] = float(expected), float(events / expected)
    share = p.sum() / (p.sum() + ref_h)
    test = stats.binomtest(int(events), int(events + ref), share)
    out["p"] = float(test.pvalue)
    level = alpha if alpha is not None else getattr(thresholds, "p_value", 0.0)
    raised = thresholds is not None and out["p"] < level and (
        out["ratio"] >= thresholds.outcome_ratio or out["ratio"] <= 1 / thresholds.outcome_ratio)
    if published is not None:  # the exact count decided; its published count is shown
        out.update(observed=int(published), ratio=float(published / expected),
                   p=round(out["p"], 2))
    if raised:
        out["level"] = "retrain"
        shown_p = f"= {out['p']:.1g}" if published is None or out["p"] >= 0.01 else "< 0.01"
        out["why"] = (f"{out['ratio']:.1f} times the outcomes expected in the first month after "
                      "last month's list: the same scores now lead to the outcome "
                      + ("more" if out["ratio"] > 1 else "less") + f" often (p {shown_p})")
    if is_small([events], min_count)[0]:  # the count (and what reveals it) is not published
        out.update(observed=f"<{min_count}", ratio=None, p=None)
    return out


def draws_point(y, p, f, mask, measure: str) -> float:
    """Recall at capacity or outcomes observed over expected of the rows in ``mask``."""
    pos = y[mask].sum()
    if measure == "recall_at_capacity":
        return float((y[mask] * f[mask]).sum() / pos) if pos else math.nan
    return float(pos / p[mask].sum()) if p[mask].sum() else math.nan


def by_group(frame: pd.DataFrame, characteristics: dict, *, rest: str,
             tolerance: tuple = (0.8, 1.25), min_count: int = 5, n_boot: int = 200,
             seed: int = 0, p_value: float = 0.001,
             training: dict | None = None) -> list[dict]:
    """Realised performance of a matured month by group, and the disparities (fairness decay).

    Parameters
    ----------
    frame : DataFrame
        ``y``, ``p``, ``flag``, ``family_id``, ``record_id`` (each row's identity, as the
        fairness report builds it) and a column per characteristic.
    characteristics : dict
        Column -> reference group, as the fairness policy names it: ``"everyone"`` (the
        policy's default: each group against the rest of the cohort, everyone not in it, as
        the fairness report compares), ``"largest"`` or a group's name.
    rest : str
        The fairness report's words for the rest of the cohort (``fairness.REST``).
    p_value : float, default=0.001
        A ratio is ``outside`` only when it lies beyond the tolerance by more than chance
        allows at this level, Bonferroni-corrected over every ratio compared (the spread
        of its logarithm over the family resamples), as well as by its 95% interval.
    training : dict, optional
        The gaps at training (:func:`training_gaps`): each ratio gets a ``change``
        (:func:`gap_change`), the check that raises a level (a standing gap is not decay).

    Returns
    -------
    list of dict
        One per characteristic: ``groups`` with the confusion cells as the fairness report
        publishes them (cell-key rounded, :func:`group_cells`), the rates from those cells,
        the measures with intervals (``hidden`` when the published counts are too few),
        ``missed_ratio`` and ``oe_ratio`` (to the reference, with intervals, ``outside``
        when the whole interval lies outside the tolerance; ``training`` and ``change``).

    Examples
    --------
    >>> import os, numpy as np, pandas as pd
    >>> os.environ["RISKMODEL_DISCLOSURE_KEY"] = "doc"
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.3, 3000)
    >>> frame = pd.DataFrame({"p": p, "y": (rng.uniform(size=3000) < p).astype(int),
    ...                       "flag": p > 0.27, "family_id": np.arange(3000),
    ...                       "record_id": [f"c{i}|2025-01-01" for i in range(3000)],
    ...                       "sex": rng.choice(["female", "male"], 3000)})
    >>> out = by_group(frame, {"sex": "everyone"}, rest="everyone else", n_boot=50)[0]
    >>> out["reference"], [g["children"] % 5 for g in out["groups"]]
    ('everyone else', [0, 0])
    >>> del os.environ["RISKMODEL_DISCLOSURE_KEY"]
    """
    y, p, f, codes = _arrays(frame)
    ids = frame["record_id"].astype(str).to_numpy()
    tables = [_group_table(frame, col, ref_choice, y, f, ids, min_count)
              for col, ref_choice in characteristics.items() if col in frame.columns]
    draws = _group_draws(tables, y, p, f, codes, n_boot=n_boot, seed=seed)
    out = [_characteristic(table, t, (y, p, f, codes), draws, rest=rest, tolerance=tolerance,
                           min_count=min_count) for t, table in enumerate(tables)]
    _mark_outside(out, tolerance, p_value)
    if training is not None:
        gap_change(out, training, tolerance, p_value)
    # after the change is judged (it needs the exact spread): what is shown is rounded
    publish_ratios(out, min_count=min_count)
    return out


def training_gaps(groups: list[dict]) -> dict:
    """The by-group gaps to keep in the reference: each shown group's ``missed_ratio`` and
    ``oe_ratio`` (value, interval, spread of its logarithm), by characteristic, with the
    group they compare with; no count.

    Examples
    --------
    >>> g = [{"characteristic": "sex", "reference": "everyone else", "groups": [
    ...     {"group": "f", "hidden": False, "children": 400,
    ...      "missed_ratio": {"value": 1.1, "low": 0.9, "high": 1.3, "sd_log": 0.1,
    ...                       "outside": False}}]}]
    >>> training_gaps(g)["sex"]["groups"]["f"]
    {'missed_ratio': {'value': 1.1, 'low': 0.9, 'high': 1.3, 'sd_log': 0.1}}
    """
    out = {}
    for ch in groups:
        kept = {g["group"]: {k: {f: g[k][f] for f in ("value", "low", "high", "sd_log")}
                             for k in ("missed_ratio", "oe_ratio") if g.get(k)}
                for g in ch["groups"] if not g.get("hidden")}
        out[ch["characteristic"]] = {"reference": ch["reference"],
                                     "groups": {g: v for g, v in kept.items() if v}}
    return out


def gap_change(groups: list[dict], training: dict, tolerance: tuple, p_value: float) -> int:
    """Judge each group's gap by its change since training, in place; the ratios compared.

    A ratio's ``change`` is today's ratio over the same ratio at training (the same group
    against the same reference, ``training`` from :func:`training_gaps`), with a 95%
    interval from both spreads. It is ``outside`` when it lies beyond the tolerance (either
    way) by more than chance allows: a normal test on the logarithm at ``p_value``,
    Bonferroni-corrected over every ratio compared. A group not measured at training (or
    compared with another reference then) gets no ``change``.

    Examples
    --------
    >>> now = {"value": 2.0, "low": 1.6, "high": 2.5, "sd_log": 0.11, "outside": True}
    >>> g = [{"characteristic": "sex", "reference": "rest", "groups": [
    ...     {"group": "f", "missed_ratio": dict(now)}]}]
    >>> standing = {"sex": {"reference": "rest", "groups": {"f": {"missed_ratio": {
    ...     "value": 1.9, "low": 1.5, "high": 2.4, "sd_log": 0.12}}}}}
    >>> gap_change(g, standing, (0.8, 1.25), 0.001)
    1
    >>> c = g[0]["groups"][0]["missed_ratio"]["change"]
    >>> round(c["value"], 3), c["outside"]
    (1.053, False)
    >>> standing["sex"]["groups"]["f"]["missed_ratio"]["value"] = 0.9
    >>> _ = gap_change(g, standing, (0.8, 1.25), 0.001)
    >>> g[0]["groups"][0]["missed_ratio"]["change"]["outside"]
    True
    """
    pairs = []
    for ch in groups:
        then = (training or {}).get(ch["characteristic"]) or {}
        if then.get("reference") != ch["reference"]:
            continue
        for g in ch["groups"]:
            for k in ("missed_ratio", "oe_ratio"):
                before = (then.get("groups") or {}).get(g["group"], {}).get(k)
                # a ratio too small to show its spread (now or at training) is not judged
                if (g.get(k) and before and before["value"] > 0
                        and g[k].get("sd_log") is not None
                        and before.get("sd_log") is not None):
                    pairs.append((g[k], before))
    z = stats.norm.isf(p_value / (2 * max(len(pairs), 1)))  # either way
    lo, hi = math.log(tolerance[0]), math.log(tolerance[1])
    for now, before in pairs:
        d = math.log(now["value"]) - math.log(before["value"])
        se = max(math.hypot(now["sd_log"], before["sd_log"]), 1e-12)
        beyond = max(d - hi, lo - d)
        now["training"] = {f: before[f] for f in ("value", "low", "high")}
        now["change"] = {"value": math.exp(d), "low": math.exp(d - 1.96 * se),
                         "high": math.exp(d + 1.96 * se),
                         "p": float(min(1.0, 2 * stats.norm.sf(beyond / se))),
                         "outside": bool(beyond > z * se)}
    return len(pairs)


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The outcome, score, flag (0/1) and family code of each row."""
    codes = pd.factorize(frame["family_id"].to_numpy(), sort=False)[0] \
        if "family_id" in frame.columns else np.arange(len(frame))
    return (frame["y"].to_numpy(float), frame["p"].to_numpy(float),
            frame["flag"].to_numpy(bool).astype(float), codes)


def _group_draws(tables: list[tuple], y: np.ndarray, p: np.ndarray, f: np.ndarray,
                 codes: np.ndarray, *, n_boot: int, seed: int) -> dict:
    """One set of family resamples for every shown group and, against the rest of the cohort,
    everyone not in it: ``(table, group, in the group)`` -> each measure's draws."""
    keys, rows = [], []
    for t, (_, g, _names, _, hidden, ref) in enumerate(tables):
        for i in np.flatnonzero(~hidden):
            keys.append((t, int(i), True))
            rows.append(np.flatnonzero(g == i))
            if ref == EVERYONE:
                keys.append((t, int(i), False))
                rows.append(np.flatnonzero(g != i))
    drawn = bootstrap_sets(y, p, f, codes, rows, n_boot=n_boot, seed=seed, calibration=False)
    return dict(zip(keys, drawn, strict=True))


def _characteristic(table: tuple, t: int, arrays: tuple, draws: dict, *, rest: str,
                    tolerance: tuple, min_count: int) -> dict:
    """One characteristic's groups: published cells, measures and ratios to the reference."""
    col, g, names, cells, hidden, ref = table
    y, p, f, codes = arrays
    groups = []
    for i, name in enumerate(names):
        row = {"group": name, "reference": i == ref, "hidden": bool(hidden[i]),
               **_published(cells.loc[name])}
        if not hidden[i]:
            mask = g == i
            r = realised(y[mask], p[mask], f[mask] > 0, codes[mask], min_count=min_count,
                         draws=draws[(t, i, True)], cells=cells.loc[name])
            row["metrics"] = r["metrics"]
            if ref is not None and i != ref and (ref == EVERYONE or not hidden[ref]):
                theirs = np.flatnonzero(g != i) if ref == EVERYONE else np.flatnonzero(g == ref)
                their = _rest_cells(cells, name) if ref == EVERYONE else cells.loc[names[ref]]
                key = (t, i, False) if ref == EVERYONE else (t, ref, True)
                row.update(_ratios(cells.loc[name], their, p[mask].sum(), p[theirs].sum(),
                                   draws[(t, i, True)], draws[key], tolerance))
        groups.append(row)
    return {"characteristic": col, "reference": None if ref is None else
            rest if ref == EVERYONE else names[ref], "groups": groups}


def _published(cells: pd.Series) -> dict:
    """A group's published counts (cell-key rounded) and the rates from them."""
    out: dict[str, Any] = {}
    for k, v in cells.items():
        if k == "group":
            continue
        out[str(k)] = int(v) if k in CELLS else (None if not np.isfinite(v) else float(v))
    return out


def _rest_cells(cells: pd.DataFrame, name: str) -> pd.Series:
    """The rest of the cohort's cells: everyone's published count less the group's."""
    return cells.loc["all", list(CELLS)] - cells.loc[name, list(CELLS)]


def _ratios(mine: pd.Series, theirs: pd.Series, p_mine: float, p_theirs: float,
            mine_draws: dict, their_draws: dict, tolerance: tuple) -> dict:
    """``missed_ratio`` and ``oe_ratio`` to the reference, from the published cells."""
    out = {}
    for key, measure in (("missed_ratio", "recall_at_capacity"),
                         ("oe_ratio", "observed_over_expected")):
        a, b = (_published_point(mine, key, p_mine), _published_point(theirs, key, p_theirs))
        got = _ratio(key, a, b, mine_draws[measure], their_draws[measure], tolerance)
        if got:
            out[key] = got
    return out


def _published_point(cells: pd.Series, key: str, expected: float) -> float:
    """The missed share (``missed_ratio``: missed over needed help, the fairness report's
    false negative rate) or observed over expected of published cells."""
    needed = float(cells["needed_help"])
    if key == "missed_ratio":
        return float(cells["missed"]) / needed if needed > 0 else math.nan
    return needed / expected if expected > 0 else math.nan


def _mark_outside(out: list[dict], tolerance: tuple, p_value: float) -> None:
    """A ratio stays ``outside`` only when beyond the tolerance by more than chance allows
    (Bonferroni over every ratio compared)."""
    ratios = [g[k] for ch in out for g in ch["groups"] for k in ("missed_ratio", "oe_ratio")
              if g.get(k)]
    z = stats.norm.isf(p_value / (2 * max(len(ratios), 1)))
    for r in ratios:
        beyond = max(math.log(r["value"]) - math.log(tolerance[1]),
                     math.log(tolerance[0]) - math.log(r["value"]))
        r["outside"] = bool(r["outside"] and beyond > z * max(r["sd_log"], 1e-12))


def _group_table(frame: pd.DataFrame, col: str, ref_choice: str, y: np.ndarray, f: np.ndarray,
                 ids: np.ndarray, min_count: int) -> tuple:
    """A characteristic's groups, their published cells (:func:`group_cells`, ``"all"``
    first), which are too few to show measures for (fewer than ``min_count`` published
    children who needed help or who did not) and the reference (a group's index,
    :data:`EVERYONE` for the rest of the cohort, or None)."""
    keys = frame[col].astype(object).fillna("not recorded").astype(str)
    g, names = pd.factorize(keys, sort=True)
    cells = group_cells(keys.to_numpy(), y > 0, f > 0, ids, min_count=min_count)
    cells = cells.set_index("group", drop=False).loc[["all", *names]]
    shown = cells.loc[list(names)]
    hidden = ((shown["needed_help"] < min_count)
              | (shown["did_not_need_help"] < min_count)).to_numpy()
    visible = np.flatnonzero(~hidden)
    if ref_choice == "everyone":  # the fairness policy's default: the rest of the cohort
        ref = EVERYONE
    elif ref_choice in names and not hidden[list(names).index(ref_choice)]:
        ref = list(names).index(ref_choice)
    elif len(visible):
        ref = int(visible[np.argmax(shown["children"].to_numpy()[visible])])
    else:
        ref = None
    return col, g, list(names), cells, hidden, ref


def _ratio(key: str, mine: float, theirs: float, mine_draws: np.ndarray,
           their_draws: np.ndarray, tolerance) -> dict | None:
    """A group's missed share (``missed_ratio``; its draws are recall) or observed over
    expected (``oe_ratio``) as a ratio to the reference's, with its resampled interval."""
    if key == "missed_ratio":  # the points are already missed shares; the draws recall
        mine_draws, their_draws = 1 - mine_draws, 1 - their_draws
    with np.errstate(divide="ignore", invalid="ignore"):
        value = mine / theirs if theirs else math.nan
        ratio_draws = mine_draws / their_draws
    d = ratio_draws[np.isfinite(ratio_draws) & (ratio_draws > 0)]
    if not np.isfinite(value) or value <= 0 or len(d) < 10:
        return None
    lo, hi = np.quantile(d, [0.025, 0.975])
    return {"value": float(value), "low": float(lo), "high": float(hi),
            "sd_log": float(np.std(np.log(d))),
            "outside": bool(lo > tolerance[1] or hi < tolerance[0])}


def offered_help(y, p, flags, families, offered, *, n_boot: int = 200, seed: int = 0,
                 min_count: int = 5, ids=None) -> dict:
    """Outcomes observed over expected among the children offered help and those not.

    Help that works lowers the outcomes of the children it reaches, so a list that led to
    help reads low on observed over expected among them (and on realised performance): the
    two ratios side by side say how much of a shortfall is help rather than decay. Each
    ratio has a family-resampled 95% interval; the children are rounded to 10 and a group
    with fewer than ``min_count`` outcomes shows none of its figures. The outcomes observed
    are the published (cell-key rounded) count of the records ``ids`` (as :func:`realised`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.4, 4000); offered = p > 0.3
    >>> y = (rng.uniform(size=4000) < np.where(offered, 0.5 * p, p)).astype(int)
    >>> out = offered_help(y, p, p > 0.35, np.arange(4000), offered, n_boot=50)
    >>> oe = [out[k]["observed_over_expected"] for k in ("offered", "not_offered")]
    >>> oe[0]["high"] < 0.7 < oe[1]["low"], out["offered"]["children"] % 10
    (True, 0)
    """
    y, p = np.asarray(y, float), np.asarray(p, float)
    offered, flags = np.asarray(offered, bool), np.asarray(flags, bool)
    families = np.asarray(families)
    out: dict[str, Any] = {}
    for key, mask in (("offered", offered), ("not_offered", ~offered)):
        part: dict[str, Any] = {"children": rounded(int(mask.sum())), "hidden": True}
        if mask.any() and not is_small([int(y[mask].sum())], min_count)[0] and y[mask].sum():
            r = realised(y[mask], p[mask], flags[mask], families[mask], n_boot=n_boot,
                         seed=seed, min_count=min_count,
                         ids=None if ids is None else np.asarray(ids)[mask])
            part.update(hidden=False,
                        observed_over_expected=r["metrics"]["observed_over_expected"])
        out[key] = part
    return out


def offered_text(offers: dict) -> str:
    """The observed/expected among offered and not offered children, in words.

    Examples
    --------
    >>> oe = {"value": 0.62, "low": 0.5, "high": 0.75}
    >>> text = offered_text({"offered": {"children": 120, "hidden": False,
    ...                                  "observed_over_expected": oe},
    ...                      "not_offered": {"children": 3410, "hidden": True}})
    >>> for part in text.split(" among "):
    ...     print(part)
    offers of help: outcomes observed over expected 0.62 (0.50-0.75)
    the about 120 children offered help; too few outcomes to show
    the 3410 children not offered
    """
    parts = []
    for key, words in (("offered", "offered help"), ("not_offered", "not offered")):
        g = offers.get(key) or {}
        if g.get("hidden"):
            parts.append(f"too few outcomes to show among the {g.get('children')} children "
                         f"{words}")
        else:
            m = g["observed_over_expected"]
            parts.append(f"outcomes observed over expected {m['value']:.2f} "
                         f"({m['low']:.2f}-{m['high']:.2f}) among the about "
                         f"{g['children']:,} children {words}")
    return "offers of help: " + "; ".join(parts)
