"""What the model store holds about a model, and the helpers that put those facts in words.

Every figure is an aggregate logged at training time: the registered version, its training
run's parameters, tags and spec, its out-of-time test metrics and the leaderboard of every
candidate. Nothing here reads a file or the store; :mod:`riskmodel.jobs.card` gathers the
facts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel.evaluation.card._document import Table
from riskmodel.features import builder_words
from riskmodel.models import KINDS

MIN_COUNT = 5

OUTCOME_WORDS = {
    "escalation": "escalation: a step-up from early help to children's social care (a "
                  "child-in-need, child-protection or looked-after episode starts, or the "
                  "early-help episode closes as escalated)",
    "disengagement": "disengagement: the family declines or drops out of its early-help "
                     "support plan (the open early-help episode closes as disengaged or "
                     "declined)",
}
def _kind_words(kind: str) -> str:
    """What a model of this kind is, in the kind's own words (its name if not registered)."""
    return KINDS[kind].words if kind in KINDS else kind


METRIC_WORDS = {
    "base_rate": "share of children who had the outcome (base rate)",
    "auc": "ranking quality (AUC; 0.5 is chance)",
    "average_precision": "average precision (area under the precision-recall curve)",
    "brier": "Brier score (mean squared error of the probability; lower is better)",
    "calibration_error": "calibration error (mean gap between predicted and observed rates)",
    "precision_at_capacity": "of the children flagged at capacity, the share who had the outcome",
    "recall_at_capacity": "of the children who had the outcome, the share flagged at capacity",
}
# Characteristics the fairness audit may cover; any of them used as a model input is named.
CHARACTERISTICS = ("ethnicity", "sex", "disability", "age_band", "imd_quintile", "locality")


# ------------------------------------------------------------------ what MLflow holds --------

@dataclass
class ModelFacts:
    """Everything the documents are filled from (aggregates only)."""

    uri: str
    name: str
    version: str
    aliases: list[str]
    registered: str
    run_id: str
    meta: dict
    params: dict
    tags: dict
    parent_params: dict
    parent_metrics: dict
    leaderboard: pd.DataFrame | None
    by_locality: pd.DataFrame | None
    fairness: dict | None
    fairness_source: str
    #: The training run's metrics at each test date with its ``period`` (``final`` or
    #: ``selection``): which dates the test metrics were measured on.
    per_date: pd.DataFrame | None = None


# ------------------------------------------------------------------ facts in words ----------

def final_dates(facts: ModelFacts) -> tuple[list[str], list[str]]:
    """The dates the test metrics were measured on, and the earlier dates that chose the model.

    The training run's per-date table says which test dates are the final out-of-time period
    (never used to choose or tune); without it, every test date is taken as final.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pd_ = pd.DataFrame({"as_of": ["2024-01-01", "2024-04-01", "2024-07-01"],
    ...                     "period": ["selection", "final", "final"]})
    >>> final_dates(SimpleNamespace(per_date=pd_, tags={}))
    (['2024-04-01', '2024-07-01'], ['2024-01-01'])
    """
    every = [str(d) for d in (facts.tags.get("test_dates") or [])]
    pdt = facts.per_date
    if pdt is None or pdt.empty or "period" not in pdt:
        return every, []
    period = pdt.assign(as_of=pdt["as_of"].astype(str).str[:10]).groupby("as_of")["period"]
    final = sorted(d for d, p in period.first().items() if p == "final")
    chosen = sorted(d for d, p in period.first().items() if p != "final")
    return final, chosen


def tested_dates(facts: ModelFacts) -> str:
    """The out-of-time test dates the metrics were measured on, as a list in words (with the
    earlier dates that chose the model, as the leaderboard names them).

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    str
        The dates joined by commas, or a note that the training run recorded none.
    """
    final, chosen = final_dates(facts)
    if not final:
        return "not recorded in the training run"
    if not chosen:
        return ", ".join(final)
    return (f"{', '.join(final)} (the final out-of-time period, never used to choose or tune; "
            f"chosen on {len(chosen)} earlier dates {chosen[0]} to {chosen[-1]})")


def metrics_frame(facts: ModelFacts) -> pd.DataFrame:
    """The model's test metrics, one row per metric.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric``, with ``value``, ``low``, ``high`` (95% interval) and ``n``.
    """
    return pd.DataFrame(facts.meta.get("test_metrics") or []).set_index("metric")


def interval_words(m: pd.DataFrame, metric: str, *, percent: bool = False) -> str:
    """A metric with its 95% interval, in words.

    Parameters
    ----------
    m : pandas.DataFrame
        The test metrics, as :func:`metrics_frame` gives them.
    metric : str
        The metric to show.
    percent : bool, default=False
        Show the figures as percentages.

    Returns
    -------
    str

    Examples
    --------
    >>> m = pd.DataFrame({"value": [0.5], "low": [0.4], "high": [0.6]}, index=["recall"])
    >>> interval_words(m, "recall", percent=True)
    '50.0% (95% interval 40.0% to 60.0%)'
    >>> interval_words(m, "auc")
    'not defined on the test data'
    """
    if metric not in m.index or not finite(m.loc[metric, "value"]):
        return "not defined on the test data"
    v, lo, hi = (float(m.loc[metric, c]) for c in ("value", "low", "high"))
    if percent:
        return f"{v:.1%} (95% interval {lo:.1%} to {hi:.1%})"
    return f"{v:.3f} (95% interval {lo:.3f} to {hi:.3f})"


def upper_first(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def finite(v) -> bool:
    """Whether a value is a finite number (``None``, text and NaN are not).

    Parameters
    ----------
    v : object

    Returns
    -------
    bool

    Examples
    --------
    >>> finite(0.5), finite(float("nan")), finite(None), finite("n/a")
    (True, False, False, False)
    """
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def capacity_words(cap: Mapping) -> str:
    """The capacity rule, in words.

    Parameters
    ----------
    cap : mapping
        The model's capacity, in its spec form (:meth:`Capacity.to_spec`).

    Returns
    -------
    str

    Examples
    --------
    >>> capacity_words(Capacity.parse("10%").to_spec())
    'the 10% of children open to early help with the highest scores at each as-of date'
    """
    c = Capacity.from_spec(cap)
    if c.per_locality:
        return (f"the {int(c.value)} children with the highest scores in each locality at "
                "each as-of date")
    return (f"the {c.value:g}% of children open to early help with the highest scores at "
            "each as-of date")


def outcome_words(meta: Mapping) -> str:
    """The outcome the model predicts and its horizon, in words.

    Parameters
    ----------
    meta : mapping
        The model's metadata: ``outcome`` and ``horizon_months``.

    Returns
    -------
    str
    """
    outcome = str(meta.get("outcome"))
    words = OUTCOME_WORDS.get(outcome, outcome)
    return f"{words}, within {int(meta['horizon_months'])} months after the as-of date"


def feature_groups(features: list[str]) -> Table:
    """The model's inputs counted by what they describe (their name's first part).

    Parameters
    ----------
    features : list of str
        The model's feature names.

    Returns
    -------
    Table
    """
    counts: dict[str, int] = {}
    for f in features:
        prefix = f.split("_", 1)[0]
        counts[prefix] = counts.get(prefix, 0) + 1
    words = builder_words()
    rows = [[words.get(p, p), n] for p, n in counts.items()]
    return Table(["what the features describe", "features"], rows,
                 note=f"{len(features)} features in all; each uses only what was recorded "
                      "before the as-of date. The full list is in features.json in the run.")


def characteristic_inputs(features: list[str]) -> dict[str, list[str]]:
    """Which audited characteristics (or direct proxies of them) are model inputs.

    Examples
    --------
    >>> characteristic_inputs(["child_age_all_years", "ace_total_all_count"])
    {'age': ['child_age_all_years']}
    """
    rules = {
        "age": lambda f: f.startswith(("child_age_", "child_unborn_")),
        "ethnicity": lambda f: f.startswith("child_ethnicity_"),
        "sex": lambda f: f.startswith("child_sex_"),
        "disability": lambda f: f.startswith("child_disability_"),
        "deprivation (IMD)": lambda f: f.startswith("demand_imd_"),
        "locality": lambda f: f.startswith("demand_locality_"),
    }
    out = {}
    for name, rule in rules.items():
        used = [f for f in features if rule(f)]
        if used:
            out[name] = used
    return out


def inputs_words(features: list[str]) -> str:
    """Which characteristics are, or stand in for, model inputs, in words.

    Parameters
    ----------
    features : list of str
        The model's feature names.

    Returns
    -------
    str
        The characteristics used (with their features), those not used, and the proxies that
        recorded needs can be.
    """
    used = characteristic_inputs(features)
    absent = [c for c in ("ethnicity", "sex", "disability") if c not in used]
    parts = []
    if used:
        parts.append("Model inputs that are, or stand for, a characteristic: " + "; ".join(
            f"{name} ({', '.join(cols)})" for name, cols in used.items()) + ".")
    if absent:
        parts.append(f"{upper_first(', '.join(absent))} {'is' if len(absent) == 1 else 'are'} "
                     "not a model input; they are used only to audit the model's fairness.")
    parts.append("Recorded needs and ACEs (for example domestic abuse, parental mental "
                 "ill-health) and contacts from police or youth justice can be unevenly "
                 "recorded across groups and so act as proxies.")
    return " ".join(parts)


# Measures that are rates of counts of children: shown to two decimals (three-decimal rates
# of exact counts would pin the counts the other documents round).
COUNT_RATES = ("base_rate", "precision_at_capacity", "recall_at_capacity")


#: The candidate run's parameters that hold the test rows' exact count and their cell key
#: (:func:`~riskmodel.evaluation._disclosure.total_key`), logged by the training that had
#: the rows: the key the fairness report rounded the same rows by.
TEST_ROWS_PARAMS = ("test_rows", "test_rows_cell_key")


def published_rows(facts: ModelFacts, which: str = "test") -> int:
    """The number of test (or training) rows as the documents publish it: protected by
    :func:`~riskmodel.evaluation._disclosure.protect_total` (0 when not recorded).

    The test rows are rounded by their own cell key when the training logged it for the
    same count (:data:`TEST_ROWS_PARAMS`), so the card prints the figure the fairness report
    of the same rows prints; otherwise by a key of the label and count.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> published_rows(SimpleNamespace(parent_params={"n_rows": "7486"}), "training") % 5
    0
    >>> f = SimpleNamespace(meta={"test_metrics": [{"metric": "auc", "n": 7486}]},
    ...                     params={"test_rows": "7486", "test_rows_cell_key": "0"})
    >>> published_rows(f)  # key 0 rounds up
    7490
    """
    from riskmodel.evaluation._disclosure import protect_total

    key = None
    if which == "training":
        n = float(facts.parent_params.get("n_rows") or 0)
    else:
        m = metrics_frame(facts)
        n = float(m["n"].max()) if "n" in m and len(m) else 0.0
        params = getattr(facts, "params", None) or {}
        count, cell = (params.get(p) for p in TEST_ROWS_PARAMS)
        if count is not None and cell is not None and float(count) == n:
            key = int(cell)
    return protect_total(n, f"{which} rows", MIN_COUNT, key=key) if n else 0


def metrics_table(facts: ModelFacts) -> Table:
    """The model's test metrics with their 95% intervals, as a published table.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    Table
    """
    m = metrics_frame(facts)
    rows = []
    for metric in m.index:
        r = m.loc[metric]
        if not finite(r["value"]):
            rows.append([METRIC_WORDS.get(metric, metric), "not defined", "not defined",
                         "not defined"])
            continue
        d = 2 if metric in COUNT_RATES else 4
        rows.append([METRIC_WORDS.get(metric, metric), round(float(r["value"]), d),
                     round(float(r["low"]), d) if finite(r["low"]) else "not defined",
                     round(float(r["high"]), d) if finite(r["high"]) else "not defined"])
    return Table(["measure", "value", "95% low", "95% high"], rows,
                 note=f"On about {published_rows(facts):,} child-date rows at the out-of-time "
                      f"test dates ({tested_dates(facts)}); rates of children to two decimals.")


def leaderboard_table(facts: ModelFacts) -> Table | str:
    """Every candidate of the training run side by side, from its leaderboard.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    Table or str
        The table, or a sentence saying the run logged no leaderboard.
    """
    lb = facts.leaderboard
    if lb is None or lb.empty:
        return ("The training run logged no leaderboard, so the other candidates cannot be "
                "shown beside this model.")
    cols = [c for c in ("auc", "average_precision", "calibration_error",
                        "precision_at_capacity", "recall_at_capacity") if c in lb.columns]
    rows = []
    for r in lb.itertuples(index=False):
        row = [str(r.candidate), str(getattr(r, "result", ""))]
        for c in cols:
            v, lo, hi = getattr(r, c), getattr(r, f"{c}_low", None), getattr(r, f"{c}_high", None)
            d = 2 if c in COUNT_RATES else 3
            row.append(f"{v:.{d}f} ({lo:.{d}f}-{hi:.{d}f})" if finite(v) and finite(lo)
                       and finite(hi) else ("not defined" if not finite(v) else f"{v:.{d}f}"))
        rows.append(row)
    return Table(["candidate", "result"] + [c.replace("_", " ") for c in cols], rows,
                 note="Every candidate of the training run on the same test rows, with 95% "
                      "intervals; 'truth' (synthetic councils only) uses the true "
                      "probabilities and is the best any model could do.")


def spec_words(spec: Mapping) -> dict[str, str]:
    """The training spec's settings, in words.

    Parameters
    ----------
    spec : mapping
        The spec the model was trained with.

    Returns
    -------
    dict of str to str
        ``schedule``, ``folds``, ``thresholds``, ``bootstrap``, ``calibration`` and
        ``select_by``.

    Examples
    --------
    >>> spec_words({"thresholds": {"min_auc": 0.6, "beat": "rule"}})["thresholds"]
    'min auc 0.6; beat rule'
    """
    as_of = spec.get("as_of") or {}
    thresholds = {k: v for k, v in (spec.get("thresholds") or {}).items() if v is not None}
    th = "; ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, int | float)
                   else f"{k.replace('_', ' ')} {v}" for k, v in thresholds.items())
    start = as_of.get("start") or "the first date at which every feature window is observed"
    return {
        "schedule": (f"as-of dates every {as_of.get('every_months', 3)} months from {start} to "
                     f"{as_of.get('end') or 'the last date whose outcome window was observed'}"),
        "folds": str((spec.get("splits") or {}).get("n_folds", 3)),
        "thresholds": th or "none set",
        "bootstrap": str(spec.get("bootstrap", 200)),
        "calibration": str(spec.get("calibration", "isotonic")),
        "select_by": str(spec.get("select_by", "auc")),
    }


def model_words(facts: ModelFacts) -> str:
    """The kind of model, its candidate and parameters and its calibration, in words.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    str
    """
    meta = facts.meta
    spec = meta.get("spec") or {}
    cand: Mapping = next(
        (c for c in spec.get("candidates", []) if c.get("name") == meta["candidate"]), {})
    params = ", ".join(f"{k}={v}" for k, v in (cand.get("params") or {}).items())
    cal = spec_words(spec)["calibration"]
    return (f"{_kind_words(meta['kind'])} (candidate '{meta['candidate']}'"
            f"{'; ' + params if params else ''}), its margin turned into a probability by "
            f"{cal} calibration fitted on cross-fitted, family-grouped predictions")


def is_synthetic(facts: ModelFacts) -> bool:
    """Whether the model was trained on a synthetic council (the run logged its truth).

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    bool
    """
    return any(k.startswith("truth_") for k in facts.parent_metrics)


def lift_words(m: pd.DataFrame, cap: Mapping) -> str:
    """What the list at capacity found, against the base rate, in words.

    Parameters
    ----------
    m : pandas.DataFrame
        The test metrics, as :func:`metrics_frame` gives them.
    cap : mapping
        The model's capacity (as for :func:`capacity_words`).

    Returns
    -------
    str
    """
    if not all(k in m.index and finite(m.loc[k, "value"]) for k in
               ("precision_at_capacity", "base_rate", "recall_at_capacity")):
        return "The precision and recall at capacity are not defined on the test data."
    prec, base = float(m.loc["precision_at_capacity", "value"]), float(m.loc["base_rate", "value"])
    rec = float(m.loc["recall_at_capacity", "value"])
    lift = prec / base if base > 0 else float("nan")
    return (f"Of the children in capacity ({capacity_words(cap)}), {prec:.0%} had the outcome, "
            f"against {base:.0%} of all children open to early help"
            + (f" ({lift:.1f} times the base rate)" if finite(lift) else "")
            + f"; the list held {rec:.0%} of the children who had the outcome, so about "
              f"{round((1 - rec) * 10)} in 10 of them were not on it.")


def about_model(facts: ModelFacts) -> dict:
    """The lines at the head of each document: the model, its run and the sources.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    dict
    """
    return {"model": facts.uri, "registered_model": f"{facts.name} v{facts.version}",
            "training_run": facts.run_id, "generated_by": software_words(),
            "fairness_source": facts.fairness_source if facts.fairness else "none"}


def software_words() -> str:
    """The software that made the documents: riskmodel's version and licence.

    Returns
    -------
    str
    """
    from importlib import metadata

    try:
        version = metadata.version("riskmodel")
        md = metadata.metadata("riskmodel")
        lic = (md["License"] if "License" in md else None) or "MIT"
    except metadata.PackageNotFoundError:
        from riskmodel._core.version import __version__ as version
        lic = "MIT"
    return f"riskmodel {version} (open source, {lic} licence)"
