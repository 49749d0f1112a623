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


def assess_month(reference: dict, rows: pd.DataFrame, scored: pd.DataFrame, *, thresholds,
                 tolerance=(0.8, 1.25), contacts: dict | None = None, last: dict | None = None,
                 early: dict | None = None, realised: dict | None = None, promise=None,
                 seed: int = 0) -> dict:
    """Compare one month with the reference and last month, and give the verdict.

    Parameters
    ----------
    reference : dict
        The model's ``reference.json`` (:func:`build_reference`).
    rows : DataFrame
        The month's feature matrix (every child open at the date).
    scored : DataFrame
        The month's scores: ``score``, ``risk_band``, ``in_capacity``, ``family_id`` and
        the characteristics (``locality``, ``ethnicity``, ...).
    thresholds : MonitoringThresholds
        The policy's ``monitoring`` section.
    tolerance : (float, float)
        The fairness policy's tolerance for a ratio between groups.
    contacts : dict, optional
        This month's :func:`contact_volumes`.
    last : dict, optional
        Last month's summary (for changes since then).
    early : dict, optional
        :func:`early_outcomes` of last month's list.
    realised : dict, optional
        Matured month (ISO date) -> ``{"overall": realised(...), "groups": by_group(...)}``.
    promise : list of dict, optional
        The model's test metrics (``metric``, ``value``, ``low``, ``high``).

    Returns
    -------
    dict
        ``verdict``, ``reasons``, ``cohort``, ``inputs``, ``mix``, ``contacts``, ``scores``,
        ``early``, ``estimate``, ``realised``; JSON-ready, no child id, small counts shown as
        ``"<5"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.evaluation.fairness._policy import MonitoringThresholds
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
    t = thresholds
    reasons: list[dict] = []
    last = last or {}
    cohort = cohort_size(reference, len(rows), (last.get("cohort") or {}).get("now"), t)
    if cohort["level"]:
        reasons.append(_reason("watch", "cohort", cohort["why"]))
    inputs = input_drift(reference, rows, t)
    for r in inputs[inputs["level"].isin(["watch", "retrain"])].itertuples():
        reasons.append(_reason(r.level, "inputs", f"{r.words} ({r.feature}): {r.why}",
                               [r.feature]))
    mix = mix_drift(reference, rows, t)
    for m in mix:
        if m["level"]:
            reasons.append(_reason("watch", "cohort", f"the children's "
                                   f"{m['characteristic'].replace('_', ' ')}: {m['why']}"))
    features = list(reference["features"])
    volumes = contacts_drift(reference, contacts or {}, features, t) if contacts else []
    for c in volumes:
        if c["level"]:
            reasons.append(_reason("watch", "contacts", c["why"] + (
                "; the model reads them in " + ", ".join(c["features"]) if c["features"]
                else ""), c["features"]))
    scores = score_drift(reference, scored["score"].to_numpy(float), scored["risk_band"],
                         scored["in_capacity"].to_numpy(bool), scored, t, tolerance=tolerance,
                         last=last.get("scores"))
    if scores["level"]:
        reasons.append(_reason(scores["level"], "scores", scores["why"]))
    for c in scores["capacity"]:
        if c["level"]:
            reasons.append(_reason("watch", "fairness", c["why"]))
    if early and early.get("level"):
        reasons.append(_reason(early["level"], "early", early["why"]))
    est = estimate(scored["score"].to_numpy(float), scored["in_capacity"].to_numpy(bool),
                   n_sim=t.bootstrap, seed=seed)
    est["short"] = judge({k: v for k, v in est.items() if k in ("auc", "precision_at_capacity",
                                                                 "recall_at_capacity")},
                         promise, t.performance, outcome_ratio=t.outcome_ratio)
    for text in est["short"]:
        reasons.append(_reason("watch", "estimate", f"estimate for this month's list: {text}"))
    for month, r in sorted((realised or {}).items()):
        r["short"] = judge(r["overall"]["metrics"], promise, t.performance,
                           outcome_ratio=t.outcome_ratio)
        for text in r["short"]:
            reasons.append(_reason("retrain", "performance", f"the list of {month}: {text}"))
        for ch in r.get("groups", []):
            for g in ch["groups"]:
                for key, words in (("missed_ratio", "missed"),
                                   ("oe_ratio", "had the outcome, for their scores,")):
                    m = g.get(key)
                    if m and m["outside"]:
                        reasons.append(_reason(
                            "watch", "fairness",
                            f"the list of {month}: {ch['characteristic'].replace('_', ' ')} "
                            f"{g['group']} {words} {m['value']:.2f} times as often as "
                            f"{ch['reference']} ({m['low']:.2f}-{m['high']:.2f})"))
    reasons.sort(key=lambda r: -_RANK[r["level"]])
    kept = inputs.drop(columns=["counts"])
    return _clean({
        "verdict": verdict_of(reasons), "reasons": reasons, "cohort": cohort,
        "inputs": kept.to_dict(orient="records"), "mix": mix, "contacts": volumes,
        "scores": scores, "early": early or {}, "estimate": est, "realised": realised or {},
        "moved": {"watch": int((inputs["band"] == "watch").sum()),
                  "act": int((inputs["band"] == "act").sum()),
                  "counted": int(inputs["level"].isin(["watch", "retrain"]).sum())},
    })
