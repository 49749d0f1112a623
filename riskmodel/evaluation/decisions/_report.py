"""The decisions report: what the panels decided, overrides by group, list vs decisions,
and the outcomes of followed and overridden cases; as ``report.html`` and ``summary.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.io import write_text
from riskmodel.evaluation._disclosure import rounding_note
from riskmodel.evaluation.decisions._compare import (
    MEASURE_WORDS,
    characteristics_present,
    disparity_table,
    group_counts,
    override_findings,
    settle_words,
)
from riskmodel.evaluation.decisions._outcomes import NOT_CAUSAL, decision_outcomes
from riskmodel.evaluation.decisions._rates import panel_rates, table_keys
from riskmodel.evaluation.fairness import (
    FINDINGS_COLUMNS,
    REST,
    FairnessPolicy,
    jsonable,
    resolve_policy,
    table_records,
)

DEFAULT_TITLE = "What the panels decided"


@dataclass
class DecisionsReport:
    """The report's content: every count rounded, every rate a ratio of rounded counts.

    Attributes
    ----------
    settings : dict
        The lists reported on (file names and months, never child ids), the policy's
        tolerance, judging and disclosure control.
    rates : dict
        Overall counts and rates (as :func:`decision_rates`).
    groups : DataFrame
        Per group: children, listed, reviewed, not needed, not listed, added, offered and
        the rates.
    findings : DataFrame
        The override comparisons, judged, in the fairness report's shape.
    disparity : DataFrame
        Per group: the list's selection ratio and the decisions' offer ratio.
    outcomes : dict or None
        :func:`decision_outcomes`, when outcomes were given.
    summary, notes : list of str
    """

    settings: dict
    rates: dict
    groups: pd.DataFrame
    findings: pd.DataFrame
    disparity: pd.DataFrame
    outcomes: dict | None = None
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def flagged(self, direction: str = "disadvantaged") -> pd.DataFrame:
        """The flagged override findings in ``direction``."""
        f = self.findings
        return f[(f.status == "flag") & (f.direction == direction)] if len(f) else f


def decisions_report(table: pd.DataFrame, *,
                     policy: FairnessPolicy | str | os.PathLike | dict | None = None,
                     lists: list[dict] | None = None, seed: int = 0,
                     outcome: str = "escalation", notes: list[str] | None = None
                     ) -> DecisionsReport:
    """Build the decisions report from :func:`decision_table` rows.

    Parameters
    ----------
    table : DataFrame
        Every scored child of the lists, with its decision (:func:`decision_table`), its
        characteristics (as many of the policy's as the scores or the extract give) and,
        for outcomes, ``label`` (1, 0, or missing while not yet known).
    policy : FairnessPolicy, path or dict, optional
        The fairness policy (default: the workspace's, else the packaged one): its
        characteristics and intersections, tolerance, judging and ``min_count``.
    lists : list of dict, optional
        What each list was (file name, month, model), for the settings.
    seed : int
        For the intervals' posterior draws.
    outcome : str
    notes : list of str, optional

    Returns
    -------
    DecisionsReport

    Examples
    --------
    >>> from riskmodel.evaluation.decisions import decision_table
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> s = pd.DataFrame({"child_id": [f"C{i}" for i in range(n)], "as_of": "2025-12-31",
    ...                   "locality": rng.choice(["North", "South"], n),
    ...                   "sex": rng.choice(["female", "male"], n), "in_capacity": True})
    >>> d = pd.DataFrame({"child_id": s.child_id, "scoring_month": "2025-12",
    ...                   "decision": rng.choice(["offered", "not_needed"], n, p=[.8, .2])})
    >>> r = decisions_report(decision_table(d, s), policy={"characteristics": {
    ...     "sex": None, "locality": None}, "intersections": []})
    >>> sorted(r.findings.measure.unique()), bool((r.findings.status == "flag").any())
    (['added', 'not_offered'], False)
    """
    pol: FairnessPolicy = resolve_policy(policy)
    t = table.reset_index(drop=True)
    keys = table_keys(t)
    rates = panel_rates(t, keys, pol.min_count)
    groups = group_counts(t, pol, keys)
    findings = override_findings(groups, pol, seed=seed,
                                 months=max(int(t["month"].nunique()), 1))
    disparity = disparity_table(groups, pol, seed=seed)
    outs = None
    if "label" in t.columns:
        outs = decision_outcomes(t, pol, keys, outcome=outcome, seed=seed)
    settings = _settings(t, pol, groups, lists, outcome)
    report = DecisionsReport(settings=settings, rates=rates, groups=groups, findings=findings,
                             disparity=disparity, outcomes=outs, notes=list(notes or []))
    report.summary = summary_sentences(report)
    return report


def _settings(t: pd.DataFrame, pol: FairnessPolicy, groups: pd.DataFrame,
              lists: list[dict] | None, outcome: str) -> dict:
    """The report's settings: lists, months, characteristics judged, policy and rounding."""
    tol, judging = pol.tolerance, pol.judging
    judged, missing = characteristics_present(t, pol)
    return {
        "lists": list(lists or []), "months": sorted(t["month"].dropna().unique().tolist()),
        "characteristics": sorted(set(groups["characteristic"]) - {"all"}),
        "characteristics_judged": judged, "characteristics_missing": missing,
        "tolerance": {"low": tol.low, "high": tol.high},
        "judging": {"false_discovery_rate": judging.false_discovery_rate,
                    "min_children": judging.min_children, "method": "Benjamini-Hochberg"},
        "confidence": pol.bootstrap.confidence, "min_count": pol.min_count,
        "disclosure": {"method": "cell-key rounding" if pol.min_count > 1 else "none",
                       "base": pol.min_count, "note": rounding_note(pol.min_count)},
        "outcome": outcome, "reference": REST,
    }


def _pct(v) -> str:
    return "\u2013" if v is None or not np.isfinite(v) else f"{100 * v:.0f}%"


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _who(rows: pd.DataFrame) -> str:
    names = list(dict.fromkeys(f"{str(r.label).replace('_', ' ')} \u2018"
                               f"{str(r.group).replace('_', ' ')}\u2019 "
                               f"({MEASURE_WORDS[r.measure]})" for r in rows.itertuples()))
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _verdict(report: DecisionsReport) -> list[str]:
    """The verdict on overrides, and what it could not examine."""
    f = report.findings
    bad, good = report.flagged("disadvantaged"), report.flagged("advantaged")
    if len(bad):
        out = [f"Verdict: the panels' overrides go against a group clearly enough to flag: "
               f"{_who(bad)}. Read these findings first and review those decisions."]
    elif len(good):
        out = [f"Verdict: no group is clearly disadvantaged by the panels' overrides; "
               f"{len(good)} clear difference{'s' if len(good) != 1 else ''} in a group's "
               f"favour: {_who(good)}."]
    else:
        watch = int((f.status == "watch").sum()) if len(f) else 0
        out = ["Verdict: no group's overrides differ clearly from everyone else's"
               + (f"; {watch} comparison{'s' if watch != 1 else ''} outside the "
                  "tolerance but not clear enough to flag, worth watching." if watch
                  else ".")]
    missing = report.settings.get("characteristics_missing") or []
    if missing:
        judged = report.settings.get("characteristics_judged") or ["no characteristic"]
        out.append(f"Judged by {', '.join(judged)} only: {', '.join(missing)} "
                   f"{'is' if len(missing) == 1 else 'are'} not in these lists and "
                   "not examined.")
    return out


def _insufficient(report: DecisionsReport) -> list[str]:
    """The comparisons not enough to judge, and how many months of lists would settle them."""
    f = report.findings
    few = f[f.status == "insufficient"] if len(f) else f
    if not len(few):
        return []
    text = (f"{len(few)} comparison{'s' if len(few) != 1 else ''} had too few children to "
            f"judge (fewer than {report.settings['judging']['min_children']}, or too wide an "
            "interval); they are not evidence that decisions were even-handed.")
    m = few["months_to_settle"].to_numpy(float)
    m = m[np.isfinite(m)]
    if len(m):
        lo, hi = int(m.min()), int(m.max())
        span = f"{lo}" if lo == hi else f"{lo} to {hi}"
        text += (f" Lists of about {span} months in all would settle "
                 f"{'it' if len(m) == 1 else f'{len(m)} of them'} (this report has "
                 f"{len(report.settings['months'])}; each finding says its own).")
    return [text]


def summary_sentences(report: DecisionsReport) -> list[str]:
    """The verdict on overrides, the counts, the list against the decisions, the outcomes."""
    r = report.rates
    months = report.settings["months"]
    span = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    bad, good = report.flagged("disadvantaged"), report.flagged("advantaged")
    out = _verdict(report)
    out.append(
        f"Lists of {span}: {r['listed']:,} listed children; the panels reviewed "
        f"{r['reviewed']:,} ({_pct(r['review_rate'])}) and offered help to "
        f"{r['accepted']:,} of them "
        f"({r['listed_declined']:,} declined by the family); {r['listed_already_supported']:,} "
        f"were already supported. Override rate (listed but not offered: the panel decided no "
        f"help was needed): {_pct(r['override_rate'])} of the listed children the panels "
        "considered (reviewed, not already supported). "
        f"Added though not listed: {r['added']:,} children, {_pct(r['addition_rate'])} of all "
        "children offered help.")
    out += list(bad.sentence) + list(good.sentence)
    out += _insufficient(report)
    d = report.disparity
    if len(d):
        moved = d[(d.list_outside != d.offer_outside) & ~d.too_few]
        for row in moved.head(4).itertuples():
            out.append(
                f"{_first_upper(str(row.label).replace('_', ' '))} \u2018"
                f"{str(row.group).replace('_', ' ')}\u2019: the list alone selected them "
                f"{row.list_ratio:.2f} times as often as other children; the panels' final "
                f"decisions offered them help {row.offer_ratio:.2f} times as often.")
    o = report.outcomes
    if o is None:
        out.append("Outcomes are not shown: give the extract (--data) once the horizon has "
                   "passed.")
    else:
        comp = o["comparisons"].set_index("category")
        row = comp.loc["overridden"]
        if not row.too_few and np.isfinite(row.ratio):
            out.append(f"Listed children the panels did not offer help had the outcome "
                       f"({o['outcome']}) {row.ratio:.2f} times as often as listed children "
                       f"offered help ({round(100 * report.settings['confidence'])}% interval "
                       f"{row.low:.2f}\u2013{row.high:.2f}).")
        else:
            out.append("Too few overridden cases with a known outcome to compare them with "
                       "followed cases.")
    out.append(NOT_CAUSAL)
    return out


def settle_records(report: DecisionsReport) -> list[dict]:
    """The comparisons not enough to judge, with the months of lists that would settle each
    (``None`` for too small a difference to settle within ten years)."""
    f = report.findings
    if not len(f):
        return []
    rows = f[f["status"] == "insufficient"]
    return [{"characteristic": r.characteristic, "group": r.group, "measure": r.measure,
             "months_to_settle": None if not np.isfinite(r.months_to_settle)
             else int(r.months_to_settle)}
            for r in rows.itertuples() if not np.isnan(r.months_to_settle)]


def report_document(report: DecisionsReport, *, title: str = DEFAULT_TITLE) -> dict:
    """What ``summary.json`` holds: aggregates only (no child id, no date of birth)."""
    r = report.rates
    doc = {
        "title": title, "settings": report.settings, "summary": report.summary,
        "not_causal": NOT_CAUSAL,
        "counts": {k: v for k, v in r.items() if not k.endswith("_rate")},
        "rates": {k: v for k, v in r.items() if k.endswith("_rate")},
        "overrides": {
            "listed_but_not_offered": {"rate": r["override_rate"],
                                       "count": r["listed_not_needed"]},
            "added_though_not_listed": {"rate": r["addition_rate"], "count": r["added"]},
            "flagged": [{"characteristic": x.characteristic, "group": x.group,
                         "measure": x.measure, "direction": x.direction,
                         "override_direction": MEASURE_WORDS[x.measure]}
                        for x in report.findings[report.findings.status == "flag"]
                        .itertuples()] if len(report.findings) else [],
        },
        "findings": table_records(report.findings.reindex(columns=FINDINGS_COLUMNS)),
        "settle": settle_records(report),
        "groups": table_records(report.groups),
        "disparity": table_records(report.disparity),
        "outcomes": None if report.outcomes is None else {
            "outcome": report.outcomes["outcome"], "unknown": report.outcomes["unknown"],
            "table": table_records(report.outcomes["table"]),
            "comparisons": table_records(report.outcomes["comparisons"])},
        "notes": report.notes,
    }
    return jsonable(doc)


def write_decisions_report(report: DecisionsReport, out_dir, *, title: str = DEFAULT_TITLE
                           ) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``summary.json`` into ``out_dir``.

    Both hold aggregates only, every count rounded by the fairness policy's disclosure
    control; each file is written atomically.

    Returns
    -------
    dict
        ``html`` and ``json`` paths.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.evaluation.decisions import decision_table
    >>> s = pd.DataFrame({"child_id": [f"C{i}" for i in range(50)], "as_of": "2025-12-31",
    ...                   "in_capacity": [True] * 10 + [False] * 40})
    >>> d = pd.DataFrame({"child_id": s.child_id[:10], "scoring_month": "2025-12",
    ...                   "decision": "offered"})
    >>> r = decisions_report(decision_table(d, s), policy={"characteristics": {"sex": None},
    ...                      "intersections": []})
    >>> sorted(p.name for p in write_decisions_report(r, tempfile.mkdtemp()).values())
    ['report.html', 'summary.json']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = report_document(report, title=title)
    paths = {"json": write_text(json.dumps(doc, indent=2, ensure_ascii=False),
                                out / "summary.json")}
    paths["html"] = write_text(render_decisions_html(report, title=title), out / "report.html")
    return paths


def render_decisions_html(report: DecisionsReport, *, title: str = DEFAULT_TITLE) -> str:
    """The self-contained HTML report (used by :func:`write_decisions_report`)."""
    from riskmodel.evaluation._html import render

    f = report.findings
    recs = f.to_dict("records") if len(f) else []
    for x in recs:
        x["settle"] = settle_words(x.get("months_to_settle"), len(report.settings["months"]))
    groups = []
    for key, rows in report.groups.iloc[1:].groupby("characteristic", sort=False):
        groups.append({"key": key, "label": rows["label"].iloc[0],
                       "rows": rows.to_dict("records")})
    return render(
        "decisions.html.j2", title=title, settings=report.settings, summary=report.summary,
        rates=report.rates, everyone=report.groups.iloc[0].to_dict(), groups=groups,
        findings=[x for x in recs if x["status"] in ("flag", "watch")],
        other_findings=[x for x in recs if x["status"] not in ("flag", "watch")],
        disparity=report.disparity.to_dict("records") if len(report.disparity) else [],
        outcomes=report.outcomes, measure_words=MEASURE_WORDS, not_causal=NOT_CAUSAL,
        notes=report.notes, confidence=round(100 * report.settings["confidence"]),
    )
