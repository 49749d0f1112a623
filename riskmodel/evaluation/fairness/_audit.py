"""Fairness and disproportionality audit of a table of scores.

For each characteristic in the policy (and each intersection), per group: counts, base rate,
selection rate, true/false negative rate, false positive rate, precision, AUC and calibration,
each with a bootstrap interval; each group's ratio to its reference group (directional, as in
aequitas) with an interval and a flag when the whole interval lies outside the policy's
tolerance; fairlearn's between-groups ratio and difference; the relative rate index (as in
youth justice disproportionality work); and, when asked, a mitigation's before/after table.

The per-group figures come from fairlearn's :class:`~fairlearn.metrics.MetricFrame`. Its own
bootstrap (``n_boot``, ``ci_quantiles``) resamples rows with replacement and takes percentile
quantiles of every group's metric; it recomputes every metric for every group in pandas on
each resample, which takes minutes for a thousand resamples of a council's cohort, and it does
not give intervals for ratios to a chosen reference group. So the same resampling is done
here with weighted counts: the same seeds and the same resampled rows as fairlearn (the tests
check the intervals agree with ``MetricFrame(..., n_boot=..., ci_quantiles=...)``), with every
group, every reference ratio and every between-groups comparison read off the *same*
resamples. Resampling whole families instead of children is available (``cluster=``).

Every published number goes through small-count suppression (see ``_disclosure``): no count
from 1 to ``min_count - 1`` is shown, nor any rate, ratio or complementary count that would let
one be worked out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation._disclosure import shown
from riskmodel.evaluation._profile import profile_sections, profile_table
from riskmodel.evaluation.fairness._bootstrap import bootstrap_weights, resample_measures
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
from riskmodel.evaluation.fairness._measures import Prepared, group_measures, point_estimates
from riskmodel.evaluation.fairness._mitigation import (
    MitigatedFlags,
    mitigation_flags,
    mitigation_tables,
)
from riskmodel.evaluation.fairness._options import AuditOptions
from riskmodel.evaluation.fairness._policy import FairnessPolicy, resolve_policy
from riskmodel.evaluation.fairness._result import FairnessAudit
from riskmodel.evaluation.fairness._summary import summary_sentences
from riskmodel.evaluation.fairness._suppression import disclosure_plan, shown_count
from riskmodel.evaluation.fairness._tables import (
    between_table,
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
    >>> sorted(audit.ratios.status.unique())[:2]
    ['check', 'reference']
    """
    if not isinstance(options, AuditOptions):
        raise TypeError(f"fairness_audit: expected AuditOptions, got {type(options).__name__}")
    o = options
    source = o.source
    if (o.threshold is None) == (o.top is None):
        raise InputError("fairness: give exactly one of --threshold or --top")
    if o.top is not None:
        parse_top(o.top)
    pol = resolve_policy(o.policy)
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
    n_unlabelled = int((~keep).sum())
    data = frame.loc[keep].reset_index(drop=True)
    y = y_all[keep].astype(np.int64)
    f = all_flags[keep].astype(np.int64)
    s = all_scores[keep]
    n = len(data)
    if n == 0:
        raise InputError(f"{source}: column {o.label!r} is empty in every row; nothing to audit")
    probabilities = bool(np.all((s >= 0) & (s <= 1)))
    min_count = pol.min_count

    tables = build_tables(data, chars, combos, pol)
    sections = profile_sections(
        data, columns=profile_column_names(chars, o.profile_columns, data), top_needs=5)

    # --- published rows: everyone, each group of each table, each profile category ---------
    masks = [np.ones(n, bool)]
    for t in tables:
        t.rows = np.arange(len(masks), len(masks) + len(t.groups))
        masks += [t.codes == i for i in range(len(t.groups))]
    n_audit_rows = len(masks)
    profile_start = len(masks)
    masks += [m for sec in sections for _, m in sec.items]
    masks = np.vstack(masks)
    cells = _cells_of_rows(masks, y, f)                      # rows x (TN, FP, FN, TP)

    mit = cells_after = None
    if o.mitigate:
        mit = mitigation_flags(y, f, s, tables, pol.mitigation, o.random_state)
        cells_after = _cells_of_rows(masks, y, mit.after)
    # What to hide first when more must go: intersection cells, then whole groups (and
    # profile categories), the cohort total last. Hiding "black" to protect "black x unknown
    # sex" would hide a large group an equality lead must see.
    tier = np.ones(len(masks))
    tier[0] = 2
    for t in tables:
        if t.kind == "intersection":
            tier[t.rows] = 0
    plan = disclosure_plan(masks, cells, n_audit_rows, min_count, tier=tier,
                           mitigation_rows=None if mit is None else mit.rows,
                           cells_after=cells_after)

    # --- references ---------------------------------------------------------------------------
    notes = []
    refs = dict(o.references or {})
    unknown = [k for k in refs if k not in chars]
    if unknown:
        raise InputError(f"--reference: {unknown[0]!r} is not an audited characteristic "
                         f"({', '.join(chars)})")
    resolved: dict[str, str] = {}
    for t in tables:
        choose_reference(t, chars, refs, plan, resolved, notes, source)

    # --- point estimates (fairlearn) and bootstrap -------------------------------------------
    preps = {t.key: Prepared(t.codes, len(t.groups), y, s) for t in tables}
    prep_all = Prepared(np.zeros(n, np.int64), 1, y, s)
    point, frames = point_estimates(tables, preps, y, f, s, cells, probabilities)
    overall_point = group_measures(y, f, s, prep_all, None, probabilities)[0]

    n_boot = pol.bootstrap.n
    weights = bootstrap_weights(n, n_boot, o.random_state,
                                None if o.cluster is None else data[o.cluster].astype(str))
    boot, boot_all = resample_measures(tables, preps, prep_all, y, f, s, weights, n_boot,
                                       probabilities)
    conf = pol.bootstrap.confidence

    groups = groups_table(tables, cells, plan, point, boot, overall_point, boot_all, conf,
                          min_count, probabilities)
    ratios = ratios_table(tables, plan, point, boot, conf, pol, probabilities)
    rri = rri_table(tables, cells, plan, point, boot, conf, pol)
    between = between_table(tables, plan, point, frames, boot, conf, probabilities)
    prof = profile_table(
        sections, cells[[0] + list(range(profile_start, len(masks)))].sum(axis=1),
        np.concatenate([plan["N"][:1], plan["N"][profile_start:]]),
        np.concatenate([plan["N_small"][:1], plan["N_small"][profile_start:]]),
        n, min_count=min_count)

    mitigation = thresholds = None
    if mit is not None:
        mitigation, thresholds = mitigation_tables(mit, cells_after, plan, groups, min_count)

    settings = _settings(o, pol, tables, cells, plan, rule=rule, n=n, n_unlabelled=n_unlabelled,
                         probabilities=probabilities, mit=mit)
    audit = FairnessAudit(
        groups=groups, ratios=ratios, rri=rri, between_groups=between, profile=prof,
        summary=[], settings=settings, policy=pol, mitigation=mitigation,
        thresholds=thresholds, notes=notes,
    )
    audit.summary = summary_sentences(audit)
    return audit


def _cells_of_rows(masks: np.ndarray, y: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """(TN, FP, FN, TP) of every published row (``masks``: rows x children)."""
    n = len(y)
    onehot = np.zeros((n, 4))
    onehot[np.arange(n), 2 * y + flags] = 1
    return masks.astype(float) @ onehot


def _settings(o: AuditOptions, pol: FairnessPolicy, tables: list[GroupTable], cells, plan, *,
              rule: str, n: int, n_unlabelled: int, probabilities: bool,
              mit: MitigatedFlags | None) -> dict:
    """What was audited and how, as published in ``fairness.json`` (counts suppressed)."""
    min_count = pol.min_count
    tol = pol.tolerance
    settings = {
        "source": o.source, "label": o.label, "score": o.score, "rule": rule,
        "threshold": o.threshold, "top": None if o.top is None else str(o.top),
        "characteristics": {t.key: {"label": t.label, "kind": t.kind,
                                    "reference": None if t.reference is None
                                    else t.groups[t.reference],
                                    "reference_note": t.reference_note} for t in tables},
        "n": shown(int(n), hidden=bool(plan["N"][0]), sensitive=bool(plan["N_small"][0]),
                   min_count=min_count),
        "n_flagged": shown_count(cells[0, 1] + cells[0, 3], plan["F"][0], min_count),
        "n_positive": shown_count(cells[0, 2] + cells[0, 3], plan["Y"][0], min_count),
        "n_unlabelled": shown_count(n_unlabelled, False, min_count),
        "scores_are_probabilities": probabilities,
        "bootstrap": {"n": pol.bootstrap.n, "confidence": pol.bootstrap.confidence,
                      "random_state": int(o.random_state),
                      "resampled": "clusters of " + o.cluster if o.cluster else "rows"},
        "tolerance": {"low": tol.low, "high": tol.high}, "min_count": min_count,
        "metrics": list(pol.metrics), "subjects": o.subjects,
        "positive_words": o.positive_words, "negative_words": o.negative_words,
        "n_hidden_groups": int(sum(plan["N"][t.rows].sum() for t in tables)),
    }
    if mit is not None:
        settings["mitigation"] = {"method": pol.mitigation.method,
                                  "characteristic": mit.table.key,
                                  "equalise": pol.mitigation.equalise}
    return settings
