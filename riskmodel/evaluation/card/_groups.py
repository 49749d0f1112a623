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
    """Per-locality test rates, each a ratio of two protected counts.

    The logged table holds rates and the number of test rows; the counts behind each rate
    (rows, rows with the outcome, flagged, flagged with the outcome) are worked back from
    them, each is protected (:func:`~riskmodel.evaluation._disclosure.protect_total`:
    rounded to a multiple of ``min_count``, the same way every time for the same count),
    no part is left above its whole, and every rate shown is the ratio of two of them, to
    two decimals.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"locality": ["a"] * 3 + ["b"] * 3,
    ...                   "metric": ["base_rate", "precision_at_capacity",
    ...                              "recall_at_capacity"] * 2,
    ...                   "value": [0.1, 0.5, 0.4, 0.02, 0.5, 0.5],
    ...                   "n": [200] * 3 + [150] * 3})
    >>> table = locality_table(t, min_count=1)
    >>> [r[0] for r in table.rows], table.rows[0][1]
    (['a', 'b'], 0.1)
    """
    if by_locality is None or by_locality.empty:
        return "The training run logged no per-locality results."
    wide = by_locality.pivot_table(index="locality", columns="metric", values="value",
                                   aggfunc="first", dropna=False)
    wide["n"] = by_locality.groupby("locality")["n"].max()
    wide = wide.sort_index()

    def col(name: str) -> pd.Series:
        return wide[name].astype(float) if name in wide else pd.Series(float("nan"), wide.index)

    base, prec, rec = col("base_rate"), col("precision_at_capacity"), col("recall_at_capacity")
    counts = pd.DataFrame({"n": wide["n"].astype(float)}, index=wide.index)
    counts["pos"] = (base * counts["n"]).round()
    counts["tp"] = (rec * counts["pos"]).round()
    counts["flagged"] = (counts["tp"] / prec.where(prec > 0)).round()
    rows = [[str(loc), *_locality_rates(str(loc), counts.loc[loc], min_count)]
            for loc in wide.index]
    return Table(["locality", "base rate", "precision at capacity", "recall at capacity"],
                 rows,
                 note=f"Each rate is the ratio of two counts rounded to a multiple of "
                      f"{min_count} (up or down at random, the same way in every document), so "
                      "a rate over a few children is rough and says nothing exact about them.")


def _locality_rates(loc: str, c: pd.Series, base: int) -> list[float | str]:
    """Base rate, precision and recall of one locality from its protected counts."""
    from riskmodel.evaluation._disclosure import protect_total, published_rate

    pub: dict[str, float] = {}
    for name, wholes in (("n", ()), ("pos", ("n",)), ("flagged", ("n",)),
                         ("tp", ("pos", "flagged"))):
        if pd.isna(c[name]):
            pub[name] = float("nan")
            continue
        v = float(protect_total(c[name], f"locality {loc} {name}", base))
        pub[name] = min([v] + [pub[w] for w in wholes if finite(pub[w])])
    out: list[float | str] = []
    for num, den in (("pos", "n"), ("tp", "flagged"), ("tp", "pos")):
        r = published_rate(pub[num], pub[den]) if finite(pub[num]) and finite(pub[den]) \
            else float("nan")
        out.append(round(float(r), 2) if finite(r) else "not defined")
    return out


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


# The card's fairness results: the groups' results (summary sentences, then a table, or a
# sentence saying there are none), the intersections (a table or a sentence), the findings.
FairnessResults = tuple[list[Table | str] | str, Table | str, list[str]]
FAIRNESS_COLUMNS = ["characteristic", "group", "reference", "measure", "group's rate", "ratio",
                    "ratio 95% low", "ratio 95% high", "status"]


def fairness_tables(fair: Mapping) -> FairnessResults:
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
    note = _ratios_note(settings)
    by_group = _ratios_table(ratios, lead, note, intersections=False)
    inter_table = _ratios_table(ratios, lead, note, intersections=True)
    summary = [str(x) for x in (fair.get("summary") or []) if str(x).strip()]
    by_group_value: list[Table | str] | str = summary + ([by_group] if by_group is not None
                                                         else [])
    if not by_group_value:
        by_group_value = "The fairness report holds no published group results."
    inter: Table | str = inter_table if inter_table is not None else (
        "The fairness report audited no intersections (or published none of them).")
    findings = pd.DataFrame(fair.get("findings") or [])
    return by_group_value, inter, (flagged_groups(findings) if "sentence" in findings
                                   else _fairness_findings(ratios))


def flagged_groups(findings: pd.DataFrame) -> list[str]:
    """One line per group with a flagged finding, in the fairness report's own words.

    Each line is the group's first flagged finding (in the report's order) as the report
    words it, so the card names the same groups, the same way round (against them, in their
    favour, the other side of another group's finding), as the report's verdict.

    Examples
    --------
    >>> f = pd.DataFrame({"rank": [1, 2, 3], "status": ["flag", "flag", "within"],
    ...                   "characteristic": ["sex"] * 3, "group": ["f", "f", "m"],
    ...                   "sentence": ["A: against them.", "B.", "C."]})
    >>> flagged_groups(f)
    ['A: against them. (And 1 more flagged finding for this group in the fairness report.)']
    """
    if findings.empty or "status" not in findings:
        return []
    flags = findings[findings["status"] == "flag"]
    if "rank" in flags:
        flags = flags.sort_values("rank", kind="stable")
    lines = []
    for _, part in flags.groupby(["characteristic", "group"], sort=False):
        more = len(part) - 1
        lines.append(str(part["sentence"].iloc[0]) + (
            f" (And {more} more flagged finding{'s' if more != 1 else ''} for this group in "
            "the fairness report.)" if more else ""))
    return lines


def _ratios_note(settings: Mapping) -> str:
    """The note under a table of fairness ratios: interval, tolerance, rule and hiding."""
    tol = settings.get("tolerance") or {}
    rule = settings.get("rule", "the capacity rule")
    return (f"Ratio of each group's rate to its reference group's, with its "
            f"{round(100 * float((settings.get('bootstrap') or {}).get('confidence', 0.95)))}% "
            f"interval; tolerance {tol.get('low', 0.8)}-{tol.get('high', 1.25)}; flagged by "
            f"'{rule}'. 'suppressed' or '<{settings.get('min_count', MIN_COUNT)}': hidden in "
            "the fairness report to protect small numbers.")


def _ratios_table(ratios: pd.DataFrame, lead: list[str], note: str, *, intersections: bool
                  ) -> Table | None:
    """The published ratios of groups (or intersections) for the lead measures, or None."""
    if ratios.empty:
        return None
    kind = (ratios["kind"] == "intersection") == intersections
    part = ratios[kind & ratios["metric"].isin(lead)]
    hidden = int((part["status"] == "suppressed").sum())
    part = part[part["status"] != "suppressed"]
    rows: list[list] = [
        [_fair_cell(r["label"]), _fair_cell(r["group"]), _fair_cell(r["reference"]),
         FAIRNESS_METRIC_WORDS.get(r["metric"], r["metric"]), _fair_cell(r["value"]),
         _fair_cell(r["ratio"]), _fair_cell(r["ratio_low"]), _fair_cell(r["ratio_high"]),
         _fair_cell(r["status"])] for _, r in part.iterrows()]
    more = (f" Not shown: {hidden} comparison{'s' if hidden != 1 else ''} that the "
            "fairness report suppressed." if hidden else "")
    return Table(list(FAIRNESS_COLUMNS), rows, note=note + more) if rows else None


def _fairness_findings(ratios: pd.DataFrame) -> list[str]:
    """One sentence per flagged comparison of the fairness report."""
    findings: list[str] = []
    if not ratios.empty:
        out = ratios[ratios.get("flagged", False).astype(bool)]
        for _, r in out.iterrows():
            findings.append(
                f"{r['label']} '{r['group']}': "
                f"{FAIRNESS_METRIC_WORDS.get(r['metric'], r['metric'])} "
                f"{_fair_cell(r['ratio'], digits=2)} times that of '{r['reference']}' "
                f"(interval {_fair_cell(r['ratio_low'], digits=2)} to "
                f"{_fair_cell(r['ratio_high'], digits=2)})")
    return findings


def fairness_summary(facts: ModelFacts) -> FairnessResults:
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
