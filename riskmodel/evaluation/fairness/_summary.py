"""The audit in words: a verdict, the findings as sentences, and what to do next."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.evaluation.fairness._measures import MEASURES
from riskmodel.evaluation.fairness._result import FairnessAudit

_VERDICT = {
    "flag": {"disadvantaged": "a disparity against them, clear enough to flag",
             "advantaged": "a difference in their favour, clear enough to flag",
             "counterpart": "the other side of a disparity found against another group of "
                            "this characteristic (read that finding), not a finding of its own",
             "neither": "clear enough to flag"},
    "watch": {"counterpart": "the other side of a disparity found against another group of "
                             "this characteristic (read that finding), not a finding of its own",
              "other": "outside the tolerance but not clear enough to flag once the number of "
                       "comparisons is counted: worth watching"},
    "within": "within the policy's tolerance",
    "insufficient": "not enough {s} to judge",
}
FINDINGS_COLUMNS = ["rank", "characteristic", "label", "kind", "group", "measure", "source",
                    "reference", "value", "reference_value", "ratio", "low", "high",
                    "direction", "status", "p_value", "n", "n0", "need_ratio", "sentence"]


SOURCE_WORDS = {"la": "the local authority", "youth_justice": "youth justice",
                "family": "family or self", "other": "other sources"}


def source_words(source) -> str:
    """A contact source in words (``la`` -> ``the local authority``)."""
    return SOURCE_WORDS.get(str(source), str(source).replace("_", " "))


def _words(text) -> str:
    """A name as words: ``sen_support`` -> ``sen support``."""
    return str(text).replace("_", " ")


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None or not np.isfinite(v):
        return "\u221e" if v is not None and v > 0 else "\u2013"
    return f"{v:.2f}"


def reference_words(reference: str, subjects: str) -> str:
    """Whom a group is compared with, in words.

    Examples
    --------
    >>> reference_words("everyone else", "children")
    'other children'
    """
    if reference == "everyone":
        return f"{subjects} overall"
    if reference == "everyone else":
        return f"other {subjects}"
    return f"those in \u2018{_words(reference)}\u2019"


def finding_sentence(row, words: dict, confidence: float = 0.95) -> str:
    """One finding in plain words: who, by how much, how sure, against whom, the verdict.

    Examples
    --------
    >>> row = {"measure": "selection_rate", "label": "ethnicity", "group": "black",
    ...        "reference": "everyone else", "ratio": 1.9, "low": 1.4, "high": 2.6,
    ...        "status": "flag", "direction": "disadvantaged"}
    >>> import textwrap
    >>> words = {"s": "children", "pos": "needed help", "neg": "did not"}
    >>> print(textwrap.fill(finding_sentence(row, words), 80))
    Children in the ethnicity group ‘black’ were flagged 1.90 times as often as
    other children (95% interval 1.40–2.60): a disparity against them, clear enough
    to flag.
    """
    s = words["s"]
    grp = f"the {_words(row['label'])} group \u2018{_words(row['group'])}\u2019"
    ref = reference_words(row["reference"], s)
    src = row.get("source") or ""
    src = f"from {source_words(src)} " if src and src != "all sources" else ""
    text = MEASURES[row["measure"]].clause.format(
        S=s[:1].upper() + s[1:], s=s, grp=grp, ref=ref, pos=words["pos"], neg=words["neg"],
        r=_fmt(row["ratio"]), src=src)
    need = row.get("need_ratio")
    if row["measure"] == "selection_rate" and need is not None and np.isfinite(need):
        text += (f" (and {words['pos']} {_fmt(need)} times as often: a flag rate in line with "
                 f"need is not by itself a disparity)" if abs(np.log(max(need, 1e-9))) > 0.1
                 else "")
    status = row["status"]
    said: Any = _VERDICT[status]
    if isinstance(said, dict):
        direction = row.get("direction", "neither")
        said = said.get(direction, said.get("other", said.get("neither")))
    verdict = str(said).format(s=s)
    if status == "insufficient" or not np.isfinite(float(row.get("low", np.nan))):
        return f"{text}: {verdict}."
    ci = f"{round(100 * confidence):d}% interval {_fmt(row['low'])}\u2013{_fmt(row['high'])}"
    return f"{text} ({ci}): {verdict}."


def findings_records(comp: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """The judged comparisons as the report's findings, ranked, each with its sentence."""
    if comp is None or comp.empty:
        return pd.DataFrame(columns=FINDINGS_COLUMNS)
    words = {"s": settings["subjects"], "pos": settings["positive_words"],
             "neg": settings["negative_words"]}
    conf = settings.get("bootstrap", {}).get("confidence", 0.95)
    out = comp.copy()
    if "source" not in out.columns:
        out["source"] = ""
    out["source"] = out["source"].fillna("")
    out["sentence"] = [finding_sentence(r, words, conf) for r in out.to_dict("records")]
    return out.reindex(columns=FINDINGS_COLUMNS)


def verdict(findings: pd.DataFrame, subjects: str) -> str:
    """The report's verdict in one sentence."""
    if findings is None or findings.empty:
        return f"No comparison could be made: there are no groups of {subjects} to compare."
    f = findings
    flags = f[f.status == "flag"]
    bad = flags[flags.direction == "disadvantaged"]
    watch = int((f.status == "watch").sum())
    if len(bad):
        who = list(dict.fromkeys(f"{_words(lab)} \u2018{_words(g)}\u2019"
                                 for lab, g in zip(bad.label, bad.group, strict=True)))
        names = ", ".join(who[:4]) + (f" and {len(who) - 4} more" if len(who) > 4 else "")
        return (f"Verdict: {len(bad)} finding{'s' if len(bad) != 1 else ''} show a group of "
                f"{subjects} clearly disadvantaged ({names}); read them first and act on them "
                f"(see \u201cWhat to do\u201d).")
    if len(flags):
        return (f"Verdict: no group is clearly disadvantaged; {len(flags)} clear "
                f"difference{'s' if len(flags) != 1 else ''} in a group's favour "
                f"{'are' if len(flags) != 1 else 'is'} listed below.")
    if watch:
        return (f"Verdict: no clear disparity; {watch} comparison{'s' if watch != 1 else ''} "
                f"{'are' if watch != 1 else 'is'} outside the tolerance but not clear enough to "
                f"flag, and worth watching.")
    return "Verdict: no clear disparity between the groups compared."


def counted_words(settings: dict) -> str:
    """What the audit's total counts, in words: rows of children at as-of dates (a child open
    at several dates is counted at each), or the subjects themselves.

    Examples
    --------
    >>> counted_words({"n": 11210, "subjects": "children", "as_of_dates": 4})
    '11,210 child-date rows (children at 4 as-of dates, each counted once per date)'
    >>> counted_words({"n": 2805, "subjects": "children", "as_of_dates": 1})
    '2,805 children at one as-of date'
    >>> counted_words({"n": 900, "subjects": "families"})
    '900 families'
    """
    n, subj, dates = settings["n"], settings["subjects"], settings.get("as_of_dates")
    if not dates:
        return f"{n:,} {subj}"
    if dates == 1:
        return f"{n:,} {subj} at one as-of date"
    rows = "child-date rows" if subj == "children" else f"rows of {subj} at a date"
    return f"{n:,} {rows} ({subj} at {dates} as-of dates, each counted once per date)"


def summary_sentences(audit: FairnessAudit) -> list[str]:
    """The verdict, what was audited, the flags and the first things to watch, in words."""
    st = audit.settings
    subj = st["subjects"]
    f = audit.findings
    out = [verdict(f, subj)]
    overall = audit.groups.iloc[0]

    def share(v):
        return "" if isinstance(v, str) or not np.isfinite(v) else f" ({100 * v:.1f}%)"

    out.append(
        f"This audit covers {counted_words(st)}. The rule \u201c{st['rule']}\u201d flagged "
        f"{st['n_flagged']:,}{share(overall['selection_rate'])} of them, and "
        f"{st['n_positive']:,}{share(overall['base_rate'])} {st['positive_words']}.")
    if f is not None and len(f):
        # one sentence per group: its first (most important) flag
        own = f[f.direction != "counterpart"]
        lead = own[own.status == "flag"].drop_duplicates(["characteristic", "group"]).head(8)
        out += list(lead.sentence)
        watch = own[own.status == "watch"].head(max(0, 3 - len(lead)) if len(lead) else 3)
        out += list(watch.sentence)
        more = int((own.status == "flag").sum()) - len(lead)
        if more > 0:
            out.append(f"\u2026and {more} more flagged finding{'s' if more != 1 else ''} "
                       "(other measures or sources for these groups, or other groups) in the "
                       "table of findings.")
        few = int((f.status == "insufficient").sum())
        if few:
            out.append(f"{few} comparison{'s' if few != 1 else ''} had too few {subj} to "
                       f"judge (fewer than {st['judging']['min_children']}, or an interval "
                       "too wide to say either way); they are not evidence of fairness.")
    return out


def what_to_do(audit: FairnessAudit) -> list[str]:
    """Next steps for the equality lead, from the findings."""
    st = audit.settings
    subj = st["subjects"]
    f = audit.findings
    steps = []
    flags = f[(f.status == "flag") & (f.direction == "disadvantaged")] if len(f) else f
    for g, part in (flags.groupby(["label", "group"], sort=False) if len(flags) else []):
        measures = ", ".join(dict.fromkeys(part.measure.map(lambda m: MEASURES[m].review)))
        steps.append(f"Review how {subj} in the {_words(g[0])} group \u2018{_words(g[1])}\u2019 "
                     f"are treated "
                     f"({measures}): look at their cases with practitioners, check the "
                     "inputs the score uses for them, and record what you decide.")
    if len(f) and (f.status == "watch").any():
        steps.append("Re-run this report on the next cohort: comparisons marked "
                     "\u201cwatch\u201d may be chance or an early sign.")
    if len(f) and (f.status == "insufficient").any():
        steps.append(f"Groups with too few {subj} to judge still deserve a review of their "
                     "cases; a lack of evidence is not evidence of fairness.")
    steps.append("Labels record what services did, not what was needed: a bias at the front "
                 "door (who is referred) is in the labels and these measures cannot see it. "
                 "Check referral rates by group (riskmodel fairness --run RUN --data DIR adds "
                 "them).")
    steps.append("Any change to thresholds by group is a policy decision for the council, "
                 "with legal advice, not something the model decides.")
    return steps
