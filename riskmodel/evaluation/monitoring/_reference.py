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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from riskmodel.evaluation.monitoring._buckets import (
    MAX_BINS,
    category_buckets,
    count_numeric,
    numeric_buckets,
)
from riskmodel.evaluation.monitoring._publish import hidden_counts, hidden_rows, is_small, kept

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


def feature_entries(rows: pd.DataFrame, features: Sequence[str], *, min_count: int = 5,
                    importance: Mapping[str, float] | None = None) -> dict:
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


def weighted_entries(entries: Mapping[str, dict], importance: Mapping[str, float] | None) -> dict:
    """:func:`feature_entries` (made without weights) with each feature's weight in the model,
    in its place: the entries are copied, never changed.

    Examples
    --------
    >>> weighted_entries({"a": {"kind": "numeric", "importance": 0.0, "counts": [9]}},
    ...                  {"a": 0.25})
    {'a': {'kind': 'numeric', 'importance': 0.25, 'counts': [9]}}
    """
    return {f: {**e, "importance": float((importance or {}).get(f, 0.0))}
            for f, e in entries.items()}


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


def _hidden_counts(counts: np.ndarray | Sequence[float], min_count: int) -> list:
    """Counts with those that may not be published (small, or revealed by the total) None.

    Examples
    --------
    >>> _hidden_counts([3, 9, 8], 5), _hidden_counts([30, 9, 8], 5)
    ([None, 9, None], [30, 9, 8])
    """
    c = np.asarray(counts, float)
    hide = hidden_counts(c, c.sum(), min_count=min_count)
    return [None if h else int(n) for n, h in zip(c, hide, strict=True)]


def month_entries(rows: pd.DataFrame, features: Mapping[str, dict], score: ArrayLike,
                  flags: ArrayLike, scores: Mapping[str, Any], *, min_count: int = 5,
                  n_sim: int = 200) -> dict:
    """Each calendar month's own distributions (``"01"`` to ``"12"``), in the pooled buckets.

    A month is compared with the same calendar month of the reference, so a pattern the model
    trained on every year (school contacts falling in August) is not read as drift. Per
    month: its date, children and families, each feature's and the scores' counts in the
    pooled reference's buckets (a count that may not be published is None) and the CBPE
    estimate of its list (:func:`~riskmodel.evaluation.monitoring.estimate`). The model-free
    part (:func:`month_inputs`) is the same for every model of a training run.

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
    months, masks = month_inputs(rows, features, min_count=min_count)
    return scored_months(months, masks, score, flags, scores, min_count=min_count, n_sim=n_sim)


def month_inputs(rows: pd.DataFrame, features: Mapping[str, dict], *,
                 min_count: int = 5) -> tuple[dict, dict[str, np.ndarray]]:
    """The model-free part of :func:`month_entries`: each calendar month's date, children,
    families, features' counts and locality-wide means (``scores`` and ``estimate`` left
    None for :func:`scored_months`), and which rows are the month's.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"as_of": pd.to_datetime(["2025-03-01"] * 40),
    ...                      "family_id": np.arange(40) // 2, "x": np.arange(40.0) % 4})
    >>> months, masks = month_inputs(rows, {"x": numeric_buckets(rows["x"]) | {"kind": "n"}})
    >>> months["03"]["families"], months["03"]["features"]["x"], int(masks["03"].sum())
    (20, [10, 10, 10, 10], 40)
    """
    out, masks = {}, {}
    dates = pd.to_datetime(rows["as_of"])
    values = {f: rows[f].to_numpy(float) for f in features}  # each column once, no copies
    for date in sorted(dates.unique()):
        mask = (dates == date).to_numpy()
        key = f"{pd.Timestamp(date).month:02d}"
        masks[key] = mask
        out[key] = {
            "as_of": str(pd.Timestamp(date).date()), "n": int(mask.sum()),
            "families": int(rows["family_id"][mask].nunique()),
            "features": {f: _hidden_counts(count_numeric(values[f][mask], e["edges"]), min_count)
                         for f, e in features.items() if e["kind"] != "area"},
            "scores": None,
            "means": {f: safe_mean(values[f][mask], min_count)
                      for f, e in features.items() if e["kind"] == "area"},
            "estimate": None,
        }
    return out, masks


def scored_months(months: Mapping[str, dict], masks: Mapping[str, np.ndarray], score: ArrayLike,
                  flags: ArrayLike, scores: Mapping[str, Any], *, min_count: int = 5,
                  n_sim: int = 200) -> dict:
    """:func:`month_inputs` with one model's part added to copies: each month's scores in
    the pooled score buckets and the CBPE estimate of its list."""
    from riskmodel.evaluation.monitoring._performance import estimate

    score, flags = np.asarray(score, float), np.asarray(flags, bool)
    out = {}
    for key, month in months.items():
        mask = masks[key]
        est = estimate(score[mask], flags[mask], n_sim=n_sim)
        out[key] = {**month,
                    "scores": _hidden_counts(count_numeric(score[mask], scores["edges"]),
                                             min_count),
                    "estimate": {k: est[k] for k in ("auc", "precision_at_capacity",
                                                     "recall_at_capacity")}}
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


@dataclass(frozen=True, eq=False)  # holds a frame: compared by identity
class ReferenceInputs:
    """The model-free part of a reference (:func:`reference_inputs`): what every candidate of
    a training run shares, computed once; :func:`model_reference` adds one model's part.

    ``features`` are the entries without weights (:func:`weighted_entries` adds them),
    ``months`` each calendar month's model-free entry and ``masks`` its rows.
    """

    rows: pd.DataFrame
    names: tuple[str, ...]
    min_count: int
    cohort: dict
    features: dict
    mix: dict
    months: dict
    masks: dict[str, np.ndarray] = field(repr=False)


def reference_inputs(rows: pd.DataFrame, features: Sequence[str], *,
                     min_count: int = 5) -> ReferenceInputs:
    """What a reference holds that no model changes: the cohort, each feature's buckets,
    missing count and mean, the mix, and each calendar month's counts of them.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"as_of": "2025-01-01", "family_id": np.arange(60) // 2,
    ...                      "age": np.arange(60.0) % 6})
    >>> shared = reference_inputs(rows, ["age"])
    >>> shared.cohort["families"], shared.features["age"]["counts"], list(shared.months)
    (30, [10, 10, 10, 10, 10, 10], ['01'])
    """
    entries = feature_entries(rows, features, min_count=min_count)
    months, masks = month_inputs(rows, entries, min_count=min_count)
    return ReferenceInputs(rows=rows, names=tuple(features), min_count=int(min_count),
                           cohort=_cohort(rows), features=entries,
                           mix=mix_entries(rows, min_count=min_count), months=months,
                           masks=masks)


def model_reference(shared: ReferenceInputs, *, score: ArrayLike, flags: ArrayLike,
                    bands: ArrayLike, importance: Mapping[str, float] | None = None,
                    early: dict | None = None, contacts: dict | None = None,
                    contacts_by_month: dict | None = None, source: str = "") -> dict:
    """One model's reference: the shared model-free part (:func:`reference_inputs`) with the
    model's scores, bands, capacity shares and weights; :func:`build_reference` in two steps.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"as_of": "2025-01-01", "family_id": np.arange(60) // 2,
    ...                      "age": np.arange(60.0) % 6})
    >>> shared = reference_inputs(rows, ["age"])
    >>> s = np.linspace(0, 1, 60)
    >>> ref = model_reference(shared, score=s, flags=s > 0.8, bands=np.where(s > .5, "high", "low"),
    ...                       importance={"age": 1.0})
    >>> ref == build_reference(rows, ["age"], score=s, flags=s > 0.8,
    ...                        bands=np.where(s > .5, "high", "low"), importance={"age": 1.0})
    True
    """
    min_count = shared.min_count
    score = np.asarray(score, float)
    flags = np.asarray(flags, bool)
    band_counts = _band_counts(np.asarray(bands).astype(str), min_count)
    scores = numeric_buckets(score, min_count=min_count)
    return {
        "version": VERSION,
        "source": source,
        "min_count": int(min_count),
        **shared.cohort,
        "features": weighted_entries(shared.features, importance),
        "mix": shared.mix,
        "months": scored_months(shared.months, shared.masks, score, flags, scores,
                                min_count=min_count),
        "scores": {**scores, "mean": float(score.mean()), "bands": band_counts,
                   "capacity": capacity_shares(shared.rows, flags, min_count=min_count)},
        "early": early or {}, "contacts": contacts or {},
        "contacts_by_month": contacts_by_month or {},
    }


def build_reference(rows: pd.DataFrame, features: Sequence[str], *, score: ArrayLike,
                    flags: ArrayLike, bands: ArrayLike,
                    importance: Mapping[str, float] | None = None, early: dict | None = None,
                    contacts: dict | None = None, contacts_by_month: dict | None = None,
                    min_count: int = 5, source: str = "") -> dict:
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
        JSON-ready; no count from 1 to ``min_count - 1`` and no child-level row. Several
        models of the same rows share :func:`reference_inputs` and call
        :func:`model_reference` each, with the same result.

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
    return model_reference(reference_inputs(rows, features, min_count=min_count), score=score,
                           flags=flags, bands=bands, importance=importance, early=early,
                           contacts=contacts, contacts_by_month=contacts_by_month,
                           source=source)


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
