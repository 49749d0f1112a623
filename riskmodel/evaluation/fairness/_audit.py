"""Fairness and disproportionality audit of a table of scores.

For each characteristic in the policy (and each intersection), per group: how many, how many
went on to need help, how many were flagged, the rates built on them (with exact intervals),
AUC and calibration (with bootstrap intervals); then each group against its reference (the
rest of the cohort, everyone not in the group, by default) as *findings*: a ratio with an
honest interval, a direction (disadvantaged or advantaged) and a status (flag, watch, within,
or not enough to judge), with the false-flag rate controlled across all comparisons (see
``_findings``).

Disclosure control: every published count is rounded by its cell key (``_disclosure``) and
every published rate is a ratio of two published counts, so no report, and no pair of reports
of the same children (two thresholds; before and after mitigation), pins down a small count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation._disclosure import cell_keys, record_keys, round_counts, rounding_note
from riskmodel.evaluation._profile import Section, profile_sections, rounded_profile_table
from riskmodel.evaluation.fairness._bootstrap import group_scores
from riskmodel.evaluation.fairness._groups import (
    GroupTable,
    build_tables,
    choose_reference,
    profile_column_names,
    resolve_sensitive,
)
from riskmodel.evaluation.fairness._inputs import (
    flag_scores,
    label_values,
    parse_top,
    require_column,
    score_values,
)
from riskmodel.evaluation.fairness._measures import MEASURES
from riskmodel.evaluation.fairness._mitigation import (
    MitigatedFlags,
    mitigation_flags,
    mitigation_tables,
)
from riskmodel.evaluation.fairness._options import AuditOptions
from riskmodel.evaluation.fairness._policy import FairnessPolicy, resolve_policy
from riskmodel.evaluation.fairness._result import FairnessAudit
from riskmodel.evaluation.fairness._summary import findings_records, summary_sentences
from riskmodel.evaluation.fairness._suppression import PublishedCounts, publish_counts
from riskmodel.evaluation.fairness._tables import (
    comparisons,
    groups_table,
    ratios_table,
    rri_table,
)


def fairness_audit(frame: pd.DataFrame, options: AuditOptions) -> FairnessAudit:
    """Audit a table of scores for disproportionality between groups.

    Parameters
    ----------
    frame : DataFrame
        One row per child (and as-of date): the label, the score and the characteristics;
        extra columns are used for the cohort profile when present (see
        :func:`cohort_profile`).
    options : AuditOptions
        What to audit and how: the label and score columns, the rule (``threshold`` or
        ``top``), the characteristics, the policy, the bootstrap seed and clusters, the
        mitigation, reference groups and the words of the summary.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    InputError
        One line naming the problem: a missing column, a label that is not 0/1, a score that
        is not a number, neither or both of ``threshold`` and ``top``, an unknown reference.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.evaluation import AuditOptions, fairness_audit
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"sex": rng.choice(["female", "male"], 400),
    ...                   "score": rng.uniform(size=400)})
    >>> f["label"] = (rng.uniform(size=400) < f.score).astype(int)
    >>> options = AuditOptions(label="label", score="score", top="20%", sensitive="sex",
    ...                        policy={"characteristics": {"sex": None}, "intersections": [],
    ...                                "bootstrap": {"n": 50}})
    >>> audit = fairness_audit(f, options)
    >>> audit.groups.query("group == 'female'")["n"].item() > 150
    True
    >>> audit.findings.reference.iloc[0]  # each group against everyone not in it
    'everyone else'
    """
    if not isinstance(options, AuditOptions):
        raise TypeError(f"fairness_audit: expected AuditOptions, got {type(options).__name__}")
    o = options
    pol = resolve_policy(o.policy)
    r = _audited_rows(frame, o, pol)
    c = _counted(r, o, pol)
    groups, comp = _scored(r, c, o, pol)
    return _assembled(r, c, o, pol, groups, comp)


@dataclass
class _Rows:
    """The audited rows (those with a known outcome) and what the audit needs of them."""

    data: pd.DataFrame
    keep: np.ndarray
    y: np.ndarray
    f: np.ndarray
    s: np.ndarray
    rule: str
    chars: dict
    combos: list
    keys_all: np.ndarray
    probabilities: bool


def _audited_rows(frame: pd.DataFrame, o: AuditOptions, pol: FairnessPolicy) -> _Rows:
    """Check the options and the table, and keep the rows whose outcome is known."""
    source = o.source
    if (o.threshold is None) == (o.top is None):
        raise InputError("fairness: give exactly one of --threshold or --top")
    if o.top is not None:
        parse_top(o.top)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{source}: expected a table (DataFrame), got {type(frame).__name__}")
    require_column(frame, o.label, "label", source)
    require_column(frame, o.score, "score", source)
    if o.cluster is not None:
        require_column(frame, o.cluster, "cluster", source)
    chars, combos = resolve_sensitive(pol, o.sensitive, frame, source)
    frame = frame.reset_index(drop=True)
    all_scores = score_values(frame, o.score, source)
    all_flags, rule = flag_scores(frame, all_scores, threshold=o.threshold, top=o.top)
    y_all = label_values(frame, o.label, source)
    keep = ~np.isnan(y_all)
    if not keep.any():
        raise InputError(f"{source}: column {o.label!r} is empty in every row; nothing to audit")
    s = all_scores[keep]
    return _Rows(data=frame.loc[keep].reset_index(drop=True), keep=keep,
                 y=y_all[keep].astype(np.int64), f=all_flags[keep].astype(np.int64), s=s,
                 rule=rule, chars=chars, combos=combos,
                 keys_all=record_keys(record_identity(frame, o.record_id).to_numpy()),
                 probabilities=bool(np.all((s >= 0) & (s <= 1))))


@dataclass
class _Counted:
    """The audited rows grouped and counted: the group tables (references chosen), the
    profile, the flags after mitigation (if asked) and the published (rounded) counts."""

    tables: list[GroupTable]
    sections: list[Section]
    profile_start: int
    mit: MitigatedFlags | None
    pub: PublishedCounts
    notes: list[str]


def _counted(r: _Rows, o: AuditOptions, pol: FairnessPolicy) -> _Counted:
    """Group the audited rows, mitigate if asked, publish the counts and choose references."""
    tables = build_tables(r.data, r.chars, r.combos, pol)
    sections = profile_sections(
        r.data, columns=profile_column_names(r.chars, o.profile_columns, r.data), top_needs=5)
    masks, profile_start = _published_rows(len(r.data), tables, sections)
    keys = r.keys_all[r.keep]
    mit = None
    if o.mitigate:
        mit = mitigation_flags(r.y, r.f, r.s, tables, pol.mitigation, o.random_state)
    pub = publish_counts(masks, r.y, r.f, keys, pol.min_count,
                         after=None if mit is None else mit.after)
    notes = _references(tables, r.chars, o, pub, pol)
    return _Counted(tables=tables, sections=sections, profile_start=profile_start, mit=mit,
                    pub=pub, notes=notes)


def _scored(r: _Rows, c: _Counted, o: AuditOptions,
            pol: FairnessPolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The groups table (counts, rates, AUC and calibration with intervals) and each group
    against its reference, judged."""
    conf, base = pol.bootstrap.confidence, pol.min_count
    point, boot = group_scores(
        c.tables, r.y, r.f, r.s, probabilities=r.probabilities,
        n_boot=pol.bootstrap.n if o.bootstrap else 0, random_state=o.random_state,
        clusters=None if o.cluster is None else r.data[o.cluster].astype(str),
        rest=tuple(m for m in pol.metrics if MEASURES[m].score and not MEASURES[m].against_one))
    groups = groups_table(c.tables, c.pub, point, point["__all__"], boot, boot.get("__all__"),
                          conf, base, r.probabilities)
    comp = comparisons(c.tables, c.pub, point, boot, conf, pol, r.probabilities,
                       seed=o.random_state, base=base)
    return groups, comp


def _n_unlabelled(r: _Rows, base: int) -> int:
    """How many rows have no known outcome, rounded by their cell keys."""
    missing = ~r.keep
    n = int(missing.sum())
    return int(round_counts([n], cell_keys(np.ones((1, n), bool), r.keys_all[missing]),
                            base)[0])


def _assembled(r: _Rows, c: _Counted, o: AuditOptions, pol: FairnessPolicy,
               groups: pd.DataFrame, comp: pd.DataFrame) -> FairnessAudit:
    """The audit's tables, settings, findings and summary, put together."""
    mitigation = thresholds = None
    if c.mit is not None:
        mitigation, thresholds = mitigation_tables(c.mit, c.pub, pol.judging.min_children)
    settings = _settings(o, pol, c.tables, c.pub, rule=r.rule,
                         n_unlabelled=_n_unlabelled(r, pol.min_count),
                         probabilities=r.probabilities, mit=c.mit,
                         as_of_dates=_as_of_dates(r.data))
    audit = FairnessAudit(
        groups=groups, ratios=ratios_table(comp, c.tables, c.pub, pol, r.probabilities),
        rri=rri_table(c.tables, c.pub), summary=[], settings=settings,
        profile=rounded_profile_table(
            c.sections, np.concatenate([c.pub.n[:1], c.pub.n[c.profile_start:]])),
        policy=pol, mitigation=mitigation, thresholds=thresholds, notes=c.notes,
        findings=findings_records(comp, settings),
        flags_after=None if c.mit is None else c.mit.after,
    )
    audit.summary = summary_sentences(audit)
    return audit


def _published_rows(n: int, tables: list[GroupTable],
                    sections: list[Section]) -> tuple[np.ndarray, int]:
    """The rows a report publishes (everyone, each group of each table, each profile
    category) as masks over the audited children, and where the profile's rows start."""
    masks = [np.ones(n, bool)]
    for t in tables:
        t.rows = np.arange(len(masks), len(masks) + len(t.groups))
        masks += [t.codes == i for i in range(len(t.groups))]
    profile_start = len(masks)
    masks += [m for sec in sections for _, m in sec.items]
    return np.vstack(masks), profile_start


def _references(tables: list[GroupTable], chars: dict, o: AuditOptions, pub: PublishedCounts,
                pol: FairnessPolicy) -> list[str]:
    """Set each table's reference (the option's, else the policy's); returns the notes."""
    notes: list[str] = []
    refs = dict(o.references or {})
    unknown = [k for k in refs if k not in chars]
    if unknown:
        raise InputError(f"--reference: {unknown[0]!r} is not an audited characteristic "
                         f"({', '.join(chars)})")
    resolved: dict[str, str] = {}
    for t in tables:
        choose_reference(t, chars, refs, pub.n[t.rows], resolved, notes, o.source,
                         pol.judging.min_children)
    return notes


def record_identity(frame: pd.DataFrame, record_id=None) -> pd.Series:
    """Each row's identity for its record key: the given columns, else ``child_id`` (and
    ``as_of``) when present, else the row number."""
    if record_id is None:
        cols = [c for c in ("child_id", "as_of") if c in frame.columns]
        if "child_id" not in cols:
            cols = []
    else:
        cols = [record_id] if isinstance(record_id, str) else list(record_id)
        for c in cols:
            require_column(frame, c, "record id", "scores")
    if not cols:
        return pd.Series(np.arange(len(frame)).astype(str))
    # joined column by column (one vectorised pass each), not row by row
    parts = [frame[c].astype(str).to_numpy(dtype=object) for c in cols]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "|" + part
    return pd.Series(joined)


def _as_of_dates(rows: pd.DataFrame) -> int | None:
    """How many as-of dates the audited rows span (each row a child at a date), or None
    when they carry no ``as_of`` (one row per child)."""
    return int(rows["as_of"].nunique()) if "as_of" in rows.columns else None


def _settings(o: AuditOptions, pol: FairnessPolicy, tables: list[GroupTable], pub, *,
              rule: str, n_unlabelled: int, probabilities: bool,
              mit: MitigatedFlags | None, as_of_dates: int | None = None) -> dict:
    """What was audited and how, as published in ``fairness.json`` (counts rounded)."""
    tol = pol.tolerance
    settings = {
        "source": o.source, "label": o.label, "score": o.score, "rule": rule,
        "threshold": o.threshold, "top": None if o.top is None else str(o.top),
        "characteristics": {t.key: {"label": t.label, "kind": t.kind,
                                    "reference": "everyone" if t.reference is None
                                    else t.groups[t.reference],
                                    "reference_note": t.reference_note} for t in tables},
        "n": int(pub.n[0]), "n_flagged": int(pub.flag[0]), "n_positive": int(pub.pos[0]),
        "n_unlabelled": n_unlabelled, "as_of_dates": as_of_dates,
        "scores_are_probabilities": probabilities,
        "bootstrap": {"n": pol.bootstrap.n if o.bootstrap else 0,
                      "confidence": pol.bootstrap.confidence,
                      "random_state": int(o.random_state),
                      "resampled": "clusters of " + o.cluster if o.cluster else "rows"},
        "tolerance": {"low": tol.low, "high": tol.high}, "min_count": pol.min_count,
        "disclosure": {"method": "cell-key rounding" if pol.min_count > 1 else "none",
                       "base": pol.min_count, "note": rounding_note(pol.min_count)},
        "judging": {"false_discovery_rate": pol.judging.false_discovery_rate,
                    "min_children": pol.judging.min_children,
                    "method": "Benjamini-Hochberg"},
        "metrics": list(pol.metrics), "subjects": o.subjects,
        "positive_words": o.positive_words, "negative_words": o.negative_words,
    }
    if mit is not None:
        settings["mitigation"] = {"method": pol.mitigation.method,
                                  "characteristic": mit.table.key,
                                  "equalise": pol.mitigation.equalise}
    return settings
