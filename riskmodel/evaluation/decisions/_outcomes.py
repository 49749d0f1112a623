"""Outcomes of followed and overridden cases, once the horizon has passed (not causal)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import protect_cells, protect_counts
from riskmodel.evaluation.decisions._rates import count_masks
from riskmodel.evaluation.fairness import FairnessPolicy, binomial_comparisons, rate_interval

# name -> words; the rows of each are chosen in _masks
CATEGORIES = {
    "followed": "listed, offered help",
    "declined": "listed, offered help, declined by the family",
    "supported": "listed, already supported",
    "overridden": "listed, not offered (the panel decided none was needed)",
    "not_reviewed": "listed, not reviewed",
    "added": "not listed, added by the panel and offered help",
    "not_listed": "not listed, not added",
}
# (category, compared with): the comparisons the report makes
PAIRS = (("overridden", "followed"), ("added", "not_listed"))
NOT_CAUSAL = (
    "These comparisons are not causal. Who was offered help was chosen, by the list and by "
    "the panels, and help itself changes what happens next: a lower rate among children "
    "offered help may mean the help worked, or that the panels chose children who would have "
    "done well anyway; a higher rate among children the panels did not offer help may mean "
    "the panels were wrong, or that they chose for reasons the outcome does not record.")


def _masks(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each category's rows, from the counts' one home (:func:`count_masks`)."""
    m = count_masks(t)
    return {"followed": m["listed_offered"], "declined": m["listed_declined"],
            "supported": m["listed_already_supported"], "overridden": m["listed_not_needed"],
            "not_reviewed": m["not_reviewed"], "added": m["added"],
            "not_listed": m["not_listed"] & ~m["added"]}


def decision_outcomes(t: pd.DataFrame, policy: FairnessPolicy, keys: np.ndarray, *,
                      outcome: str = "escalation", seed: int = 0) -> dict:
    """The outcome rate of each kind of decision, with intervals, and two comparisons.

    Parameters
    ----------
    t : DataFrame
        :func:`decision_table` rows with ``label`` (1 = the outcome within the horizon, 0 =
        not, missing = not yet known) and ``score``.
    policy : FairnessPolicy
        Its ``min_count`` rounds every count (cell-key rounding), ``bootstrap.confidence``
        sets the intervals and ``judging.min_children`` marks small categories.
    keys : array
        Each row's record key (:func:`table_keys`).

    Returns
    -------
    dict
        ``table`` (one row per category: ``category``, ``words``, ``children``, ``had_outcome``,
        ``rate``, ``low``, ``high``, ``predicted`` (mean score), ``too_few``),
        ``comparisons`` (``category``, ``compared_with``, ``ratio``, ``low``, ``high``),
        ``unknown`` (rounded count of children whose outcome is not known yet) and
        ``not_causal`` (the caveat, in words).

    Examples
    --------
    >>> from riskmodel.evaluation.decisions import decision_table
    >>> from riskmodel.evaluation.fairness import load_fairness_policy
    >>> rng = np.random.default_rng(0)
    >>> s = pd.DataFrame({"child_id": [f"C{i}" for i in range(400)], "as_of": "2024-06-30",
    ...                   "in_capacity": [True] * 200 + [False] * 200,
    ...                   "score": rng.uniform(0, 0.3, 400)})
    >>> d = pd.DataFrame({"child_id": s.child_id[:200], "scoring_month": "2024-06",
    ...                   "decision": ["offered", "not_needed"] * 100})
    >>> t = decision_table(d, s).assign(label=(rng.uniform(size=400) < 0.1).astype(int))
    >>> o = decision_outcomes(t, load_fairness_policy(), np.zeros(400, np.int64))
    >>> int(o["table"].set_index("category").loc["followed", "children"])
    100
    """
    label = pd.to_numeric(t["label"], errors="coerce").to_numpy(float)
    known = ~np.isnan(label)
    table = _category_table(t, policy, keys, known, known & (label == 1))
    comp = _comparisons(table, policy, seed)
    return {"outcome": outcome, "table": table,
            "comparisons": comp[["category", "compared_with", "ratio", "low", "high",
                                 "too_few"]],
            "unknown": int(protect_counts(~known, keys, policy.min_count)[0]),
            "not_causal": NOT_CAUSAL}


def _category_table(t: pd.DataFrame, policy: FairnessPolicy, keys: np.ndarray,
                    known: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """One row per category: protected children and outcomes (the one disclosure path,
    outcomes never above children), the rate's interval, mean score."""
    base = policy.min_count
    conf = policy.bootstrap.confidence
    score = pd.to_numeric(t.get("score"), errors="coerce").to_numpy(float) \
        if "score" in t else np.full(len(t), np.nan)
    masks = _masks(t)
    counts = protect_cells(np.vstack(list(masks.values())), {"children": known, "had": y},
                           {"had": ("children",)}, keys, base)
    rows = []
    for i, (name, mask) in enumerate(masks.items()):
        m = mask & known
        n, k = int(counts["children"][i]), int(counts["had"][i])
        lo, hi = rate_interval(k, n, base=base, confidence=conf)
        pred = float(np.nanmean(score[m])) if m.any() and np.isfinite(score[m]).any() \
            else np.nan
        rows.append({"category": name, "words": CATEGORIES[name], "children": n,
                     "had_outcome": k, "rate": k / n if n > 0 else np.nan,
                     "low": float(lo), "high": float(hi),
                     "predicted": round(pred, 3) if np.isfinite(pred) else np.nan,
                     "too_few": n < policy.judging.min_children})
    return pd.DataFrame(rows)


def _comparisons(table: pd.DataFrame, policy: FairnessPolicy, seed: int) -> pd.DataFrame:
    """The outcome-rate ratios of :data:`PAIRS`, with intervals and small ones marked."""
    by = table.set_index("category")
    pairs = pd.DataFrame([{"category": a, "compared_with": b, "k": by.loc[a, "had_outcome"],
                           "n": by.loc[a, "children"], "k0": by.loc[b, "had_outcome"],
                           "n0": by.loc[b, "children"]} for a, b in PAIRS])
    comp = binomial_comparisons(pairs, base=policy.min_count,
                                confidence=policy.bootstrap.confidence,
                                tolerance=policy.tolerance, seed=seed + 11)
    comp["too_few"] = (comp["n"] < policy.judging.min_children) | (
        comp["n0"] < policy.judging.min_children)
    return comp
