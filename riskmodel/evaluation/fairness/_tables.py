"""The published tables: groups, ratios to the reference, relative rate index, between groups.

Each reads the point estimates and the bootstrap resamples of every table of groups, and the
disclosure plan says which figures are hidden.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from riskmodel.evaluation._disclosure import SUPPRESSED, shown
from riskmodel.evaluation.fairness._bootstrap import quantiles
from riskmodel.evaluation.fairness._measures import (
    BLOCK,
    FAIRLEARN_MEASURES,
    MEASURES,
    PROBABILITY_MEASURES,
)


def _status(ratio, low, high, tol_low, tol_high) -> str:
    """outside (the whole interval), check (the estimate only), within, or not applicable."""
    if ratio is None or isinstance(ratio, str) or not np.isfinite(ratio):
        return "not applicable"
    if np.isfinite(low) and low > tol_high or np.isfinite(high) and high < tol_low:
        return "outside"
    if ratio > tol_high or ratio < tol_low:
        return "check"
    return "within"


def groups_table(tables, cells, plan, point, boot, overall_point, boot_all, conf, min_count,
                 probabilities) -> pd.DataFrame:
    """Everyone, then each group: counts and every measure with its interval."""
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

    lo_all, hi_all = quantiles(boot_all, conf)
    record("all", "everyone", "all", "all", 0, overall_point, lo_all, hi_all, False)
    for t in tables:
        lo, hi = quantiles(boot[t.key], conf)
        for i, g in enumerate(t.groups):
            record(t.key, t.label, t.kind, g, t.rows[i], point[t.key][i], lo[i], hi[i],
                   i == t.reference)
    return pd.DataFrame(records)


def _ratio_measures(pol, probabilities):
    return [m for m in pol.metrics if probabilities or m != "calibration"]


def ratios_table(tables, plan, point, boot, conf, pol, probabilities) -> pd.DataFrame:
    """Each group over its reference for the policy's measures, with interval and status."""
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
                    lo, hi = quantiles(samples[:, None], conf)
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


def rri_table(tables, cells, plan, point, boot, conf, pol) -> pd.DataFrame:
    """Relative rate index: shares, and each group's rate over its reference's."""
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
                lo, hi = quantiles(smp[:, None], conf)
                r = float(r) if np.isfinite(r) else np.nan
                rec.update({name: r, name + "_low": float(lo[0]), name + "_high": float(hi[0]),
                            name + "_status": _status(r, float(lo[0]), float(hi[0]), tol.low,
                                                      tol.high)})
            records.append(rec)
    return pd.DataFrame(records)


def between_table(tables, plan, point, frames, boot, conf, probabilities) -> pd.DataFrame:
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
            rlo, rhi = quantiles(rs[:, None], conf)
            dlo, dhi = quantiles((mx - mn)[:, None], conf)
            rec.update(ratio=ratio, ratio_low=float(rlo[0]), ratio_high=float(rhi[0]),
                       difference=diff, difference_low=float(dlo[0]),
                       difference_high=float(dhi[0]))
            records.append(rec)
    cols = ["characteristic", "label", "kind", "metric", "groups_compared", "ratio",
            "ratio_low", "ratio_high", "difference", "difference_low", "difference_high",
            "source"]
    return pd.DataFrame(records).reindex(columns=cols)
