"""Model card and Algorithmic Transparency Recording Standard (ATRS) record of a registered model.

Both documents are filled from what MLflow holds about the model (the registered version, its
training run and the run's artefacts: metrics, per-locality metrics, the leaderboard of every
candidate and, when logged, the fairness report). A field that only the council can know (who
owns the tool, how practitioners use it, the impact assessments) is written as
:data:`FOR_COUNCIL`, never guessed; a council can supply those answers in a YAML file and
regenerate. The model card follows the sections of Mitchell et al. (2019), "Model Cards for
Model Reporting"; the record follows the two tiers of the UK ATRS.

No child-level data is read: every figure is an aggregate logged at training time, and every
table of counts is suppressed below the minimum count before it is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from riskmodel._core.errors import InputError

FOR_COUNCIL = "to be completed by the council"
MIN_COUNT = 5

OUTCOME_WORDS = {
    "escalation": "escalation: a step-up from early help to children's social care (a "
                  "child-in-need, child-protection or looked-after episode starts, or the "
                  "early-help episode closes as escalated)",
    "disengagement": "disengagement: the family declines or drops out of its early-help "
                     "support plan (the open early-help episode closes as disengaged or "
                     "declined)",
}
KIND_WORDS = {
    "lightgbm": "gradient-boosted decision trees (LightGBM)",
    "logistic": "logistic regression on standardised features (L2-regularised)",
    "rule": "a simple rule (flag a child with many ACEs or many recent contacts)",
}
PREFIX_WORDS = {
    "ace": "adverse childhood experiences (ACEs) recorded",
    "contacts": "contacts with the front door, by source, need, RAG rating and outcome",
    "episodes": "early-help and social-care episodes, including the one open at the as-of date",
    "family": "siblings (same family) and their contacts and escalations",
    "demand": "the locality's demand and the area's deprivation",
    "child": "the child's age",
}
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


# ------------------------------------------------------------------ document model ----------

@dataclass
class Table:
    """A published table: column names, rows of cells, and a note on what it shows."""

    columns: list[str]
    rows: list[list]
    note: str = ""

    def to_dict(self) -> dict:
        return {"columns": list(self.columns),
                "rows": [dict(zip(self.columns, r, strict=True)) for r in self.rows],
                **({"note": self.note} if self.note else {})}


@dataclass
class Field:
    """One field: a key for JSON, a label for people, and a value (text or tables)."""

    key: str
    label: str
    value: object
    hint: str = ""

    @property
    def for_council(self) -> bool:
        return self.value == FOR_COUNCIL


@dataclass
class Section:
    key: str
    title: str
    fields: list[Field] = field(default_factory=list)

    def add(self, key: str, label: str, value, hint: str = "") -> None:
        self.fields.append(Field(key, label, value, hint))


@dataclass
class Document:
    """A model card or an ATRS record: titled sections of fields, rendered three ways."""

    key: str
    title: str
    subtitle: str
    about: dict
    sections: list[Section]

    def to_dict(self) -> dict:
        """The JSON form: ``{"document", "title", "about", "sections": {sec: {field: v}}}``."""
        def value(v):
            if isinstance(v, Table):
                return v.to_dict()
            if isinstance(v, list):
                return [value(x) for x in v]
            return v

        return {
            "document": self.key, "title": self.title, "subtitle": self.subtitle,
            "about": dict(self.about),
            "sections": {s.key: {"title": s.title,
                                 "fields": {f.key: value(f.value) for f in s.fields}}
                         for s in self.sections},
        }

    def council_fields(self) -> list[str]:
        """``section.field`` of every field left for the council."""
        return [f"{s.key}.{f.key}" for s in self.sections for f in s.fields if f.for_council]

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", "", f"_{self.subtitle}_", ""]
        lines += [f"- **{k.replace('_', ' ')}**: {_cell(v)}" for k, v in self.about.items()]
        lines.append("")
        for s in self.sections:
            lines += [f"## {s.title}", ""]
            for f in s.fields:
                lines += _markdown_field(f)
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        return _render_html(self)


def missing_fields(obj, path: str = "") -> list[str]:
    """Paths of empty values in a document's JSON form (None, blank, NaN, no rows).

    Every field must be filled from data or say :data:`FOR_COUNCIL`; this finds the ones
    that are neither.

    Examples
    --------
    >>> missing_fields({"a": {"b": "x", "c": " "}, "d": [], "e": float("nan")})
    ['a.c', 'd', 'e']
    """
    if obj is None:
        return [path]
    if isinstance(obj, str):
        return [path] if not obj.strip() else []
    if isinstance(obj, float):
        return [path] if math.isnan(obj) else []
    if isinstance(obj, Mapping):
        if not obj:
            return [path]
        out = []
        for k, v in obj.items():
            out += missing_fields(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(obj, list | tuple):
        if not obj:
            return [path]
        out = []
        for i, v in enumerate(obj):
            out += missing_fields(v, f"{path}[{i}]")
        return out
    return []


def _cell(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown_table(t: Table) -> list[str]:
    out = ["| " + " | ".join(_md_escape(c) for c in t.columns) + " |",
           "|" + "|".join("---" for _ in t.columns) + "|"]
    out += ["| " + " | ".join(_md_escape(_cell(c)) for c in r) + " |" for r in t.rows]
    if t.note:
        out += ["", f"_{t.note}_"]
    return out + [""]


def _markdown_field(f: Field) -> list[str]:
    if isinstance(f.value, Table):
        return [f"**{f.label}**", ""] + _markdown_table(f.value)
    if isinstance(f.value, list):
        out = [f"**{f.label}**", ""]
        for v in f.value:
            out += [""] + _markdown_table(v) if isinstance(v, Table) else [f"- {v}"]
        return out + [""]
    if f.for_council:
        hint = f" ({f.hint})" if f.hint else ""
        return [f"**{f.label}**: _{FOR_COUNCIL}_{hint}", ""]
    return [f"**{f.label}**: {f.value}", ""]


def _render_html(doc: Document) -> str:
    from riskmodel.evaluation._html import render

    return render("card.html.j2", title=doc.title, doc=doc, FOR_COUNCIL=FOR_COUNCIL,
                  cell=_cell)


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


# ------------------------------------------------------------------ facts in words ----------

def _test_dates(facts: ModelFacts) -> str:
    dates = list(facts.tags.get("test_dates") or [])
    return ", ".join(dates) if dates else "not recorded in the training run"


def _metrics(facts: ModelFacts) -> pd.DataFrame:
    return pd.DataFrame(facts.meta.get("test_metrics") or []).set_index("metric")


def _interval(m: pd.DataFrame, metric: str, *, percent: bool = False) -> str:
    if metric not in m.index or not _finite(m.loc[metric, "value"]):
        return "not defined on the test data"
    v, lo, hi = (float(m.loc[metric, c]) for c in ("value", "low", "high"))
    if percent:
        return f"{v:.1%} (95% interval {lo:.1%} to {hi:.1%})"
    return f"{v:.3f} (95% interval {lo:.3f} to {hi:.3f})"


def _cap(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _capacity_words(cap: Mapping) -> str:
    if cap.get("top_percent") is not None:
        return (f"the {float(cap['top_percent']):g}% of children open to early help with the "
                "highest scores at each as-of date")
    return (f"the {int(cap['top_n_per_locality'])} children with the highest scores in each "
            "locality at each as-of date")


def _outcome_words(meta: Mapping) -> str:
    words = OUTCOME_WORDS.get(meta.get("outcome"), str(meta.get("outcome")))
    return f"{words}, within {int(meta['horizon_months'])} months after the as-of date"


def _feature_groups(features: list[str]) -> Table:
    counts: dict[str, int] = {}
    for f in features:
        prefix = f.split("_", 1)[0]
        counts[prefix] = counts.get(prefix, 0) + 1
    rows = [[PREFIX_WORDS.get(p, p), n] for p, n in counts.items()]
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


def _inputs_words(features: list[str]) -> str:
    used = characteristic_inputs(features)
    absent = [c for c in ("ethnicity", "sex", "disability") if c not in used]
    parts = []
    if used:
        parts.append("Model inputs that are, or stand for, a characteristic: " + "; ".join(
            f"{name} ({', '.join(cols)})" for name, cols in used.items()) + ".")
    if absent:
        parts.append(f"{_cap(', '.join(absent))} {'is' if len(absent) == 1 else 'are'} "
                     "not a model input; they are used only to audit the model's fairness.")
    parts.append("Recorded needs and ACEs (for example domestic abuse, parental mental "
                 "ill-health) and contacts from police or youth justice can be unevenly "
                 "recorded across groups and so act as proxies.")
    return " ".join(parts)


def _metrics_table(facts: ModelFacts) -> Table:
    m = _metrics(facts)
    rows = []
    for metric in m.index:
        r = m.loc[metric]
        if not _finite(r["value"]):
            rows.append([METRIC_WORDS.get(metric, metric), "not defined", "not defined",
                         "not defined"])
            continue
        rows.append([METRIC_WORDS.get(metric, metric), round(float(r["value"]), 4),
                     round(float(r["low"]), 4) if _finite(r["low"]) else "not defined",
                     round(float(r["high"]), 4) if _finite(r["high"]) else "not defined"])
    n = int(m["n"].max()) if "n" in m else 0
    return Table(["measure", "value", "95% low", "95% high"], rows,
                 note=f"On {n:,} child-date rows at the out-of-time test dates "
                      f"({_test_dates(facts)}).")


def _leaderboard_table(facts: ModelFacts) -> Table | str:
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
            row.append(f"{v:.3f} ({lo:.3f}-{hi:.3f})" if _finite(v) and _finite(lo)
                       and _finite(hi) else ("not defined" if not _finite(v) else f"{v:.3f}"))
        rows.append(row)
    return Table(["candidate", "result"] + [c.replace("_", " ") for c in cols], rows,
                 note="Every candidate of the training run on the same test rows, with 95% "
                      "intervals; 'truth' (synthetic councils only) uses the true "
                      "probabilities and is the best any model could do.")


def locality_table(by_locality: pd.DataFrame | None, *, min_count: int = MIN_COUNT) -> Table | str:
    """Per-locality test rates, with every rate resting on fewer than 5 children hidden.

    The logged table holds rates and the number of test rows; the counts behind each rate
    (rows, rows with the outcome, flagged, flagged with the outcome) are worked back from
    them and passed through :func:`~riskmodel.evaluation._disclosure.suppress` with the
    overall totals as published, so a small count is hidden and cannot be worked out from
    the other localities. A rate is shown only when all its counts are.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"locality": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
    ...                   "metric": ["base_rate", "precision_at_capacity",
    ...                              "recall_at_capacity"] * 3,
    ...                   "value": [0.1, 0.5, 0.4, 0.02, 0.5, 0.5, 0.1, 0.5, 0.4],
    ...                   "n": [200] * 3 + [150] * 3 + [200] * 3})
    >>> [r[:2] for r in locality_table(t).rows]
    [['a', 'suppressed'], ['b', '<5'], ['c', 0.1]]
    """
    from riskmodel.evaluation._disclosure import suppress

    if by_locality is None or by_locality.empty:
        return "The training run logged no per-locality results."
    wide = by_locality.pivot_table(index="locality", columns="metric", values="value",
                                   aggfunc="first", dropna=False)
    wide["n"] = by_locality.groupby("locality")["n"].max()
    wide = wide.sort_index()

    def col(name):
        return wide[name].astype(float) if name in wide else pd.Series(float("nan"), wide.index)

    base, prec, rec = col("base_rate"), col("precision_at_capacity"), col("recall_at_capacity")
    counts = pd.DataFrame({"n": wide["n"].astype(float)}, index=wide.index)
    counts["pos"] = (base * counts["n"]).round()
    counts["tp"] = (rec * counts["pos"]).round()
    counts["flagged"] = (counts["tp"] / prec.where(prec > 0)).round()
    hidden = pd.DataFrame(False, index=wide.index, columns=counts.columns)
    for c in counts.columns:
        known = counts[c].notna()
        if not known.any():
            continue
        t = pd.DataFrame({"children": counts.loc[known, c].astype(int)})
        out = suppress(t, count="children", rates=(), min_count=min_count)
        hid = out["children"].map(lambda v: isinstance(v, str)).to_numpy().copy()
        if 0 < t["children"].sum() < min_count:  # the total is published elsewhere
            hid[:] = True
        hidden.loc[known, c] = hid
    small = f"<{min_count}"

    def show(rate, loc, *needs):
        if not _finite(rate):
            return "not defined"
        if any(pd.isna(counts.loc[loc, k]) for k in needs):
            return "suppressed"  # a count that cannot be worked back may be small
        if any(hidden.loc[loc, k] for k in needs):
            return small if any(0 < counts.loc[loc, k] < min_count for k in needs) \
                else "suppressed"
        return round(float(rate), 4)

    rows = []
    for loc in wide.index:
        rows.append([str(loc), show(base[loc], loc, "n", "pos"),
                     show(prec[loc], loc, "tp", "flagged"),
                     show(rec[loc], loc, "tp", "pos")])
    # Counts are not shown: other published reports (the fairness report) may hide some of
    # them to protect their own small cells, and rates alone cannot undo that.
    return Table(["locality", "base rate", "precision at capacity", "recall at capacity"],
                 rows,
                 note=f"'{small}': hidden because it rests on fewer than {min_count} children; "
                      "'suppressed': hidden so that such a figure cannot be worked out from "
                      "the others.")


FAIRNESS_METRIC_WORDS = {
    "false_negative_rate": "missed (false negative rate)",
    "selection_rate": "flagged (selection rate)",
    "false_positive_rate": "false positive rate",
    "precision": "precision",
    "calibration": "observed / predicted",
    "true_positive_rate": "found (recall)",
    "base_rate": "base rate",
    "auc": "AUC",
}


def _fair_cell(v, *, digits: int = 3):
    """A published fairness figure: numbers rounded, hidden cells kept, missing explained."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "not defined"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return round(float(v), digits)
    return str(v)


def fairness_characteristics(fair: Mapping) -> list[str]:
    """The characteristics (and intersections) a fairness report audited, with references.

    Examples
    --------
    >>> fairness_characteristics({"settings": {"characteristics": {
    ...     "sex": {"label": "sex", "reference": "male"}}}})
    ["sex (reference group 'male')"]
    """
    chars = (fair.get("settings") or {}).get("characteristics") or {}
    return [f"{c.get('label', k)} (reference group '{c.get('reference')}')"
            for k, c in chars.items()]


def fairness_tables(fair: Mapping) -> tuple[object, object, list[str]]:
    """The card's view of a fairness report: by group, intersections, and findings.

    Only published figures are used: the report's tables are suppressed already, and its
    hidden cells stay hidden. The two measures the policy leads with are shown.

    Returns
    -------
    by_group : list
        The report's summary sentences, then a table of each group's ratio to its
        reference for the lead measures.
    intersections : Table or str
    findings : list of str
        One sentence per comparison whose whole interval lies outside the tolerance.
    """
    settings = fair.get("settings") or {}
    lead = list(settings.get("metrics") or ["false_negative_rate", "selection_rate"])[:2]
    ratios = pd.DataFrame((fair.get("tables") or {}).get("ratios") or [])
    tol = settings.get("tolerance") or {}
    rule = settings.get("rule", "the capacity rule")
    note = (f"Ratio of each group's rate to its reference group's, with its "
            f"{round(100 * float((settings.get('bootstrap') or {}).get('confidence', 0.95)))}% "
            f"interval; tolerance {tol.get('low', 0.8)}-{tol.get('high', 1.25)}; flagged by "
            f"'{rule}'. 'suppressed' or '<{settings.get('min_count', MIN_COUNT)}': hidden in "
            "the fairness report to protect small numbers.")
    columns = ["characteristic", "group", "reference", "measure", "group's rate", "ratio",
               "ratio 95% low", "ratio 95% high", "status"]

    def table(kind_mask) -> Table | None:
        if ratios.empty:
            return None
        part = ratios[kind_mask(ratios) & ratios["metric"].isin(lead)]
        hidden = int((part["status"] == "suppressed").sum())
        part = part[part["status"] != "suppressed"]
        rows = [[_fair_cell(r["label"]), _fair_cell(r["group"]), _fair_cell(r["reference"]),
                 FAIRNESS_METRIC_WORDS.get(r["metric"], r["metric"]), _fair_cell(r["value"]),
                 _fair_cell(r["ratio"]), _fair_cell(r["ratio_low"]), _fair_cell(r["ratio_high"]),
                 _fair_cell(r["status"])] for _, r in part.iterrows()]
        more = (f" Not shown: {hidden} comparison{'s' if hidden != 1 else ''} that the "
                "fairness report suppressed." if hidden else "")
        return Table(columns, rows, note=note + more) if rows else None

    by_group = table(lambda d: d["kind"] != "intersection")
    inter = table(lambda d: d["kind"] == "intersection")
    summary = [str(x) for x in (fair.get("summary") or []) if str(x).strip()]
    by_group_value = summary + ([by_group] if by_group is not None else [])
    if not by_group_value:
        by_group_value = "The fairness report holds no published group results."
    if inter is None:
        inter = "The fairness report audited no intersections (or published none of them)."
    findings = []
    if not ratios.empty:
        out = ratios[ratios.get("flagged", False).astype(bool)]
        for _, r in out.iterrows():
            findings.append(
                f"{r['label']} '{r['group']}': "
                f"{FAIRNESS_METRIC_WORDS.get(r['metric'], r['metric'])} "
                f"{_fair_cell(r['ratio'], digits=2)} times that of '{r['reference']}' "
                f"(interval {_fair_cell(r['ratio_low'], digits=2)} to "
                f"{_fair_cell(r['ratio_high'], digits=2)})")
    return by_group_value, inter, findings


def _spec_words(spec: Mapping) -> dict[str, str]:
    as_of = spec.get("as_of") or {}
    thresholds = {k: v for k, v in (spec.get("thresholds") or {}).items() if v is not None}
    th = "; ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in thresholds.items())
    return {
        "schedule": (f"as-of dates every {as_of.get('every_months', 3)} months from "
                     f"{as_of.get('start')} to "
                     f"{as_of.get('end') or 'the last date whose outcome window was observed'}"),
        "folds": str((spec.get("splits") or {}).get("n_folds", 3)),
        "thresholds": th or "none set",
        "bootstrap": str(spec.get("bootstrap", 200)),
        "calibration": str(spec.get("calibration", "isotonic")),
        "select_by": str(spec.get("select_by", "auc")),
    }


def _model_words(facts: ModelFacts) -> str:
    meta = facts.meta
    spec = meta.get("spec") or {}
    cand = next((c for c in spec.get("candidates", []) if c.get("name") == meta["candidate"]),
                {})
    params = ", ".join(f"{k}={v}" for k, v in (cand.get("params") or {}).items())
    cal = _spec_words(spec)["calibration"]
    return (f"{KIND_WORDS.get(meta['kind'], meta['kind'])} (candidate '{meta['candidate']}'"
            f"{'; ' + params if params else ''}), its margin turned into a probability by "
            f"{cal} calibration fitted on cross-fitted, family-grouped predictions")


def _synthetic(facts: ModelFacts) -> bool:
    return any(k.startswith("truth_") for k in facts.parent_metrics)


def _fairness_summary(facts: ModelFacts) -> tuple[object, object, list[str]]:
    """(by-group results, intersectional results, flagged findings) for the documents."""
    if not facts.fairness:
        none = ("No fairness report was logged with this model's training run or given to "
                "riskmodel card; run riskmodel fairness for this model and pass its results "
                "with --fairness.")
        return none, none, []
    return fairness_tables(facts.fairness)


def _lift_words(m: pd.DataFrame, cap: Mapping) -> str:
    if not all(k in m.index and _finite(m.loc[k, "value"]) for k in
               ("precision_at_capacity", "base_rate", "recall_at_capacity")):
        return "The precision and recall at capacity are not defined on the test data."
    prec, base = float(m.loc["precision_at_capacity", "value"]), float(m.loc["base_rate", "value"])
    rec = float(m.loc["recall_at_capacity", "value"])
    lift = prec / base if base > 0 else float("nan")
    return (f"Of the children in capacity ({_capacity_words(cap)}), {prec:.0%} had the outcome, "
            f"against {base:.0%} of all children open to early help"
            + (f" ({lift:.1f} times the base rate)" if _finite(lift) else "")
            + f"; the list held {rec:.0%} of the children who had the outcome, so about "
              f"{round((1 - rec) * 10)} in 10 of them were not on it.")


def _card_document(facts: ModelFacts) -> Document:
    meta, m = facts.meta, _metrics(facts)
    sw = _spec_words(meta.get("spec") or {})
    features = list(meta.get("features") or [])
    by_group, intersections, flagged = _fairness_summary(facts)
    n_test = int(m["n"].max()) if "n" in m else 0
    sections = []

    s = Section("model_details", "Model details")
    s.add("name", "Registered model", f"{facts.name} version {facts.version}"
          + (f" ({', '.join(facts.aliases)})" if facts.aliases else ""))
    s.add("outcome", "What it predicts", _cap(_outcome_words(meta)))
    s.add("model_type", "Model type", _cap(_model_words(facts)))
    s.add("registered", "Date registered", facts.registered)
    s.add("provenance", "Provenance",
          f"MLflow run {facts.run_id}; code commit {meta.get('git_commit', 'unknown')}; "
          f"data fingerprint {str(meta.get('data_fingerprint', ''))[:16] or 'not recorded'}")
    s.add("software", "Software", _software_words())
    s.add("developer", "Organisation responsible", FOR_COUNCIL,
          "the council and team that trained and own this model")
    s.add("contact", "Contact for questions", FOR_COUNCIL, "a team mailbox, not a person's name")
    s.add("licence", "Licence of the model and its outputs", FOR_COUNCIL)
    sections.append(s)

    s = Section("intended_use", "Intended use")
    s.add("primary_use", "Primary intended use",
          f"To rank the children open to early help at an as-of date by their estimated "
          f"chance of {_outcome_words(meta)}, so that an early-help panel can offer "
          f"proactive support to {_capacity_words(meta.get('capacity') or {})}. It is an "
          "offer of help, assisting practitioners; it never decides anything about a child "
          "on its own.")
    s.add("primary_users", "Primary intended users",
          "The council's insight (business intelligence) team runs the monthly batch scoring; "
          "early-help locality panels read the list with each child's main reasons; data "
          "scientists retrain and compare models; equality leads and governance review the "
          "fairness report, this card and the transparency record.")
    s.add("out_of_scope", "Out-of-scope uses",
          "Any decision to start a statutory (social-care) intervention, to withdraw or refuse "
          "a service, or any decision without a practitioner's review; children not open to "
          "early help (the model has never seen them); another council's data, or this "
          "council's data after a change in recording practice, without retraining and "
          "re-evaluation.")
    s.add("deployment", "How the council uses the list", FOR_COUNCIL,
          "who sees the list, what an offer of support involves, what happens next")
    sections.append(s)

    s = Section("factors", "Factors")
    s.add("groups", "Groups the evaluation covers",
          _groups_words(facts))
    s.add("inputs", "Characteristics among the model's inputs", _inputs_words(features))
    s.add("features", "Model inputs", _feature_groups(features))
    s.add("instrumentation", "How the inputs are recorded",
          "From the council's case-management extract (children, contacts, ACE factors, "
          "episodes). A feature at as-of date t uses only records whose recorded date is "
          "before t, so what a practitioner could not have known at t never enters a score.")
    sections.append(s)

    s = Section("metrics", "Metrics")
    s.add("measures", "Performance measures",
          "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in METRIC_WORDS.items()) + ".")
    s.add("decision_threshold", "Decision threshold",
          f"No probability cut-off: the list is sized to capacity, "
          f"{_capacity_words(meta.get('capacity') or {})}.")
    s.add("pass_thresholds", "Pass thresholds set before training",
          f"{sw['thresholds']} (each judged on the conservative end of its 95% interval); "
          f"this model's result: {facts.tags.get('result') or 'not recorded'}"
          f" ({facts.tags.get('why') or 'no reason recorded'}).")
    s.add("uncertainty", "Uncertainty",
          f"95% intervals from a bootstrap of {sw['bootstrap']} resamples of families "
          "(siblings share outcomes, so families, not children, are resampled).")
    sections.append(s)

    s = Section("evaluation_data", "Evaluation data")
    s.add("dates", "Test dates", _test_dates(facts))
    s.add("size", "Size", f"{n_test:,} child-date rows (children open to early help at the "
                          "test dates whose outcome window had closed)")
    s.add("method", "Method",
          f"Rolling origin over the last {sw['folds']} as-of dates: each test date is scored "
          "by a model trained only on earlier dates whose outcome windows had closed, "
          "leaving out every family that appears on the test date.")
    sections.append(s)

    s = Section("training_data", "Training data")
    s.add("schedule", "As-of dates", _cap(sw["schedule"]))
    s.add("size", "Size", f"{int(float(facts.parent_params.get('n_rows', 0))):,} child-date rows "
                          "with an observed outcome" if facts.parent_params.get("n_rows")
          else "not recorded in the training run")
    s.add("source", "Source",
          "A synthetic council generated with known true probabilities (riskmodel synth)"
          if _synthetic(facts) else
          "The council's extract mapped onto the riskmodel input contract")
    s.add("source_systems", "Source systems and extract date", FOR_COUNCIL,
          "the case-management systems the extract came from and when it was taken")
    sections.append(s)

    s = Section("quantitative_analyses", "Quantitative analyses")
    s.add("overall", "Overall (test dates)", _metrics_table(facts))
    s.add("at_capacity", "At capacity", _lift_words(m, meta.get("capacity") or {}))
    s.add("candidates", "Compared with the base rate, a simple rule and other models",
          _leaderboard_table(facts))
    s.add("by_locality", "By locality", locality_table(facts.by_locality))
    s.add("by_group", "By group (fairness)", by_group)
    s.add("intersectional", "Intersectional", intersections)
    sections.append(s)

    s = Section("ethical_considerations", "Ethical considerations")
    s.add("sensitive_data", "Sensitive data",
          "The model reads records of adverse childhood experiences, domestic abuse, mental "
          "ill-health, substance misuse and police and youth-justice contacts: special "
          "category and criminal-offence data about children and their families. Reports "
          "hold aggregates only, never a child's id or date of birth, and counts under "
          f"{MIN_COUNT} are suppressed.")
    s.add("disproportionality", "Disproportionality found",
          "; ".join(flagged) if flagged else
          ("No group's ratio lay wholly outside the policy's tolerance."
           if facts.fairness else "Not assessed: no fairness report (see above)."))
    s.add("harms", "Harms weighed",
          "Missing a child who needed help (false negative) is the harm equalised first; "
          "flagging a family that did not need help can feel intrusive and stigmatising; "
          "scores can carry forward unequal referral and recording across groups.")
    s.add("impact_assessments", "Impact assessments (DPIA, equality impact assessment)",
          FOR_COUNCIL, "dates and outcomes of the council's assessments")
    sections.append(s)

    s = Section("caveats", "Caveats and recommendations")
    caveats = [_lift_words(m, meta.get("capacity") or {})]
    if _synthetic(facts):
        caveats.append("Trained on synthetic data: not for use with real children.")
    if facts.tags.get("result") == "FAIL":
        caveats.append("This model did not meet every pass threshold set before training.")
    caveats.append("The model learns from past recording and referral; a change in "
                   "practice, services or recording makes it stale, so retrain and re-run the "
                   "fairness report after any such change and at least every "
                   "year.")
    caveats.append("Scores are estimates for groups of similar children; a child's reasons "
                   "show what drove the score, not what caused the child's needs.")
    s.add("caveats", "Caveats", caveats)
    s.add("review", "Review date and reviewer", FOR_COUNCIL)
    sections.append(s)

    return Document(
        key="model_card", title=f"Model card: {facts.name} version {facts.version}",
        subtitle="Sections after Mitchell et al. (2019), Model Cards for Model Reporting. "
                 f"Fields marked '{FOR_COUNCIL}' hold what only the council can know.",
        about=_about(facts), sections=sections)


def _about(facts: ModelFacts) -> dict:
    return {"model": facts.uri, "registered_model": f"{facts.name} v{facts.version}",
            "training_run": facts.run_id, "generated_by": _software_words(),
            "fairness_source": facts.fairness_source if facts.fairness else "none"}


def _software_words() -> str:
    from importlib import metadata

    try:
        version = metadata.version("riskmodel")
        lic = metadata.metadata("riskmodel").get("License") or "MIT"
    except metadata.PackageNotFoundError:
        from riskmodel._core.version import __version__ as version
        lic = "MIT"
    return f"riskmodel {version} (open source, {lic} licence)"


def _groups_words(facts: ModelFacts) -> str:
    if facts.fairness:
        chars = fairness_characteristics(facts.fairness)
        if chars:
            return ("The fairness report audits: " + ", ".join(chars)
                    + "; the model card also shows each locality.")
    return ("Each locality (below). No fairness report was available, so ethnicity, sex, "
            "disability, age band and deprivation were not audited for this card.")


def _record_document(facts: ModelFacts) -> Document:
    meta, m = facts.meta, _metrics(facts)
    sw = _spec_words(meta.get("spec") or {})
    features = list(meta.get("features") or [])
    cap = meta.get("capacity") or {}
    by_group, _, flagged = _fairness_summary(facts)
    n_test = int(m["n"].max()) if "n" in m else 0
    n_dates = len(facts.tags.get("test_dates") or [])
    sections = []

    s = Section("tier_1", "Tier 1: summary")
    s.add("name", "Name", f"Early help {meta['outcome']} risk model ({facts.name} version "
                          f"{facts.version})")
    s.add("description", "Description",
          f"A statistical model estimates, for each child open to early help, the chance of "
          f"{_outcome_words(meta)}. The children with the highest estimates ("
          f"{_capacity_words(cap)}) are listed, with the main reasons for each, so that "
          "practitioners can offer the family extra support earlier. A practitioner reviews "
          "every child on the list; the model decides nothing by itself.")
    s.add("website", "Where to find out more", FOR_COUNCIL,
          "a web page, and an offline route such as a phone number or address")
    s.add("contact_email", "Contact email", FOR_COUNCIL)
    s.add("organisation", "Organisation", FOR_COUNCIL)
    s.add("function", "Function", "Children's services: early help and children's social care")
    s.add("phase", "Phase", FOR_COUNCIL, "pre-deployment, pilot, production or retired")
    s.add("region", "Geographic region", FOR_COUNCIL)
    sections.append(s)

    s = Section("owner_and_responsibility", "Tier 2: owner and responsibility")
    s.add("organisation", "Organisation", FOR_COUNCIL)
    s.add("team", "Team", FOR_COUNCIL)
    s.add("senior_responsible_owner", "Senior responsible owner", FOR_COUNCIL, "a role title")
    s.add("external_supplier", "External supplier involvement", FOR_COUNCIL,
          "supplier, Companies House number, role and terms of access to data, or 'none'")
    s.add("software", "Software used", _software_words()
          + "; trained, evaluated and registered with MLflow")
    sections.append(s)

    s = Section("description_and_rationale", "Tier 2: description and rationale")
    s.add("detailed_description", "Detailed description",
          f"{_cap(_model_words(facts))}. It reads {len(features)} features built from "
          "the council's records as they stood before each as-of date (ACEs, contacts by "
          "source and need, early-help and social-care episodes, siblings, locality demand "
          "and age) and outputs a calibrated probability per child, its rank, whether the "
          "child is within capacity, and the features that raised the score most, in plain "
          "words.")
    s.add("scope", "Scope",
          f"Children with an early-help episode open at the as-of date; the outcome is "
          f"{_outcome_words(meta)}. Not for children outside early help or for decisions "
          "about statutory intervention.")
    s.add("benefit", "Measured benefit", _lift_words(m, cap))
    s.add("previous_process", "Previous process", FOR_COUNCIL,
          "how children were identified for extra support before this tool")
    s.add("alternatives_considered", "Alternatives considered", _leaderboard_table(facts))
    sections.append(s)

    s = Section("decision_making_process", "Tier 2: decision-making process")
    s.add("process_integration", "Process integration", FOR_COUNCIL,
          "where the list enters the early-help workflow and who acts on it")
    s.add("provided_information", "Information provided to decision makers",
          "For each child open to early help: the estimated probability, its rank, whether "
          "the child is within capacity and up to the top few reasons in plain words (for "
          "example '3 police contacts in the last 12 months'); plus the model card, the "
          "fairness report and an explanation report of what drives the model overall.")
    s.add("scale", "Scale",
          f"About {n_test // max(n_dates, 1):,} children open to early help at each test date "
          "in the evaluation data" if n_test else "not recorded in the training run")
    s.add("frequency", "Frequency of use", FOR_COUNCIL, "for example monthly batch scoring")
    s.add("human_decisions_and_review", "Human decisions and review", FOR_COUNCIL,
          "who reviews each flagged child and can disagree with the model")
    s.add("required_training", "Required training", FOR_COUNCIL)
    s.add("appeals_and_review", "Appeals and review", FOR_COUNCIL,
          "how a family can ask what was recorded and challenge it")
    sections.append(s)

    s = Section("technical_specification_and_data", "Tier 2: technical specification and data")
    s.add("system_architecture", "System architecture",
          "A Python package (riskmodel) reads the extract, builds as-of-date features, trains "
          "and evaluates candidates and logs each to an MLflow tracking store; the registered "
          "model is stored as JSON with a SHA-256 checksum checked at every load (no code is "
          "unpickled) and scored in batch by the council's insight team.")
    s.add("model", "Model", _cap(_model_words(facts)))
    s.add("model_version", "Model version",
          f"{facts.name} version {facts.version}, registered {facts.registered}, MLflow run "
          f"{facts.run_id}")
    s.add("model_evaluation", "Model evaluation",
          f"Out-of-time rolling-origin evaluation over the last {sw['folds']} as-of dates "
          f"({_test_dates(facts)}); no family "
          f"on both sides of a split; pass thresholds set before training: "
          f"{sw['thresholds']}.")
    s.add("model_performance", "Model performance", _metrics_table(facts))
    s.add("maintenance", "Maintenance",
          "Retrained with riskmodel train; a new version is registered as the challenger "
          "and becomes the champion only when a person promotes it (riskmodel promote).")
    s.add("review_schedule", "Review schedule", FOR_COUNCIL)
    s.add("data_sources", "Source data",
          "Four tables of the riskmodel input contract: children (sex, ethnicity, "
          "disability, locality, deprivation decile, date of birth), contacts, ACE factors "
          "and episodes of early help and social care.")
    s.add("data_description", "Data used by the model", _feature_groups(features))
    s.add("data_quantities", "Data quantities",
          f"Training: {sw['schedule']}, "
          + (f"{int(float(facts.parent_params['n_rows'])):,} child-date rows with an observed "
             "outcome" if facts.parent_params.get("n_rows") else "row count not recorded")
          + f"; testing: {n_test:,} child-date rows.")
    s.add("sensitive_attributes", "Sensitive attributes", _inputs_words(features))
    s.add("completeness_and_representativeness", "Completeness and representativeness",
          "Only children known to early help are in the data, so the model cannot speak "
          "for children who were never referred; groups referred or recorded differently "
          "are represented differently. See the fairness results below.")
    s.add("data_collection", "Data collection and legal basis", FOR_COUNCIL)
    s.add("data_sharing", "Data sharing agreements", FOR_COUNCIL)
    s.add("data_access_and_storage", "Data access and storage", FOR_COUNCIL,
          "who can see the extract, the scores and the model store, and for how long")
    sections.append(s)

    s = Section("risks_mitigations_and_impact_assessments",
                "Tier 2: risks, mitigations and impact assessments")
    s.add("impact_assessments", "Impact assessments", FOR_COUNCIL,
          "DPIA and equality impact assessment: dates, outcomes, where published")
    s.add("risks", "Risks and mitigations", _risks_table(facts, m, flagged))
    s.add("fairness_results", "Fairness results by group", by_group)
    sections.append(s)

    return Document(
        key="atrs_record",
        title=f"Algorithmic transparency record: {facts.name} version {facts.version}",
        subtitle="In the shape of the UK Algorithmic Transparency Recording Standard (tier 1 "
                 f"and tier 2). Fields marked '{FOR_COUNCIL}' hold what only the council can "
                 "know.",
        about=_about(facts), sections=sections)


def _risks_table(facts: ModelFacts, m: pd.DataFrame, flagged: list[str]) -> Table:
    rows = [
        ["Children who need help are missed",
         f"Recall at capacity {_interval(m, 'recall_at_capacity', percent=True)}",
         "The list adds to, never replaces, referrals and professional judgement; capacity "
         "and recall are reported together so the trade-off is visible."],
        ["Families are flagged who would not have needed help",
         f"Precision at capacity {_interval(m, 'precision_at_capacity', percent=True)}",
         "Being on the list leads only to an offer of support that a family may decline; "
         "a practitioner reviews every child."],
        ["Some groups are missed or flagged more than others",
         "; ".join(flagged) if flagged else (
             "No group's ratio lay wholly outside the policy's tolerance"
             if facts.fairness else "Not assessed: no fairness report was available"),
         "The fairness report compares each group's rates with a reference group before "
         "and after go-live; the council's equality lead signs it off."],
        ["Probabilities drift from what happens",
         f"Calibration error {_interval(m, 'calibration_error')}",
         "Calibration is checked on out-of-time data at every retraining; the model is "
         "retrained when recording practice or services change."],
        ["A child is identified from a report",
         f"Counts under {MIN_COUNT} are suppressed in every published table",
         "Reports, the model card and MLflow hold aggregates only: no child or family id "
         "and no date of birth."],
    ]
    return Table(["risk", "evidence from this model", "mitigation"], rows)


# ------------------------------------------------------------------ public API ---------------

@dataclass
class ModelCard:
    """A model card and an ATRS record for one registered model.

    Attributes
    ----------
    card, record : Document
        Each renders with ``to_markdown()``, ``to_html()`` and ``to_dict()`` (JSON).
    """

    card: Document
    record: Document

    def documents(self) -> list[Document]:
        return [self.card, self.record]


def _apply_answers(doc: Document, answers: Mapping, where: str) -> None:
    given = answers.get(doc.key) or {}
    if not isinstance(given, Mapping):
        raise InputError(f"{where}: key '{doc.key}': expected a mapping of sections")
    sections = {s.key: s for s in doc.sections}
    for sec_key, fields in given.items():
        fields = {} if fields is None else fields  # a section with every answer left out
        if sec_key not in sections:
            raise InputError(f"{where}: key '{doc.key}.{sec_key}': no such section (expected "
                             f"one of {', '.join(sections)})")
        if not isinstance(fields, Mapping):
            raise InputError(f"{where}: key '{doc.key}.{sec_key}': expected a mapping")
        by_key = {f.key: f for f in sections[sec_key].fields}
        for f_key, text in fields.items():
            if text is None:
                continue
            f = by_key.get(f_key)
            where_key = f"{doc.key}.{sec_key}.{f_key}"
            if f is None:
                raise InputError(f"{where}: key '{where_key}': no such field")
            if not f.for_council:
                raise InputError(f"{where}: key '{where_key}': filled from the model's "
                                 "metadata, not by the council")
            if not str(text).strip():
                raise InputError(f"{where}: key '{where_key}': expected text, got nothing")
            f.value = " ".join(str(text).split())


def council_answers_template(card: ModelCard) -> str:
    """A YAML skeleton of every field left for the council, to fill in and pass back.

    ``riskmodel card`` writes it beside the documents as ``council_answers.yaml``; each
    field is commented out until the council fills it in.
    """
    lines = ["# Answers only the council can give. Fill in any of these and run",
             "#   riskmodel card --model URI --out DIR --answers council_answers.yaml",
             "# Fields left out stay marked 'to be completed by the council'."]
    for doc in card.documents():
        lines.append(f"{doc.key}:")
        for s in doc.sections:
            todo = [f for f in s.fields if f.for_council]
            if not todo:
                continue
            lines.append(f"  {s.key}:")
            for f in todo:
                hint = f"  # {f.label}" + (f": {f.hint}" if f.hint else "")
                lines.append(f"    # {f.key}: ''{hint}")
    return "\n".join(lines) + "\n"


def build_model_card(facts: ModelFacts, answers: Mapping | None = None, *,
                     where: str = "answers") -> ModelCard:
    """Build the model card and ATRS record from a model's facts and the council's answers.

    Parameters
    ----------
    facts : ModelFacts
        What the model store holds about the model (aggregates only).
    answers : mapping, optional
        ``model_card:`` and ``atrs_record:`` mappings of section to field to text, for the
        fields only the council can fill.
    where : str
        Where the answers came from, for error messages.

    Returns
    -------
    ModelCard
        ``.card`` and ``.record``; no field is empty: each is filled from the facts or says
        :data:`FOR_COUNCIL`.
    """
    card = ModelCard(card=_card_document(facts), record=_record_document(facts))
    given = dict(answers or {})
    unknown = set(given) - {"model_card", "atrs_record"}
    if unknown:
        raise InputError(f"{where}: key '{sorted(unknown)[0]}': expected model_card or "
                         "atrs_record")
    for doc in card.documents():
        _apply_answers(doc, given, where)
        empty = missing_fields(doc.to_dict())
        if empty:  # a bug, not a user error: every field must be filled or marked
            raise RuntimeError(f"{doc.key}: empty field(s) {', '.join(empty[:5])}")
    return card


def card_files(mc: ModelCard) -> dict[str, str]:
    """Every file of a card by name: each document as Markdown, HTML and JSON."""
    files = {}
    for doc in mc.documents():
        for ext, text in (("md", doc.to_markdown()), ("html", doc.to_html()),
                          ("json", json.dumps(doc.to_dict(), indent=2, ensure_ascii=False,
                                              default=str) + "\n")):
            files[f"{doc.key}.{ext}"] = text
    return files
