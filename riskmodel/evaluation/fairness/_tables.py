"""The published tables: groups, comparisons with the reference (findings), relative rates.

Every count and rate comes from the published, rounded counts (``PublishedCounts``); AUC and
calibration, which are not counts, are rounded to two decimals and shown only for groups with
enough children on both sides of the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.evaluation.fairness._bootstrap import quantiles
from riskmodel.evaluation.fairness._findings import (
    binomial_comparisons,
    judge,
    normal_comparison,
    rate_interval,
)
from riskmodel.evaluation.fairness._measures import MEASURES, PROBABILITY_MEASURES

TOO_FEW = "too few to show"
RATE_MEASURES = ("base_rate", "selection_rate", "true_positive_rate", "false_negative_rate",
                 "false_positive_rate", "precision")
SCORE_MEASURES = ("auc", "calibration", "calibration_error")
# AUC and calibration are shown for a group with at least this many (published) children
# who had the outcome, and as many who did not.
MIN_FOR_SCORES = 20


def _round(v, digits):
    return float(np.round(v, digits)) if np.isfinite(v) else np.nan


def _score_ok(pub, row) -> bool:
    return pub.pos[row] >= MIN_FOR_SCORES and pub.n[row] - pub.pos[row] >= MIN_FOR_SCORES


def groups_table(tables, pub, point, overall_point, boot, boot_all, conf, base,
                 probabilities) -> pd.DataFrame:
    """Everyone, then each group: published counts and every measure with its interval."""
    records = []

    def record(key, label, kind, group, row, values, lo, hi, is_ref):
        rec = {"characteristic": key, "label": label, "kind": kind, "group": group,
               "reference": bool(is_ref), "n": int(pub.n[row]), "n_positive": int(pub.pos[row]),
               "n_flagged": int(pub.flag[row]), "n_found": int(pub.tp[row]),
               "n_missed": int(pub.miss[row]), "n_false_positive": int(pub.fp[row])}
        for m in RATE_MEASURES:
            k, d = pub.rate(m, row)
            low, high = rate_interval(k, d, base=base, confidence=conf)
            rec[m] = float(k / d) if d > 0 else np.nan
            rec[m + "_low"], rec[m + "_high"] = float(low), float(high)
        for m in SCORE_MEASURES:
            j = MEASURES.index(m)
            digits = 3 if m == "calibration_error" else 2
            if not probabilities and m in PROBABILITY_MEASURES:
                vals = (np.nan, np.nan, np.nan)
            elif not _score_ok(pub, row):
                vals = (TOO_FEW, TOO_FEW, TOO_FEW)
            else:
                vals = (_round(values[j], digits), _round(lo[j], digits), _round(hi[j], digits))
            rec[m], rec[m + "_low"], rec[m + "_high"] = vals
        records.append(rec)

    lo_all, hi_all = _intervals(boot_all, conf, len(MEASURES))
    record("all", "everyone", "all", "all", 0, overall_point, lo_all, hi_all, False)
    for t in tables:
        lo, hi = _intervals(boot.get(t.key), conf, (len(t.groups), len(MEASURES)))
        for i, g in enumerate(t.groups):
            record(t.key, t.label, t.kind, g, t.rows[i], point[t.key][i], lo[i], hi[i],
                   i == t.reference)
    return pd.DataFrame(records)


def _intervals(samples, conf, shape):
    if samples is None:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    return quantiles(samples, conf)


def comparisons(tables, pub, point, boot, conf, pol, probabilities, *, seed: int,
                base: int) -> pd.DataFrame:
    """Every group against its reference for the policy's measures, judged (see _findings)."""
    tol = pol.tolerance
    binom, other = [], []
    for t in tables:
        ref_row = 0 if t.reference is None else t.rows[t.reference]
        ref_name = "everyone" if t.reference is None else t.groups[t.reference]
        for m in pol.metrics:
            if m == "calibration" and not probabilities:
                continue
            for i, g in enumerate(t.groups):
                if i == t.reference:
                    continue
                row = t.rows[i]
                rec = {"characteristic": t.key, "label": t.label, "kind": t.kind, "group": g,
                       "measure": m, "reference": ref_name}
                if m in RATE_MEASURES:
                    k, n = pub.rate(m, row)
                    k0, n0 = pub.rate(m, ref_row)
                    rec.update(k=k, n=n, k0=k0, n0=n0, value=k / n if n else np.nan,
                               reference_value=k0 / n0 if n0 else np.nan)
                    if m == "selection_rate":  # beside it, how often the group needed help
                        p, pn = pub.rate("base_rate", row)
                        p0, pn0 = pub.rate("base_rate", ref_row)
                        rec["need_ratio"] = (p / pn) / (p0 / pn0) if pn and p0 else np.nan
                    binom.append(rec)
                else:
                    other.append(_score_comparison(rec, t, i, m, pub, row, ref_row, point, boot,
                                                   conf, tol))
    b = pd.DataFrame(binom)
    if len(b):
        b = binomial_comparisons(b, base=base, confidence=conf, tolerance=tol, seed=seed)
        b = b.drop(columns=["k", "k0"])
    c = pd.concat([b, pd.DataFrame(other)], ignore_index=True) if len(other) else b
    if c.empty:
        return c
    return judge(c, tolerance=tol, false_discovery_rate=pol.judging.false_discovery_rate,
                 min_children=pol.judging.min_children)


def _score_comparison(rec, t, i, m, pub, row, ref_row, point, boot, conf, tol):
    """AUC against the reference's, or calibration against 1, from the bootstrap."""
    j = MEASURES.index(m)
    value = point[t.key][i, j]
    if m == "calibration":
        ref_value, samples = 1.0, boot[t.key][:, i, j] if boot else None
        rec["reference"] = "predicted"
    else:
        ref_value = (point[t.key][t.reference, j] if t.reference is not None
                     else point["__all__"][j])
        if boot:
            ref_s = (boot[t.key][:, t.reference, j] if t.reference is not None
                     else boot["__all__"][:, j])
            with np.errstate(divide="ignore", invalid="ignore"):
                samples = boot[t.key][:, i, j] / ref_s
        else:
            samples = None
    ok = _score_ok(pub, row) and _score_ok(pub, ref_row)
    ratio = value / ref_value if ref_value else np.nan
    rec.update(value=_round(value, 2) if ok else TOO_FEW, reference_value=_round(ref_value, 2),
               n=pub.pos[row] if ok else 0, n0=pub.pos[ref_row])
    if not ok or samples is None or not np.isfinite(ratio) or ratio <= 0:
        rec.update(ratio=_round(ratio, 2) if ok else np.nan, low=np.nan, high=np.nan,
                   p_value=np.nan)
        return rec
    lo, hi = quantiles(np.log(np.clip(samples, 1e-12, None))[:, None], conf)
    from scipy import stats

    se = (hi[0] - lo[0]) / (2 * stats.norm.ppf(1 - (1 - conf) / 2))
    r, low, high, p = normal_comparison(np.log(ratio), se, confidence=conf, tolerance=tol)
    rec.update(ratio=_round(r, 2), low=_round(low, 2), high=_round(high, 2), p_value=p)
    return rec


def ratios_table(comp: pd.DataFrame, tables, pub, pol, probabilities) -> pd.DataFrame:
    """The comparisons as the ratios table (with a row per reference group), table order."""
    cols = ["characteristic", "label", "kind", "group", "metric", "reference", "value",
            "reference_value", "ratio", "ratio_low", "ratio_high", "p_value", "status",
            "direction", "flagged"]
    if comp.empty:
        return pd.DataFrame(columns=cols)
    c = comp.rename(columns={"measure": "metric", "low": "ratio_low", "high": "ratio_high"})
    c["flagged"] = c["status"] == "flag"
    refs = []
    for t in tables:
        if t.reference is None:
            continue
        row = t.rows[t.reference]
        for m in pol.metrics:
            if m == "calibration" and not probabilities:
                continue
            if m in RATE_MEASURES:
                k, n = pub.rate(m, row)
                v = k / n if n else np.nan
            else:
                v = np.nan
            refs.append({"characteristic": t.key, "label": t.label, "kind": t.kind,
                         "group": t.groups[t.reference], "metric": m,
                         "reference": t.groups[t.reference], "value": v, "reference_value": v,
                         "ratio": 1.0, "ratio_low": np.nan, "ratio_high": np.nan,
                         "p_value": np.nan, "status": "reference", "direction": "neither",
                         "flagged": False})
    out = pd.concat([c, pd.DataFrame(refs)], ignore_index=True)
    order = {(t.key, g): (k, i) for k, t in enumerate(tables) for i, g in enumerate(t.groups)}
    morder = {m: i for i, m in enumerate(pol.metrics)}
    out["_o"] = [order.get((a, b), (0, 0)) + (morder.get(m, 0),)
                 for a, b, m in zip(out.characteristic, out.group, out.metric, strict=True)]
    out = out.sort_values("_o", kind="stable").drop(columns="_o")
    return out.reindex(columns=cols).reset_index(drop=True)


def rri_table(tables, pub) -> pd.DataFrame:
    """Relative rate index: shares of everyone and of those flagged, and each group's rate of
    needing help and of being flagged over everyone's (published counts only)."""
    records = []
    n_all, f_all, p_all = pub.n[0], pub.flag[0], pub.pos[0]
    for t in tables:
        for i, g in enumerate(t.groups):
            r = t.rows[i]
            n, f, p = pub.n[r], pub.flag[r], pub.pos[r]
            with np.errstate(divide="ignore", invalid="ignore"):
                records.append({
                    "characteristic": t.key, "label": t.label, "kind": t.kind, "group": g,
                    "population_share": n / n_all if n_all else np.nan,
                    "flagged_share": f / f_all if f_all else np.nan,
                    "positive_rate": p / n if n else np.nan,
                    "flagged_rate": f / n if n else np.nan,
                    "rri_positive": (p / n) / (p_all / n_all) if n and p_all else np.nan,
                    "rri_flagged": (f / n) / (f_all / n_all) if n and f_all else np.nan,
                })
    return pd.DataFrame(records)
