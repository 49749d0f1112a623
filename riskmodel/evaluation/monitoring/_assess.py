"""One month's monitoring: every comparison, then one verdict with its reasons.

:func:`assess_month` is pure (frames in, a JSON-ready summary out): the job
(:mod:`riskmodel.jobs.monitor`) builds the frames from the extract and the model, and stores
the summary in the model's MLflow record. The verdict is ``ok``, ``watch`` or ``retrain
recommended``: the most serious level any section reached, with every reason in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.evaluation.monitoring._compare import (
    cohort_size,
    contacts_drift,
    input_drift,
    mix_drift,
    score_drift,
)
from riskmodel.evaluation.monitoring._performance import estimate, judge
from riskmodel.evaluation.monitoring._publish import cohort_keys
from riskmodel.evaluation.monitoring._summary import (
    Alpha,
    Assessment,
    CohortSize,
    ContactRow,
    Early,
    Estimate,
    InputRow,
    MixRow,
    Moved,
    RealisedWindow,
    Reason,
    ScoreDrift,
)

ESTIMATED = ("auc", "precision_at_capacity", "recall_at_capacity")

VERDICTS = ("ok", "watch", "retrain recommended")
_RANK = {"": 0, "listed": 0, "watch": 1, "retrain": 2}
SECTIONS = {"performance": "realised performance", "early": "early outcomes",
            "scores": "score drift", "inputs": "input drift", "contacts": "recording",
            "cohort": "cohort size and mix", "fairness": "fairness decay",
            "estimate": "estimated performance"}


def verdict_of(reasons: Sequence[Reason]) -> str:
    """``ok``, ``watch`` or ``retrain recommended``: the most serious level among reasons.

    Examples
    --------
    >>> verdict_of([]), verdict_of([Reason("watch", "score drift", "moved"),
    ...                             Reason("retrain", "early outcomes", "more often")])
    ('ok', 'retrain recommended')
    """
    top = max((_RANK[r.level] for r in reasons), default=0)
    return VERDICTS[top]


def _reason(level: str, section: str, text: str, features: Sequence[str] = ()) -> Reason:
    return Reason(level=level, section=SECTIONS[section], text=text,
                  features=tuple(features))


def run_alpha(reference: dict, thresholds: Any, *,
              characteristics: Sequence[str] = ()) -> Alpha:
    """The level of every test in one monthly run.

    The policy's ``alarms_per_year`` over 12 runs is the run's chance of a false alarm at
    most; it is split evenly (Bonferroni) over the run's tests: two per feature that can
    raise a level (its distribution, its missing share; a locality-wide rate's mean: one),
    one per characteristic of the mix,
    one per contacts characteristic, the scores, one per capacity group, the realised (5),
    estimated (3) and early (1) performance, and two ratios per fairness group. No test
    counts above ``p_value``.

    Examples
    --------
    >>> from riskmodel.evaluation.fairness import MonitoringThresholds
    >>> ref = {"features": {"a": {"kind": "numeric", "importance": 0.5}},
    ...        "mix": {"sex": {"groups": [["f"], ["m"]]}}, "scores": {"capacity": {}}}
    >>> a = run_alpha(ref, MonitoringThresholds(), characteristics=["sex"])
    >>> a.tests, round(a.alpha, 6)
    (17, 0.001)
    """
    t = thresholds
    weighty = {f: e for f, e in reference["features"].items()
               if e.get("importance", 0.0) >= t.min_importance}
    feats = [f for f, e in weighty.items() if e["kind"] != "area"]
    areas = len(weighty) - len(feats)  # a locality-wide rate: one test of its mean
    mix = reference.get("mix", {})
    fairness = 2 * sum(max(len(mix.get(c, {}).get("groups", [])) - 1, 0)
                       for c in characteristics)
    capacity = sum(len(v) for v in reference["scores"].get("capacity", {}).values())
    n = (2 * len(feats) + areas + len(mix) + 2 + 1 + capacity + 5 + len(ESTIMATED) + 1
         + fairness)
    per_run = t.alarms_per_year / 12
    return Alpha(per_run=per_run, tests=n, alpha=min(t.p_value, per_run / n),
                 fairness_tests=fairness)


def reference_estimate(reference: dict, month: str | None) -> list[dict]:
    """The CBPE estimate on the reference: the same calendar month, else the months' mean."""
    months = reference.get("months") or {}
    picked = [months[month]] if month in months else list(months.values())
    rows = []
    for k in ESTIMATED:
        got = [m["estimate"][k] for m in picked if m.get("estimate", {}).get(k)]
        if got:
            rows.append({"metric": k, **{f: float(np.mean([g[f] for g in got]))
                                         for f in ("value", "low", "high")}})
    return rows


def _drift_reasons(reference: dict, rows: pd.DataFrame, scored: pd.DataFrame,
                   t: Any, alpha: float, month: str | None, contacts: dict | None,
                   last: Mapping[str, Any], tolerance: tuple[float, float],
                   size: int | None = None, ids: np.ndarray | None = None
                   ) -> tuple[list[Reason], dict]:
    reasons: list[Reason] = []
    keys = cohort_keys(ids, len(rows))  # every published count and share of the month's
    # the cohort as published (the fairness report's "everyone" cell) when the job gives it
    n = len(rows) if size is None else size
    cohort = cohort_size(reference, n, (last.get("cohort") or {}).get("now"), t, month=month)
    if cohort["level"]:
        reasons.append(_reason("watch", "cohort", cohort["why"]))
    inputs = input_drift(reference, rows, t, alpha=alpha, month=month, keys=keys)
    for r in inputs[inputs["level"].isin(["watch", "retrain"])].itertuples():
        reasons.append(_reason(r.level, "inputs", f"{r.words} ({r.feature}): {r.why}",
                               [r.feature]))
    mix = mix_drift(reference, rows, t, alpha=alpha, keys=keys)
    for m in mix:
        if m["level"]:
            reasons.append(_reason("watch", "cohort", f"the children's "
                                   f"{m['characteristic'].replace('_', ' ')}: {m['why']}"))
    volumes = contacts_drift(reference, contacts, list(reference["features"]), t,
                             alpha=alpha, month=month) if contacts else []
    for c in volumes:
        if c["level"]:
            reasons.append(_reason("watch", "contacts", c["why"] + (
                "; the model reads them in " + ", ".join(c["features"]) if c["features"]
                else ""), c["features"]))
    scores = score_drift(reference, scored["score"].to_numpy(float), scored["risk_band"],
                         scored["in_capacity"].to_numpy(bool), scored, t, tolerance=tolerance,
                         last=last.get("scores"), alpha=alpha, month=month,
                         keys=_keys_of(scored, rows, keys))
    if scores["level"]:
        reasons.append(_reason(scores["level"], "scores", scores["why"]))
    for c in scores["capacity"]:
        if c["level"]:
            reasons.append(_reason("watch", "fairness", c["why"]))
    return reasons, {"cohort": cohort, "inputs": inputs, "mix": mix, "contacts": volumes,
                     "scores": scores}


def _keys_of(scored: pd.DataFrame, rows: pd.DataFrame, keys: np.ndarray) -> np.ndarray:
    """The record keys of ``scored``'s rows, from ``rows``' (matched by child, one row each
    in a month; in order when either lacks ``child_id``)."""
    if "child_id" not in scored.columns or "child_id" not in rows.columns:
        return keys
    by_child = pd.Series(keys, index=rows["child_id"].astype(str).to_numpy())
    return by_child.reindex(scored["child_id"].astype(str).to_numpy()).to_numpy(np.int64)


def _performance_reasons(reference: dict, scored: pd.DataFrame, t: Any,
                         alpha: float, month: str | None, realised: Mapping[str, dict] | None,
                         promise: Any, seed: int, early: Mapping[str, Any] | None = None
                         ) -> tuple[list[Reason], Estimate, dict[str, RealisedWindow]]:
    # early outcomes of last month's list first, then the estimate and the matured windows
    reasons = [_reason(e["level"], "early", e["why"]) for e in [early or {}] if e.get("level")]
    est = estimate(scored["score"].to_numpy(float), scored["in_capacity"].to_numpy(bool),
                   n_sim=t.bootstrap, seed=seed)
    ref = reference_estimate(reference, month)
    checks = judge({k: est[k] for k in ESTIMATED}, ref, t.performance,
                   outcome_ratio=t.outcome_ratio, alpha=alpha,
                   against="the reference period's estimate")
    judged = Estimate.judged(est, ref, checks)
    for text in judged.short:
        reasons.append(_reason("watch", "estimate", f"estimate for this month's list: {text}"))
    windows = {}
    for key, r in sorted((realised or {}).items()):
        span = f"the lists of {r.get('first', key)} to {key}"
        window = RealisedWindow.of(r, judge(r["overall"]["metrics"], promise, t.performance,
                                            outcome_ratio=t.outcome_ratio, alpha=alpha))
        for text in window.short:
            reasons.append(_reason("retrain", "performance", f"{span}: {text}"))
        reasons += [_reason("watch", "fairness", f"{span}: {text}")
                    for text in gap_reasons(r.get("groups", []))]
        windows[key] = window
    # the windows in the order they were given (the summary's), each judged
    return reasons, judged, {k: windows[k] for k in (realised or {})}


def gap_reasons(groups: list[dict]) -> list[str]:
    """Each group whose gap to its reference changed since training beyond the tolerance
    (:func:`~riskmodel.evaluation.monitoring.gap_change`), in words; a gap the model already
    had at training is not decay.

    Examples
    --------
    >>> m = {"value": 2.0, "low": 1.6, "high": 2.5, "training": {"value": 0.9},
    ...      "change": {"value": 2.22, "low": 1.5, "high": 3.3, "outside": True}}
    >>> text = gap_reasons([{"characteristic": "imd_quintile", "reference": "everyone else",
    ...                      "groups": [{"group": "4", "missed_ratio": m}]}])[0]
    >>> text[:65]
    'imd quintile 4 missed 2.00 times as often as everyone else (1.60-'
    >>> text[65:]
    '2.50), 0.90 times at training: 2.22 times the gap at training (1.50-3.30)'
    """
    out = []
    for ch in groups:
        for g in ch["groups"]:
            for k, words in (("missed_ratio", "missed"),
                             ("oe_ratio", "had the outcome, for their scores,")):
                m = g.get(k)
                if m and (m.get("change") or {}).get("outside"):
                    c = m["change"]
                    out.append(f"{ch['characteristic'].replace('_', ' ')} {g['group']} {words} "
                               f"{m['value']:.2f} times as often as {ch['reference']} "
                               f"({m['low']:.2f}-{m['high']:.2f}), "
                               f"{m['training']['value']:.2f} times at training: "
                               f"{c['value']:.2f} times the gap at training "
                               f"({c['low']:.2f}-{c['high']:.2f})")
    return out


def assess_month(reference: dict, rows: pd.DataFrame, scored: pd.DataFrame, *,
                 thresholds: Any, tolerance: tuple[float, float] = (0.8, 1.25),
                 contacts: dict | None = None, last: Mapping[str, Any] | None = None,
                 early: Mapping[str, Any] | None = None,
                 realised: Mapping[str, dict] | None = None, promise: Any = None,
                 seed: int = 0, alpha: Alpha | None = None, notes: Sequence[str] = (),
                 cohort: int | None = None, ids: np.ndarray | None = None) -> Assessment:
    """Compare one month with the reference and last month, and give the verdict.

    Parameters
    ----------
    reference : dict, the model's ``reference.json`` (:func:`build_reference`)
    rows, scored : DataFrame
        The month's feature matrix (every child open at the date) and its scores (``score``,
        ``risk_band``, ``in_capacity``, ``family_id``, the characteristics).
    thresholds, tolerance : the policy's ``monitoring`` section, its fairness tolerance
    contacts, last, early, realised : dict, optional
        This month's :func:`contact_volumes`, last month's summary (JSON), :func:`early_outcomes`,
        month (ISO) -> ``{"overall": realised(...), "groups": by_group(...), ...}`` (the job's).
    promise, alpha, notes : optional
        The model's test metrics; :func:`run_alpha` (default: from the reference); caveats
        to publish (the capacity judged at, offers of help). Every test counts at
        ``alpha.alpha`` (the policy's ``alarms_per_year`` over 12 runs, Bonferroni).
    cohort, ids : int, array, optional
        The published cohort (:func:`published_cohort` of ``ids``, the rows' ``child_id|as_of``;
        default ``len(rows)``); band counts and shares now are cell-keyed by the same ids.

    Returns
    -------
    Assessment
        The verdict, its reasons and every comparison; ``to_dict()`` is its JSON form.

    Examples
    --------
    >>> from riskmodel.evaluation.fairness import MonitoringThresholds
    >>> from riskmodel.evaluation.monitoring import build_reference
    >>> def month(seed, n=2000):
    ...     rng = np.random.default_rng(seed)
    ...     rows = pd.DataFrame({"as_of": "2025-01-01", "family_id": np.arange(n) // 2,
    ...         "locality": rng.choice(["north", "south"], n), "age": rng.integers(0, 18, n) * 1.})
    ...     s = 1 / (1 + np.exp(3 - rows["age"] / 6))
    ...     return rows, rows.assign(score=s, in_capacity=s >= np.quantile(s, 0.9),
    ...                              risk_band=np.where(s > 0.2, "high", "low"))
    >>> rows, scored = month(0)
    >>> ref = build_reference(rows, ["age"], score=scored["score"], flags=scored["in_capacity"],
    ...                       bands=scored["risk_band"], importance={"age": 1.0})
    >>> assess_month(ref, *month(1), thresholds=MonitoringThresholds()).verdict
    'ok'
    >>> older = month(2)[0].assign(age=lambda d: np.minimum(d["age"] + 4, 17))
    >>> summary = assess_month(ref, older, month(2)[1], thresholds=MonitoringThresholds())
    >>> summary.verdict, summary.reasons[0].features
    ('retrain recommended', ('age',))
    """
    alpha, month = alpha or run_alpha(reference, thresholds), _calendar_month(rows)
    reasons, drift = _drift_reasons(reference, rows, scored, thresholds, alpha.alpha, month,
                                    contacts, last or {}, tolerance, cohort, ids)
    more, est, windows = _performance_reasons(reference, scored, thresholds, alpha.alpha, month,
                                              realised, promise, seed, early)
    return _summary(sorted(reasons + more, key=lambda r: -_RANK[r.level]), drift, est,
                    early=early, realised=windows, alpha=alpha, month=month, notes=notes)


def _calendar_month(rows: pd.DataFrame) -> str | None:
    """The month's calendar month (``"08"``), compared with the same month of the reference."""
    if "as_of" not in rows.columns or not len(rows):
        return None
    return f"{pd.to_datetime(rows['as_of']).iloc[0].month:02d}"


def _summary(reasons: list[Reason], drift: dict, est: Estimate, *,
             early: Mapping[str, Any] | None, realised: Mapping[str, RealisedWindow],
             alpha: Alpha, month: str | None, notes: Sequence[str]) -> Assessment:
    """The month's assessment from its reasons and comparisons."""
    inputs = drift["inputs"]
    return Assessment(
        verdict=verdict_of(reasons), reasons=tuple(reasons),
        cohort=CohortSize.of(drift["cohort"]),
        inputs=tuple(InputRow.of(r) for r in
                     inputs.drop(columns=["counts"]).to_dict(orient="records")),
        mix=tuple(MixRow.of(m) for m in drift["mix"]),
        contacts=tuple(ContactRow.of(c) for c in drift["contacts"]),
        scores=ScoreDrift.of(drift["scores"]), estimate=est,
        early=Early.of(early) if early else None,  # an empty one: nothing to compare
        realised=dict(realised), alpha=alpha, month_compared=month, notes=tuple(notes),
        moved=Moved(watch=int((inputs["band"] == "watch").sum()),
                    act=int((inputs["band"] == "act").sum()),
                    counted=int(inputs["level"].isin(["watch", "retrain"]).sum())),
    )
