"""SHAP explanations of a model: what drives it overall, and one example child's score.

The contributions are the same ones scoring turns into each child's reasons
(:func:`riskmodel.models.feature_contributions`): TreeSHAP for LightGBM, exact linear SHAP
for logistic regression, exact Shapley values for the simple rule. They explain the model's
*margin* (log-odds before calibration), so for every row the base value plus the
contributions equals the margin. Here they are wrapped in a :class:`shap.Explanation` for
shap's plots, ranked by mean absolute contribution, and put into the feature dictionary's
plain words.

The example child's waterfall never shows who the child is: the child is picked by a rule
(the median-risk child among those in capacity at the latest as-of date) and labelled "an
example child"; no id or date of birth is read into the report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel._core.io import write_text
from riskmodel.features import describe_feature, lookup
from riskmodel.models import BASE_VALUE, KINDS, feature_contributions, kind_of

DEFAULT_CAPACITY = Capacity.parse("10%").to_spec()
# Base value + contributions must equal the margin to this (log-odds) for every row explained.
ADDITIVITY_TOLERANCE = 1e-6


def _unwrap(model):
    """(scoring model, meta or None, a name for the report) from a LoadedModel or estimator."""
    if hasattr(model, "meta") and hasattr(model, "model"):
        return model.model, model.meta, f"{model.name} version {model.version}"
    return model, None, type(getattr(model, "base_", model)).__name__


def _kind(model) -> str:
    base = getattr(model, "base_", model)
    kind = getattr(base, "kind", None)
    if kind not in KINDS:
        raise InputError(f"explain: cannot explain a {type(base).__name__}; expected a "
                         "riskmodel candidate model")
    return kind


def _descriptions(features: list[str], feature_dictionary,
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


def example_row(frame: pd.DataFrame, score, *, capacity=None) -> int:
    """The position of the example child: the median-risk child in capacity.

    Only the latest as-of date is used (when the frame has ``as_of``); capacity is the
    model's (top percent overall, or top N per locality). Ties in the score are broken by
    the row's position, so the same frame always gives the same child.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"locality": ["a"] * 10})
    >>> example_row(f, [0.1 * i for i in range(10)], capacity=Capacity.parse("30%").to_spec())
    8
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
    chosen = rows[flags] if flags.any() else rows
    order = np.lexsort((chosen, score[chosen]))
    return int(chosen[order[(len(order) - 1) // 2]])


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
    example : int
        Position (in ``data``) of the example child.
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
    example: int
    as_of: list = field(default_factory=list)
    n_total: int = 0
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

    def local(self, row: int | None = None, *, n: int | None = None) -> pd.DataFrame:
        """One row's contributions in plain words, largest (absolute) first.

        Returns
        -------
        DataFrame
            ``feature``, ``words`` (the child's value in words), ``value``,
            ``contribution`` (log-odds), ``effect`` ("raises risk" / "lowers risk").
        """
        i = self.example if row is None else int(row)
        vals = self.values[i]
        order = np.lexsort((np.arange(len(vals)), -np.abs(vals)))
        order = [j for j in order if abs(vals[j]) > 0][: n or len(order)]
        x = self.data.iloc[i]
        return pd.DataFrame({
            "feature": [self.feature_names[j] for j in order],
            "words": [_describe_value(self.feature_names[j], float(x.iloc[j]), self.feature_spec)
                      for j in order],
            "value": [float(x.iloc[j]) for j in order],
            "contribution": [float(vals[j]) for j in order],
            "effect": ["raises risk" if vals[j] > 0 else "lowers risk" for j in order],
        })

    def to_shap(self, rows=None):
        """The explanation as a :class:`shap.Explanation` (for shap's plots)."""
        import shap

        idx = slice(None) if rows is None else rows
        return shap.Explanation(
            values=self.values[idx], base_values=self.base_values[idx],
            data=self.data.to_numpy(dtype=float, na_value=np.nan)[idx],
            feature_names=self.feature_names,
        )


def explain_model(model, matrix: pd.DataFrame, *, feature_dictionary=None,
                  max_rows: int | None = 2000, capacity=None,
                  random_state: int = 0) -> ModelExplanation:
    """Explain a model on the rows of a feature matrix.

    Parameters
    ----------
    model : LoadedModel or fitted model
        From :func:`riskmodel.store.load_model`, or a fitted
        :class:`~riskmodel.models.CalibratedModel` (or base candidate).
    matrix : DataFrame
        A feature matrix (:func:`riskmodel.features.build_matrix`) holding the model's
        features; ``as_of`` and ``locality`` are used to pick the example child.
    feature_dictionary : DataFrame, optional
        ``name`` and ``description`` columns (:func:`riskmodel.features.feature_dictionary`);
        default: the package's definitions of each feature.
    max_rows : int or None, default=2000
        Explain at most this many rows (a fixed random sample that always holds the
        example child); None explains every row.
    capacity : dict, optional
        a capacity's spec form (:meth:`Capacity.to_spec`); default: the model's, else the
        top 10%.
    random_state : int, default=0

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
    missing = [f for f in features if f not in matrix.columns]
    if missing:
        raise InputError(f"matrix: feature column {', '.join(missing[:3])} missing (the model "
                         "needs every feature it was trained on)")
    if matrix.empty:
        raise InputError("matrix: no rows to explain (is anyone open to early help at the "
                         "as-of date?)")
    if capacity is None:
        capacity = (meta or {}).get("capacity") or DEFAULT_CAPACITY
    X = matrix.loc[:, features].astype(float)
    score = est.predict_proba(X)[:, 1]
    ex_pos = example_row(matrix, score, capacity=capacity)
    rows = np.arange(len(matrix))
    if max_rows is not None and len(matrix) > max_rows:
        rng = np.random.default_rng(random_state)
        others = np.delete(rows, ex_pos)
        rows = np.sort(np.append(rng.choice(others, max_rows - 1, replace=False), ex_pos))
    Xs = X.iloc[rows].reset_index(drop=True)
    contrib = feature_contributions(est, Xs)
    margin = np.asarray(est.decision_function(Xs), dtype=float)
    as_of = (sorted({str(pd.Timestamp(d).date()) for d in matrix["as_of"].iloc[rows]})
             if "as_of" in matrix.columns else [])
    ex = ModelExplanation(
        values=contrib.drop(columns=BASE_VALUE).to_numpy(dtype=float),
        base_values=contrib[BASE_VALUE].to_numpy(dtype=float), data=Xs, margin=margin,
        score=score[rows], kind=kind, example=int(np.searchsorted(rows, ex_pos)), as_of=as_of,
        descriptions=_descriptions(features, feature_dictionary, (meta or {}).get("feature_spec")),
        n_total=len(matrix), model_name=name, capacity=dict(capacity),
        feature_spec=(meta or {}).get("feature_spec"),
    )
    error = ex.additivity_error()
    if not error <= ADDITIVITY_TOLERANCE:  # a bug, never a user error: refuse to report it
        raise RuntimeError(f"explain: contributions do not add up to the margin (largest "
                           f"difference {error:.2e} > {ADDITIVITY_TOLERANCE:g})")
    return ex


# ------------------------------------------------------------------ plots and report ---------

def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def explanation_figures(ex: ModelExplanation, *, top: int = 15,
                        n_dependence: int = 4) -> dict:
    """shap's plots of an explanation, as embeddable images.

    Returns
    -------
    dict
        ``bar`` and ``beeswarm`` (global), ``dependence`` (list of ``(feature, image)``
        for the top features that vary) and ``waterfall`` (the example child), each a
        ``data:image/png`` URI.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import shap

    from riskmodel.evaluation._html import figure_png

    expl = ex.to_shap()
    out = {}
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots(figsize=(8, 0.32 * top + 1.2))
        shap.plots.bar(expl, max_display=top, show=False, ax=ax)
        ax.set_xlabel("mean |contribution| (log-odds)")
        out["bar"] = figure_png(fig)

        fig, ax = plt.subplots(figsize=(8, 0.32 * top + 1.2))
        shap.plots.beeswarm(expl, max_display=top, show=False, ax=ax, plot_size=None)
        ax.set_xlabel("contribution to the margin (log-odds); right raises risk")
        out["beeswarm"] = figure_png(fig)

        out["dependence"] = []
        imp = ex.importance()
        for feature in imp["feature"]:
            if len(out["dependence"]) >= n_dependence:
                break
            j = ex.feature_names.index(feature)
            col = ex.data.iloc[:, j].to_numpy(dtype=float, na_value=np.nan)
            if np.nanstd(col) == 0 or not np.any(ex.values[:, j]):
                continue
            fig, ax = plt.subplots(figsize=(6, 3.6))
            shap.plots.scatter(expl[:, j], color=expl, show=False, ax=ax,
                               ylabel="contribution (log-odds)")
            ax.set_title(_short(ex.descriptions[feature], 70), fontsize=9)
            out["dependence"].append((feature, figure_png(fig)))

        i = ex.example
        words = [_short(_describe_value(f, float(ex.data.iloc[i, j]), ex.feature_spec), 60)
                 for j, f in enumerate(ex.feature_names)]
        child = shap.Explanation(values=ex.values[i], base_values=float(ex.base_values[i]),
                                 data=None, feature_names=words)
        shap.plots.waterfall(child, max_display=10, show=False)
        fig = plt.gcf()
        fig.set_size_inches(8, 4.8)
        fig.suptitle("An example child: what moved the score from the average", fontsize=10)
        out["waterfall"] = figure_png(fig)
    return out


def render_explanation(ex: ModelExplanation, *, title: str | None = None, top: int = 15,
                       note: str = "") -> str:
    """The self-contained HTML report of an explanation."""
    from riskmodel.evaluation._html import render

    imp = ex.importance()
    shown = imp[imp["mean_abs"] > 0].head(max(top, 20))
    local = ex.local(n=10)
    i = ex.example
    return render(
        "explain.html.j2",
        title=title or f"What drives the model: {ex.model_name}",
        ex=ex, importance=shown, n_used=int((imp["mean_abs"] > 0).sum()),
        local=local, figures=explanation_figures(ex, top=top),
        example={"score": float(ex.score[i]), "margin": float(ex.margin[i]),
                 "base": float(ex.base_values[i])},
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
    one example child's score (waterfall), all in the feature dictionary's plain words. It
    holds no child's id or date of birth.

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
    >>> "An example child" in p.read_text()
    True
    """
    ex = explain_model(model, matrix, feature_dictionary=feature_dictionary,
                       max_rows=max_rows, capacity=capacity)
    return write_text(render_explanation(ex, title=title), Path(out_path))
