"""The published tables: groups, comparisons with the reference (findings), relative rates.

Every count and rate comes from the published, rounded counts (``PublishedCounts``) through
the measures registry (``_measures``); AUC and calibration, which are not counts, come from
the metrics kernel, rounded to two decimals and shown only for groups with enough children on
both sides of the outcome.

A group is compared with its characteristic's named reference group, or, by default, with
the rest of the cohort: everyone *not* in the group. (Compared with everyone, who include
it, half of the cohort would be compared largely with itself: a x2 disparity against boys
would show as about x1.3, and girls as "advantaged" by it.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # ndtri, ndtr: the normal quantile and CDF (what stats.norm calls)

from riskmodel.evaluation._disclosure import MIN_FOR_SCORES, rate_interval
from riskmodel.evaluation.fairness._bootstrap import quantiles
from riskmodel.evaluation.fairness._findings import (
    REST,
    binomial_comparisons,
    judge,
    mark_counterparts,
    normal_comparison,
)
from riskmodel.evaluation.fairness._groups import GroupTable
from riskmodel.evaluation.fairness._measures import (
    MEASURES,
    RATE_MEASURES,
    SCORE_MEASURES,
    Counts,
)
from riskmodel.evaluation.fairness._policy import FairnessPolicy

TOO_FEW = "too few to show"


def _round(v: float, digits: int) -> float:
    return float(np.round(v, digits)) if np.isfinite(v) else np.nan


def _score_ok(pub: Any, row: int) -> bool:
    return pub.pos[row] >= MIN_FOR_SCORES and pub.n[row] - pub.pos[row] >= MIN_FOR_SCORES


def _group_record(pub: Any, row: int, values: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
                  conf: float, base: int,
                  probabilities: bool) -> dict:
    """One row of the groups table: published counts and every measure with its interval."""
    rec: dict[str, Any] = {"n": int(pub.n[row]), "n_positive": int(pub.pos[row]),
                           "n_flagged": int(pub.flag[row]), "n_found": int(pub.tp[row]),
                           "n_missed": int(pub.miss[row]), "n_false_positive": int(pub.fp[row])}
    counts = Counts.published(pub, row)
    for m in RATE_MEASURES:
        k, d = MEASURES[m].rate(counts)
        low, high = rate_interval(k, d, base=base, confidence=conf)
        rec[m] = float(k / d) if d > 0 else np.nan
        rec[m + "_low"], rec[m + "_high"] = float(low), float(high)
    for j, m in enumerate(SCORE_MEASURES):
        digits = MEASURES[m].digits
        vals: tuple[Any, Any, Any]
        if not probabilities and MEASURES[m].probabilities:
            vals = (np.nan, np.nan, np.nan)
        elif not _score_ok(pub, row):
            vals = (TOO_FEW, TOO_FEW, TOO_FEW)
        else:
            vals = (_round(values[j], digits), _round(lo[j], digits), _round(hi[j], digits))
        rec[m], rec[m + "_low"], rec[m + "_high"] = vals
    return rec


def groups_table(tables: list[GroupTable], pub: Any, point: dict, overall_point: np.ndarray,
                 boot: dict, boot_all: np.ndarray | None, conf: float, base: int,
                 probabilities: bool) -> pd.DataFrame:
    """Everyone, then each group: published counts and every measure with its interval."""
    lo_all, hi_all = _intervals(boot_all, conf, len(SCORE_MEASURES))
    records = [{"characteristic": "all", "label": "everyone", "kind": "all", "group": "all",
                "reference": False,
                **_group_record(pub, 0, overall_point, lo_all, hi_all, conf=conf,
                                base=base, probabilities=probabilities)}]
    for t in tables:
        lo, hi = _intervals(boot.get(t.key), conf, (len(t.groups), len(SCORE_MEASURES)))
        for i, g in enumerate(t.groups):
            records.append({"characteristic": t.key, "label": t.label, "kind": t.kind,
                            "group": g, "reference": i == t.reference,
                            **_group_record(pub, t.rows[i], point[t.key][i], lo[i], hi[i],
                                            conf=conf, base=base,
                                            probabilities=probabilities)})
    return pd.DataFrame(records)


def _intervals(samples: np.ndarray | None, conf: float, shape: int | tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    if samples is None:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    return quantiles(samples, conf)


def _reference_counts(pub: Any, t: GroupTable, i: int) -> tuple[Counts, str, int]:
    """The counts a group is compared with, its name and the rounding spread of each count:
    the named reference group's, or the rest of the cohort (everyone less the group: two
    rounded counts, so twice the spread)."""
    if t.reference is not None:
        return Counts.published(pub, t.rows[t.reference]), t.groups[t.reference], 1
    whole = Counts.published(pub)
    return whole.rest(t.rows[i]), REST, 2


def _rate_record(rec: dict, m: str, pub: Any, row: int, t: GroupTable, i: int, base: int
                 ) -> dict:
    """A rate comparison's counts (``k``, ``n`` and the reference's ``k0``, ``n0``)."""
    ref, ref_name, spread = _reference_counts(pub, t, i)
    k, n = MEASURES[m].rate(Counts.published(pub, row))
    k0, n0 = MEASURES[m].rate(ref)
    rec.update(reference=ref_name, k=float(k), n=float(n), k0=float(k0), n0=float(n0),
               base0=spread * (base - 1) + 1, value=k / n if n else np.nan,
               reference_value=k0 / n0 if n0 else np.nan)
    if m == "selection_rate":  # beside it, how often the group needed help
        p, pn = MEASURES["base_rate"].rate(Counts.published(pub, row))
        p0, pn0 = MEASURES["base_rate"].rate(ref)
        rec["need_ratio"] = float((p / pn) / (p0 / pn0)) if pn and p0 else np.nan
    return rec


def comparisons(tables: list[GroupTable], pub: Any, point: dict, boot: dict, conf: float,
                pol: FairnessPolicy, probabilities: bool, *, seed: int, base: int
                ) -> pd.DataFrame:
    """Every group against its reference for the policy's measures, judged (see _findings)."""
    tol = pol.tolerance
    binom, other = [], []
    for t in tables:
        for m in pol.metrics:
            if MEASURES[m].probabilities and not probabilities:
                continue
            for i, g in enumerate(t.groups):
                if i == t.reference:
                    continue
                rec = {"characteristic": t.key, "label": t.label, "kind": t.kind, "group": g,
                       "measure": m}
                if MEASURES[m].parts is not None:
                    binom.append(_rate_record(rec, m, pub, t.rows[i], t, i, base))
                else:
                    other.append(_score_comparison(rec, t, i, m, pub, point, boot, conf, tol))
    b = pd.DataFrame(binom)
    if len(b):
        b = binomial_comparisons(b, base=base, confidence=conf, tolerance=tol, seed=seed)
        b = b.drop(columns=["k", "k0", "base0"])
    c = pd.concat([b, pd.DataFrame(other)], ignore_index=True) if len(other) else b
    if c.empty:
        return c
    return mark_counterparts(
        judge(c, tolerance=tol, false_discovery_rate=pol.judging.false_discovery_rate,
              min_children=pol.judging.min_children), REST)


def _score_reference(t: GroupTable, i: int, j: int, point: dict, boot: dict
                     ) -> tuple[float, np.ndarray | None]:
    """The reference's score measure (point, resamples): the named group's or the rest's."""
    key = t.key if t.reference is not None else f"{t.key}\0rest"
    at = t.reference if t.reference is not None else i
    return point[key][at, j], (boot[key][:, at, j] if boot else None)


def _score_comparison(rec: dict, t: GroupTable, i: int, m: str, pub: Any, point: dict,
                      boot: dict, conf: float, tol: Any) -> dict:
    """AUC against the reference's, or calibration against 1, from the bootstrap."""
    j = SCORE_MEASURES.index(m)
    row = t.rows[i]
    value = point[t.key][i, j]
    samples = None
    if MEASURES[m].against_one:
        ref_value, ref_row, ref_n = 1.0, row, None
        samples = boot[t.key][:, i, j] if boot else None
        rec["reference"] = "predicted"
    else:
        ref_value, ref_s = _score_reference(t, i, j, point, boot)
        if boot:
            with np.errstate(divide="ignore", invalid="ignore"):
                samples = boot[t.key][:, i, j] / ref_s
        if t.reference is not None:
            ref_row, ref_n = t.rows[t.reference], None
            rec["reference"] = t.groups[t.reference]
        else:
            ref_row, ref_n = 0, pub.pos[0] - pub.pos[row]
            rec["reference"] = REST
    ok = _score_ok(pub, row) and _score_ok(pub, ref_row)
    ratio = value / ref_value if ref_value else np.nan
    rec.update(value=_round(value, 2) if ok else TOO_FEW, reference_value=_round(ref_value, 2),
               n=pub.pos[row] if ok else 0, n0=pub.pos[ref_row] if ref_n is None else ref_n)
    if not ok or samples is None or not np.isfinite(ratio) or ratio <= 0:
        rec.update(ratio=_round(ratio, 2) if ok else np.nan, low=np.nan, high=np.nan,
                   p_value=np.nan)
        return rec
    lo, hi = quantiles(np.log(np.clip(samples, 1e-12, None))[:, None], conf)
    se = (hi[0] - lo[0]) / (2 * special.ndtri(1 - (1 - conf) / 2))
    r, low, high, p = normal_comparison(np.log(ratio), se, confidence=conf, tolerance=tol)
    rec.update(ratio=_round(r, 2), low=_round(low, 2), high=_round(high, 2), p_value=p)
    return rec


def ratios_table(comp: pd.DataFrame, tables: list[GroupTable], pub: Any, pol: FairnessPolicy,
                 probabilities: bool) -> pd.DataFrame:
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
        counts = Counts.published(pub, t.rows[t.reference])
        for m in pol.metrics:
            if MEASURES[m].probabilities and not probabilities:
                continue
            v = np.nan
            if MEASURES[m].parts is not None:
                k, n = MEASURES[m].rate(counts)
                v = float(k / n) if n else np.nan
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
