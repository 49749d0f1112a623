"""Per-row feature contributions and plain-language reasons.

A contribution is a feature's additive share of one row's margin (the base model's
log-odds, before calibration): for every row, the contributions plus the base value sum
to the margin exactly. How they are computed depends on the model:

- LightGBM: path-dependent TreeSHAP, the values of LightGBM's own ``pred_contrib`` and of
  shap's ``TreeExplainer``. Both run the recursive algorithm row by row (milliseconds a row
  for a few hundred trees), too slow for a monthly run's reasons, so ``method="auto"`` uses
  an exact vectorised form of the same values (``"vectorised"``, below), measured many times
  faster in ``benchmarks/scoring.py``; it falls back to ``pred_contrib`` for shapes it does
  not cover (categorical splits, trees of more than 16 splits).
- logistic regression: exact linear SHAP against the training mean, ``coef_j * (x_j -
  mean_j) / scale_j``, with the intercept as the base value.
- the simple rule: exact Shapley values against a child who meets neither condition; the
  reasons state the rule itself.

:func:`top_reasons` turns contributions into words: the largest risk-raising
contributions first, each phrased from the feature dictionary ("3 police contacts in the
last 12 months — raises risk"). The sign of the contribution decides "raises" or
"lowers"; the words only describe the child's value.

The vectorised TreeSHAP. For one tree and one leaf *l* with value *v*, let *U* be the *d*
distinct features split on along the path to *l*; for feature *j* in *U*, ``z_j`` is the
product of the cover ratios (child count / parent count) of its splits on the path and
``o_j(x)`` is 1 when *x* takes the path's direction at all of them. The path-dependent
expectation of the leaf's term given features *S* is ``v * prod_{j in S} o_j *
prod_{j in U - S} z_j``, so its Shapley value for *i* in *U* is

    v * (o_i - z_i) * sum_{S subset of U - {i}} |S|! (d - |S| - 1)! / d!
        * prod_{j in S} o_j * prod_{j in U - S - {i}} z_j,

which depends on *x* only through the bits ``o_j(x)``. It is tabulated once per leaf for every
pattern of the path's split decisions (the sums come from elementary symmetric polynomials
of the ``z_j``). Per tree, each row's pattern of decisions at the tree's splits is computed
for all rows at once; rows sharing a pattern (most do: counts are small integers) share
their contributions, so each distinct pattern is looked up once and the result is spread to
its rows. The values equal ``pred_contrib``'s to rounding (a property test checks it).
"""

from __future__ import annotations

import logging
import math
import warnings
import weakref

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError

__all__ = ["BASE_VALUE", "feature_contributions"]

log = logging.getLogger(__name__)

BASE_VALUE = "base_value"
# Contributions smaller than this (log-odds) are rounding noise, never a reason.
MIN_CONTRIBUTION = 1e-6
METHODS = ("auto", "vectorised", "lightgbm", "shap")
# Limits of the tabulated TreeSHAP: a leaf's table has 2**(splits on its path) entries per
# feature; deeper paths or larger models fall back to LightGBM's pred_contrib.
_MAX_PATH = 16
_MAX_TABLE_ENTRIES = 1 << 24
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this counts as zero
# Below this many rows, pred_contrib beats building the tables unless they are built already:
# measured 0.6 s to build for the packaged shape, then 0.04 ms a row against pred_contrib's
# 0.5 ms (docs/scoring.md), a break-even near 1,300 rows.
_FEW_ROWS = 1500


def _base_model(model):
    """The fitted model whose margin is explained: unwraps a LoadedModel and calibration."""
    model = getattr(model, "model", model)  # LoadedModel
    return getattr(model, "base_", model)  # CalibratedModel


def _kind(base) -> str:
    kind = getattr(base, "kind", None)
    if kind not in ("lightgbm", "logistic", "rule"):
        raise TypeError(f"cannot explain a {type(base).__name__}: expected a riskmodel candidate")
    return kind


def _design(base, X) -> np.ndarray:
    """The model's features as a float array (NaN for missing), in the model's order."""
    features = list(base.feature_names_in_)
    if isinstance(X, pd.DataFrame):
        missing = [f for f in features if f not in X.columns]
        if missing:
            more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
            raise InputError(
                f"matrix: feature column {', '.join(missing[:3])}{more} missing "
                "(the model needs every feature it was trained on)"
            )
        return X.loc[:, features].to_numpy(dtype=np.float64, na_value=np.nan)
    A = np.asarray(X, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] != len(features):
        raise InputError(
            f"matrix: expected {len(features)} feature columns in the model's order, "
            f"got shape {A.shape}"
        )
    return A


class _Unsupported(Exception):
    """A tree shape the tabulated TreeSHAP does not cover."""


def _leaf_table(v: float, z: np.ndarray) -> np.ndarray:
    """Shapley values of one leaf's term for every pattern of its features' bits.

    Returns ``G`` of shape ``(d, 2**d)``: ``G[i, mask]`` is feature *i*'s value when bit *j*
    of ``mask`` is ``o_j``.
    """
    d = len(z)
    m = 1 << d
    masks = np.arange(m)
    bits = ((masks[:, None] >> np.arange(d)) & 1).astype(bool)
    weight = np.array([math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d)
                       for k in range(d)])
    # E[mask, c]: elementary symmetric polynomial of degree c of {z_j : bit j set}.
    E = np.zeros((m, d + 1))
    E[:, 0] = 1.0
    # R[mask]: product of z_j over the bits not set.
    R = np.ones(m)
    for j in range(d):
        zj = np.where(bits[:, j], z[j], 0.0)
        E[:, 1:] = E[:, 1:] + zj[:, None] * E[:, :-1]
        R *= np.where(bits[:, j], 1.0, z[j])
    size = bits.sum(axis=1)
    k = size[:, None] - np.arange(d + 1)[None, :]  # |S| when c of the set bits are not in S
    W = np.where((k >= 0) & (k < d), weight[np.clip(k, 0, d - 1)], 0.0)
    S = (W * E).sum(axis=1)
    G = np.empty((d, m))
    for i in range(d):
        bit = 1 << i
        # The sum runs over subsets of the set bits other than i, the z-product over the
        # unset bits other than i: read both at the mask with bit i cleared / set.
        G[i] = v * (bits[:, i] - z[i]) * R[masks | bit] * S[masks & ~bit]
    return G


class _TreeShap:
    """Exact path-dependent TreeSHAP of a LightGBM binary booster, vectorised over rows."""

    def __init__(self, booster):
        dump = booster.dump_model()
        if dump.get("num_tree_per_iteration", 1) != 1:
            raise _Unsupported("more than one tree per iteration")
        self.n_features = dump["max_feature_idx"] + 1
        self.base = 0.0
        self.trees = []
        self.entries = 0
        for info in dump["tree_info"]:
            root = info["tree_structure"]
            if "split_feature" not in root:
                self.base += float(root["leaf_value"])
                continue
            self.trees.append(self._tree(root))

    def _tree(self, root) -> dict:
        nodes, leaves = [], []

        def count(node):
            return node["internal_count"] if "split_feature" in node else node["leaf_count"]

        def walk(node, path):
            if "split_feature" not in node:
                leaves.append((float(node["leaf_value"]), count(node), path))
                return
            if node["decision_type"] != "<=":
                raise _Unsupported("categorical split")
            k = len(nodes)
            nodes.append(node)
            c = count(node)
            f = node["split_feature"]
            walk(node["left_child"], path + [(k, True, f, count(node["left_child"]) / c)])
            walk(node["right_child"], path + [(k, False, f, count(node["right_child"]) / c)])

        walk(root, [])
        total = count(root)
        n_nodes, n_leaves = len(nodes), len(leaves)
        if n_nodes > _MAX_PATH:
            raise _Unsupported("tree with more splits than the pattern lookup holds")
        # code_l(x) = sum_i 2**i * [x takes the path's direction at the i-th split of leaf l]
        # = go(x) @ C + c0, with go the 0/1 "goes left" of every split of the tree.
        C = np.zeros((n_nodes, n_leaves))
        c0 = np.zeros(n_leaves)
        pairs = []
        for leaf, (value, n_leaf, path) in enumerate(leaves):
            self.base += value * n_leaf / total
            feats = list(dict.fromkeys(f for _, _, f, _ in path))
            z = np.ones(len(feats))
            for _, _, f, ratio in path:
                z[feats.index(f)] *= ratio
            self.entries += len(feats) << len(path)
            if len(path) > _MAX_PATH or self.entries > _MAX_TABLE_ENTRIES:
                raise _Unsupported("model too large for the tables")
            table = _leaf_table(value, z)
            # From the split-level pattern to the feature-level one: o_j needs every split
            # on feature j along the path.
            masks = np.arange(1 << len(path))
            fmask = np.zeros(len(masks), dtype=np.int64)
            for b, f in enumerate(feats):
                need = sum(1 << i for i, (_, _, g, _) in enumerate(path) if g == f)
                fmask |= ((masks & need) == need).astype(np.int64) << b
            for i, (k, left, _, _) in enumerate(path):
                if left:
                    C[k, leaf] += 1 << i
                else:
                    C[k, leaf] -= 1 << i
                    c0[leaf] += 1 << i
            pairs += [(f, leaf, table[b][fmask]) for b, f in enumerate(feats)]
        pairs.sort(key=lambda t: t[0])
        feature = np.array([f for f, _, _ in pairs])
        uniq, starts = np.unique(feature, return_index=True)
        sizes = np.array([len(t) for _, _, t in pairs])
        return {
            "split_feature": np.array([n["split_feature"] for n in nodes]),
            "threshold": np.array([float(n["threshold"]) for n in nodes]),
            "missing": [(k, bool(n["default_left"]), n["missing_type"])
                        for k, n in enumerate(nodes) if n["missing_type"] in ("Zero", "NaN")],
            "C": C, "c0": c0, "pow2": (1 << np.arange(n_nodes)).astype(np.intp),
            "flat": np.concatenate([t for _, _, t in pairs]),
            "offset": np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp),
            "leaf": np.array([leaf for _, leaf, _ in pairs]),
            "features": uniq, "starts": starts,
        }

    def __call__(self, A: np.ndarray) -> np.ndarray:
        n = len(A)
        XF = np.ascontiguousarray(np.asarray(A, dtype=np.float64).T)  # one row per feature
        nan = np.isnan(XF)
        X0 = np.where(nan, 0.0, XF) if nan.any() else XF  # LightGBM reads NaN as 0 ...
        phi = np.zeros((self.n_features + 1, n))
        phi[-1] = self.base
        slot = np.full(1 << _MAX_PATH, -1, dtype=np.intp)
        rows = np.arange(n)
        for t in self.trees:
            go = np.empty((len(t["threshold"]), n), dtype=bool)
            for k, (f, thr) in enumerate(zip(t["split_feature"], t["threshold"], strict=True)):
                np.less_equal(X0[f], thr, out=go[k])
            for k, default_left, kind in t["missing"]:  # ... unless the split says otherwise
                f = t["split_feature"][k]
                hit = nan[f] if kind == "NaN" else np.abs(X0[f]) <= _ZERO
                go[k, hit] = default_left
            # Integer arithmetic: a float matmul on a boolean array is many times slower.
            pattern = np.einsum("k,kn->n", t["pow2"], go.view(np.int8).astype(np.intp))
            # Distinct patterns without sorting: patterns are small integers.
            slot[pattern] = 0
            seen = np.flatnonzero(slot >= 0)
            slot[seen] = np.arange(len(seen))
            inverse = slot[pattern]
            slot[seen] = -1
            first = np.empty(len(seen), dtype=np.intp)
            first[inverse] = rows
            codes = (go[:, first].T.astype(np.float64) @ t["C"] + t["c0"]).astype(np.intp)
            values = t["flat"][codes[:, t["leaf"]] + t["offset"]]
            per_feature = np.add.reduceat(values, t["starts"], axis=1).T.copy()
            for g, f in enumerate(t["features"]):
                phi[f] += per_feature[g].take(inverse)
        return phi.T


_SHAP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _vectorised(booster):
    """The tables for a booster, built once (about a second for the packaged shape)."""
    found = _SHAP_CACHE.get(booster)
    if found is None:
        try:
            found = _TreeShap(booster)
        except _Unsupported as why:
            # Said once per model, so a slow monthly run can be traced to its cause.
            log.info("TreeSHAP tables not built (%s); using LightGBM's pred_contrib", why)
            found = False
        _SHAP_CACHE[booster] = found
    return found or None


def _tree_contributions(base, A: np.ndarray, method: str) -> np.ndarray:
    if method == "auto" and len(A) < _FEW_ROWS and base.booster_ not in _SHAP_CACHE:
        # building the tables costs more than a few rows of pred_contrib
        log.debug("TreeSHAP: %d rows, under %d and no tables built: pred_contrib", len(A),
                  _FEW_ROWS)
        method = "lightgbm"
    if method in ("auto", "vectorised"):
        fast = _vectorised(base.booster_)
        if fast is not None:
            return fast(A)
        method = "lightgbm"
    if method == "lightgbm":
        return np.asarray(base.booster_.predict(np.ascontiguousarray(A), pred_contrib=True,
                                                num_threads=int(getattr(base, "n_jobs", 1))))
    import shap

    explainer = shap.TreeExplainer(base.booster_, feature_perturbation="tree_path_dependent")
    with warnings.catch_warnings():  # shap notes a change of output shape it handles below
        warnings.simplefilter("ignore", UserWarning)
        values = explainer.shap_values(A, check_additivity=False)
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    base_value = np.ravel(explainer.expected_value)[-1]
    return np.column_stack([np.asarray(values, dtype=np.float64),
                            np.full(len(A), float(base_value))])


def _logit(p: float) -> float:
    p = float(np.clip(p, 1e-9, 1 - 1e-9))  # as RuleClassifier.decision_function
    return float(np.log(p / (1 - p)))


def _rule_contributions(base, A: np.ndarray) -> np.ndarray:
    """Exact Shapley values against a child who meets neither condition of the rule.

    The rule's margin takes two values; the jump from "not flagged" to "flagged" is shared
    equally by the conditions the child meets (both conditions alone would flag, so each
    is worth the same).
    """
    features = list(base.feature_names_in_)
    low, high = _logit(base.rate_unflagged_), _logit(base.rate_flagged_)
    has_aces = base.ace_feature in features  # an extract without ACE factors: contacts alone
    a = (A[:, features.index(base.ace_feature)] >= base.min_aces if has_aces
         else np.zeros(len(A), dtype=bool))
    c = A[:, features.index(base.contacts_feature)] >= base.min_contacts
    met = a.astype(float) + c.astype(float)
    share = np.divide(high - low, met, out=np.zeros(len(A)), where=met > 0)
    out = np.zeros((len(A), len(features) + 1))
    if has_aces:
        out[:, features.index(base.ace_feature)] += np.where(a, share, 0.0)
    out[:, features.index(base.contacts_feature)] += np.where(c, share, 0.0)
    out[:, -1] = low
    return out


def feature_contributions(model, X, *, method: str = "auto") -> pd.DataFrame:
    """Each feature's additive contribution to each row's margin, and the base value.

    Parameters
    ----------
    model : fitted model
        A :class:`~riskmodel.models.CalibratedModel` (its base model's margin is
        explained), a base candidate (rule, logistic, LightGBM) or a loaded model.
    X : DataFrame or array of shape (n_rows, n_features)
        The rows to explain; a DataFrame needs every feature column of the model (others
        are ignored), an array must hold them in the model's order.
    method : {"auto", "vectorised", "lightgbm", "shap"}, default="auto"
        For LightGBM models, how the (identical) TreeSHAP values are computed: the
        vectorised tables of this module, LightGBM's ``pred_contrib`` or shap's
        ``TreeExplainer``. ``"auto"`` is the vectorised form where it applies (the fastest,
        measured), else ``pred_contrib``.

    Returns
    -------
    DataFrame
        One column per feature (the model's order) and a last column ``base_value``, on the
        log-odds scale; each row sums to ``model.decision_function(X)``. The index is
        ``X``'s index when ``X`` is a DataFrame.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> m = LogisticClassifier().fit(X, (X.a + rng.normal(size=300) > 0).astype(int))
    >>> c = feature_contributions(m, X.head(3))
    >>> list(c.columns)
    ['a', 'b', 'base_value']
    >>> bool(np.allclose(c.sum(axis=1), m.decision_function(X.head(3))))
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    base = _base_model(model)
    kind = _kind(base)
    A = _design(base, X)
    if kind == "lightgbm":
        values = _tree_contributions(base, A, method)
    elif kind == "logistic":
        scaled = (A - base.mean_) / base.scale_
        values = np.column_stack([scaled * base.coef_, np.full(len(A), base.intercept_)])
    else:
        values = _rule_contributions(base, A)
    index = X.index if isinstance(X, pd.DataFrame) else None
    return pd.DataFrame(values, columns=[*base.feature_names_in_, BASE_VALUE], index=index,
                        copy=False)
