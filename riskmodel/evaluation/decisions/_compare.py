"""Groups compared: override rates (findings) and the disparity of the list vs the decisions.

Each group of each characteristic of the fairness policy (and each intersection) is compared
with everyone else (everyone not in it), as the fairness report and monitoring compare groups:

- ``not_offered`` (*listed but not offered*): of the group's listed children the panel
  considered (reviewed, not already supported), the share it decided ``not_needed``, over
  the same share for everyone else; a higher ratio is a disparity against the group;
- ``added`` (*added though not listed*): of the group's children not on the list, the share
  the panel added and offered help, over everyone else's; a lower ratio is against the group.

These two are the *findings*: judged with the policy's tolerance and the Benjamini-Hochberg
control of false flags, in the fairness report's shape. The selection rates of the list
alone (listed / children) and of the final decisions (offered / children) are shown side by
side per group (the *disparity* table) with their ratios and intervals, not judged: a list's
differences between groups can follow need, which the fairness report examines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import published_rate
from riskmodel.evaluation.decisions._power import months_to_settle
from riskmodel.evaluation.decisions._rates import count_masks, count_rows, row_counts
from riskmodel.evaluation.fairness import (
    FINDINGS_COLUMNS,
    REST,
    STATUS_ORDER,
    Characteristic,
    FairnessPolicy,
    binomial_comparisons,
    build_tables,
    judge,
)

# measure -> (numerator column, denominator column, +1 when a higher ratio is against the group)
OVERRIDES = {"not_offered": ("listed_not_needed", "considered", 1),
             "added": ("added", "not_listed", -1)}
SELECTIONS = {"list": ("listed", "all"), "offer": ("offered", "all")}
MEASURE_WORDS = {"not_offered": "listed but not offered",
                 "added": "added though not listed"}
_VERDICT: dict[str | tuple[str, str], str] = {
    ("flag", "disadvantaged"): "a disparity against them, clear enough to flag",
    ("flag", "advantaged"): "a difference in their favour, clear enough to flag",
    "watch": "outside the tolerance but not clear enough to flag once the number of "
             "comparisons is counted: worth watching",
    "within": "within the policy's tolerance",
    "insufficient": "not enough children to judge",
}


def characteristics_present(t: pd.DataFrame, policy: FairnessPolicy
                            ) -> tuple[list[str], list[str]]:
    """The policy's characteristics the table holds, and those it lacks (their labels).

    Examples
    --------
    >>> from riskmodel.evaluation.fairness import load_fairness_policy
    >>> characteristics_present(pd.DataFrame({"locality": ["North"]}), load_fairness_policy())
    (['locality'], ['ethnicity', 'sex', 'disability', 'age band', 'IMD quintile'])
    """
    judged: list[str] = []
    missing: list[str] = []
    for name, c in policy.characteristics.items():
        c = c or Characteristic()
        label = str(c.label or name).split(" (")[0]
        (judged if (c.column or name) in t.columns else missing).append(label)
    return judged, missing


def _tables(t: pd.DataFrame, policy: FairnessPolicy):
    chars = {}
    for name, c in policy.characteristics.items():
        c = c or Characteristic()
        if (c.column or name) in t.columns:
            chars[name] = c
    combos = [tuple(x) for x in policy.intersections if all(m in chars for m in x)]
    return build_tables(t, chars, combos, policy) if chars else []


# The counts published for each group (a subset of COUNTS, under the same names).
GROUP_COUNTS = ("children", "listed", "reviewed", "considered", "listed_not_needed",
                "not_listed", "added", "offered")
# Each group's rates: name -> (numerator, denominator), both published counts.
GROUP_RATES = {"override_rate": ("listed_not_needed", "considered"),
               "addition_rate": ("added", "not_listed"), "list_rate": ("listed", "children"),
               "offer_rate": ("offered", "children")}


def group_counts(t: pd.DataFrame, policy: FairnessPolicy, keys: np.ndarray) -> pd.DataFrame:
    """Published (rounded) counts per group: everyone first, then each characteristic's groups.

    Columns: ``characteristic``, ``label``, ``kind``, ``group``, the counts of
    :data:`GROUP_COUNTS` (``children``, ``listed``, ``reviewed``, ``considered``,
    ``listed_not_needed``, ``not_listed``, ``added``, ``offered``: each counted once by
    :func:`count_rows`, the one disclosure path, so no count is above a count it is part of
    nor above everyone's) and the rates ``override_rate`` (listed_not_needed / considered),
    ``addition_rate`` (added / not_listed), ``list_rate`` and ``offer_rate`` (listed,
    offered / children).

    Examples
    --------
    >>> from riskmodel.evaluation.decisions import decision_table
    >>> from riskmodel.evaluation.fairness import FairnessPolicy
    >>> s = pd.DataFrame({"child_id": ["C1", "C2", "C3"], "as_of": "2025-12-31",
    ...                   "sex": ["female", "male", "male"], "in_capacity": [True, True, False]})
    >>> d = pd.DataFrame({"child_id": ["C1", "C2"], "scoring_month": "2025-12",
    ...                   "decision": ["offered", "not_needed"]})
    >>> pol = FairnessPolicy.model_validate({"characteristics": {"sex": None},
    ...                                      "intersections": [], "min_count": 1})
    >>> g = group_counts(decision_table(d, s), pol, np.zeros(3, np.int64))
    >>> g[["group", "listed", "listed_not_needed", "override_rate"]].values.tolist()
    [['all', 2, 1, 0.5], ['female', 1, 0, 0.0], ['male', 1, 1, 1.0]]
    """
    head = {"characteristic": "all", "label": "everyone", "kind": "all", "group": "all"}
    heads, rows = [head], [np.ones(len(t), bool)]
    for g in _tables(t, policy):
        for i, name in enumerate(g.groups):
            heads.append({"characteristic": g.key, "label": g.label, "kind": g.kind,
                          "group": name})
            rows.append(g.codes == i)
    counts = count_rows(count_masks(t), keys, policy.min_count, np.vstack(rows))
    out = pd.DataFrame([{**h, **{k: v for k, v in row_counts(counts, i).items()
                                 if k in GROUP_COUNTS}} for i, h in enumerate(heads)])
    for rate, (k, n) in GROUP_RATES.items():
        out[rate] = published_rate(out[k].to_numpy(), out[n].to_numpy())
    return out


def _fmt(v) -> str:
    return "\u2013" if v is None or not np.isfinite(v) else f"{v:.2f}"


def settle_words(settle: float, months: int) -> str:
    """How many months of lists would settle a comparison, in words.

    Examples
    --------
    >>> settle_words(4.0, 1)
    'about 4 months of lists would settle it (this report has 1)'
    """
    if settle is None or np.isnan(settle):
        return ""
    if np.isinf(settle):
        return "too small a difference for lists to settle within ten years"
    return (f"about {int(settle)} months of lists would settle it (this report has "
            f"{months})")


def finding_sentence(row: dict, confidence: float = 0.95, months: int = 1) -> str:
    """One override finding in words.

    Examples
    --------
    >>> row = {"measure": "not_offered", "label": "ethnicity", "group": "black",
    ...        "ratio": 2.7, "low": 1.9, "high": 3.6, "status": "flag",
    ...        "direction": "disadvantaged"}
    >>> finding_sentence(row)[-73:]
    '(95% interval 1.90\u20133.60): a disparity against them, clear enough to flag.'
    """
    grp = f"the {str(row['label']).replace('_', ' ')} group \u2018" \
          f"{str(row['group']).replace('_', ' ')}\u2019"
    if row["measure"] == "not_offered":
        text = (f"Listed children in {grp} were listed but not offered help (the panel decided "
                f"none was needed) {_fmt(row['ratio'])} times as often as other listed "
                "children (of those the panels considered)")
    else:
        text = (f"Children in {grp} who were not on the list were added though not listed "
                f"{_fmt(row['ratio'])} times as often as other children not listed")
    status = row["status"]
    verdict = _VERDICT.get((str(status), str(row.get("direction"))),
                           _VERDICT.get(str(status), str(status)))
    if status == "flag" and not isinstance(verdict, str):
        verdict = "clear enough to flag"
    if status == "insufficient" or not np.isfinite(float(row.get("low", np.nan))):
        more = settle_words(float(row.get("months_to_settle", np.nan)), months)
        return f"{text}: {verdict}{'; ' + more if more else ''}."
    ci = f"{round(100 * confidence):d}% interval {_fmt(row['low'])}\u2013{_fmt(row['high'])}"
    return f"{text} ({ci}): {verdict}."


def override_findings(groups: pd.DataFrame, policy: FairnessPolicy, *, seed: int = 0,
                      months: int = 1) -> pd.DataFrame:
    """Each group's override rates against everyone else's, judged (the fairness report's
    shape and reference).

    Parameters
    ----------
    groups : DataFrame
        From :func:`group_counts`.
    policy : FairnessPolicy
    seed : int
        For the intervals' posterior draws (the same seed gives the same report).
    months : int
        How many months of lists the counts cover.

    Returns
    -------
    DataFrame
        ``FINDINGS_COLUMNS`` and ``months_to_settle`` (for a comparison not enough to judge,
        the months of lists in all that would settle it, :func:`months_to_settle`; ``inf``
        for too small a difference to settle, else NaN): ``rank``, ``characteristic``,
        ``label``, ``kind``, ``group``, ``measure`` (``not_offered`` or ``added``),
        ``source`` (empty), ``reference`` (``everyone else``), ``value``, ``reference_value``,
        ``ratio``, ``low``, ``high``, ``direction``, ``status``, ``p_value``, ``n``, ``n0``,
        ``need_ratio`` (empty) and ``sentence``; flags first.
    """
    rows = _override_rows(groups)
    if not rows:
        return pd.DataFrame(columns=FINDINGS_COLUMNS)
    comp = pd.DataFrame(rows)
    base = policy.min_count
    comp = binomial_comparisons(comp, base=base, confidence=policy.bootstrap.confidence,
                                tolerance=policy.tolerance, seed=seed)
    comp = judge(comp, tolerance=policy.tolerance,
                 false_discovery_rate=policy.judging.false_discovery_rate,
                 min_children=policy.judging.min_children)
    comp = _ranked(comp)
    comp["need_ratio"] = np.nan
    tol = policy.tolerance
    settle = months_to_settle(comp, months, low=tol.low, high=tol.high, base=policy.min_count,
                              min_children=policy.judging.min_children,
                              alpha=policy.judging.false_discovery_rate)
    comp["months_to_settle"] = np.where(comp["status"] == "insufficient", settle, np.nan)
    conf = policy.bootstrap.confidence
    comp["sentence"] = [finding_sentence(r, conf, months) for r in comp.to_dict("records")]
    return comp.reindex(columns=[*FINDINGS_COLUMNS, "months_to_settle"])


def _override_rows(groups: pd.DataFrame) -> list[dict]:
    """One comparison per group and override measure: its counts against everyone else's
    (everyone's less the group's: published counts, each part no larger than its whole)."""
    everyone = groups.iloc[0]
    rows = []
    for g in groups.iloc[1:].itertuples(index=False):
        for measure, (k, n, _) in OVERRIDES.items():
            rows.append({"characteristic": g.characteristic, "label": g.label, "kind": g.kind,
                         "group": g.group, "measure": measure, "source": "",
                         "reference": REST, "k": getattr(g, k), "n": getattr(g, n),
                         "k0": max(everyone[k] - getattr(g, k), 0),
                         "n0": max(everyone[n] - getattr(g, n), 0)})
    return rows


def _ranked(comp: pd.DataFrame) -> pd.DataFrame:
    """Judged comparisons with their direction, ranked flags first, and both rates."""
    # The direction from the measure's harm (an addition is a benefit) and the ratio's side
    # of 1, a ratio of 0 included (judge() calls a ratio of 0 neither).
    harm = comp["measure"].map({m: h for m, (_, _, h) in OVERRIDES.items()}).to_numpy()
    ratio = comp["ratio"].astype(float).to_numpy()
    side = np.where(np.isnan(ratio), 0, np.sign(ratio - 1))
    comp["direction"] = np.select([harm * side > 0, harm * side < 0],
                                  ["disadvantaged", "advantaged"], "neither")
    comp["_s"] = comp["status"].map(STATUS_ORDER)
    comp["_d"] = (comp["direction"] != "disadvantaged").astype(int)
    comp = comp.sort_values(["_s", "_d", "p_value"], kind="stable").reset_index(drop=True)
    comp["rank"] = np.arange(1, len(comp) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        comp["value"] = np.where(comp["n"] > 0, comp["k"] / comp["n"], np.nan)
        comp["reference_value"] = np.where(comp["n0"] > 0, comp["k0"] / comp["n0"], np.nan)
    return comp


def disparity_table(groups: pd.DataFrame, policy: FairnessPolicy, *, seed: int = 0
                    ) -> pd.DataFrame:
    """Per group: the list's selection rate and the decisions' offer rate, each over
    everyone else's, with intervals, and how far the decisions moved the ratio (not judged).

    Columns: the group's ``characteristic``, ``label``, ``kind``, ``group``, ``children``,
    ``listed``, ``offered``, ``list_rate``, ``offer_rate``, ``list_ratio`` (with
    ``list_low``, ``list_high``), ``offer_ratio`` (with ``offer_low``, ``offer_high``),
    ``change`` (offer ratio / list ratio), ``list_outside`` and ``offer_outside`` (outside
    the tolerance) and ``too_few`` (fewer children than ``judging.min_children``).

    Examples
    --------
    >>> from riskmodel.evaluation.fairness import load_fairness_policy
    >>> g = pd.DataFrame({"characteristic": ["all", "sex", "sex"], "label": "sex",
    ...                   "kind": "characteristic", "group": ["all", "female", "male"],
    ...                   "children": [200, 100, 100], "listed": [40, 30, 10],
    ...                   "offered": [30, 15, 15], "list_rate": [.2, .3, .1],
    ...                   "offer_rate": [.15, .15, .15]})
    >>> d = disparity_table(g, load_fairness_policy())
    >>> d[["group", "list_ratio", "offer_ratio"]].round(2).values.tolist()
    [['female', 3.0, 1.0], ['male', 0.33, 1.0]]
    """
    everyone = groups.iloc[0]
    out = groups.iloc[1:][["characteristic", "label", "kind", "group", "children", "listed",
                           "offered", "list_rate", "offer_rate"]].reset_index(drop=True)
    if out.empty:
        return out
    for name, (k, n) in SELECTIONS.items():
        col = "children" if n == "all" else n
        rows = pd.DataFrame({"k": out[k], "n": out[col],
                             "k0": (everyone[k] - out[k]).clip(lower=0),
                             "n0": (everyone[col] - out[col]).clip(lower=0)})
        comp = binomial_comparisons(rows, base=policy.min_count,
                                    confidence=policy.bootstrap.confidence,
                                    tolerance=policy.tolerance, seed=seed + 7)
        out[f"{name}_ratio"] = comp["ratio"].to_numpy()
        out[f"{name}_low"] = comp["low"].to_numpy()
        out[f"{name}_high"] = comp["high"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change"] = out["offer_ratio"] / out["list_ratio"]
    tol = policy.tolerance
    few = out["children"] < policy.judging.min_children
    out["list_outside"] = ~few & ((out["list_ratio"] < tol.low) | (out["list_ratio"] > tol.high))
    out["offer_outside"] = ~few & ((out["offer_ratio"] < tol.low)
                                   | (out["offer_ratio"] > tol.high))
    out["too_few"] = few
    return out
