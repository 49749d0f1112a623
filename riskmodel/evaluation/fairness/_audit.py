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

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.capacity import parse_selection, top_k_flags
from riskmodel._core.errors import InputError
from riskmodel._core.io import write_table, write_text
from riskmodel.evaluation._disclosure import SUPPRESSED, plan_with_complements, shown, small_text
from riskmodel.evaluation._profile import (
    PROFILE_COLUMNS,
    categories,
    profile_sections,
    profile_table,
)
from riskmodel.evaluation.fairness._policy import (
    METRIC_NAMES,
    Characteristic,
    FairnessPolicy,
    resolve_policy,
)

# Per-group measures, in table order. The block says which counts a measure reveals:
# Y = who went on to need help, F = who was flagged, C = the four cells of both together.
MEASURES = (
    "base_rate", "selection_rate", "true_positive_rate", "false_negative_rate",
    "false_positive_rate", "precision", "auc", "calibration", "calibration_error",
)
BLOCK = {
    "base_rate": "Y", "selection_rate": "F", "true_positive_rate": "C",
    "false_negative_rate": "C", "false_positive_rate": "C", "precision": "C", "auc": "Y",
    "calibration": "Y", "calibration_error": "Y",
}
PROBABILITY_MEASURES = ("calibration", "calibration_error")
TIMES = "\u00d7"
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


# ------------------------------------------------------------------ the result ---------------

@dataclass
class FairnessAudit:
    """The published result of :func:`fairness_audit` (every table already suppressed).

    Attributes
    ----------
    groups : DataFrame
        One row per group of each characteristic and intersection (and one for everyone):
        ``n``, ``n_positive``, ``n_flagged`` and each measure with ``_low``/``_high``.
    ratios : DataFrame
        Each group's ratio to its reference for the policy's measures, with the interval,
        ``status`` (outside / check / within / reference / suppressed / not applicable) and
        ``flagged`` (the whole interval lies outside the tolerance).
    rri : DataFrame
        Relative rate index: shares of the population and of those flagged, and each group's
        rate over the reference's, for going on to need help and for being flagged.
    between_groups : DataFrame
        fairlearn's between-groups ratio (smallest over largest) and difference (largest minus
        smallest) per characteristic and measure, over the groups published.
    profile : DataFrame
        The cohort profile of the audited children.
    mitigation : DataFrame or None
        Before/after table when mitigation was asked for.
    thresholds : DataFrame or None
        The mitigation's per-group thresholds (or fairlearn's rule) fitted on everyone.
    summary : list of str
        Plain-language sentences, the most important first.
    settings : dict
        What was audited and how (columns, rule, policy, bootstrap, counts).
    """

    groups: pd.DataFrame
    ratios: pd.DataFrame
    rri: pd.DataFrame
    between_groups: pd.DataFrame
    profile: pd.DataFrame
    summary: list[str]
    settings: dict
    policy: FairnessPolicy
    mitigation: pd.DataFrame | None = None
    thresholds: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The audit's JSON form (the ``fairness.json`` the report writes, without the notes)."""
        return _jsonable({"settings": self.settings, "summary": self.summary,
                          "tables": {k: _records(df) for k, df in self.tables().items()}})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The published tables by name."""
        out = {"groups": self.groups, "ratios": self.ratios, "rri": self.rri,
               "between_groups": self.between_groups, "profile": self.profile}
        if self.mitigation is not None:
            out["mitigation"] = self.mitigation
        if self.thresholds is not None:
            out["thresholds"] = self.thresholds
        return out


# ------------------------------------------------------------------ inputs -------------------

def _example_rows(frame: pd.DataFrame, mask) -> str:
    idx = np.flatnonzero(np.asarray(mask))[:3]
    if "child_id" in frame.columns:
        ids = [str(v) for v in frame["child_id"].to_numpy()[idx]]
    else:
        ids = [str(i + 1) for i in idx]
    return ", ".join(ids)


def _require(frame: pd.DataFrame, column: str, what: str, source: str) -> None:
    if column not in frame.columns:
        shown_cols = ", ".join(map(str, list(frame.columns)[:12]))
        raise InputError(f"{source}: no {what} column {column!r} (columns: {shown_cols})")


def _labels(frame: pd.DataFrame, label: str, source: str) -> np.ndarray:
    raw = frame[label]
    if raw.dtype == bool or str(raw.dtype) == "boolean":
        raw = raw.astype("Int64")
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.notna() & ~values.isin([0, 1]) | (raw.notna() & values.isna())
    if bad.any():
        raise InputError(f"{source}: column {label!r} must be 0/1 (or empty when unknown); "
                         f"other values in rows {_example_rows(frame, bad)}")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _scores(frame: pd.DataFrame, score: str, source: str) -> np.ndarray:
    values = pd.to_numeric(frame[score], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        raise InputError(f"{source}: column {score!r} must hold a number in every row; "
                         f"missing or not a number in rows {_example_rows(frame, bad)}")
    return values.to_numpy(dtype=float)


def parse_top(top) -> tuple[str, float]:
    """``"10%"`` -> ``("percent", 10.0)``; ``250`` or ``"250"`` -> ``("count", 250)``.

    Examples
    --------
    >>> parse_top("10%"), parse_top(250)
    (('percent', 10.0), ('count', 250.0))
    """
    try:
        sel = parse_selection(top)
    except InputError:
        sel = None
    if sel is None or sel.kind not in ("percent", "overall"):
        raise InputError(f"--top: expected a percentage such as '10%' or a number of children "
                         f"such as '250', got {top!r}")
    return ("percent", float(sel.value)) if sel.kind == "percent" else ("count", float(sel.value))


def flag_scores(frame: pd.DataFrame, scores: np.ndarray, *, threshold=None, top=None
                ) -> tuple[np.ndarray, str]:
    """Who the rule flags, and the rule in words.

    ``top`` flags the highest scores (ties broken by row order so the count is exact), within
    each as-of date when the frame has an ``as_of`` column; ``threshold`` flags
    ``score >= threshold``.
    """
    if (threshold is None) == (top is None):
        raise InputError("fairness: give exactly one of --threshold or --top")
    if threshold is not None:
        try:
            t = float(threshold)
        except (TypeError, ValueError):
            raise InputError(f"--threshold: expected a number, got {threshold!r}") from None
        return scores >= t, f"score \u2265 {t:g}"
    kind, amount = parse_top(top)
    flags = np.zeros(len(scores), bool)
    by_date = "as_of" in frame.columns
    groups = (frame.groupby("as_of", sort=False, dropna=False).indices if by_date
              else {None: np.arange(len(scores))})
    for idx in groups.values():
        k = math.ceil(len(idx) * amount / 100) if kind == "percent" else int(amount)
        flags[idx[top_k_flags(scores[idx], k)]] = True
    what = f"top {amount:g}%" if kind == "percent" else f"top {int(amount)}"
    return flags, f"{what} by score" + (" at each as-of date" if by_date else "")


# ------------------------------------------------------------------ tables of groups ---------

@dataclass
class _Table:
    key: str
    label: str
    kind: str                 # "characteristic" or "intersection"
    members: tuple[str, ...]
    codes: np.ndarray         # group index of every audited child
    groups: list[str]
    rows: np.ndarray = None   # plan row of each group
    reference: int | None = None
    reference_note: str = ""


def _resolve_sensitive(policy: FairnessPolicy, sensitive, frame: pd.DataFrame, source: str):
    """Characteristics (name -> Characteristic) and intersections to audit."""
    if sensitive is None:
        names = list(policy.characteristics)
        combos = [tuple(c) for c in policy.intersections]
    else:
        items = [s.strip() for s in sensitive.split(",")] if isinstance(sensitive, str) \
            else list(sensitive)
        names, combos = [], []
        for item in items:
            parts = tuple(p.strip() for p in item.split("*")) if isinstance(item, str) \
                else tuple(item)
            parts = tuple(p for p in parts if p)
            if not parts:
                continue
            if len(parts) == 1:
                names.append(parts[0])
            else:
                combos.append(parts)
                names += [p for p in parts if p not in names]
        names = list(dict.fromkeys(names))
        combos += [tuple(c) for c in policy.intersections
                   if all(m in names for m in c) and tuple(c) not in combos]
    if not names:
        raise InputError(f"{source}: no characteristics to audit (give --sensitive)")
    chars = {n: policy.characteristics.get(n) or Characteristic() for n in names}
    for name, c in chars.items():
        col = c.column or name
        _require(frame, col, f"characteristic ({name})", source)
    return chars, combos


def _build_tables(frame: pd.DataFrame, chars: dict, combos: list, policy: FairnessPolicy):
    tables = []
    labels_of = {}
    for name, c in chars.items():
        col = c.column or name
        labels, order = categories(frame[col], column=col)
        labels_of[name] = (labels, order)
        index = {g: i for i, g in enumerate(order)}
        codes = np.array([index[v] for v in labels], dtype=np.int64)
        tables.append(_Table(name, c.label or policy.label(name), "characteristic", (name,),
                             codes, order))
    for combo in combos:
        parts = [labels_of[m] for m in combo]
        keys = pd.MultiIndex.from_arrays([p[0] for p in parts])
        rank = [{g: i for i, g in enumerate(p[1])} for p in parts]
        observed = sorted(set(keys.tolist()), key=lambda t: [r[v] for r, v in zip(rank, t,
                                                                                  strict=True)])
        index = {t: i for i, t in enumerate(observed)}
        codes = np.array([index[t] for t in keys.tolist()], dtype=np.int64)
        label = f" {TIMES} ".join(chars[m].label or policy.label(m) for m in combo)
        tables.append(_Table(
            f" {TIMES} ".join(combo), label, "intersection", tuple(combo), codes,
            [f" {TIMES} ".join(t) for t in observed],
        ))
    return tables


# ------------------------------------------------------------------ measures -----------------

def _cells(y: np.ndarray, f: np.ndarray, codes: np.ndarray, n_groups: int, w=None) -> np.ndarray:
    """Weighted counts per group: columns TN, FP, FN, TP (index 2 * label + flag)."""
    key = codes * 4 + (2 * y + f).astype(np.int64)
    return np.bincount(key, weights=w, minlength=n_groups * 4).reshape(n_groups, 4)


class _Prepared:
    """Per-table sort orders that make AUC and calibration error one pass of bincounts."""

    def __init__(self, codes, n_groups, y, s):
        self.codes, self.g = codes, n_groups
        order = np.lexsort((np.arange(len(s)), s, codes))
        self.order = order
        sc, gc = s[order], codes[order]
        new = np.ones(len(order), bool)
        new[1:] = (sc[1:] != sc[:-1]) | (gc[1:] != gc[:-1])
        level = np.cumsum(new) - 1                      # (group, score) level per sorted row
        self.level_of_sorted = level
        self.n_levels = int(level[-1] + 1) if len(level) else 0
        self.level_group = gc[new]
        self.group_first_level = np.searchsorted(self.level_group, np.arange(n_groups))
        self.group_sorted = gc
        self.group_start = np.searchsorted(gc, np.arange(n_groups))
        self.y_sorted, self.s_sorted = y[order], sc


def _measures(y, f, s, prep: _Prepared, w, probabilities: bool) -> np.ndarray:
    """All measures for every group of one table, for row weights ``w`` (groups x measures)."""
    g = prep.g
    with np.errstate(divide="ignore", invalid="ignore"):
        tn, fp, fn, tp = _cells(y, f, prep.codes, g, w).T
        n = tn + fp + fn + tp
        pos, neg = fn + tp, tn + fp
        out = np.full((g, len(MEASURES)), np.nan)
        out[:, 0] = pos / n
        out[:, 1] = (fp + tp) / n
        out[:, 2] = tp / pos
        out[:, 3] = fn / pos
        out[:, 4] = fp / neg
        out[:, 5] = tp / (tp + fp)
        ws = w[prep.order] if w is not None else np.ones(len(prep.order))
        if prep.n_levels:
            p_lv = np.bincount(prep.level_of_sorted, ws * prep.y_sorted, prep.n_levels)
            n_lv = np.bincount(prep.level_of_sorted, ws * (1 - prep.y_sorted), prep.n_levels)
            below = np.cumsum(n_lv) - n_lv
            start = below[np.minimum(prep.group_first_level, prep.n_levels - 1)]
            below = below - start[prep.level_group]
            num = np.bincount(prep.level_group, p_lv * (below + 0.5 * n_lv), g)
            auc = num / (pos * neg)
            out[:, 6] = np.where((pos > 0) & (neg > 0), auc, np.nan)
        if probabilities:
            wsum_s = np.bincount(prep.group_sorted, ws * prep.s_sorted, g)
            out[:, 7] = np.where(wsum_s > 0, pos / wsum_s, np.nan)
            # Calibration error as in _metrics: equal-weight bins within each group.
            before = np.concatenate([[0.0], np.cumsum(ws)])
            cum = before[1:] - before[prep.group_start][prep.group_sorted]
            tot = np.bincount(prep.group_sorted, ws, g)
            bins = np.minimum((cum - ws / 2) / tot[prep.group_sorted] * 10, 9)
            bins = np.nan_to_num(bins, nan=0).astype(np.int64)
            key = prep.group_sorted * 10 + bins
            py = np.bincount(key, ws * prep.s_sorted, g * 10).reshape(g, 10)
            yy = np.bincount(key, ws * prep.y_sorted, g * 10).reshape(g, 10)
            out[:, 8] = np.where(tot > 0, np.abs(py - yy).sum(axis=1) / tot, np.nan)
    return out


def _bootstrap_weights(n: int, n_boot: int, random_state: int, clusters=None):
    """Row weights of each resample, as fairlearn's MetricFrame draws them.

    fairlearn seeds one ``RandomState`` per resample from ``default_rng(random_state)`` and
    resamples rows with ``DataFrame.sample(frac=1, replace=True)``; the same draws here give
    the same resampled rows. With ``clusters`` (family ids), whole clusters are drawn.
    """
    seeds = np.random.default_rng(int(random_state)).integers(
        low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32)
    if clusters is None:
        for seed in seeds:
            idx = np.random.RandomState(seed).choice(n, size=n, replace=True)
            yield np.bincount(idx, minlength=n).astype(float)
    else:
        codes, uniq = pd.factorize(pd.Series(clusters), use_na_sentinel=False)
        k = len(uniq)
        for seed in seeds:
            idx = np.random.RandomState(seed).choice(k, size=k, replace=True)
            yield np.bincount(idx, minlength=k).astype(float)[codes]


def _quantiles(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    q = [(1 - confidence) / 2, 1 - (1 - confidence) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        samples = np.where(np.isinf(samples), np.nan, samples)
        lo, hi = np.nanquantile(samples, q, axis=0)
    return lo, hi


# ------------------------------------------------------------------ fairlearn ----------------

FAIRLEARN_MEASURES = (
    "base_rate", "selection_rate", "true_positive_rate", "false_negative_rate",
    "false_positive_rate", "precision",
)


def _fairlearn_frame(table: _Table, y, f):
    """fairlearn's MetricFrame of the confusion-table rates for one table's groups.

    Only ``y_true`` and ``y_pred`` are passed: MetricFrame copies every argument element by
    element for every group, so scores (for AUC and calibration) are handled by
    :func:`_measures`, whose definitions the tests check against scikit-learn's.
    """
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    def base_rate(y_true, y_pred):
        return float(np.mean(y_true))

    def precision(y_true, y_pred):
        flagged = np.asarray(y_pred) == 1
        return float(np.mean(np.asarray(y_true)[flagged])) if flagged.any() else np.nan

    fns = {
        "base_rate": base_rate,
        "selection_rate": lambda yt, yp: selection_rate(yt, yp, pos_label=1),
        "true_positive_rate": lambda yt, yp: true_positive_rate(yt, yp, pos_label=1),
        "false_negative_rate": lambda yt, yp: false_negative_rate(yt, yp, pos_label=1),
        "false_positive_rate": lambda yt, yp: false_positive_rate(yt, yp, pos_label=1),
        "precision": precision,
    }
    return MetricFrame(metrics=fns, y_true=y.astype(int), y_pred=f.astype(int),
                       sensitive_features=pd.Series(table.codes, name="group"))


# ------------------------------------------------------------------ the audit ----------------

def _status(ratio, low, high, tol_low, tol_high) -> str:
    if ratio is None or isinstance(ratio, str) or not np.isfinite(ratio):
        return "not applicable"
    if np.isfinite(low) and low > tol_high or np.isfinite(high) and high < tol_low:
        return "outside"
    if ratio > tol_high or ratio < tol_low:
        return "check"
    return "within"


def fairness_audit(
    frame: pd.DataFrame,
    *,
    label: str,
    score: str,
    threshold: float | None = None,
    top: str | int | None = None,
    sensitive=None,
    policy=None,
    random_state: int = 0,
    cluster: str | None = None,
    mitigate: bool = False,
    profile_columns=None,
    references: dict | None = None,
    subjects: str = "children",
    positive_words: str = "needed help",
    negative_words: str = "did not need help",
    source: str = "scores",
) -> FairnessAudit:
    """Audit a table of scores for disproportionality between groups.

    Parameters
    ----------
    frame : DataFrame
        One row per child (and as-of date): the label, the score and the characteristics;
        extra columns are used for the cohort profile when present (see
        :func:`cohort_profile`).
    label : str
        The outcome column, 0/1; rows where it is empty (not yet observed) are left out of
        the audit after flagging.
    score : str
        The score column (higher = more likely); scores in [0, 1] are treated as
        probabilities and also get calibration measures.
    threshold : float, optional
        Flag ``score >= threshold``.
    top : str or int, optional
        Flag the highest scores instead: ``"10%"`` or a number of children (per as-of date
        when there is an ``as_of`` column). Give exactly one of ``threshold`` and ``top``.
    sensitive : str or list, optional
        Characteristic columns to audit (``"race,sex"``); ``"a*b"`` adds an intersection.
        Settings for names in the policy (reference group, label) are taken from it.
        Default: the policy's characteristics and intersections.
    policy : FairnessPolicy, path or dict, optional
        Default: the packaged policy (:func:`load_fairness_policy`).
    random_state : int, default=0
        Seed of the bootstrap (and of the mitigation's folds).
    cluster : str, optional
        Resample whole clusters (e.g. ``"family_id"``: siblings share outcomes) instead of
        rows; by default rows are resampled, exactly as fairlearn does.
    mitigate : bool, default=False
        Also fit the policy's mitigation and report it before/after.
    profile_columns : list or dict, optional
        Extra columns for the cohort profile.
    references : dict, optional
        Reference group per characteristic, overriding the policy (``{"race": "Caucasian"}``).
    subjects, positive_words, negative_words : str
        Words for the summary: who is scored and what the label means.
    source : str, default="scores"
        Name of the input in error messages.

    Returns
    -------
    FairnessAudit

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.evaluation import fairness_audit
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"sex": rng.choice(["female", "male"], 400),
    ...                   "score": rng.uniform(size=400)})
    >>> f["label"] = (rng.uniform(size=400) < f.score).astype(int)
    >>> audit = fairness_audit(f, label="label", score="score", top="20%", sensitive="sex",
    ...                        policy={"characteristics": {"sex": None}, "intersections": [],
    ...                                "bootstrap": {"n": 50}})
    >>> audit.groups.query("group == 'female'")["n"].item() > 150
    True
    >>> sorted(audit.ratios.status.unique())[:2]
    ['check', 'reference']
    """
    if (threshold is None) == (top is None):
        raise InputError("fairness: give exactly one of --threshold or --top")
    if top is not None:
        parse_top(top)
    pol = resolve_policy(policy)
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{source}: expected a table (DataFrame), got {type(frame).__name__}")
    _require(frame, label, "label", source)
    _require(frame, score, "score", source)
    if cluster is not None:
        _require(frame, cluster, "cluster", source)
    chars, combos = _resolve_sensitive(pol, sensitive, frame, source)
    frame = frame.reset_index(drop=True)
    all_scores = _scores(frame, score, source)
    all_flags, rule = flag_scores(frame, all_scores, threshold=threshold, top=top)
    y_all = _labels(frame, label, source)
    keep = ~np.isnan(y_all)
    n_unlabelled = int((~keep).sum())
    data = frame.loc[keep].reset_index(drop=True)
    y = y_all[keep].astype(np.int64)
    f = all_flags[keep].astype(np.int64)
    s = all_scores[keep]
    n = len(data)
    if n == 0:
        raise InputError(f"{source}: column {label!r} is empty in every row; nothing to audit")
    probabilities = bool(np.all((s >= 0) & (s <= 1)))
    min_count = pol.min_count
    tol = pol.tolerance

    tables = _build_tables(data, chars, combos, pol)
    sections = profile_sections(
        data, columns=_profile_columns(chars, profile_columns, data), top_needs=5)

    # --- published rows: everyone, each group of each table, each profile category ---------
    masks = [np.ones(n, bool)]
    for t in tables:
        t.rows = np.arange(len(masks), len(masks) + len(t.groups))
        masks += [t.codes == i for i in range(len(t.groups))]
    n_audit_rows = len(masks)
    profile_start = len(masks)
    masks += [m for sec in sections for _, m in sec.items]
    masks = np.vstack(masks)
    onehot = np.zeros((n, 4))
    onehot[np.arange(n), 2 * y + f] = 1
    cells = masks.astype(float) @ onehot                     # rows x (TN, FP, FN, TP)

    mit = None
    if mitigate:
        mit = _mitigation_flags(data, y, f, s, tables, pol, random_state)
        onehot2 = np.zeros((n, 4))
        onehot2[np.arange(n), 2 * y + mit["after"]] = 1
        cells_after = masks.astype(float) @ onehot2
    # What to hide first when more must go: intersection cells, then whole groups (and
    # profile categories), the cohort total last. Hiding "black" to protect "black x unknown
    # sex" would hide a large group an equality lead must see.
    tier = np.ones(len(masks))
    tier[0] = 2
    for t in tables:
        if t.kind == "intersection":
            tier[t.rows] = 0
    plan = _plan(masks, cells, n_audit_rows, min_count, tier=tier,
                 mitigation_rows=None if mit is None else mit["rows"],
                 cells_after=None if mit is None else cells_after)

    # --- references ---------------------------------------------------------------------------
    notes = []
    refs = dict(references or {})
    unknown = [k for k in refs if k not in chars]
    if unknown:
        raise InputError(f"--reference: {unknown[0]!r} is not an audited characteristic "
                         f"({', '.join(chars)})")
    resolved: dict[str, str] = {}
    for t in tables:
        _choose_reference(t, chars, refs, plan, resolved, notes, source)

    # --- point estimates (fairlearn) and bootstrap -------------------------------------------
    preps = {t.key: _Prepared(t.codes, len(t.groups), y, s) for t in tables}
    prep_all = _Prepared(np.zeros(n, np.int64), 1, y, s)
    point, frames = {}, {}
    for t in tables:
        values = _measures(y, f, s, preps[t.key], None, probabilities)
        mf = _fairlearn_frame(t, y, f)
        bg = mf.by_group.reindex(range(len(t.groups)))
        for m in FAIRLEARN_MEASURES:
            values[:, MEASURES.index(m)] = bg[m].to_numpy(dtype=float)
        # fairlearn reports 0 where a rate has no denominator; the report says "not defined".
        tn, fp, fn, tp = cells[t.rows].T
        for m, denom in (("true_positive_rate", fn + tp), ("false_negative_rate", fn + tp),
                         ("false_positive_rate", fp + tn), ("precision", fp + tp)):
            values[denom == 0, MEASURES.index(m)] = np.nan
        point[t.key], frames[t.key] = values, mf
    overall_point = _measures(y, f, s, prep_all, None, probabilities)[0]

    n_boot = pol.bootstrap.n
    boot = {t.key: np.empty((n_boot, len(t.groups), len(MEASURES))) for t in tables}
    boot_all = np.empty((n_boot, len(MEASURES)))
    weights = _bootstrap_weights(n, n_boot, random_state,
                                 None if cluster is None else data[cluster].astype(str))
    for b, w in enumerate(weights):
        boot_all[b] = _measures(y, f, s, prep_all, w, probabilities)[0]
        for t in tables:
            boot[t.key][b] = _measures(y, f, s, preps[t.key], w, probabilities)
    conf = pol.bootstrap.confidence

    groups_table = _groups_table(tables, cells, plan, point, boot, overall_point, boot_all,
                                 conf, min_count, probabilities)
    ratios_table = _ratios_table(tables, plan, point, boot, conf, pol, probabilities)
    rri_table = _rri_table(tables, cells, plan, point, boot, conf, pol)
    between_table = _between_table(tables, plan, point, frames, boot, conf, probabilities)
    prof = profile_table(
        sections, cells[[0] + list(range(profile_start, len(masks)))].sum(axis=1),
        np.concatenate([plan["N"][:1], plan["N"][profile_start:]]),
        np.concatenate([plan["N_small"][:1], plan["N_small"][profile_start:]]),
        n, min_count=min_count)

    mitigation_table = thresholds_table = None
    if mit is not None:
        mitigation_table, thresholds_table = _mitigation_tables(
            mit, tables, cells, cells_after, plan, groups_table, min_count)

    settings = {
        "source": source, "label": label, "score": score, "rule": rule,
        "threshold": threshold, "top": None if top is None else str(top),
        "characteristics": {t.key: {"label": t.label, "kind": t.kind,
                                    "reference": None if t.reference is None
                                    else t.groups[t.reference],
                                    "reference_note": t.reference_note} for t in tables},
        "n": shown(int(n), hidden=bool(plan["N"][0]), sensitive=bool(plan["N_small"][0]),
                   min_count=min_count),
        "n_flagged": _shown_count(cells[0, 1] + cells[0, 3], plan["F"][0], min_count),
        "n_positive": _shown_count(cells[0, 2] + cells[0, 3], plan["Y"][0], min_count),
        "n_unlabelled": _shown_count(n_unlabelled, False, min_count),
        "scores_are_probabilities": probabilities,
        "bootstrap": {"n": n_boot, "confidence": conf, "random_state": int(random_state),
                      "resampled": "clusters of " + cluster if cluster else "rows"},
        "tolerance": {"low": tol.low, "high": tol.high}, "min_count": min_count,
        "metrics": list(pol.metrics), "subjects": subjects,
        "positive_words": positive_words, "negative_words": negative_words,
        "n_hidden_groups": int(sum(plan["N"][t.rows].sum() for t in tables)),
    }
    if mit is not None:
        settings["mitigation"] = {"method": pol.mitigation.method,
                                  "characteristic": mit["table"].key,
                                  "equalise": pol.mitigation.equalise}
    audit = FairnessAudit(
        groups=groups_table, ratios=ratios_table, rri=rri_table, between_groups=between_table,
        profile=prof, summary=[], settings=settings, policy=pol,
        mitigation=mitigation_table, thresholds=thresholds_table, notes=notes,
    )
    audit.summary = _summary(audit)
    return audit


def _shown_count(value, hidden, min_count):
    v = int(round(float(value)))
    if hidden or (1 <= v < min_count):
        return small_text(min_count) if 1 <= v < min_count else SUPPRESSED
    return v


def _profile_columns(chars, extra, data):
    cols = {}
    for name, c in chars.items():
        col = c.column or name
        if col not in PROFILE_COLUMNS:  # the matrix's own columns keep the profile's names
            cols[col] = c.label or name.replace("_", " ")
    if isinstance(extra, dict):
        cols.update(extra)
    elif extra:
        cols.update({c: c.replace("_", " ") for c in extra})
    return {c: v for c, v in cols.items() if c in data.columns}


def _plan(masks, cells, n_audit_rows, min_count, *, tier=None, mitigation_rows=None,
          cells_after=None):
    """Which rows are hidden in each block of figures (and which hold a small count).

    Blocks: N (how many), Y (who went on to need help), F (who was flagged), C (both
    together); hiding a coarser block hides the finer ones. Each row's complement (everyone
    else) is protected too.
    """
    rows = masks.shape[0]
    audit_rows = np.zeros(rows, bool)
    audit_rows[:n_audit_rows] = True
    tn, fp, fn, tp = cells.T

    def plan(counts, hidden=None, published=None):
        total = np.asarray(counts, float).reshape(rows, -1).sum(axis=1)
        priority = None if tier is None else total + tier * (total.max(initial=0) + 1)
        return plan_with_complements(masks, counts, min_count=min_count, hidden=hidden,
                                     published=published, priority=priority)

    out = {}
    out["N"], out["N_small"] = plan(cells.sum(axis=1))
    out["Y"], out["Y_small"] = plan(np.c_[fn + tp, tn + fp], out["N"], audit_rows)
    out["F"], out["F_small"] = plan(np.c_[fp + tp, tn + fn], out["N"], audit_rows)
    out["C"], out["C_small"] = plan(cells, out["Y"] | out["F"], audit_rows)
    for b in ("Y", "F", "C"):
        out[b] = out[b] | ~audit_rows  # never published outside the audit's rows
    if mitigation_rows is not None:
        pub = np.zeros(rows, bool)
        pub[mitigation_rows] = True
        tn2, fp2, fn2, tp2 = cells_after.T
        out["F2"], out["F2_small"] = plan(np.c_[fp2 + tp2, tn2 + fn2], out["N"], pub)
        out["C2"], out["C2_small"] = plan(cells_after, out["Y"] | out["F2"], pub)
        out["F2"] |= ~pub
        out["C2"] |= ~pub
    return out


def _choose_reference(t: _Table, chars, refs, plan, resolved, notes, source):
    visible = ~plan["N"][t.rows]
    sizes = np.bincount(t.codes, minlength=len(t.groups))
    if t.kind == "characteristic":
        name = t.members[0]
        wanted = refs.get(name) or chars[name].reference
    else:
        # The combination of the members' references (e.g. white x male), when published.
        parts = [resolved.get(m) for m in t.members]
        wanted = "largest" if None in parts else f" {TIMES} ".join(parts)
        if wanted not in t.groups or not visible[t.groups.index(wanted)]:
            wanted = "largest"
    if wanted != "largest":
        if wanted not in t.groups:
            if t.kind == "intersection":
                wanted = "largest"
            else:
                raise InputError(
                    f"{source}: reference group {wanted!r} for {t.key!r} is not in the data "
                    f"(groups: {', '.join(t.groups[:8])})")
        elif not visible[t.groups.index(wanted)]:
            notes.append(f"The reference group {wanted!r} for {t.label} is too small to "
                         f"publish, so the largest group is the reference instead.")
            wanted = "largest"
    if wanted == "largest":
        if not visible.any():
            t.reference, t.reference_note = None, "no group is large enough to publish"
            return
        cand = np.where(visible, sizes, -1)
        t.reference = int(np.argmax(cand))
        t.reference_note = "the largest group"
    else:
        t.reference = t.groups.index(wanted)
        t.reference_note = ("the members' reference groups together" if t.kind == "intersection"
                            else "set by the policy")
    if t.kind == "characteristic":
        resolved[t.members[0]] = t.groups[t.reference]


def _groups_table(tables, cells, plan, point, boot, overall_point, boot_all, conf, min_count,
                  probabilities):
    records = []

    def record(table_key, table_label, kind, group, row, values, lo, hi, is_ref):
        tn, fp, fn, tp = cells[row]
        rec = {"characteristic": table_key, "label": table_label, "kind": kind,
               "group": group, "reference": bool(is_ref)}
        rec["n"] = shown(int(tn + fp + fn + tp), hidden=bool(plan["N"][row]),
                         sensitive=bool(plan["N_small"][row]), min_count=min_count)
        rec["n_positive"] = shown(int(fn + tp), hidden=bool(plan["Y"][row]),
                                  sensitive=bool(1 <= fn + tp < min_count), min_count=min_count)
        rec["n_flagged"] = shown(int(fp + tp), hidden=bool(plan["F"][row]),
                                 sensitive=bool(1 <= fp + tp < min_count), min_count=min_count)
        for j, m in enumerate(MEASURES):
            hide = bool(plan[BLOCK[m]][row])
            applicable = probabilities or m not in PROBABILITY_MEASURES
            for suffix, arr in (("", values), ("_low", lo), ("_high", hi)):
                v = float(arr[j]) if applicable else np.nan
                rec[m + suffix] = SUPPRESSED if hide else v
        records.append(rec)

    lo_all, hi_all = _quantiles(boot_all, conf)
    record("all", "everyone", "all", "all", 0, overall_point, lo_all, hi_all, False)
    for t in tables:
        lo, hi = _quantiles(boot[t.key], conf)
        for i, g in enumerate(t.groups):
            record(t.key, t.label, t.kind, g, t.rows[i], point[t.key][i], lo[i], hi[i],
                   i == t.reference)
    return pd.DataFrame(records)


def _ratio_measures(pol, probabilities):
    return [m for m in pol.metrics if probabilities or m != "calibration"]


def _ratios_table(tables, plan, point, boot, conf, pol, probabilities):
    tol = pol.tolerance
    records = []
    for t in tables:
        for m in _ratio_measures(pol, probabilities):
            j = MEASURES.index(m)
            hidden = plan[BLOCK[m]][t.rows]
            ref = t.reference
            for i, g in enumerate(t.groups):
                rec = {"characteristic": t.key, "label": t.label, "kind": t.kind, "group": g,
                       "metric": m,
                       "reference": "predicted" if m == "calibration" else (
                           None if ref is None else t.groups[ref])}
                if m == "calibration":
                    value, ratio = point[t.key][i, j], point[t.key][i, j]
                    samples = boot[t.key][:, i, j]
                    ref_value = 1.0
                    is_ref = False
                    blocked = hidden[i]
                else:
                    is_ref = ref is not None and i == ref
                    blocked = hidden[i] or ref is None or hidden[ref]
                    value = point[t.key][i, j]
                    ref_value = np.nan if ref is None else point[t.key][ref, j]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratio = value / ref_value if ref_value else np.nan
                        samples = (boot[t.key][:, i, j] / boot[t.key][:, ref, j]
                                   if ref is not None else np.full(len(boot[t.key]), np.nan))
                if blocked:
                    rec.update(value=SUPPRESSED, reference_value=SUPPRESSED if (
                        ref is None or hidden[ref]) and m != "calibration" else ref_value,
                        ratio=SUPPRESSED, ratio_low=SUPPRESSED, ratio_high=SUPPRESSED,
                        status="suppressed", flagged=False)
                    if ref is not None and not hidden[ref] and m != "calibration":
                        rec["reference_value"] = float(ref_value)
                elif is_ref:
                    rec.update(value=float(value), reference_value=float(ref_value), ratio=1.0,
                               ratio_low=np.nan, ratio_high=np.nan, status="reference",
                               flagged=False)
                else:
                    lo, hi = _quantiles(samples[:, None], conf)
                    lo, hi = float(lo[0]), float(hi[0])
                    ratio = float(ratio) if np.isfinite(ratio) else np.nan
                    status = _status(ratio, lo, hi, tol.low, tol.high)
                    rec.update(value=float(value), reference_value=float(ref_value),
                               ratio=ratio, ratio_low=lo, ratio_high=hi, status=status,
                               flagged=status == "outside")
                records.append(rec)
    cols = ["characteristic", "label", "kind", "group", "metric", "reference", "value",
            "reference_value", "ratio", "ratio_low", "ratio_high", "status", "flagged"]
    return pd.DataFrame(records, columns=cols)


def _rri_table(tables, cells, plan, point, boot, conf, pol):
    tol = pol.tolerance
    total = cells[0].sum()
    flagged_total = cells[0, 1] + cells[0, 3]
    records = []
    jb, js = MEASURES.index("base_rate"), MEASURES.index("selection_rate")
    for t in tables:
        ref = t.reference
        for i, g in enumerate(t.groups):
            row = t.rows[i]
            tn, fp, fn, tp = cells[row]
            hide_n, hide_y, hide_f = plan["N"][row], plan["Y"][row], plan["F"][row]
            rec = {"characteristic": t.key, "label": t.label, "kind": t.kind, "group": g,
                   "reference": None if ref is None else t.groups[ref]}
            rec["population_share"] = SUPPRESSED if hide_n or plan["N"][0] else (
                (tn + fp + fn + tp) / total)
            rec["positive_rate"] = SUPPRESSED if hide_y else float(point[t.key][i, jb])
            rec["flagged_rate"] = SUPPRESSED if hide_f else float(point[t.key][i, js])
            rec["flagged_share"] = SUPPRESSED if hide_f or plan["F"][0] or not flagged_total \
                else (fp + tp) / flagged_total
            for name, j, blk in (("rri_positive", jb, "Y"), ("rri_flagged", js, "F")):
                if ref is None or plan[blk][row] or plan[blk][t.rows[ref]]:
                    rec.update({name: SUPPRESSED, name + "_low": SUPPRESSED,
                                name + "_high": SUPPRESSED, name + "_status": "suppressed"})
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = point[t.key][i, j] / point[t.key][ref, j]
                    smp = boot[t.key][:, i, j] / boot[t.key][:, ref, j]
                if i == ref:
                    rec.update({name: 1.0, name + "_low": np.nan, name + "_high": np.nan,
                                name + "_status": "reference"})
                    continue
                lo, hi = _quantiles(smp[:, None], conf)
                r = float(r) if np.isfinite(r) else np.nan
                rec.update({name: r, name + "_low": float(lo[0]), name + "_high": float(hi[0]),
                            name + "_status": _status(r, float(lo[0]), float(hi[0]), tol.low,
                                                      tol.high)})
            records.append(rec)
    return pd.DataFrame(records)


def _between_table(tables, plan, point, frames, boot, conf, probabilities):
    """fairlearn's between-groups ratio (min / max) and difference (max - min).

    fairlearn's own figures are used when every group's rate is published and defined;
    otherwise the same formula over the published groups, so no hidden rate leaks through a
    minimum or maximum.
    """
    records = []
    measures = [m for m in MEASURES if m != "calibration_error"
                and (probabilities or m not in PROBABILITY_MEASURES)]
    for t in tables:
        mf = frames[t.key]
        for m in measures:
            j = MEASURES.index(m)
            vis = ~plan[BLOCK[m]][t.rows] & np.isfinite(point[t.key][:, j])
            rec = {"characteristic": t.key, "label": t.label, "kind": t.kind, "metric": m,
                   "groups_compared": int(vis.sum())}
            if vis.sum() < 2:
                rec.update(ratio=np.nan, ratio_low=np.nan, ratio_high=np.nan,
                           difference=np.nan, difference_low=np.nan, difference_high=np.nan)
                records.append(rec)
                continue
            if vis.all() and m in FAIRLEARN_MEASURES:
                ratio = float(mf.ratio(method="between_groups")[m])
                diff = float(mf.difference(method="between_groups")[m])
                rec["source"] = "fairlearn"
            else:
                v = point[t.key][vis, j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = float(v.min() / v.max()) if v.max() else np.nan
                diff = float(v.max() - v.min())
                rec["source"] = "published groups"
            smp = boot[t.key][:, vis, j]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mn, mx = np.nanmin(smp, axis=1), np.nanmax(smp, axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    rs = mn / mx
            rlo, rhi = _quantiles(rs[:, None], conf)
            dlo, dhi = _quantiles((mx - mn)[:, None], conf)
            rec.update(ratio=ratio, ratio_low=float(rlo[0]), ratio_high=float(rhi[0]),
                       difference=diff, difference_low=float(dlo[0]),
                       difference_high=float(dhi[0]))
            records.append(rec)
    cols = ["characteristic", "label", "kind", "metric", "groups_compared", "ratio",
            "ratio_low", "ratio_high", "difference", "difference_low", "difference_high",
            "source"]
    return pd.DataFrame(records).reindex(columns=cols)


# ------------------------------------------------------------------ mitigation ---------------

def _score_passthrough():
    """A fitted scikit-learn 'estimator' whose prediction is the score column, so fairlearn's
    ThresholdOptimizer can post-process scores that came from anywhere."""
    from sklearn.base import BaseEstimator

    class ScorePassthrough(BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict(self, X):
            return np.asarray(X, dtype=float)[:, 0]

    return ScorePassthrough().fit(None)


def _folds(codes, y, random_state):
    """Two folds, balanced within every group x label stratum."""
    rng = np.random.default_rng(int(random_state))
    fold = np.zeros(len(codes), np.int64)
    strata = codes * 2 + y
    for st in np.unique(strata):
        idx = np.flatnonzero(strata == st)
        idx = idx[rng.permutation(len(idx))]
        fold[idx[1::2]] = 1
    return fold


def _group_thresholds(s, y, f, codes, n_groups, equalise):
    """One threshold per group so each group's recall (or selection rate) matches the whole's."""
    pos = y.sum()
    target = (f[y == 1].mean() if pos else np.nan) if equalise == "false_negative_rate" \
        else f.mean()
    flagged_scores = s[f == 1]
    fallback = flagged_scores.min() if len(flagged_scores) else np.inf
    out = np.full(n_groups, fallback, dtype=float)
    for g in range(n_groups):
        idx = np.flatnonzero(codes == g)
        if not len(idx):
            continue
        order = idx[np.lexsort((idx, -s[idx]))]
        if equalise == "false_negative_rate":
            yg = y[order]
            if yg.sum() == 0 or not np.isfinite(target):
                continue
            need = target * yg.sum()
            k = int(np.searchsorted(np.cumsum(yg), need - 1e-9) + 1)
        else:
            k = math.ceil(target * len(order) - 1e-9)
        out[g] = np.inf if k <= 0 else s[order[min(k, len(order)) - 1]]
    return out


def _mitigation_flags(data, y, f, s, tables, pol, random_state):
    m = pol.mitigation
    chars = [t for t in tables if t.kind == "characteristic"]
    table = next((t for t in chars if t.key == m.characteristic), chars[0])
    codes, g = table.codes, len(table.groups)
    fold = _folds(codes, y, random_state)
    after = np.zeros(len(y), np.int64)
    if m.method == "group_thresholds":
        for k in (0, 1):
            fit, apply = fold != k, fold == k
            th = _group_thresholds(s[fit], y[fit], f[fit], codes[fit], g, m.equalise)
            after[apply] = (s[apply] >= th[codes[apply]]).astype(np.int64)
        thresholds = _group_thresholds(s, y, f, codes, g, m.equalise)
        described = [None if not np.isfinite(t) else float(t) for t in thresholds]
    else:
        from fairlearn.postprocessing import ThresholdOptimizer

        constraint = ("true_positive_rate_parity" if m.equalise == "false_negative_rate"
                      else "demographic_parity")

        def fitted(rows):
            opt = ThresholdOptimizer(estimator=_score_passthrough(), constraints=constraint,
                                     objective=m.objective, prefit=True,
                                     predict_method="predict")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    opt.fit(s[rows, None], y[rows], sensitive_features=codes[rows])
            except (ValueError, ZeroDivisionError) as exc:
                raise InputError(
                    f"mitigation: fairlearn's ThresholdOptimizer could not fit groups of "
                    f"{table.key!r} ({' '.join(str(exc).split())[:160]}); try "
                    f"method: group_thresholds") from None
            return opt

        for k in (0, 1):
            fit, apply = fold != k, fold == k
            opt = fitted(fit)
            after[apply] = np.asarray(opt.predict(s[apply, None], sensitive_features=codes[apply],
                                                  random_state=int(random_state)), dtype=int)
        opt = fitted(np.ones(len(y), bool))
        described = []
        inter = opt.interpolated_thresholder_.interpolation_dict
        for i in range(g):
            d = inter.get(i)
            described.append(None if d is None else _describe_interpolation(d))
    return {"table": table, "after": after, "rows": np.concatenate([[0], table.rows]),
            "thresholds": described, "method": m.method, "equalise": m.equalise}


def _describe_interpolation(d) -> str:
    parts = []
    for p, op in ((d.p0, d.operation0), (d.p1, d.operation1)):
        if p > 0:
            parts.append(f"{p:.0%} of the time: flag if {op}")
    return "; ".join(parts).replace("[", "").replace("]", "")


def _mitigation_tables(mit, tables, cells, cells_after, plan, groups_table, min_count):
    t = mit["table"]
    records, th_records = [], []
    gt = groups_table.set_index(["characteristic", "group"])
    rows = [("all", "all", 0, None)] + [(t.key, g, t.rows[i], i) for i, g in enumerate(t.groups)]
    for key, g, row, i in rows:
        before = gt.loc[(key, g)]
        tn, fp, fn, tp = cells_after[row]
        rec = {"characteristic": t.key, "group": g, "n": before["n"]}
        for m in ("selection_rate", "false_negative_rate", "false_positive_rate", "precision"):
            rec[m + "_before"] = before[m]
        hidden_f, hidden_c = plan["F2"][row], plan["C2"][row]
        with np.errstate(divide="ignore", invalid="ignore"):
            n = tn + fp + fn + tp
            after = {
                "selection_rate": ((fp + tp) / n, hidden_f),
                "false_negative_rate": (fn / (fn + tp) if fn + tp else np.nan, hidden_c),
                "false_positive_rate": (fp / (fp + tn) if fp + tn else np.nan, hidden_c),
                "precision": (tp / (tp + fp) if tp + fp else np.nan, hidden_c),
            }
        for m, (v, h) in after.items():
            rec[m + "_after"] = SUPPRESSED if h else float(v)
        rec["n_flagged_after"] = shown(int(fp + tp), hidden=bool(hidden_f),
                                       sensitive=bool(1 <= fp + tp < min_count),
                                       min_count=min_count)
        records.append(rec)
        if i is not None:
            th = mit["thresholds"][i]
            th_records.append({"characteristic": t.key, "group": g,
                               "rule": SUPPRESSED if plan["N"][row] else (
                                   "flag nobody" if th is None else
                                   th if isinstance(th, str) else f"score \u2265 {th:.4g}")})
    return pd.DataFrame(records), pd.DataFrame(th_records)


# ------------------------------------------------------------------ summary ------------------

def _fmt(v: float) -> str:
    return "\u221e" if not np.isfinite(v) else f"{v:.2f}"


def _summary(audit: FairnessAudit) -> list[str]:
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


# ------------------------------------------------------------------ writing ------------------

def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    return [_jsonable(dict(zip(df.columns, row, strict=True)))
            for row in df.itertuples(index=False, name=None)]


def write_fairness_report(audit: FairnessAudit, out_dir, *, title: str = "Fairness and "
                          "disproportionality report", profile: pd.DataFrame | None = None,
                          charts: bool = True) -> dict[str, Path]:
    """Write the audit as a self-contained HTML report, CSV tables and one JSON file.

    Parameters
    ----------
    audit : FairnessAudit
    out_dir : path
        Folder to write into (created if needed). Every file is written atomically.
    title : str
    profile : DataFrame, optional
        A cohort profile (from :func:`cohort_profile`) to show instead of the audit's own.
        It must describe the same children as the audit, or differences between the two
        could reveal small counts; by default the audit's own profile is used.
    charts : bool, default=True
        Draw the charts (matplotlib, embedded as PNG).

    Returns
    -------
    dict
        Paths by name: ``html``, ``json`` and one ``<table>`` CSV per table
        (``fairness_groups.csv``, ``fairness_ratios.csv``, ...).

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from riskmodel.evaluation import fairness_audit, write_fairness_report
    >>> rng = np.random.default_rng(1)
    >>> f = pd.DataFrame({"sex": rng.choice(["female", "male"], 200),
    ...                   "score": rng.uniform(size=200)})
    >>> f["label"] = (rng.uniform(size=200) < f.score).astype(int)
    >>> audit = fairness_audit(f, label="label", score="score", threshold=0.5, sensitive="sex",
    ...                        policy={"characteristics": {"sex": None}, "intersections": [],
    ...                                "bootstrap": {"n": 20}})
    >>> paths = write_fairness_report(audit, tempfile.mkdtemp(), charts=False)
    >>> sorted(paths)[:3]
    ['between_groups', 'groups', 'html']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = audit.tables()
    if profile is not None:
        tables["profile"] = profile
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[name] = write_table(df, out / f"fairness_{name}.csv")
    doc = {
        "title": title, "settings": audit.settings, "summary": audit.summary,
        "notes": audit.notes, "policy": audit.policy.model_dump(mode="json"),
        "tables": {name: _records(df) for name, df in tables.items()},
    }
    paths["json"] = write_text(json.dumps(_jsonable(doc), indent=2, ensure_ascii=False),
                               out / "fairness.json")
    html = render_fairness_html(audit, title=title, profile=tables["profile"], charts=charts)
    paths["html"] = write_text(html, out / "fairness_report.html")
    return paths


# ------------------------------------------------------------------ the HTML report ----------

_EXPLAIN = {
    "base_rate": "The share of {s} in the group who {pos}.",
    "selection_rate": "The share of {s} in the group the rule flagged.",
    "false_negative_rate": "Of the {s} who {pos}, the share the rule did not flag (missed). "
                           "Early help is an offer of support, so this is the harm the policy "
                           "equalises first.",
    "true_positive_rate": "Of the {s} who {pos}, the share the rule flagged (recall).",
    "false_positive_rate": "Of the {s} who {neg}, the share the rule flagged anyway.",
    "precision": "Of the {s} flagged, the share who {pos}.",
    "auc": "How well the score ranks {s} who {pos} above those who did not, within the group "
           "(0.5 = no better than chance, 1 = perfect).",
    "calibration": "The number who {pos} divided by the number the scores predicted "
                   "(1 = the scores are right on average for the group; above 1 = they "
                   "under-predict).",
    "calibration_error": "The average gap between predicted and observed rates across ten "
                         "score bands within the group.",
}


_SHORT = {
    "false_negative_rate": "Missed", "selection_rate": "Flagged",
    "false_positive_rate": "False positives", "precision": "Precision",
    "calibration": "Observed / predicted", "true_positive_rate": "Found",
    "base_rate": "Base rate", "auc": "AUC",
}


def _names(pos: str, neg: str) -> dict[str, str]:
    """Column headings for the measures, in the report's words."""
    return {
        "false_negative_rate": f"Missed (of those who {pos})",
        "selection_rate": "Flagged",
        "false_positive_rate": f"Flagged (of those who {neg})",
        "precision": f"Precision (flagged who {pos})",
        "calibration": "Observed / predicted",
        "calibration_error": "Calibration error",
        "true_positive_rate": f"Found (of those who {pos})",
        "base_rate": f"Share who {pos}",
        "auc": "AUC",
    }


def _chart(t: _Table, ratios: pd.DataFrame, metrics: list[str], tol) -> str | None:
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    from riskmodel.evaluation._html import figure_png, new_figure

    sub = ratios[(ratios.characteristic == t.key) & ratios.status.isin(
        ["outside", "check", "within"])]
    if sub.empty:
        return None
    metrics = [m for m in metrics if (sub.metric == m).any()]
    groups = [g for g in t.groups if (sub.group == g).any()]
    fig = new_figure(min(2.6 * len(metrics) + 1.2, 15), 1.3 + 0.3 * len(groups))
    style = {"outside": ("D", "#b42318"), "check": ("o", "#b7791f"), "within": ("s", "#1a7f37")}
    for k, m in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        ax.axvspan(tol.low, tol.high, color="#e3f6e8", zorder=0)
        ax.axvline(1.0, color="#57606a", lw=0.8, zorder=1)
        rows = sub[sub.metric == m].set_index("group")
        xs = []
        for yi, g in enumerate(groups):
            if g not in rows.index:
                continue
            r = rows.loc[g]
            lo, hi, x = float(r.ratio_low), float(r.ratio_high), float(r.ratio)
            if not (np.isfinite(x) and x > 0):
                continue
            marker, colour = style[r.status]
            if np.isfinite(lo) and np.isfinite(hi) and lo > 0:
                ax.plot([lo, hi], [yi, yi], color=colour, lw=1.6, zorder=2)
                xs += [lo, hi]
            ax.plot([x], [yi], marker=marker, color=colour, ms=6, zorder=3, ls="none")
            xs.append(x)
        ax.set_xscale("log")
        span = [v for v in xs if v > 0] + [tol.low, tol.high]
        left, right = min(span) / 1.15, max(span) * 1.15
        ax.set_xlim(left, right)
        # A few labelled ticks only: log axes otherwise label dozens of minor ticks.
        ticks = [v for v in (0.1, 0.25, 0.5, tol.low, 1.0, tol.high, 2.0, 4.0, 10.0)
                 if left <= v <= right]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in ticks]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yticks(range(len(groups)))
        ax.set_yticklabels(groups if k == 0 else [""] * len(groups), fontsize=8)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(_SHORT[m] if m == "calibration" else f"{_SHORT[m]} (ratio)", fontsize=9)
    fig.subplots_adjust(wspace=0.08)
    return figure_png(fig)


def render_fairness_html(audit: FairnessAudit, *, title: str, profile: pd.DataFrame,
                         charts: bool = True) -> str:
    """The self-contained HTML report of an audit (used by :func:`write_fairness_report`)."""
    from riskmodel.evaluation._html import render

    st = audit.settings
    words = {"s": st["subjects"], "pos": st["positive_words"], "neg": st["negative_words"]}
    pol = audit.policy
    metrics = [m for m in pol.metrics if st["scores_are_probabilities"] or m != "calibration"]
    sections = []
    for key, rows in profile.groupby("section", sort=False):
        sections.append({"name": key, "note": rows["note"].iloc[0] if "note" in rows else "",
                         "rows": rows.to_dict("records")})
    tables = []
    for key, info in st["characteristics"].items():
        g = audit.groups[audit.groups.characteristic == key]
        r = audit.ratios[audit.ratios.characteristic == key]
        by_group = {}
        for rec in r.to_dict("records"):
            by_group.setdefault(rec["group"], {})[rec["metric"]] = rec
        t = _Table(key, info["label"], info["kind"], (), np.zeros(0), list(g.group))
        tables.append({
            "key": key, "label": info["label"], "kind": info["kind"],
            "reference": info["reference"], "reference_note": info["reference_note"],
            "groups": g.to_dict("records"), "ratios": by_group,
            "rri": audit.rri[audit.rri.characteristic == key].to_dict("records"),
            "chart": _chart(t, audit.ratios, metrics, pol.tolerance) if charts else None,
        })
    explain = {m: text.format(**words) for m, text in _EXPLAIN.items()}
    names = _names(words["pos"], words["neg"])
    return render(
        "fairness.html.j2", title=title, audit=audit, settings=st, policy=pol,
        summary=audit.summary, notes=audit.notes, profile_sections=sections, tables=tables,
        overall=audit.groups.iloc[0].to_dict(), metrics=metrics, explain=explain,
        names=names, words=words,
        between=audit.between_groups.to_dict("records"),
        mitigation=None if audit.mitigation is None else audit.mitigation.to_dict("records"),
        thresholds=None if audit.thresholds is None else audit.thresholds.to_dict("records"),
        confidence=round(100 * pol.bootstrap.confidence),
    )
