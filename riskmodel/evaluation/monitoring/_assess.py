"""One month's monitoring: every comparison, then one verdict with its reasons.

:func:`assess_month` is pure (frames in, a JSON-ready summary out): the job
(:mod:`riskmodel.jobs.monitor`) builds the frames from the extract and the model, and stores
the summary in the model's MLflow record. The verdict is ``ok``, ``watch`` or ``retrain
recommended``: the most serious level any section reached, with every reason in words.
"""

from __future__ import annotations

import math

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

ESTIMATED = ("auc", "precision_at_capacity", "recall_at_capacity")

VERDICTS = ("ok", "watch", "retrain recommended")
_RANK = {"": 0, "listed": 0, "watch": 1, "retrain": 2}
SECTIONS = {"performance": "realised performance", "early": "early outcomes",
            "scores": "score drift", "inputs": "input drift", "contacts": "recording",
            "cohort": "cohort size and mix", "fairness": "fairness decay",
            "estimate": "estimated performance"}


def verdict_of(reasons: list[dict]) -> str:
    """``ok``, ``watch`` or ``retrain recommended``: the most serious level among reasons.

    Examples
    --------
    >>> verdict_of([]), verdict_of([{"level": "watch"}, {"level": "retrain"}])
    ('ok', 'retrain recommended')
    """
    top = max((_RANK[r["level"]] for r in reasons), default=0)
    return VERDICTS[top]


def _reason(level: str, section: str, text: str, features=()) -> dict:
    return {"level": level, "section": SECTIONS[section], "text": text,
            "features": list(features)}


def _clean(value):
    """JSON-ready: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_alpha(reference: dict, thresholds, *, characteristics=()) -> dict:
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
    >>> a["tests"], round(a["alpha"], 6)
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
    return {"per_run": per_run, "tests": n, "alpha": min(t.p_value, per_run / n),
            "fairness_tests": fairness}


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


def _drift_reasons(reference: dict, rows: pd.DataFrame, scored: pd.DataFrame, t, alpha: float,
                   month: str | None, contacts: dict | None, last: dict,
                   tolerance, size: int | None = None) -> tuple[list[dict], dict]:
    reasons: list[dict] = []
    # the cohort as published (the fairness report's "everyone" cell) when the job gives it
    n = len(rows) if size is None else size
    cohort = cohort_size(reference, n, (last.get("cohort") or {}).get("now"), t, month=month)
    if cohort["level"]:
        reasons.append(_reason("watch", "cohort", cohort["why"]))
    inputs = input_drift(reference, rows, t, alpha=alpha, month=month)
    for r in inputs[inputs["level"].isin(["watch", "retrain"])].itertuples():
        reasons.append(_reason(r.level, "inputs", f"{r.words} ({r.feature}): {r.why}",
                               [r.feature]))
    mix = mix_drift(reference, rows, t, alpha=alpha)
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
                         last=last.get("scores"), alpha=alpha, month=month)
    if scores["level"]:
        reasons.append(_reason(scores["level"], "scores", scores["why"]))
    for c in scores["capacity"]:
        if c["level"]:
            reasons.append(_reason("watch", "fairness", c["why"]))
    return reasons, {"cohort": cohort, "inputs": inputs, "mix": mix, "contacts": volumes,
                     "scores": scores}


def _performance_reasons(reference: dict, scored: pd.DataFrame, t, alpha: float,
                         month: str | None, realised: dict | None, promise,
                         seed: int) -> tuple[list[dict], dict]:
    reasons: list[dict] = []
    est = estimate(scored["score"].to_numpy(float), scored["in_capacity"].to_numpy(bool),
                   n_sim=t.bootstrap, seed=seed)
    est["reference"] = reference_estimate(reference, month)
    est["checks"] = judge({k: est[k] for k in ESTIMATED}, est["reference"], t.performance,
                          outcome_ratio=t.outcome_ratio, alpha=alpha,
                          against="the reference period's estimate")
    est["short"] = [c["text"] for c in est["checks"] if c["short"]]
    for text in est["short"]:
        reasons.append(_reason("watch", "estimate", f"estimate for this month's list: {text}"))
    for key, r in sorted((realised or {}).items()):
        span = f"the lists of {r.get('first', key)} to {key}"
        r["checks"] = judge(r["overall"]["metrics"], promise, t.performance,
                            outcome_ratio=t.outcome_ratio, alpha=alpha)
        r["short"] = [c["text"] for c in r["checks"] if c["short"]]
        for text in r["short"]:
            reasons.append(_reason("retrain", "performance", f"{span}: {text}"))
        reasons += [_reason("watch", "fairness", f"{span}: {text}")
                    for text in gap_reasons(r.get("groups", []))]
    return reasons, est


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


def assess_month(reference: dict, rows: pd.DataFrame, scored: pd.DataFrame, *, thresholds,
                 tolerance=(0.8, 1.25), contacts: dict | None = None, last: dict | None = None,
                 early: dict | None = None, realised: dict | None = None, promise=None,
                 seed: int = 0, alpha: dict | None = None, notes=(),
                 cohort: int | None = None) -> dict:
    """Compare one month with the reference and last month, and give the verdict.

    Parameters
    ----------
    reference : dict, the model's ``reference.json`` (:func:`build_reference`)
    rows, scored : DataFrame
        The month's feature matrix (every child open at the date) and its scores (``score``,
        ``risk_band``, ``in_capacity``, ``family_id``, the characteristics).
    thresholds, tolerance : the policy's ``monitoring`` section, its fairness tolerance
    contacts, last, early, realised : dict, optional
        This month's :func:`contact_volumes`, last month's summary, :func:`early_outcomes`,
        matured month (ISO date) -> ``{"overall": realised(...), "groups": by_group(...)}``.
    promise, alpha, notes : optional
        The model's test metrics; :func:`run_alpha` (default: from the reference); caveats
        to publish (the capacity judged at, offers of help). Every test counts at
        ``alpha["alpha"]`` (the policy's ``alarms_per_year`` over 12 runs, Bonferroni).
    cohort : int, optional
        The children open now as published (:func:`published_cohort`, the fairness report's
        "everyone" cell); default the exact number of ``rows`` (for data already public).

    Returns
    -------
    dict
        ``verdict``, ``reasons`` and each comparison (``cohort``, ``inputs``, ``mix``,
        ``contacts``, ``scores``, ``early``, ``estimate``, ``realised``); JSON-ready.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.evaluation.fairness import MonitoringThresholds
    >>> from riskmodel.evaluation.monitoring import build_reference
    >>> def month(seed, n=2000):
    ...     rng = np.random.default_rng(seed)
    ...     rows = pd.DataFrame({"as_of": "2025-01-01", "family_id": np.arange(n) // 2,
    ...                          "locality": rng.choice(["north", "south"], n),
    ...                          "age": rng.integers(0, 18, n).astype(float)})
    ...     score = 1 / (1 + np.exp(3 - rows["age"] / 6))
    ...     return rows, rows.assign(score=score, in_capacity=score >= np.quantile(score, 0.9),
    ...                              risk_band=np.where(score > 0.2, "high", "low"))
    >>> rows, scored = month(0)
    >>> ref = build_reference(rows, ["age"], score=scored["score"], flags=scored["in_capacity"],
    ...                       bands=scored["risk_band"], importance={"age": 1.0})
    >>> assess_month(ref, *month(1), thresholds=MonitoringThresholds())["verdict"]
    'ok'
    >>> older = month(2)[0].assign(age=lambda d: np.minimum(d["age"] + 4, 17))
    >>> summary = assess_month(ref, older, month(2)[1], thresholds=MonitoringThresholds())
    >>> summary["verdict"], summary["reasons"][0]["features"]
    ('retrain recommended', ['age'])
    """
    alpha = alpha or run_alpha(reference, thresholds)
    month = _calendar_month(rows)
    reasons, drift = _drift_reasons(reference, rows, scored, thresholds, alpha["alpha"], month,
                                    contacts, last or {}, tolerance, cohort)
    more, est = _performance_reasons(reference, scored, thresholds, alpha["alpha"], month,
                                     realised, promise, seed)
    first = [_reason(e["level"], "early", e["why"]) for e in [early or {}] if e.get("level")]
    reasons = sorted(reasons + first + more, key=lambda r: -_RANK[r["level"]])
    return _summary(reasons, drift, est, early=early, realised=realised, alpha=alpha,
                    month=month, notes=notes)


def _calendar_month(rows: pd.DataFrame) -> str | None:
    """The month's calendar month (``"08"``), compared with the same month of the reference."""
    if "as_of" not in rows.columns or not len(rows):
        return None
    return f"{pd.to_datetime(rows['as_of']).iloc[0].month:02d}"


def _summary(reasons: list[dict], drift: dict, est: dict, *, early: dict | None,
             realised: dict | None, alpha: dict, month: str | None, notes) -> dict:
    """The month's summary, JSON-ready, from its reasons and comparisons."""
    inputs = drift["inputs"]
    return _clean({
        "verdict": verdict_of(reasons), "reasons": reasons, "cohort": drift["cohort"],
        "inputs": inputs.drop(columns=["counts"]).to_dict(orient="records"),
        "mix": drift["mix"], "contacts": drift["contacts"], "scores": drift["scores"],
        "early": early or {}, "estimate": est, "realised": realised or {},
        "alpha": alpha, "month_compared": month, "notes": list(notes),
        "moved": {"watch": int((inputs["band"] == "watch").sum()),
                  "act": int((inputs["band"] == "act").sum()),
                  "counted": int(inputs["level"].isin(["watch", "retrain"]).sum())},
    })
