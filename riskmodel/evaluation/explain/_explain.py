"""SHAP explanations of a model: what drives it overall, and for the children in capacity.

The contributions are the same ones scoring turns into each child's reasons
(:func:`riskmodel.models.feature_contributions`): TreeSHAP for LightGBM, exact linear SHAP
for logistic regression, exact Shapley values for the simple rule. They explain the model's
*margin* (log-odds before calibration), so for every row the base value plus the
contributions equals the margin. Here they are wrapped in a :class:`shap.Explanation` for
shap's plots, ranked by mean absolute contribution, and put into the feature dictionary's
plain words.

The report shows no child's record. Every value it shows is shared by at least
``MIN_SHARED`` children or is an average over at least that many: the walk-through is of the
*children in capacity* at the latest as-of date as a group (their mean contributions, which
add up to their mean score, and for each feature the value most of them share, when at least
``MIN_SHARED`` do), the dependence plots show mean contributions over bins of at least
``MIN_SHARED`` children, and the number of children explained is a protected count
(:mod:`riskmodel.evaluation._disclosure`). A child's own reasons are in the private scores
file only.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel._core.io import write_text
from riskmodel.evaluation._disclosure import DEFAULT_BASE, protect_counts, record_keys
from riskmodel.features import describe_feature, lookup
from riskmodel.models import BASE_VALUE, KINDS, feature_contributions, kind_of

DEFAULT_CAPACITY = Capacity.parse("10%").to_spec()
# Every value the report shows is shared by, or averaged over, at least this many children.
MIN_SHARED = 10
# Base value + contributions must equal the margin to this (log-odds) for every row explained.
ADDITIVITY_TOLERANCE = 1e-6


def _unwrap(model: Any) -> tuple[Any, dict | None, str]:
    """(scoring model, meta or None, a name for the report) from a LoadedModel or estimator."""
    if hasattr(model, "meta") and hasattr(model, "model"):
        return model.model, model.meta, f"{model.name} version {model.version}"
    return model, None, type(getattr(model, "base_", model)).__name__


def _kind(model: Any) -> str:
    """The model kind of a riskmodel candidate (or its calibrated wrapper); else an input error."""
    base = getattr(model, "base_", model)
    kind = getattr(base, "kind", None)
    if not isinstance(kind, str) or kind not in KINDS:
        raise InputError(f"explain: cannot explain a {type(base).__name__}; expected a "
                         "riskmodel candidate model")
    return kind


def _descriptions(features: list[str], feature_dictionary: pd.DataFrame | None,
                  spec: dict | None = None) -> dict[str, str]:
    """Plain words for each feature: the given dictionary, else the package's definitions."""
    given = {}
    if feature_dictionary is not None:
        fd = pd.DataFrame(feature_dictionary)
        if not {"name", "description"} <= set(fd.columns):
            raise InputError("feature_dictionary: expected columns 'name' and 'description'")
        given = dict(zip(fd["name"].astype(str), fd["description"].astype(str), strict=True))
    out = {}
    for f in features:
        if f in given:
            out[f] = given[f]
            continue
        try:
            out[f] = lookup(f, spec).description
        except InputError:
            out[f] = f.replace("_", " ")
    return out


def _describe_value(name: str, value, spec: dict | None = None) -> str:
    v = None if value is None or not np.isfinite(value) else (
        int(value) if float(value).is_integer() else float(value))
    try:
        return describe_feature(name, v, spec)
    except InputError:
        return f"{name} = {v}"


def capacity_rows(frame: pd.DataFrame, score: np.ndarray | list[float], *,
                  capacity: dict | None = None) -> np.ndarray:
    """The positions of the children in capacity at the latest as-of date.

    Only the latest as-of date is used (when the frame has ``as_of``); capacity is the
    model's (top percent overall, or top N per locality).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"locality": ["a"] * 10})
    >>> capacity_rows(f, [0.1 * i for i in range(10)],
    ...               capacity=Capacity.parse("30%").to_spec()).tolist()
    [7, 8, 9]
    """
    cap = dict(DEFAULT_CAPACITY if capacity is None else capacity)
    score = np.asarray(score, dtype=float)
    rows = np.arange(len(frame))
    if "as_of" in frame.columns and len(frame):
        rows = np.flatnonzero((frame["as_of"] == frame["as_of"].max()).to_numpy())
    sub = frame.iloc[rows][[c for c in ("as_of", "locality") if c in frame.columns]].copy()
    sub["score"] = score[rows]
    if "locality" not in sub.columns:
        sub["locality"] = "all"
    flags = Capacity.from_spec(cap).select(sub, score="score")
    return rows[np.asarray(flags, bool)]


def shared_value(values: np.ndarray | pd.Series, *, min_children: int = MIN_SHARED
                 ) -> float | None:
    """The group's median value if at least ``min_children`` of them have exactly it, else
    None (the value would be too close to one child's to show).

    Examples
    --------
    >>> shared_value([0] * 12 + [1, 7, 9]), shared_value(list(range(15)))
    (0.0, None)
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    if len(x) < min_children:
        return None
    med = float(np.sort(x)[(len(x) - 1) // 2])
    return med if int((x == med).sum()) >= min_children else None


@dataclass
class ModelExplanation:
    """Contributions of every explained row, with what is needed to read them.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features)
        Each feature's contribution to each row's margin (log-odds).
    base_values : ndarray of shape (n_rows,)
    data : DataFrame
        The explained rows' feature values (no ids).
    margin, score : ndarray
        The model's margin and calibrated probability for each row.
    descriptions : dict
        Plain words for each feature, from the feature dictionary.
    kind : str
        The model's kind (a name in :data:`riskmodel.models.KINDS`).
    group : ndarray of int
        Positions (in ``data``) of the children walked through: those in capacity at the
        latest as-of date, or every explained row when fewer than ``MIN_SHARED`` are.
    n_published, group_published : int
        The number of rows and of the group, protected for publication.
    as_of : list of str
        The as-of dates of the explained rows.
    """

    values: np.ndarray
    base_values: np.ndarray
    data: pd.DataFrame
    margin: np.ndarray
    score: np.ndarray
    descriptions: dict
    kind: str
    group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    as_of: list = field(default_factory=list)
    n_total: int = 0
    n_published: int = 0
    group_published: int = 0
    group_words: str = ""
    model_name: str = ""
    capacity: dict = field(default_factory=dict)
    #: The feature spec recorded with the model: the words of its features.
    feature_spec: dict | None = None

    @property
    def feature_names(self) -> list[str]:
        return list(self.data.columns)

    @property
    def method(self) -> str:
        return kind_of(self.kind).method_words

    def additivity_error(self) -> float:
        """Largest ``|base value + sum of contributions - margin|`` over the rows."""
        if not len(self.margin):
            return 0.0
        return float(np.max(np.abs(self.base_values + self.values.sum(axis=1) - self.margin)))

    def importance(self) -> pd.DataFrame:
        """Features ranked by mean absolute contribution (global importance).

        Returns
        -------
        DataFrame
            ``rank``, ``feature``, ``description`` (plain words), ``mean_abs`` (log-odds),
            ``share`` (of the total), ``direction`` (how higher values move the score).
        """
        mean_abs = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(
            len(self.feature_names))
        total = mean_abs.sum()
        out = pd.DataFrame({
            "feature": self.feature_names,
            "description": [self.descriptions[f] for f in self.feature_names],
            "mean_abs": mean_abs,
            "share": mean_abs / total if total > 0 else 0.0,
            "direction": [self._direction(j) for j in range(len(self.feature_names))],
        })
        out = out.sort_values(["mean_abs", "feature"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
        out.insert(0, "rank", np.arange(1, len(out) + 1))
        return out

    def _direction(self, j: int) -> str:
        x = self.data.iloc[:, j].to_numpy(dtype=float, na_value=np.nan)
        v = self.values[:, j]
        ok = np.isfinite(x)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(v[ok]) == 0:
            return "no effect" if not np.any(v) else "mixed"
        r = np.corrcoef(x[ok], v[ok])[0, 1]
        if r > 0.3:
            return "higher values raise risk"
        if r < -0.3:
            return "higher values lower risk"
        return "mixed"

    def local(self, row: int, *, n: int | None = None) -> pd.DataFrame:
        """One row's contributions in plain words, largest (absolute) first (private: a
        child's own reasons; never put into a report).

        Returns
        -------
        DataFrame
            ``feature``, ``words`` (the child's value in words), ``value``,
            ``contribution`` (log-odds), ``effect`` ("raises risk" / "lowers risk").
        """
        i = int(row)
        vals = self.values[i]
        ranked = np.lexsort((np.arange(len(vals)), -np.abs(vals)))
        order = [int(j) for j in ranked if abs(vals[j]) > 0][: n or len(ranked)]
        x = self.data.iloc[i]
        return pd.DataFrame({
            "feature": [self.feature_names[j] for j in order],
            "words": [_describe_value(self.feature_names[j], float(x.iloc[j]), self.feature_spec)
                      for j in order],
            "value": [float(x.iloc[j]) for j in order],
            "contribution": [float(vals[j]) for j in order],
            "effect": ["raises risk" if vals[j] > 0 else "lowers risk" for j in order],
        })

    def archetype(self, *, n: int | None = None) -> pd.DataFrame:
        """The group's mean contributions in plain words, largest (absolute) first.

        The mean contributions add up, with the mean base value, to the group's mean score
        (log-odds). A feature's value is shown in words only when at least ``MIN_SHARED``
        of the group share it (:func:`shared_value`); otherwise ``"varies"``.

        Returns
        -------
        DataFrame
            ``feature``, ``words``, ``contribution`` (mean, log-odds), ``effect``.
        """
        vals = self.values[self.group].mean(axis=0) if len(self.group) else \
            np.zeros(len(self.feature_names))
        ranked = np.lexsort((np.arange(len(vals)), -np.abs(vals)))
        order = [int(j) for j in ranked if abs(vals[j]) > 0][: n or len(ranked)]
        words = []
        for j in order:
            v = shared_value(self.data.iloc[self.group, j])
            words.append("varies" if v is None
                         else _describe_value(self.feature_names[j], v, self.feature_spec))
        return pd.DataFrame({
            "feature": [self.feature_names[j] for j in order], "words": words,
            "contribution": [float(vals[j]) for j in order],
            "effect": ["raises risk" if vals[j] > 0 else "lowers risk" for j in order],
        })

    def to_shap(self, rows=None, names: list[str] | None = None):
        """The explanation as a :class:`shap.Explanation` (for shap's plots), its features
        under ``names`` (default: their column names)."""
        import shap

        idx = slice(None) if rows is None else rows
        return shap.Explanation(
            values=self.values[idx], base_values=self.base_values[idx],
            data=self.data.to_numpy(dtype=float, na_value=np.nan)[idx],
            feature_names=names or self.feature_names,
        )


def _published_sizes(matrix: pd.DataFrame, group_rows: np.ndarray, base: int
                     ) -> tuple[int, int]:
    """The number of rows and of the walked-through group, protected by their cell keys."""
    cols = [c for c in ("child_id", "as_of") if c in matrix.columns]
    ids = (matrix[cols].astype(str).agg("|".join, axis=1) if "child_id" in cols
           else pd.Series(np.arange(len(matrix)).astype(str)))
    masks = np.ones((2, len(matrix)), bool)
    masks[1] = False
    masks[1, group_rows] = True
    n, g = protect_counts(masks, record_keys(ids), base)
    return int(n), int(g)


def _explanation(est, matrix: pd.DataFrame, features: list[str], capacity: dict,
                 max_rows: int | None, random_state: int, base: int) -> ModelExplanation:
    """Contributions of the (sampled) rows and the group walked through."""
    X = matrix.loc[:, features].astype(float)
    score = est.predict_proba(X)[:, 1]
    in_cap = capacity_rows(matrix, score, capacity=capacity)
    rows = np.arange(len(matrix))
    if max_rows is not None and len(matrix) > max_rows:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(rows, max_rows, replace=False))
    Xs = X.iloc[rows].reset_index(drop=True)
    contrib = feature_contributions(est, Xs)
    group = np.flatnonzero(np.isin(rows, in_cap))
    words = "the children in capacity at the latest as-of date"
    if len(group) < MIN_SHARED:
        group, words = np.arange(len(rows)), "every child explained"
    as_of = (sorted({str(pd.Timestamp(d).date()) for d in matrix["as_of"].iloc[rows]})
             if "as_of" in matrix.columns else [])
    n_pub, group_pub = _published_sizes(matrix, rows[group], base)
    ex = ModelExplanation(
        values=contrib.drop(columns=BASE_VALUE).to_numpy(dtype=float),
        base_values=contrib[BASE_VALUE].to_numpy(dtype=float), data=Xs,
        margin=np.asarray(est.decision_function(Xs), dtype=float),
        score=score[rows], descriptions={}, kind="", group=group, as_of=as_of,
        n_total=len(matrix), n_published=n_pub, group_published=group_pub,
        group_words=words, capacity=dict(capacity),
    )
    return ex


def _check_matrix(matrix: pd.DataFrame, features: list[str]) -> None:
    """Refuse (an input error) a matrix without every model feature or without rows."""
    missing = [f for f in features if f not in matrix.columns]
    if missing:
        raise InputError(f"matrix: feature column {', '.join(missing[:3])} missing (the model "
                         "needs every feature it was trained on)")
    if matrix.empty:
        raise InputError("matrix: no rows to explain (is anyone open to early help at the "
                         "as-of date?)")


def explain_model(model: object, matrix: pd.DataFrame, *,
                  feature_dictionary: pd.DataFrame | None = None,
                  max_rows: int | None = 2000, capacity: dict | None = None,
                  random_state: int = 0, base: int = DEFAULT_BASE) -> ModelExplanation:
    """Explain a model on the rows of a feature matrix.

    Parameters
    ----------
    model : LoadedModel or fitted model
        From :func:`riskmodel.store.load_model`, or a fitted
        :class:`~riskmodel.models.CalibratedModel` (or base candidate).
    matrix : DataFrame
        A feature matrix (:func:`riskmodel.features.build_matrix`) holding the model's
        features; ``as_of`` and ``locality`` are used to find the children in capacity.
    feature_dictionary : DataFrame, optional
        ``name`` and ``description`` columns (:func:`riskmodel.features.feature_dictionary`);
        default: the package's definitions of each feature.
    max_rows : int or None, default=2000
        Explain at most this many rows (a fixed random sample); None explains every row.
    capacity : dict, optional
        a capacity's spec form (:meth:`Capacity.to_spec`); default: the model's, else the
        top 10%.
    random_state : int, default=0
    base : int, default=5
        The rounding base of published counts (the fairness policy's ``min_count``).

    Returns
    -------
    ModelExplanation

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ace_total_all_count": rng.poisson(2, 400),
    ...                   "contacts_total_12m_count": rng.poisson(1, 400)})
    >>> y = (X.ace_total_all_count + rng.normal(size=400) > 3).astype(int)
    >>> ex = explain_model(LogisticClassifier().fit(X, y), X)
    >>> ex.importance()["feature"].iloc[0], ex.additivity_error() < 1e-9
    ('ace_total_all_count', True)
    """
    est, meta, name = _unwrap(model)
    kind = _kind(est)
    features = list(est.feature_names_in_)
    _check_matrix(matrix, features)
    if capacity is None:
        capacity = (meta or {}).get("capacity") or DEFAULT_CAPACITY
    ex = _explanation(est, matrix, features, capacity, max_rows, random_state, base)
    spec = (meta or {}).get("feature_spec")
    ex.descriptions = _descriptions(features, feature_dictionary, spec)
    ex.kind, ex.model_name, ex.feature_spec = kind, name, spec
    error = ex.additivity_error()
    if not error <= ADDITIVITY_TOLERANCE:  # a bug, never a user error: refuse to report it
        raise RuntimeError(f"explain: contributions do not add up to the margin (largest "
                           f"difference {error:.2e} > {ADDITIVITY_TOLERANCE:g})")
    return ex


# ------------------------------------------------------------------ plots and report ---------

def chart_label(text: str, width: int = 50) -> str:
    """A feature's words for a chart: wrapped onto lines, never cut short (#26 item 9).

    Examples
    --------
    >>> print(chart_label("Number of police contacts recorded at any time before the as-of date."))
    Number of police contacts recorded at any time
    before the as-of date
    """
    return textwrap.fill(str(text).rstrip("."), width, break_on_hyphens=False,
                         break_long_words=False)


def binned_dependence(x: np.ndarray, contribution: np.ndarray, *,
                      min_children: int = MIN_SHARED) -> pd.DataFrame:
    """Mean value and mean contribution over bins of at least ``min_children`` children.

    Children are sorted by value; a bin never splits equal values, and closes once it holds
    ``min_children`` (the last, short one joins the bin before it). Missing values are left
    out.

    Examples
    --------
    >>> b = binned_dependence(np.arange(25.0), np.arange(25.0) / 10)
    >>> b["children"].tolist(), b["value"].tolist()
    ([10, 15], [4.5, 17.0])
    """
    ok = np.isfinite(x)
    x, c = np.asarray(x, float)[ok], np.asarray(contribution, float)[ok]
    order = np.argsort(x, kind="stable")
    x, c = x[order], c[order]
    values, starts = np.unique(x, return_index=True)
    bins, current = [], []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(x)
        current += list(range(start, end))
        if len(current) >= min_children:
            bins.append(current)
            current = []
    if current and bins:
        bins[-1] += current
    return pd.DataFrame({"children": [len(b) for b in bins],
                         "value": [float(x[b].mean()) for b in bins],
                         "contribution": [float(c[b].mean()) for b in bins]})


def explanation_figures(ex: ModelExplanation, *, top: int = 15,
                        n_dependence: int = 4) -> dict:
    """shap's plots of an explanation, as embeddable images, showing no child's values.

    Returns
    -------
    dict
        ``bar`` (global importance: mean absolute contributions), ``dependence`` (list of
        ``(feature, image)``: mean contribution over bins of at least ``MIN_SHARED``
        children, for the top features that vary) and ``waterfall`` (the group's mean
        contributions), each a ``data:image/png`` URI.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import shap

    from riskmodel.evaluation._html import figure_png

    out: dict[str, Any] = {}
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots()
        words = [chart_label(ex.descriptions[f], 60) for f in ex.feature_names]
        shap.plots.bar(ex.to_shap(names=words), max_display=top, show=False, ax=ax)
        fig.set_size_inches(9, 0.6 * (top + 1) + 1)  # shap sizes it for labels of one line
        ax.set_xlabel("mean |contribution| (log-odds)")
        out["bar"] = figure_png(fig)
        out["dependence"] = _dependence_figures(ex, n_dependence)
        group = ex.archetype()
        labels = {r.feature: chart_label(r.words) for r in group.itertuples()
                  if r.words != "varies"}
        mean = ex.values[ex.group].mean(axis=0)
        child = shap.Explanation(
            values=mean, base_values=float(ex.base_values[ex.group].mean()), data=None,
            feature_names=[labels.get(f, chart_label(ex.descriptions[f]))
                           for f in ex.feature_names])
        shap.plots.waterfall(child, max_display=10, show=False)
        fig = plt.gcf()
        fig.set_size_inches(8, 7)
        fig.suptitle(textwrap.fill(f"{ex.group_words.capitalize()}: what moved their scores "
                                   "from the average, on average", 90), fontsize=10)
        out["waterfall"] = figure_png(fig)
    return out


def _dependence_figures(ex: ModelExplanation, n: int) -> list[tuple[str, str]]:
    import matplotlib.pyplot as plt

    from riskmodel.evaluation._html import figure_png

    out: list[tuple[str, str]] = []
    for feature in ex.importance()["feature"]:
        if len(out) >= n:
            break
        j = ex.feature_names.index(feature)
        col = ex.data.iloc[:, j].to_numpy(dtype=float, na_value=np.nan)
        b = binned_dependence(col, ex.values[:, j])
        if len(b) < 2 or not np.any(ex.values[:, j]):
            continue
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.plot(b["value"], b["contribution"], marker="o")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel(f"recorded value (each point: the mean of at least {MIN_SHARED} "
                      "children)")
        ax.set_ylabel("mean contribution (log-odds)")
        # the title wraps: a feature's words are never cut short (#26 item 9)
        ax.set_title(chart_label(ex.descriptions[feature], 80), fontsize=9)
        out.append((feature, figure_png(fig)))
    return out


def render_explanation(ex: ModelExplanation, *, title: str | None = None, top: int = 15,
                       note: str = "") -> str:
    """The self-contained HTML report of an explanation (no child's record in it)."""
    from riskmodel.evaluation._html import render

    imp = ex.importance()
    shown = imp[imp["mean_abs"] > 0].head(max(top, 20))
    g = ex.group
    return render(
        "explain.html.j2",
        title=title or f"What drives the model: {ex.model_name}",
        ex=ex, importance=shown, n_used=int((imp["mean_abs"] > 0).sum()),
        local=ex.archetype(n=10), figures=explanation_figures(ex, top=top),
        example={"score": float(ex.score[g].mean()), "margin": float(ex.margin[g].mean()),
                 "base": float(ex.base_values[g].mean()), "children": ex.group_published,
                 "words": ex.group_words, "min_shared": MIN_SHARED},
        sample=len(ex.data) < ex.n_total,
        capacity_words=_capacity_words(ex.capacity), note=note,
        generated=dt.date.today().isoformat(),
    )


def _capacity_words(cap: dict) -> str:
    c = Capacity.from_spec(cap)
    if c.per_locality:
        return f"the top {int(c.value)} scores in each locality"
    return f"the top {c.value:g}% of scores"


def write_explanation_report(model, matrix: pd.DataFrame, out_path, *,
                             feature_dictionary=None, max_rows: int | None = 2000,
                             capacity=None, title: str | None = None) -> Path:
    """Explain a model on a feature matrix and write the self-contained HTML report.

    The report ranks the features by mean absolute SHAP contribution (bar and beeswarm),
    shows how the top features' values move the score (dependence plots) and walks through
    the children in capacity as a group (their mean contributions, waterfall), all in the
    feature dictionary's plain words. It holds no child's record: every value shown is shared
    by, or averaged over, at least ``MIN_SHARED`` children.

    Parameters
    ----------
    model : LoadedModel or fitted model
        As for :func:`explain_model`.
    matrix : DataFrame
        The rows to explain (a feature matrix at one or more as-of dates).
    out_path : path
        The HTML file to write (atomically).
    feature_dictionary, max_rows, capacity
        As for :func:`explain_model`.
    title : str, optional

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd
    >>> from riskmodel.models import LogisticClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ace_total_all_count": rng.poisson(2, 300),
    ...                   "contacts_total_12m_count": rng.poisson(1, 300)})
    >>> y = (X.ace_total_all_count + rng.normal(size=300) > 3).astype(int)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "explain.html"
    >>> p = write_explanation_report(LogisticClassifier().fit(X, y), X, out)
    >>> "The children in capacity, as a group" in p.read_text()
    True
    """
    ex = explain_model(model, matrix, feature_dictionary=feature_dictionary,
                       max_rows=max_rows, capacity=capacity)
    return write_text(render_explanation(ex, title=title), Path(out_path))
