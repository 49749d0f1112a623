"""A month against the reference: the inputs, the cohort, the contacts recorded, the scores.

Every comparison has a size (PSI, a ratio, a change in share) and a significance (a test
whose p-value is Bonferroni-corrected over everything tested in its section); a change is
reported at ``watch`` or ``retrain`` only when both pass the policy's bars
(:class:`~riskmodel.evaluation.fairness._policy.MonitoringThresholds`). Tests count families
rather than children (siblings share most of their record), so they are not over-confident.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from riskmodel.evaluation.monitoring._buckets import (
    MAX_BINS,
    band,
    bucket_masks,
    chi_square,
    count_categories,
    count_numeric,
    ks_binned,
    psi,
)
from riskmodel.evaluation.monitoring._publish import (
    cohort_keys,
    is_small,
    published_counts,
    published_mean,
    published_share,
    rounded,
    shown_count,
    small_text,
)
from riskmodel.evaluation.monitoring._reference import (
    MIX,
    hidden_rows,
    missing_share,
    safe_mean,
)


def describe(feature: str) -> str:
    """The feature dictionary's plain words for a feature (its name if it has none).

    Examples
    --------
    >>> describe("contacts_source_police_3m_count")
    'Number of police contacts recorded in the 3 months before the as-of date.'
    """
    from riskmodel.features import lookup

    try:
        return lookup(feature).description
    except Exception:  # a feature no builder makes (a hand-made matrix): its name
        return feature


def _hidden_text(count, min_count: int) -> str:
    return small_text(min_count) if is_small([count], min_count)[0] else "suppressed"


def _as_counts(counts, min_count: int) -> np.ndarray:
    """Stored counts with the hidden ones (None) taken as half the smallest shown count."""
    return np.asarray([min_count / 2 if c is None else c for c in counts], float)


def month_counts(counts, pooled, total: float) -> np.ndarray:
    """A reference month's bucket counts with the hidden ones (None) filled in: the month's
    total less the shown counts, shared among the hidden buckets as the pooled reference
    shares them (a hidden bucket may be large: hidden so a small one cannot be worked out).

    Examples
    --------
    >>> month_counts([None, 174, 95, 95, None], [20, 2098, 1100, 1145, 906], 440).round(1)
    array([  1.6, 174. ,  95. ,  95. ,  74.4])
    """
    pooled = np.asarray(pooled, float)
    hidden = np.array([c is None for c in counts])
    out = np.array([0.0 if c is None else c for c in counts], float)
    rest = max(float(total) - out.sum(), 0.0)
    if hidden.any():
        weight = pooled[hidden] + 1e-9
        out[hidden] = rest * weight / weight.sum()
    return out


def _area_p(reference: dict, feature: str, now: float) -> float:
    """How unlikely this month's mean of a locality-wide rate is, against the spread of the
    reference months' means (t with the months less one degrees of freedom); 0 when the
    reference holds no monthly means (an older reference: the size bar alone).

    Examples
    --------
    >>> ref = {"months": {f"{m:02d}": {"means": {"r": 0.10 + 0.01 * (m % 3)}}
    ...                   for m in range(1, 13)}}
    >>> round(_area_p(ref, "r", 0.11), 2), _area_p(ref, "r", 0.2) < 1e-4
    (1.0, True)
    """
    found = [m.get("means", {}).get(feature) for m in (reference.get("months") or {}).values()]
    means = np.array([v for v in found if v is not None], float)
    if len(means) < 3:
        return 0.0
    sd = float(means.std(ddof=1)) * math.sqrt(1 + 1 / len(means))
    if sd <= 0:
        return 0.0 if now != means.mean() else 1.0
    return float(2 * stats.t.sf(abs(now - means.mean()) / sd, len(means) - 1))


def _two_proportions(k1, n1, k2, n2) -> float:
    """Two-sided p-value that two shares are equal (normal approximation)."""
    if min(n1, n2) <= 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(max(pooled * (1 - pooled) * (1 / n1 + 1 / n2), 1e-300))
    return float(2 * stats.norm.sf(abs(k1 / n1 - k2 / n2) / se))


def _families(rows: pd.DataFrame) -> int:
    if "family_id" not in rows.columns:
        return len(rows)
    return int(rows.groupby(["as_of", "family_id"], observed=True).ngroups) if "as_of" in \
        rows.columns else int(rows["family_id"].nunique())


def input_drift(reference: dict, rows: pd.DataFrame, thresholds, *, alpha: float | None = None,
                month: str | None = None, keys: np.ndarray | None = None) -> pd.DataFrame:
    """Every feature of the reference compared with this month's children.

    Each feature's distribution is compared with the same calendar month of the reference
    (``month``, ``"08"``) when the reference has one, else with the pooled reference; a test
    counts at ``alpha`` (default ``p_value`` over the features tested).

    Returns
    -------
    DataFrame
        One row per feature: ``feature``, ``words``, ``kind``, ``importance``, ``psi``,
        ``band``, ``test``, ``statistic``, ``p``, ``mean_reference``, ``mean_now``,
        ``missing_reference``, ``missing_now``, ``new_values``, ``counts`` (this month's in
        the reference's buckets), ``level`` (``""``, ``watch``, ``retrain``; features below
        ``min_importance`` never raise one) and ``why``. ``missing_now`` is a published share
        (:func:`published_share`, ``keys`` the rows' record keys, :func:`cohort_keys`).
    """
    t = thresholds
    keys = cohort_keys(None, len(rows)) if keys is None else keys
    entries = reference["features"]
    n_cur = _families(rows)
    tested = [f for f, e in entries.items() if e["kind"] != "area" and f in rows.columns]
    if alpha is None:
        alpha = t.p_value / max(len(tested), 1)
    me = _month_entry(reference, month)
    importance = {f: e.get("importance", 0.0) for f, e in entries.items()}
    out = []
    for f, e in entries.items():
        if f not in rows.columns:
            continue
        x = rows[f].to_numpy(dtype=float)
        weight = max(importance.get(f, 0.0), importance.get(f"{f}_missing", 0.0))
        row = {"feature": f, "words": describe(f), "kind": e["kind"], "importance": weight,
               "psi": math.nan, "band": "stable", "test": "", "statistic": math.nan,
               "p": math.nan, "mean_reference": e.get("mean"),
               "mean_now": safe_mean(x, reference["min_count"]),
               "new_values": [], "counts": [], "level": "", "why": ""}
        reasons = (_area_check(row, reference, f, t, alpha) if e["kind"] == "area" else
                   _distribution_check(row, x, e, me, reference, n_cur, t, alpha, keys))
        reasons += _missing_check(row, rows, f, e, reference, n_cur, t, alpha, keys)
        # judged on the exact means; published to two decimals (no exact cohort back)
        row["mean_now"], row["mean_reference"] = (published_mean(row["mean_now"]),
                                                  published_mean(row["mean_reference"]))
        if reasons:
            row["why"] = "; ".join(w for _, w in reasons)
            top = "retrain" if any(lv == "retrain" for lv, _ in reasons) else "watch"
            row["level"] = top if weight >= t.min_importance else "listed"
        out.append(row)
    table = pd.DataFrame(out)
    if len(table):
        table = table.sort_values(["psi", "importance"], ascending=False, na_position="last")
    return table.reset_index(drop=True)


def _area_check(row: dict, reference: dict, f: str, t, alpha: float) -> list[tuple[str, str]]:
    """A locality-wide feature: its mean's change (one value per locality) into ``row``."""
    ref_mean, now = reference["features"][f].get("mean"), row["mean_now"]
    row["test"] = "mean change (one value per locality)"
    if not ref_mean or now is None:
        return []
    row["statistic"] = now / ref_mean - 1
    row["p"] = _area_p(reference, f, now)
    if abs(row["statistic"]) >= t.area_change and row["p"] < alpha:
        return [("watch", f"locality-wide mean moved by {row['statistic']:+.0%} "
                          f"(p = {row['p']:.1g})")]
    return []


def _distribution_check(row: dict, x: np.ndarray, e: dict, me: dict | None, reference: dict,
                        n_cur: float, t, alpha: float,
                        keys: np.ndarray | None = None) -> list[tuple[str, str]]:
    """A feature's distribution against the reference (PSI and a test) into ``row``."""
    reasons: list[tuple[str, str]] = []
    cur = count_numeric(x, e["edges"])
    row["counts"] = [int(c) for c in cur]
    f = row["feature"]
    if me and f in me["features"]:
        ref, n_ref = month_counts(me["features"][f], e["counts"], me["n"]), me["families"]
    else:
        ref, n_ref = np.asarray(e["counts"], float), _pooled_n(reference)
    row["psi"] = psi(ref, cur)
    row["band"] = band(row["psi"], t.psi.watch, t.psi.act)
    if e.get("distinct", 0) > MAX_BINS:
        row["test"] = "Kolmogorov-Smirnov (at the decile edges)"
        row["statistic"], row["p"] = ks_binned(ref, cur, n_ref=n_ref, n_cur=n_cur)
    else:
        row["test"] = "chi-square"
        row["statistic"], row["p"] = chi_square(ref, cur, n_ref=n_ref, n_cur=n_cur)
    if row["band"] != "stable" and row["p"] < alpha:
        level = "retrain" if row["band"] == "act" else "watch"
        reasons.append((level, f"PSI {row['psi']:.2f} ({row['band']}), p = {row['p']:.1g}"))
    if e["kind"] == "category":
        reasons += _new_values(row, x, e, reference["min_count"], keys)
    return reasons


def _new_values(row: dict, x: np.ndarray, e: dict, min_count: int,
                keys: np.ndarray | None = None) -> list[tuple[str, str]]:
    """Values of a category never seen in training (counted when they are not rare)."""
    seen = set(e.get("values", []))
    vals, counts = np.unique(x[np.isfinite(x)], return_counts=True)
    new = [i for i, v in enumerate(vals) if float(v) not in seen]
    shown = (published_counts(np.vstack([x == vals[i] for i in new]), keys, min_count=min_count)
             if new and keys is not None else counts[new])
    row["new_values"] = [[float(vals[i]), shown_count(int(c), min_count) if small
                          else int(c)] for i, c, small in
                         zip(new, shown, is_small(counts[new], min_count), strict=True)]
    many = [float(v) for v, c in zip(vals, counts, strict=True)
            if float(v) not in seen and c >= max(min_count, 0.01 * len(x))]
    if many:
        return [("watch", "values never seen in training: " + ", ".join(
            f"{v:g}" for v in many))]
    return []


def _missing_check(row: dict, rows: pd.DataFrame, f: str, e: dict, reference: dict,
                   n_cur: float, t, alpha: float, keys: np.ndarray
                   ) -> list[tuple[str, str]]:
    """A feature's share missing now against training, into ``row``."""
    miss = missing_share(rows, f)
    now = float(miss.mean()) if len(miss) else 0.0
    ref_missing = _as_counts([e.get("missing")], reference["min_count"])[0]
    before = ref_missing / reference["n"]
    # a share of 1 to 4 children is not published (it is the count over the cohort)
    row["missing_now"] = None if is_small([miss.sum()], reference["min_count"])[0] else (
        published_share(miss, keys, min_count=reference["min_count"]))
    row["missing_reference"] = None if e.get("missing") is None else before
    n_pool = _pooled_n(reference)
    if now - before >= t.missing_rise and _two_proportions(
            miss.sum() * n_cur / max(len(miss), 1), n_cur,
            ref_missing * n_pool / reference["n"], n_pool) < alpha:
        return [("watch", f"missing for {now:.0%} of children, {before:.0%} at training")]
    return []


def mix_drift(reference: dict, rows: pd.DataFrame, thresholds, *,
              alpha: float | None = None, keys: np.ndarray | None = None) -> list[dict]:
    """The cohort's mix (locality, age band, sex, ethnicity, ...) against the reference
    (each group's share now published: :func:`published_share`, ``keys`` the rows' record
    keys, :func:`cohort_keys`)."""
    t = thresholds
    keys = cohort_keys(None, len(rows)) if keys is None else keys
    mix = reference.get("mix", {})
    cols = [c for c in MIX if c in mix and c in rows.columns]
    if alpha is None:
        alpha = t.p_value / max(len(cols), 1)
    n_ref, n_cur = _pooled_n(reference), _families(rows)
    min_count = reference["min_count"]
    out = []
    for col in cols:
        e = mix[col]
        values = rows[col].astype(object).fillna("not recorded")
        cur, new = count_categories(values, e["groups"])
        ref = np.asarray(e["counts"], float)
        value = psi(ref, cur)
        stat, p = chi_square(ref, cur, n_ref=n_ref, n_cur=n_cur)
        level, why = "", ""
        if band(value, t.psi.watch, t.psi.act) != "stable" and p < alpha:
            level, why = "watch", f"PSI {value:.2f}, p = {p:.1g}"
        # a value never seen counts when it is not rare (a new locality, not one child)
        many = sorted(v for v, c in new.items() if c >= max(min_count, 0.01 * len(values)))
        if many:
            level = "watch"
            why = "; ".join(filter(None, [why, "values never seen in training: "
                                          + ", ".join(many)]))
        total_ref = ref.sum()
        counts = pd.DataFrame({"n": [*cur.tolist(), *new.values()]})
        hide = hidden_rows(counts, {"n": len(values)}, min_count=min_count)
        shown = [(_hidden_text(c, min_count) if h else c)
                 for c, h in zip(counts["n"], hide, strict=True)]
        text = values.astype(str).to_numpy()
        groups = [{"group": " / ".join(g), "reference": float(r / total_ref),
                   "now": c if isinstance(c, str) else published_share(
                       np.isin(text, list(g)), keys, min_count=min_count)}
                  for g, r, c in zip(e["groups"], ref, shown[:len(cur)], strict=True)]
        out.append({"characteristic": col, "psi": value, "p": p, "level": level, "why": why,
                    "groups": groups,
                    "new_values": dict(zip(new, shown[len(cur):], strict=True))})
    return out


def cohort_size(reference: dict, n: int, last: int | None, thresholds, *,
                month: str | None = None) -> dict:
    """Children open now against the same calendar month of the reference (else its mean)
    and last month."""
    t = thresholds.cohort_change
    me = _month_entry(reference, month)
    ref = me["n"] if me else reference["cohort_size"]["mean"]
    # the reference year's cohort is a training total: shown rounded to 10, judged exact
    out = {"now": int(n), "reference": rounded(ref), "last_month": last,
           "change_reference": n / ref - 1 if ref else math.nan,
           "change_last_month": (n / last - 1) if last else None, "level": "", "why": ""}
    why = []
    if abs(out["change_reference"]) >= t.reference:
        why.append(f"{n:,} children open, {out['change_reference']:+.0%} against the "
                   f"training reference's about {rounded(ref):,}")
    if last and abs(out["change_last_month"]) >= t.last_month:
        why.append(f"{n:,} children open, {out['change_last_month']:+.0%} against last "
                   f"month's {last:,}")
    if why:
        out["level"], out["why"] = "watch", "; ".join(why)
    return out


def _month_entry(reference: dict, month: str | None) -> dict | None:
    """The reference's entry for the same calendar month (None: compare with the pool)."""
    return (reference.get("months") or {}).get(month) if month else None


def _pooled_n(reference: dict) -> int:
    """Families in the pooled reference (each once: the 12 months share most children)."""
    return reference.get("families_distinct") or reference.get("families") or reference["n"]


def _share_rows(ref_by: dict, cur_by: dict, n_ref: float, n_cur: float,
                min_count: int) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """Values, reference and current counts and the reference's design effect per value."""
    values = [v for v in ref_by if ref_by[v].get("share") is not None]
    r = np.array([ref_by[v]["share"] for v in values]) * n_ref
    c = np.array([(cur_by.get(v) or {"share": 0.0}).get("share") for v in values], object)
    c = np.array([min_count / 2 / max(n_cur, 1) if x is None else x for x in c], float) * n_cur
    share = r / max(n_ref, 1)
    binom = n_ref * share * (1 - share)
    deff = np.array([ref_by[v]["var"] for v in values]) / np.maximum(binom, 1e-9)
    return values, r, c, np.maximum(deff, 1.0)


def contacts_drift(reference: dict, current: dict, features, thresholds, *,
                   alpha: float | None = None, month: str | None = None) -> list[dict]:
    """Each source's and need's share of the contacts recorded in the month before the date.

    Compared with the same calendar month of the reference when it has one. One test per
    characteristic (source, need): a chi-square on the shares, divided by the mean design
    effect of family clustering (Rao-Scott); a value is named only when that test passes
    ``alpha``, its own standardised change does too, and its share moved past
    ``contacts_ratio`` (a value other than the biggest mover judged among the contacts
    other than that mover, so shares that move only because the others fell are not named).
    """
    t = thresholds
    ref_all = (reference.get("contacts_by_month") or {}).get(month) or reference.get(
        "contacts") or {}
    cur_by, n_cur = current.get("by", {}), current.get("contacts") or 0
    n_ref = ref_all.get("contacts") or 0
    if alpha is None:
        alpha = t.p_value / 2
    out = []
    for col, ref_by in (ref_all.get("by") or {}).items():
        values, r, c, deff = _share_rows(ref_by, cur_by.get(col, {}), n_ref, n_cur,
                                         reference["min_count"])
        if len(values) < 2 or not n_cur or not n_ref:
            continue
        stat, _ = chi_square(r, c)
        stat /= float(deff.mean())
        p = float(stats.chi2.sf(stat, len(values) - 1))
        rs, cs = r / r.sum(), c / c.sum()
        se = np.sqrt(rs * (1 - rs) * deff * (1 / r.sum() + 1 / c.sum()))
        z = np.abs(cs - rs) / np.maximum(se, 1e-12)
        top = int(np.argmax(z))
        ratio = cs / np.maximum(rs, 1e-12)
        adj = (cs / max(1 - cs[top], 1e-12)) / np.maximum(rs / max(1 - rs[top], 1e-12), 1e-12)
        moved = np.where(np.arange(len(values)) == top, ratio, adj)
        z_bar = stats.norm.isf(alpha / 2)
        for i, v in enumerate(values):
            reads = [f for f in features if f"_{col}_{v}_" in f]
            row = {"by": col, "value": v, "share_reference": float(rs[i]),
                   "share_now": float(cs[i]), "ratio": float(ratio[i]), "p": p,
                   "features": reads, "level": "", "why": ""}
            if p < alpha and z[i] >= z_bar and (moved[i] >= t.contacts_ratio
                                                or moved[i] <= 1 / t.contacts_ratio):
                what = (f"contacts from {v.replace('_', ' ')}" if col == "source"
                        else f"contacts about {v.replace('_', ' ')}")
                row["level"] = "watch"
                row["why"] = (f"{what}: {cs[i]:.1%} of the contacts recorded in the last "
                              f"month, {rs[i]:.1%} in the reference ({ratio[i]:.1f} times)")
            out.append(row)
    return sorted(out, key=lambda r: -abs(math.log(max(r["ratio"], 1e-9))))


def score_drift(reference: dict, score, bands, flags, groups: pd.DataFrame, thresholds, *,
                tolerance=(0.8, 1.25), last: dict | None = None, alpha: float | None = None,
                month: str | None = None, keys: np.ndarray | None = None) -> dict:
    """Scores, bands and who is within capacity against the reference (the same calendar
    month's scores when it has them) and last month. Band counts and every share now are
    published ones (``keys`` the children's record keys, :func:`cohort_keys`)."""
    t = thresholds
    keys = cohort_keys(None, len(score)) if keys is None else keys
    alpha = t.p_value if alpha is None else alpha
    s = reference["scores"]
    min_count = reference["min_count"]
    n_ref, n_cur = _pooled_n(reference), _families(groups)
    cur = count_numeric(score, s["edges"])
    ref = np.asarray(s["counts"], float)
    me = _month_entry(reference, month)
    if me and me.get("scores"):
        ref, n_ref = month_counts(me["scores"], s["counts"], me["n"]), me["families"]
    hide = hidden_rows(pd.DataFrame({"n": cur}), {"n": len(score)}, min_count=min_count)
    shown = published_counts(bucket_masks(score, s["edges"]), keys, min_count=min_count)
    out = {"psi": psi(ref, cur), "mean_reference": s["mean"], "mean_now": float(np.mean(score)),
           "counts": [None if h else int(c) for c, h in zip(shown, hide, strict=True)],
           "level": "", "why": ""}
    out["band"] = band(out["psi"], t.psi.watch, t.psi.act)
    out["ks"], out["p"] = ks_binned(ref, cur, n_ref=n_ref, n_cur=n_cur)
    if out["band"] != "stable" and out["p"] < alpha:
        out["level"] = "retrain" if out["band"] == "act" else "watch"
        out["why"] = (f"scores moved: PSI {out['psi']:.2f} ({out['band']}); mean "
                      f"{out['mean_reference']:.3f} at training, {out['mean_now']:.3f} now")
    if last and last.get("counts"):
        out["psi_last_month"] = psi(_as_counts(last["counts"], min_count), cur)
    bands = np.asarray(bands).astype(str)
    names = ("high", "medium", "low")
    now = np.array([(bands == b).sum() for b in names], float)
    ref_b = _as_counts([s["bands"].get(b) for b in names], min_count)
    hide = hidden_rows(pd.DataFrame({"n": now}), {"n": now.sum()}, min_count=min_count)
    ref_hidden = [s["bands"].get(b) is None for b in names]
    masks = np.vstack([bands == b for b in names] + [np.ones(len(bands), bool)])
    shown = published_counts(masks, keys, min_count=min_count)  # the bands, then everyone
    out["bands"] = {b: {"reference": None if ref_hidden[i] else float(ref_b[i] / ref_b.sum()),
                        "now": _hidden_text(now[i], min_count) if hide[i]
                        else float(published_share(masks[i], keys, min_count=min_count)),
                        "last_month": (last or {}).get("bands", {}).get(b, {}).get("now")}
                    for i, b in enumerate(names)}
    out["band_counts"] = {b: _hidden_text(now[i], min_count) if hide[i] else int(shown[i])
                          for i, b in enumerate(names)}
    stat, out["bands_p"] = chi_square(ref_b, now, n_ref=n_ref, n_cur=n_cur)
    scale = (_pooled_n(reference) / reference["n"], n_cur / max(len(score), 1))  # to families
    out["capacity"] = _capacity_drift(s.get("capacity", {}), groups, flags, alpha, tolerance,
                                      min_count, (last or {}).get("capacity"), scale, keys)
    return out


def _capacity_drift(ref: dict, groups: pd.DataFrame, flags, alpha, tolerance, min_count,
                    last, scale=(1.0, 1.0), rkeys: np.ndarray | None = None) -> list[dict]:
    flags = np.asarray(flags, bool)
    rkeys = cohort_keys(None, len(flags)) if rkeys is None else rkeys  # the records'
    rows = []
    for col, table in ref.items():
        if col not in groups.columns:
            continue
        keys = groups[col].astype(object).fillna("not recorded").astype(str).to_numpy()
        names = sorted(set(keys) | set(table))
        table_now = pd.DataFrame({"n": [int((keys == g).sum()) for g in names],
                                  "k": [int(flags[keys == g].sum()) for g in names]})
        hide = dict(zip(names, hidden_rows(table_now, {"n": len(keys), "k": int(flags.sum())},
                                           min_count=min_count), strict=True))
        for g, (n_r, k_r) in table.items():
            mask = keys == g
            n, k = int(mask.sum()), int(flags[mask].sum())
            hidden = n_r is None or k_r is None or bool(hide[g])
            rows.append({"characteristic": col, "group": g, "n": n, "k": k, "n_r": n_r,
                         "k_r": k_r,
                         "reference": None if hidden or not n_r else k_r / n_r,
                         "now": None if hidden or not n else published_share(
                             flags, rkeys, min_count=min_count, within=mask),
                         "hidden": hidden})
    out = []
    for r in rows:
        item = {"characteristic": r["characteristic"], "group": r["group"],
                "reference": r["reference"], "now": r["now"], "level": "", "why": "",
                "last_month": None}
        for prev in last or []:
            if prev["characteristic"] == r["characteristic"] and prev["group"] == r["group"]:
                item["last_month"] = prev.get("now")
        if not r["hidden"] and r["reference"] and r["now"] is not None:
            ratio = (r["k"] / r["n"]) / r["reference"]  # judged exact, published rounded
            p = _two_proportions(r["k"] * scale[1], r["n"] * scale[1], r["k_r"] * scale[0],
                                 r["n_r"] * scale[0])
            if (ratio < tolerance[0] or ratio > tolerance[1]) and p < alpha:
                item["level"] = "watch"
                item["why"] = (f"{r['characteristic'].replace('_', ' ')} {r['group']}: "
                               f"{r['now']:.0%} within capacity against {r['reference']:.0%} "
                               "at training")
        out.append(item)
    return out
