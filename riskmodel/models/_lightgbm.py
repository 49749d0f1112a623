"""The LightGBM kind: gradient-boosted trees, explained by exact path-dependent TreeSHAP.

Contributions are LightGBM's own ``pred_contrib`` values (and shap's ``TreeExplainer``'s).
Both run the recursive algorithm row by row (milliseconds a row for a few hundred trees), too
slow for a monthly run's reasons, so ``method="auto"`` uses an exact vectorised form of the
same values (``"vectorised"``, below), measured many times faster in
``benchmarks/scoring.py``; it falls back to ``pred_contrib`` for shapes it does not cover
(categorical splits, trees of more than 16 splits).

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
from typing import Any

import numpy as np

from riskmodel.models._base import Base, as_frame
from riskmodel.models._kinds import Kind, register_kind

__all__ = ["LightGBMClassifier"]

log = logging.getLogger(__name__)

# Limits of the tabulated TreeSHAP: a leaf's table has 2**(splits on its path) entries per
# feature; deeper paths or larger models fall back to LightGBM's pred_contrib.
_MAX_PATH = 16
_MAX_TABLE_ENTRIES = 1 << 24
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this counts as zero
# Below this many rows, pred_contrib beats building the tables unless they are built already:
# measured 0.6 s to build for the packaged shape, then 0.04 ms a row against pred_contrib's
# 0.5 ms (docs/scoring.md), a break-even near 1,300 rows.
_FEW_ROWS = 1500



class LightGBMClassifier(Base):
    """Gradient-boosted trees (LightGBM), deterministic for a given seed.

    Parameters
    ----------
    n_estimators : int, default=300
    learning_rate : float, default=0.05
    num_leaves : int, default=15
    min_child_samples : int, default=50
    subsample, colsample_bytree : float, default=0.8
    reg_lambda : float, default=1.0
    random_state : int, default=0
    n_jobs : int, default=1
        Threads. One is the default because OpenMP threads on a busy 2-core machine were
        measured 10x slower than one thread; results do not depend on it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=400)})
    >>> y = (X.a + rng.normal(size=400) > 0).astype(int)
    >>> m = LightGBMClassifier(n_estimators=20).fit(X, y)
    >>> m.predict_proba(X).shape
    (400, 2)
    """

    kind = "lightgbm"

    def __init__(self, *, n_estimators: int = 300, learning_rate: float = 0.05,
                 num_leaves: int = 15, min_child_samples: int = 50, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, random_state: int = 0,
                 n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _lgb_params(self) -> dict:
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample, "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree, "lambda_l2": self.reg_lambda,
            # column-wise histograms: 1.35x faster than row-wise on these sparse count features
            "seed": self.random_state, "deterministic": True, "force_col_wise": True,
            "num_threads": self.n_jobs, "verbosity": -1,
        }

    def fit(self, X: Any, y: Any) -> LightGBMClassifier:
        import lightgbm as lgb

        self._set_features(X)
        data = lgb.Dataset(X.to_numpy(dtype=float), label=np.asarray(y, dtype=float),
                           feature_name=[str(c) for c in X.columns], free_raw_data=True)
        self.booster_ = lgb.train(self._lgb_params(), data, num_boost_round=self.n_estimators)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        A = as_frame(X, self.feature_names_in_).to_numpy(dtype=float)
        return np.asarray(self.booster_.predict(A, raw_score=True, num_threads=self.n_jobs))

    def margin_array(self, A: np.ndarray) -> np.ndarray:
        # Straight to the booster: no DataFrame round trip on the scoring hot path.
        return np.asarray(self.booster_.predict(A, raw_score=True,
                                                num_threads=int(self.n_jobs)))

    def used_features(self) -> np.ndarray:
        return self.booster_.feature_importance(importance_type="split") > 0

    #: Ways to compute the (identical) TreeSHAP values, besides "auto".
    methods = ("vectorised", "lightgbm", "shap")

    def contributions(self, A: np.ndarray, method: str = "auto") -> np.ndarray:
        """TreeSHAP contributions on the margin; the last column is the base value."""
        return tree_contributions(self, A, method)

    def state(self) -> dict:
        return {"booster": self.booster_.model_to_string()}

    def load_state(self, d: dict) -> None:
        import lightgbm as lgb

        self.booster_ = lgb.Booster(model_str=d["booster"])


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


def _count(node: dict) -> int:
    return node["internal_count"] if "split_feature" in node else node["leaf_count"]


def _flatten(root: dict) -> tuple[list, list, int]:
    """A tree's splits (in walk order) and its leaves (value, count, path to it), and its
    row count; a path is ``(split, goes left, feature, child count / parent count)`` steps."""
    nodes: list = []
    leaves: list = []

    def walk(node: dict, path: list) -> None:
        if "split_feature" not in node:
            leaves.append((float(node["leaf_value"]), _count(node), path))
            return
        if node["decision_type"] != "<=":
            raise _Unsupported("categorical split")
        k = len(nodes)
        nodes.append(node)
        c = _count(node)
        f = node["split_feature"]
        walk(node["left_child"], path + [(k, True, f, _count(node["left_child"]) / c)])
        walk(node["right_child"], path + [(k, False, f, _count(node["right_child"]) / c)])

    walk(root, [])
    return nodes, leaves, _count(root)


def _feature_masks(path: list, feats: list) -> np.ndarray:
    """From the split-level pattern to the feature-level one: ``o_j`` needs every split on
    feature ``j`` along the path."""
    masks = np.arange(1 << len(path))
    fmask = np.zeros(len(masks), dtype=np.int64)
    for b, f in enumerate(feats):
        need = sum(1 << i for i, (_, _, g, _) in enumerate(path) if g == f)
        fmask |= ((masks & need) == need).astype(np.int64) << b
    return fmask


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

    def _tree(self, root: dict) -> dict:
        nodes, leaves, total = _flatten(root)
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
            fmask = _feature_masks(path, feats)
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


def tree_contributions(base: LightGBMClassifier, A: np.ndarray,
                       method: str) -> np.ndarray:
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




register_kind(Kind(
    name=LightGBMClassifier.kind, estimator=LightGBMClassifier,
    words="gradient-boosted decision trees (LightGBM)",
    method_words="TreeSHAP (path-dependent), computed by LightGBM; identical to shap's "
                 "TreeExplainer",
))
