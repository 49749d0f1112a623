"""Per-row reasons in plain words, from feature contributions.

:func:`top_reasons` turns contributions into words: the largest risk-raising contributions
first, each phrased from the feature dictionary ("3 police contacts in the last 12 months —
raises risk"). The sign of the contribution decides "raises" or "lowers"; the words only
describe the child's value.
A caller may name values that (nearly) every child shares (``common``): a reason stating
such a value tells a reader nothing about the child, so it is not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.models._contributions import (
    BASE_VALUE,
    MIN_CONTRIBUTION,
    _base_model,
    feature_contributions,
)

__all__ = ["LOWERS", "RAISES", "explain_rows", "top_reasons"]

RAISES = "raises risk"
LOWERS = "lowers risk"


def _default_describe(model: Any = None) -> Callable[[str, object], str]:
    """The feature dictionary's phrasing, falling back to ``name = value`` for other names.

    The words are those of the feature spec recorded with the model (a loaded model's
    ``meta["feature_spec"]``), the packaged spec's only for a model without one.
    """
    from riskmodel.features import describer

    spec = (getattr(model, "meta", None) or {}).get("feature_spec")
    describe_feature = describer(spec)

    def describe(name: str, value: object) -> str:
        try:
            return describe_feature(name, value)
        except InputError:
            return f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"

    return describe


class _Phrases:
    """Memoised phrases: most values are small counts, so (feature, value) pairs repeat."""

    def __init__(self, describe: Callable[[str, object], str]) -> None:
        self.describe = describe
        self.cache: dict[tuple[str, float], str] = {}

    def __call__(self, name: str, value: float) -> str:
        key = (name, value)
        text = self.cache.get(key)
        if text is None:
            v = None if not np.isfinite(value) else (int(value) if float(value).is_integer()
                                                     else float(value))
            text = self.cache[key] = self.describe(name, v)
        return text


def top_reasons(contributions: pd.DataFrame, X: pd.DataFrame | np.ndarray, *, n: int = 3,
                describe: Callable[[str, object], str] | None = None,
                common: Mapping[str, float] | None = None,
                left_out: dict[str, int] | None = None) -> pd.DataFrame:
    """The ``n`` strongest reasons per row, in plain words.

    The largest positive contributions, strongest first, as "<the child's value in words>
    — raises risk"; only when fewer than ``n`` features raise the risk are the strongest
    risk-lowering ones added ("— lowers risk"). A feature with no contribution is never a
    reason; the sign decides, the words describe the value. An imputed value (its
    ``<name>_missing`` flag is 1) is worded by the flag; a reason repeating earlier words is
    skipped. A feature at its ``common`` value (or, when imputed, whose flag is) is never a
    reason: the next strongest takes its place (the contributions are not changed).

    Parameters
    ----------
    contributions : DataFrame
        From :func:`feature_contributions` (a ``base_value`` column is ignored).
    X : DataFrame or array
        The same rows' feature values (those columns, or an array in that order): the words.
    n : int, default=3
    describe : callable, optional
        ``describe(name, value) -> str``; default: the feature dictionary's
        :func:`riskmodel.features.describe_feature` (``name = value`` for other names).
    common : mapping, optional
        Feature name -> a value (nearly) every scored child shares; reasons stating it are
        left out (see :mod:`riskmodel.scoring`'s rule). Default: none left out.
    left_out : dict, optional
        When given, counts (feature -> rows) are added to it for each common value that
        would otherwise have been among a row's ``n`` risk-raising reasons.

    Returns
    -------
    DataFrame
        ``reason_1`` … ``reason_n`` (string; missing when fewer), the contributions' index.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"a": [0.8, -0.1], "b": [0.2, -0.5], "base_value": [-2.0, -2.0]})
    >>> X = pd.DataFrame({"a": [3, 0], "b": [1, 4]})
    >>> say = lambda name, value: f"{value} x {name}"
    >>> top_reasons(c, X, n=2, describe=say).to_dict("list")
    {'reason_1': ['3 x a — raises risk', '4 x b — lowers risk'], \
'reason_2': ['1 x b — raises risk', '0 x a — lowers risk']}
    >>> top_reasons(c, X, n=2, describe=say, common={"a": 3}).to_dict("list")
    {'reason_1': ['1 x b — raises risk', '4 x b — lowers risk'], \
'reason_2': [None, '0 x a — lowers risk']}
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    features, C, V = _float_arrays(contributions, X)
    words = _Words(features, V, _Phrases(describe or _default_describe()))
    hidden = _common_mask(features, V, words.flag_of, common)
    shown = _shown(C, hidden)
    if hidden is not None and left_out is not None:
        _count_left_out(features, C, shown, hidden, n, left_out)
    out = _pick_reasons(shown, words, n)
    return pd.DataFrame({f"reason_{r + 1}": pd.array(out[:, r], dtype="string")
                         for r in range(n)}, index=contributions.index)


def _float_arrays(contributions: pd.DataFrame,
                  X: pd.DataFrame | np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The feature names, their contributions and the rows' values, as float arrays."""
    features: list[str] = [c for c in contributions.columns if c != BASE_VALUE]
    C = contributions.loc[:, features].to_numpy(dtype=np.float64)
    if isinstance(X, pd.DataFrame):
        V = X.loc[:, features].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        V = np.asarray(X, dtype=np.float64)
    return features, C, V


class _Words:
    """The words for row ``i``'s feature ``j``: its value's, or its missing flag's if set."""

    def __init__(self, features: list[str], V: np.ndarray, phrase: _Phrases) -> None:
        self.features, self.V, self.phrase = features, V, phrase
        # An imputed value ("last contact 3,650 days ago" standing for "never") is not a
        # fact about the child: when a feature's missing flag is set, its words are the flag's.
        self.flag_of = {j: features.index(f"{name}_missing") for j, name in enumerate(features)
                        if f"{name}_missing" in features}

    def __call__(self, i: int, j: int) -> str:
        flag = self.flag_of.get(j)
        if flag is not None and self.V[i, flag] == 1:
            return self.phrase(self.features[flag], 1.0)
        return self.phrase(self.features[j], self.V[i, j])


def _shown(C: np.ndarray, hidden: np.ndarray | None) -> np.ndarray:
    """The contributions that may be reasons: non-finite and hidden ones set to zero."""
    bad = ~np.isfinite(C)
    if hidden is not None:
        bad |= hidden
    if bad.any():  # a copy only when needed: C may be a read-only view of the caller's frame
        return np.where(bad, 0.0, C)  # a zero contribution is never a reason
    return C


def _candidates(C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's ``k`` strongest raising features; the lowering ones for rows short of them."""
    hi = _extremes(C, k, largest=True)
    # Risk-lowering candidates only for the rows that may need them (few risk-raising ones).
    short = (C > MIN_CONTRIBUTION).sum(axis=1) < k
    lo = np.zeros((len(C), 0), dtype=np.intp)
    if short.any():
        lo = np.zeros((len(C), k), dtype=np.intp)
        lo[short] = _extremes(C[short], k, largest=False)
    return hi, lo, short


def _pick_reasons(C: np.ndarray, words: _Words, n: int) -> np.ndarray:
    """Up to ``n`` worded reasons per row (object array, None where a row has fewer)."""
    rows, p = C.shape
    k = min(3 * n, p)  # spare candidates for reasons that repeat another's words
    hi, lo, short = _candidates(C, k)
    out = np.full((rows, n), None, dtype=object)
    for i in range(rows):
        said: list[str] = []
        lows = lo[i] if short[i] else ()  # else more raise than the candidates hold
        for candidates, sign, word in ((hi[i], 1.0, RAISES), (lows, -1.0, LOWERS)):
            for j in candidates:
                if len(said) >= n or sign * C[i, j] <= MIN_CONTRIBUTION:
                    break
                text = words(i, j)
                if text not in said:
                    out[i, len(said)] = f"{text} — {word}"
                    said.append(text)
    return out


def _count_left_out(features: list[str], raw: np.ndarray, shown: np.ndarray,
                    hidden: np.ndarray, n: int, left_out: dict[str, int]) -> None:
    """Add, per feature, the rows where a hidden value would have been a raising reason."""
    p = shown.shape[1]
    # each row's n-th strongest contribution still eligible (a hidden one must beat it)
    kth = (np.partition(shown, p - n, axis=1)[:, p - n] if p >= n
           else np.full(len(shown), -np.inf))
    floor = np.maximum(kth, MIN_CONTRIBUTION)
    with np.errstate(invalid="ignore"):
        would = hidden & (raw > floor[:, None])
    for j in np.flatnonzero(would.any(axis=0)):
        left_out[features[j]] = left_out.get(features[j], 0) + int(would[:, j].sum())


def _common_mask(features: list[str], V: np.ndarray, flag_of: dict[int, int],
                 common: Mapping[str, float] | None) -> np.ndarray | None:
    """Which (row, feature) pairs state a value (nearly) everyone shares; None if none do."""
    if not common:
        return None
    where = {f: j for j, f in enumerate(features)}
    hidden = np.zeros(V.shape, dtype=bool)
    for name, value in common.items():
        j = where.get(name)
        if j is not None:
            hidden[:, j] = V[:, j] == float(value)
    # An imputed value is worded by its flag: a common flag value hides it too.
    for j, flag in flag_of.items():
        hidden[:, j] |= hidden[:, flag] & (V[:, flag] == 1)
    return hidden if hidden.any() else None


def _extremes(C: np.ndarray, k: int, *, largest: bool) -> np.ndarray:
    """Column indices of each row's ``k`` largest (or smallest) values, most extreme first."""
    key = -C if largest else C
    if k < C.shape[1]:
        idx = np.argpartition(key, k - 1, axis=1)[:, :k]
    else:
        idx = np.tile(np.arange(C.shape[1]), (len(C), 1))
    order = np.argsort(np.take_along_axis(key, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def explain_rows(model: Any, X: Any, *, n: int = 3, method: str = "auto",
                 describe: Callable[[str, object], str] | None = None,
                 common: Mapping[str, float] | None = None,
                 left_out: dict[str, int] | None = None) -> pd.DataFrame:
    """Plain-language reasons for each row's score: contributions, then words.

    :func:`top_reasons` of :func:`feature_contributions`, for a model of any kind.

    Parameters
    ----------
    model : fitted model
        As for :func:`feature_contributions`; a loaded model's words are those of the
        feature spec recorded with it.
    X : DataFrame or array
        The rows to explain (see :func:`feature_contributions`).
    n : int, default=3
    method : str, default="auto"
        As for :func:`feature_contributions`.
    describe : callable, optional
        As for :func:`top_reasons`.
    common, left_out : optional
        As for :func:`top_reasons`.

    Returns
    -------
    DataFrame
        ``reason_1`` … ``reason_n``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.models import RuleClassifier
    >>> X = pd.DataFrame({"ace_total_all_count": [5, 0], "contacts_total_12m_count": [0, 1]})
    >>> rule = RuleClassifier().fit(X, [1, 0])
    >>> say = lambda name, value: f"{value} {name.split('_')[0]}"
    >>> explain_rows(rule, X, n=1, describe=say)["reason_1"].tolist()
    ['5 ace — raises risk', '1 contacts — raises risk']
    """
    base = _base_model(model)
    describe = describe or _default_describe(model)
    contributions = feature_contributions(base, X, method=method)
    return top_reasons(contributions, X, n=n, describe=describe, common=common,
                       left_out=left_out)
