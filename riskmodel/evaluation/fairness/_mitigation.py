"""Mitigation: per-group thresholds or fairlearn's ThresholdOptimizer, cross-fitted.

Shown before and after so the council can weigh it; the audit never changes the scores.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation.fairness._groups import GroupTable
from riskmodel.evaluation.fairness._measures import MEASURES, MITIGATION_MEASURES, Counts
from riskmodel.evaluation.fairness._policy import Mitigation


@dataclass(frozen=True)
class MitigatedFlags:
    """Who the mitigation flags, cross-fitted, and its rule per group fitted on everyone."""

    table: GroupTable          # the characteristic mitigated
    after: np.ndarray          # 0/1 flag of every audited child after mitigation
    rows: np.ndarray           # plan rows shown before/after: everyone, then each group
    thresholds: list           # per group: a threshold, fairlearn's rule in words, or None
    method: str
    equalise: str


def _score_passthrough():
    """A fitted scikit-learn 'estimator' whose prediction is the score column, so fairlearn's
    ThresholdOptimizer can post-process scores that came from anywhere."""
    from sklearn.base import BaseEstimator

    class ScorePassthrough(BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict(self, X):
            return np.asarray(X, dtype=float)[:, 0]

    return ScorePassthrough().fit(None)


def _folds(codes, y, random_state):
    """Two folds, balanced within every group x label stratum."""
    rng = np.random.default_rng(int(random_state))
    fold = np.zeros(len(codes), np.int64)
    strata = codes * 2 + y
    for st in np.unique(strata):
        idx = np.flatnonzero(strata == st)
        idx = idx[rng.permutation(len(idx))]
        fold[idx[1::2]] = 1
    return fold


def _group_thresholds(s, y, f, codes, n_groups, equalise):
    """One threshold per group so each group's recall (or selection rate) matches the whole's:
    the flagged share among those the equalised measure counts (who needed help, or all)."""
    pos = y.sum()
    among_positives = MEASURES[equalise].parts[1] == "needed_help"
    target = (f[y == 1].mean() if pos else np.nan) if among_positives else f.mean()
    flagged_scores = s[f == 1]
    fallback = flagged_scores.min() if len(flagged_scores) else np.inf
    out = np.full(n_groups, fallback, dtype=float)
    for g in range(n_groups):
        idx = np.flatnonzero(codes == g)
        if not len(idx):
            continue
        order = idx[np.lexsort((idx, -s[idx]))]
        if among_positives:
            yg = y[order]
            if yg.sum() == 0 or not np.isfinite(target):
                continue
            need = target * yg.sum()
            k = int(np.searchsorted(np.cumsum(yg), need - 1e-9) + 1)
        else:
            k = math.ceil(target * len(order) - 1e-9)
        out[g] = np.inf if k <= 0 else s[order[min(k, len(order)) - 1]]
    return out


def mitigation_flags(y, f, s, tables: list[GroupTable], m: Mitigation,
                     random_state) -> MitigatedFlags:
    """Fit the policy's mitigation ``m`` on two folds (each flagged by the other's fit)."""
    chars = [t for t in tables if t.kind == "characteristic"]
    table = next((t for t in chars if t.key == m.characteristic), chars[0])
    codes, g = table.codes, len(table.groups)
    fold = _folds(codes, y, random_state)
    after = np.zeros(len(y), np.int64)
    if m.method == "group_thresholds":
        for k in (0, 1):
            fit, apply = fold != k, fold == k
            th = _group_thresholds(s[fit], y[fit], f[fit], codes[fit], g, m.equalise)
            after[apply] = (s[apply] >= th[codes[apply]]).astype(np.int64)
        thresholds = _group_thresholds(s, y, f, codes, g, m.equalise)
        described: list = [None if not np.isfinite(t) else float(t) for t in thresholds]
    else:
        from fairlearn.postprocessing import ThresholdOptimizer

        constraint = MEASURES[m.equalise].equalise

        def fitted(rows):
            opt = ThresholdOptimizer(estimator=_score_passthrough(), constraints=constraint,
                                     objective=m.objective, prefit=True,
                                     predict_method="predict")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    opt.fit(s[rows, None], y[rows], sensitive_features=codes[rows])
            except (ValueError, ZeroDivisionError) as exc:
                raise InputError(
                    f"mitigation: fairlearn's ThresholdOptimizer could not fit groups of "
                    f"{table.key!r} ({' '.join(str(exc).split())[:160]}); try "
                    f"method: group_thresholds") from None
            return opt

        for k in (0, 1):
            fit, apply = fold != k, fold == k
            opt = fitted(fit)
            after[apply] = np.asarray(opt.predict(s[apply, None], sensitive_features=codes[apply],
                                                  random_state=int(random_state)), dtype=int)
        opt = fitted(np.ones(len(y), bool))
        described = []
        inter = opt.interpolated_thresholder_.interpolation_dict
        for i in range(g):
            d = inter.get(i)
            described.append(None if d is None else _describe_interpolation(d))
    return MitigatedFlags(table=table, after=after, rows=np.concatenate([[0], table.rows]),
                          thresholds=described, method=m.method, equalise=m.equalise)


def _describe_interpolation(d) -> str:
    parts = []
    for p, op in ((d.p0, d.operation0), (d.p1, d.operation1)):
        if p > 0:
            parts.append(f"{p:.0%} of the time: flag if {op}")
    return "; ".join(parts).replace("[", "").replace("]", "")


def mitigation_tables(mit: MitigatedFlags, pub, min_children: int):
    """The before/after table (everyone and each group) and the per-group rules.

    ``pub`` holds the published (rounded) counts before and after (``flag2``, ``tp2``); every
    rate is a ratio of two of them.
    """
    t = mit.table
    records: list[dict] = []
    th_records: list[dict] = []
    rows: list[tuple[str, int, int | None]] = [("all", 0, None)] + [
        (g, int(t.rows[i]), i) for i, g in enumerate(t.groups)]
    for g, row, i in rows:
        rec = {"characteristic": t.key, "group": g, "n": int(pub.n[row])}
        for m in MITIGATION_MEASURES:
            for when, after in (("before", False), ("after", True)):
                k, d = MEASURES[m].rate(Counts.published(pub, row, after=after))
                rec[f"{m}_{when}"] = float(k / d) if d > 0 else np.nan
        rec["n_flagged_before"] = int(pub.flag[row])
        rec["n_flagged_after"] = int(pub.flag2[row])
        records.append(rec)
        if i is not None:
            th = mit.thresholds[i]
            th_records.append({"characteristic": t.key, "group": g,
                               "rule": "too few to show" if pub.n[row] < min_children else (
                                   "flag nobody" if th is None else
                                   th if isinstance(th, str) else f"score \u2265 {th:.4g}")})
    return pd.DataFrame(records), pd.DataFrame(th_records)
