"""Results by locality and by group, as the documents publish them.

Only published figures leave here: per-locality rates are shown only when every count
behind them is safe to publish, and fairness figures are copied from the fairness report,
whose own suppression stands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from riskmodel.evaluation.card._document import Table
from riskmodel.evaluation.card._facts import MIN_COUNT, ModelFacts, finite


def locality_table(by_locality: pd.DataFrame | None, *, min_count: int = MIN_COUNT) -> Table | str:
    """Per-locality test rates, with every rate resting on fewer than 5 children hidden.

    The logged table holds rates and the number of test rows; the counts behind each rate
    (rows, rows with the outcome, flagged, flagged with the outcome) are worked back from
    them and passed through :func:`~riskmodel.evaluation._disclosure.suppress` with the
    overall totals as published, so a small count is hidden and cannot be worked out from
    the other localities. A rate is shown only when all its counts are.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"locality": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
    ...                   "metric": ["base_rate", "precision_at_capacity",
    ...                              "recall_at_capacity"] * 3,
    ...                   "value": [0.1, 0.5, 0.4, 0.02, 0.5, 0.5, 0.1, 0.5, 0.4],
    ...                   "n": [200] * 3 + [150] * 3 + [200] * 3})
    >>> [r[:2] for r in locality_table(t).rows]
    [['a', 'suppressed'], ['b', '<5'], ['c', 0.1]]
    """
    from riskmodel.evaluation._disclosure import suppress

    if by_locality is None or by_locality.empty:
        return "The training run logged no per-locality results."
    wide = by_locality.pivot_table(index="locality", columns="metric", values="value",
                                   aggfunc="first", dropna=False)
    wide["n"] = by_locality.groupby("locality")["n"].max()
    wide = wide.sort_index()

    def col(name):
        return wide[name].astype(float) if name in wide else pd.Series(float("nan"), wide.index)

    base, prec, rec = col("base_rate"), col("precision_at_capacity"), col("recall_at_capacity")
    counts = pd.DataFrame({"n": wide["n"].astype(float)}, index=wide.index)
    counts["pos"] = (base * counts["n"]).round()
    counts["tp"] = (rec * counts["pos"]).round()
    counts["flagged"] = (counts["tp"] / prec.where(prec > 0)).round()
    hidden = pd.DataFrame(False, index=wide.index, columns=counts.columns)
    for c in counts.columns:
        known = counts[c].notna()
        if not known.any():
            continue
        t = pd.DataFrame({"children": counts.loc[known, c].astype(int)})
        out = suppress(t, count="children", rates=(), min_count=min_count)
        hid = out["children"].map(lambda v: isinstance(v, str)).to_numpy().copy()
        if 0 < t["children"].sum() < min_count:  # the total is published elsewhere
            hid[:] = True
        hidden.loc[known, c] = hid
    small = f"<{min_count}"

    def show(rate, loc, *needs):
        if not finite(rate):
            return "not defined"
        if any(pd.isna(counts.loc[loc, k]) for k in needs):
            return "suppressed"  # a count that cannot be worked back may be small
        if any(hidden.loc[loc, k] for k in needs):
            return small if any(0 < counts.loc[loc, k] < min_count for k in needs) \
                else "suppressed"
        return round(float(rate), 4)

    rows = []
    for loc in wide.index:
        rows.append([str(loc), show(base[loc], loc, "n", "pos"),
                     show(prec[loc], loc, "tp", "flagged"),
                     show(rec[loc], loc, "tp", "pos")])
    # Counts are not shown: other published reports (the fairness report) may hide some of
    # them to protect their own small cells, and rates alone cannot undo that.
    return Table(["locality", "base rate", "precision at capacity", "recall at capacity"],
                 rows,
                 note=f"'{small}': hidden because it rests on fewer than {min_count} children; "
                      "'suppressed': hidden so that such a figure cannot be worked out from "
                      "the others.")


FAIRNESS_METRIC_WORDS = {
    "false_negative_rate": "missed (false negative rate)",
    "selection_rate": "flagged (selection rate)",
    "false_positive_rate": "false positive rate",
    "precision": "precision",
    "calibration": "observed / predicted",
    "true_positive_rate": "found (recall)",
    "base_rate": "base rate",
    "auc": "AUC",
}


def _fair_cell(v, *, digits: int = 3):
    """A published fairness figure: numbers rounded, hidden cells kept, missing explained."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "not defined"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return round(float(v), digits)
    return str(v)


def fairness_characteristics(fair: Mapping) -> list[str]:
    """The characteristics (and intersections) a fairness report audited, with references.

    Examples
    --------
    >>> fairness_characteristics({"settings": {"characteristics": {
    ...     "sex": {"label": "sex", "reference": "male"}}}})
    ["sex (reference group 'male')"]
    """
    chars = (fair.get("settings") or {}).get("characteristics") or {}
    return [f"{c.get('label', k)} (reference group '{c.get('reference')}')"
            for k, c in chars.items()]


def fairness_tables(fair: Mapping) -> tuple[object, object, list[str]]:
    """The card's view of a fairness report: by group, intersections, and findings.

    Only published figures are used: the report's tables are suppressed already, and its
    hidden cells stay hidden. The two measures the policy leads with are shown.

    Returns
    -------
    by_group : list
        The report's summary sentences, then a table of each group's ratio to its
        reference for the lead measures.
    intersections : Table or str
    findings : list of str
        One sentence per comparison whose whole interval lies outside the tolerance.
    """
    settings = fair.get("settings") or {}
    lead = list(settings.get("metrics") or ["false_negative_rate", "selection_rate"])[:2]
    ratios = pd.DataFrame((fair.get("tables") or {}).get("ratios") or [])
    tol = settings.get("tolerance") or {}
    rule = settings.get("rule", "the capacity rule")
    note = (f"Ratio of each group's rate to its reference group's, with its "
            f"{round(100 * float((settings.get('bootstrap') or {}).get('confidence', 0.95)))}% "
            f"interval; tolerance {tol.get('low', 0.8)}-{tol.get('high', 1.25)}; flagged by "
            f"'{rule}'. 'suppressed' or '<{settings.get('min_count', MIN_COUNT)}': hidden in "
            "the fairness report to protect small numbers.")
    columns = ["characteristic", "group", "reference", "measure", "group's rate", "ratio",
               "ratio 95% low", "ratio 95% high", "status"]

    def table(kind_mask) -> Table | None:
        if ratios.empty:
            return None
        part = ratios[kind_mask(ratios) & ratios["metric"].isin(lead)]
        hidden = int((part["status"] == "suppressed").sum())
        part = part[part["status"] != "suppressed"]
        rows = [[_fair_cell(r["label"]), _fair_cell(r["group"]), _fair_cell(r["reference"]),
                 FAIRNESS_METRIC_WORDS.get(r["metric"], r["metric"]), _fair_cell(r["value"]),
                 _fair_cell(r["ratio"]), _fair_cell(r["ratio_low"]), _fair_cell(r["ratio_high"]),
                 _fair_cell(r["status"])] for _, r in part.iterrows()]
        more = (f" Not shown: {hidden} comparison{'s' if hidden != 1 else ''} that the "
                "fairness report suppressed." if hidden else "")
        return Table(columns, rows, note=note + more) if rows else None

    by_group = table(lambda d: d["kind"] != "intersection")
    inter = table(lambda d: d["kind"] == "intersection")
    summary = [str(x) for x in (fair.get("summary") or []) if str(x).strip()]
    by_group_value = summary + ([by_group] if by_group is not None else [])
    if not by_group_value:
        by_group_value = "The fairness report holds no published group results."
    if inter is None:
        inter = "The fairness report audited no intersections (or published none of them)."
    findings = []
    if not ratios.empty:
        out = ratios[ratios.get("flagged", False).astype(bool)]
        for _, r in out.iterrows():
            findings.append(
                f"{r['label']} '{r['group']}': "
                f"{FAIRNESS_METRIC_WORDS.get(r['metric'], r['metric'])} "
                f"{_fair_cell(r['ratio'], digits=2)} times that of '{r['reference']}' "
                f"(interval {_fair_cell(r['ratio_low'], digits=2)} to "
                f"{_fair_cell(r['ratio_high'], digits=2)})")
    return by_group_value, inter, findings


def fairness_summary(facts: ModelFacts) -> tuple[object, object, list[str]]:
    """The fairness results the documents show, or why there are none.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    by_group, intersections, findings
        As :func:`fairness_tables` gives them; without a fairness report, a sentence saying
        so for both results and no findings.
    """
    if not facts.fairness:
        none = ("No fairness report was logged with this model's training run or given to "
                "riskmodel card; run riskmodel fairness for this model and pass its results "
                "with --fairness.")
        return none, none, []
    return fairness_tables(facts.fairness)


def groups_words(facts: ModelFacts) -> str:
    """The groups the evaluation covers, in words.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    str
    """
    if facts.fairness:
        chars = fairness_characteristics(facts.fairness)
        if chars:
            return ("The fairness report audits: " + ", ".join(chars)
                    + "; the model card also shows each locality.")
    return ("Each locality (below). No fairness report was available, so ethnicity, sex, "
            "disability, age band and deprivation were not audited for this card.")
