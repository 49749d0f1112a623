"""The audit's summary: plain-language sentences, the most important first."""

from __future__ import annotations

import math

import numpy as np

from riskmodel.evaluation.fairness._policy import METRIC_NAMES
from riskmodel.evaluation.fairness._result import FairnessAudit

# One sentence per measure for a ratio outside tolerance, in the report's words.
_RATIO_SENTENCE = {
    "false_negative_rate": "{S} in {grp} who {pos} were missed {r} times as often as those in "
                           "{ref}",
    "true_positive_rate": "{S} in {grp} who {pos} were found {r} times as often as those in "
                          "{ref}",
    "selection_rate": "{S} in {grp} were flagged {r} times as often as those in {ref}",
    "false_positive_rate": "{S} in {grp} who {neg} were flagged {r} times as often as those in "
                           "{ref}",
    "precision": "Of the {s} flagged in {grp}, the share who {pos} was {r} times that in {ref}",
    "base_rate": "{S} in {grp} {pos} {r} times as often as those in {ref}",
    "auc": "The score ranked {s} in {grp} {r} times as well (AUC) as those in {ref}",
    "calibration": "For {s} in {grp}, the number who {pos} was {r} times the number the "
                   "scores predicted",
}


def _fmt(v: float) -> str:
    return "\u221e" if not np.isfinite(v) else f"{v:.2f}"


def summary_sentences(audit: FairnessAudit) -> list[str]:
    """The audit in sentences: who was audited and flagged, then each ratio wholly outside
    tolerance (the policy's leading measure first, at most ten), then the uncertain ones and
    the hidden groups. Counts are the published (suppressed) ones from ``audit.settings``."""
    st = audit.settings
    subj = st["subjects"]
    pos = st["positive_words"]
    pct = audit.policy.bootstrap.confidence
    out = []
    n, k, p = st["n"], st["n_flagged"], st["n_positive"]
    overall = audit.groups.iloc[0]

    def share(v):
        return "" if isinstance(v, str) else f" ({100 * v:.1f}%)"

    out.append(
        f"This audit covers {_count_words(n)} {subj}. The rule \u201c{st['rule']}\u201d flagged "
        f"{_count_words(k)}{share(overall['selection_rate'])} of them, and "
        f"{_count_words(p)}{share(overall['base_rate'])} {pos}.")
    tol = audit.policy.tolerance
    order = {m: i for i, m in enumerate(audit.policy.metrics)}
    r = audit.ratios
    red = r[r.status == "outside"].copy()
    if len(red):
        red["_o"] = red.metric.map(order)
        red["_k"] = (red.kind == "intersection").astype(int)
        red["_size"] = [abs(math.log(x)) if isinstance(x, float) and x > 0 else 0
                        for x in red.ratio]
        red = red.sort_values(["_o", "_k", "_size"], ascending=[True, True, False])
        shown_rows = red.head(10)
        for _, row in shown_rows.iterrows():
            out.append(_ratio_sentence(row, audit, pct))
        if len(red) > len(shown_rows):
            out.append(f"\u2026and {len(red) - len(shown_rows)} more comparisons outside "
                       f"tolerance in the tables below.")
    else:
        lead = ", ".join(METRIC_NAMES[m].split(" (")[0] for m in audit.policy.metrics)
        out.append(
            f"No group's ratio to its reference lay wholly outside the policy's tolerance "
            f"({tol.low:g}\u2013{tol.high:g}) for the measures the policy leads with ({lead}).")
    amber = int((r.status == "check").sum())
    if amber:
        out.append(
            f"{amber} comparison{'s were' if amber != 1 else ' was'} outside tolerance at the "
            f"estimate but with an interval reaching back inside it: too uncertain to call, "
            f"worth watching (marked \u201ccheck\u201d in the tables).")
    hidden = st["n_hidden_groups"]
    if hidden:
        out.append(
            f"{hidden} group{'s' if hidden != 1 else ''} had fewer than {st['min_count']} "
            f"{subj}, or had to be hidden so that such a group could not be worked out; "
            f"{'their' if hidden != 1 else 'its'} figures are not shown.")
    return out


def _count_words(v) -> str:
    if isinstance(v, str):
        return "fewer than " + v[1:] if v.startswith("<") else "a suppressed number of"
    return f"{int(v):,}"


def _ratio_sentence(row, audit, pct) -> str:
    st = audit.settings
    subj = st["subjects"]
    grp = f"the {row['label']} group \u2018{row['group']}\u2019"
    ref = f"\u2018{row['reference']}\u2019"
    text = _RATIO_SENTENCE[row["metric"]].format(
        S=subj[:1].upper() + subj[1:], s=subj, grp=grp, ref=ref, pos=st["positive_words"],
        neg=st["negative_words"], r=_fmt(row["ratio"]))
    ci = f"{round(100 * pct):d}% interval {_fmt(row['ratio_low'])}\u2013{_fmt(row['ratio_high'])}"
    return f"{text} ({ci})."
