"""The training reference a month is compared with: binned, small counts merged, no child rows.

Built at training from the rows of the model's out-of-time test dates (the most recent
children the model was judged on, so its promise and its reference describe the same
children) and logged with the model as ``reference.json``. It holds, for every feature, its
buckets and their counts, its missing share, its mean and its weight in the model; the
cohort's size and mix; the distribution of scores, bands and who was within capacity by
locality and group; how soon outcomes come (the share of the horizon's outcomes that happen
in the first month); and the contacts recorded in the month before each date.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from riskmodel.evaluation.monitoring._buckets import (
    MAX_BINS,
    category_buckets,
    count_numeric,
    numeric_buckets,
)
from riskmodel.evaluation.monitoring._publish import hidden_rows, is_small, kept

VERSION = 2
#: The characteristics whose mix is compared (and by which capacity shares are shown).
MIX = ("locality", "age_band", "sex", "ethnicity", "disability", "imd_quintile")
#: Feature name endings that hold a category (a new value is reported as such).
CATEGORY_ENDINGS = ("_triage", "_band")


def safe_mean(x: np.ndarray, min_count: int = 5):
    """The mean, unless it would reveal a small count (a feature of few values, one of which
    1 to ``min_count - 1`` children hold: the mean of a flag is its count over the total).

    Examples
    --------
    >>> safe_mean(np.array([0.0] * 100 + [1.0] * 3)) is None, safe_mean(np.arange(20.0))
    (True, 9.5)
    """
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    values, counts = np.unique(x, return_counts=True)
    if len(values) <= MAX_BINS and is_small(counts, min_count).any():
        return None
    return float(x.mean())


def area_features(rows: pd.DataFrame, features) -> list[str]:
    """Features that hold one value per locality at each date (locality-wide rates).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"as_of": ["d"] * 4, "locality": ["a", "a", "b", "b"],
    ...                      "rate": [1.0, 1.0, 2.0, 2.0], "age": [1, 2, 3, 4]})
    >>> area_features(rows, ["rate", "age"])
    ['rate']
    >>> moved = pd.DataFrame({"as_of": ["d"] * 20, "locality": ["a", "b"] * 10,
    ...                       "rate": [1.0, 2.0] * 9 + [1.0, 1.0]})
    >>> area_features(moved, ["rate"])  # one child of 20 lived in a at d, in b today
    ['rate']
    """
    if "locality" not in rows.columns or not len(rows):
        return []
    keys = ["as_of", "locality"]
    out = []
    for f in features:
        # The matrix carries today's locality; a rate is of the locality at each date, so a
        # child who moved since holds another locality's value: most, not all, rows agree.
        n = rows.groupby([*keys, f], observed=True, dropna=False).size()
        modes = n.groupby(level=[0, 1], observed=True).idxmax().map(lambda k: k[2])
        share = n.groupby(level=[0, 1], observed=True).max().sum() / len(rows)
        if share >= 0.9 and pd.Series(modes.to_numpy()).nunique() > 1:
            out.append(f)
    return out


def missing_share(rows: pd.DataFrame, feature: str) -> np.ndarray:
    """Which rows miss ``feature``: its ``_missing`` flag when it has one, else NaN."""
    flag = f"{feature}_missing"
    if flag in rows.columns:
        return rows[flag].to_numpy(dtype=float) > 0
    return ~np.isfinite(rows[feature].to_numpy(dtype=float))


def feature_entries(rows: pd.DataFrame, features, *, min_count: int = 5,
                    importance: dict | None = None) -> dict:
    """The reference entry of every feature (buckets, missing count, mean, weight)."""
    area = set(area_features(rows, features))
    out = {}
    for f in features:
        x = rows[f].to_numpy(dtype=float)
        entry: dict = {"kind": "area" if f in area else "numeric",
                       "mean": safe_mean(x, min_count),
                       "missing": kept(int(missing_share(rows, f).sum()), min_count),
                       "importance": float((importance or {}).get(f, 0.0))}
        if f not in area:
            entry.update(numeric_buckets(x, min_count=min_count))
            if f.endswith(CATEGORY_ENDINGS):
                entry["kind"] = "category"
                entry["values"] = sorted(float(v) for v in np.unique(x[np.isfinite(x)]))
        out[f] = entry
    return out


def mix_entries(rows: pd.DataFrame, *, min_count: int = 5) -> dict:
    """Buckets of each characteristic in :data:`MIX` (missing values read ``not recorded``)."""
    return {col: category_buckets(rows[col].astype(object).fillna("not recorded"),
                                  min_count=min_count)
            for col in MIX if col in rows.columns}


def capacity_shares(frame: pd.DataFrame, flags, *, min_count: int = 5) -> dict:
    """Children and children within capacity in each locality and group (small ones None).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"locality": ["a"] * 10 + ["b"] * 10})
    >>> capacity_shares(f, [True] * 6 + [False] * 14)["locality"]
    {'a': [10, 6], 'b': [10, 0]}
    >>> capacity_shares(f, [True] * 7 + [False] * 10 + [True] * 3)["locality"]
    {'a': [None, None], 'b': [None, None]}
    """
    flags = np.asarray(flags, bool)
    out = {}
    for col in MIX:
        if col not in frame.columns:
            continue
        keys = frame[col].astype(object).fillna("not recorded").astype(str).to_numpy()
        groups = sorted(set(keys))
        t = pd.DataFrame({"n": [int((keys == g).sum()) for g in groups],
                          "k": [int(flags[keys == g].sum()) for g in groups]})
        hide = hidden_rows(t, {"n": len(keys), "k": int(flags.sum())}, min_count=min_count)
        out[col] = {g: ([None, None] if h else [int(n), int(k)])
                    for g, n, k, h in zip(groups, t["n"], t["k"], hide, strict=True)}
    return out


def _hidden_counts(counts, min_count: int) -> list:
    """Counts with those that may not be published (small, or revealed by the total) None.

    Examples
    --------
    >>> _hidden_counts([3, 9, 8], 5), _hidden_counts([30, 9, 8], 5)
    ([None, 9, None], [30, 9, 8])
    """
    return list(_hidden_tuple(tuple(float(c) for c in counts), int(min_count)))


@functools.lru_cache(maxsize=8192)
def _hidden_tuple(counts: tuple[float, ...], min_count: int) -> tuple[int | None, ...]:
    """:func:`_hidden_counts` of one tuple of counts, remembered: every candidate of a training
    run counts the same features in the same buckets (only its scores differ)."""
    c = np.asarray(counts, float)
    hide = hidden_rows(pd.DataFrame({"n": c}), {"n": c.sum()}, min_count=min_count)
    return tuple(None if h else int(n) for n, h in zip(c, hide, strict=True))


def month_entries(rows: pd.DataFrame, features: dict, score, flags, scores: dict, *,
                  min_count: int = 5, n_sim: int = 200) -> dict:
    """Each calendar month's own distributions (``"01"`` to ``"12"``), in the pooled buckets.

    A month is compared with the same calendar month of the reference, so a pattern the model
    trained on every year (school contacts falling in August) is not read as drift. Per
    month: its date, children and families, each feature's and the scores' counts in the
    pooled reference's buckets (a count that may not be published is None) and the CBPE
    estimate of its list (:func:`~riskmodel.evaluation.monitoring.estimate`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"as_of": pd.to_datetime(["2025-01-01"] * 50 + ["2025-02-01"] * 50),
    ...                      "family_id": np.arange(100), "x": np.arange(100.0) % 10})
    >>> f = {"x": {"kind": "numeric", **numeric_buckets(rows["x"].to_numpy())}}
    >>> s = np.linspace(0.01, 0.5, 100)
    >>> m = month_entries(rows, f, s, s > 0.45, numeric_buckets(s), n_sim=20)
    >>> sorted(m), m["01"]["n"], sum(m["01"]["features"]["x"])
    (['01', '02'], 50, 50)
    """
    from riskmodel.evaluation.monitoring._performance import estimate

    out = {}
    dates = pd.to_datetime(rows["as_of"])
    score, flags = np.asarray(score, float), np.asarray(flags, bool)
    for date in sorted(dates.unique()):
        mask = (dates == date).to_numpy()
        part = rows.loc[mask]
        est = estimate(score[mask], flags[mask], n_sim=n_sim)
        out[f"{pd.Timestamp(date).month:02d}"] = {
            "as_of": str(pd.Timestamp(date).date()), "n": int(mask.sum()),
            "families": int(part["family_id"].nunique()),
            "features": {f: _hidden_counts(count_numeric(part[f].to_numpy(float), e["edges"]),
                                           min_count)
                         for f, e in features.items() if e["kind"] != "area"},
            "scores": _hidden_counts(count_numeric(score[mask], scores["edges"]), min_count),
            "means": {f: safe_mean(part[f].to_numpy(float), min_count)
                      for f, e in features.items() if e["kind"] == "area"},
            "estimate": {k: est[k] for k in ("auc", "precision_at_capacity",
                                             "recall_at_capacity")},
        }
    return out


def importance_shares(contributions: pd.DataFrame) -> dict:
    """Each feature's share of the model's weight: its mean absolute contribution over the
    rows, divided by the sum over features (``base_value`` left out).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"a": [1.0, -3.0], "b": [0.0, 2.0], "base_value": [5.0, 5.0]})
    >>> importance_shares(c)
    {'a': 0.6666666666666666, 'b': 0.3333333333333333}
    """
    m = contributions.drop(columns=["base_value"], errors="ignore").abs().mean()
    total = float(m.sum())
    return {k: (float(v) / total if total > 0 else 0.0) for k, v in m.items()}


def build_reference(rows: pd.DataFrame, features, *, score, flags, bands, importance=None,
                    early=None, contacts=None, contacts_by_month=None, min_count: int = 5,
                    source: str = "") -> dict:
    """The reference distributions of a model, from the rows of its reference dates.

    Parameters
    ----------
    rows : DataFrame
        The feature matrix at the reference dates (``as_of``, ``family_id``, the
        characteristics and every feature).
    features : list of str
    score, flags, bands : array-like
        The model's calibrated probability, capacity flag and risk band for each row.
    importance : dict, optional
        Feature -> share of the model's weight (:func:`importance_shares`).
    early : dict, optional
        ``months``, ``events`` (outcomes within that many months) and ``events_horizon``
        (within the horizon) over the labelled training rows, and ``horizon_months``.
    contacts, contacts_by_month : dict, optional
        From :func:`~riskmodel.evaluation.monitoring.contact_volumes`; by calendar month
        (``"08"``): the contacts of the month before that reference date.
    min_count : int, default=5
    source : str, where the rows came from, in words

    Returns
    -------
    dict
        JSON-ready; no count from 1 to ``min_count - 1`` and no child-level row.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = pd.DataFrame({"as_of": "2025-01-01", "family_id": np.arange(200) // 2,
    ...                      "locality": np.where(np.arange(200) % 2, "north", "south"),
    ...                      "age": rng.integers(0, 18, 200).astype(float)})
    >>> score = rng.uniform(size=200)
    >>> ref = build_reference(rows, ["age"], score=score, flags=score > 0.9,
    ...                       bands=np.where(score > 0.5, "high", "low"))
    >>> ref["n"], ref["features"]["age"]["kind"], sum(ref["features"]["age"]["counts"])
    (200, 'numeric', 200)
    """
    score = np.asarray(score, float)
    flags = np.asarray(flags, bool)
    band_counts = _band_counts(np.asarray(bands).astype(str), min_count)
    entries = feature_entries(rows, features, min_count=min_count, importance=importance)
    scores = numeric_buckets(score, min_count=min_count)
    return {
        "version": VERSION,
        "source": source,
        "min_count": int(min_count),
        **_cohort(rows),
        "features": entries,
        "mix": mix_entries(rows, min_count=min_count),
        "months": month_entries(rows, entries, score, flags, scores, min_count=min_count),
        "scores": {**scores, "mean": float(score.mean()), "bands": band_counts,
                   "capacity": capacity_shares(rows, flags, min_count=min_count)},
        "early": early or {}, "contacts": contacts or {},
        "contacts_by_month": contacts_by_month or {},
    }


def _cohort(rows: pd.DataFrame) -> dict:
    """The reference dates, child-dates, families and the cohort's size on each date."""
    sizes = rows.groupby("as_of", observed=True).size()
    return {"as_of": [str(pd.Timestamp(d).date()) for d in sizes.index], "n": int(len(rows)),
            "families": int(rows.groupby(["as_of", "family_id"], observed=True).ngroups),
            "families_distinct": int(rows["family_id"].nunique()),
            "cohort_size": {"mean": float(sizes.mean()), "min": int(sizes.min()),
                            "max": int(sizes.max())}}


def _band_counts(bands: np.ndarray, min_count: int) -> dict:
    """Children in each risk band (None where small or revealed by the total)."""
    names = ("high", "medium", "low")
    t = pd.DataFrame({"n": [int((bands == b).sum()) for b in names]})
    hide = hidden_rows(t, {"n": len(bands)}, min_count=min_count)
    return {b: (None if h else int(n)) for b, n, h in zip(names, t["n"], hide, strict=True)}
