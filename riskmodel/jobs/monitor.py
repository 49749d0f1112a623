"""``riskmodel monitor``: is the model still working, and still fair? One month at a time.

At training (:func:`training_reference`, called by :func:`riskmodel.jobs.train.train`) the
reference distributions are logged with each candidate as ``reference.json``. Each month
:func:`monitor` builds the month's cohort with the model's own feature spec, scores it as
``riskmodel score`` does, compares inputs, contacts, cohort and scores with the reference and
last month, looks back at last month's list (early outcomes) and at every earlier list whose
outcome window has closed (realised performance, by group too), writes ``report.html`` and
``summary.json``, and adds the summary to the model's MLflow record.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel._core.io import check_writable, write_text
from riskmodel._core.workspace import specs_used
from riskmodel.evaluation.fairness import REST, FairnessPolicy, record_identity, resolve_policy
from riskmodel.evaluation.monitoring import (
    Alpha,
    Assessment,
    Check,
    ModelRef,
    MonitorSummary,
    RealisedWindow,
    ReferenceInputs,
    ReferenceRef,
    assess_month,
    by_group,
    contact_volumes,
    early_outcomes,
    importance_shares,
    model_reference,
    offered_help,
    offered_text,
    published_cohort,
    published_outcomes,
    realised,
    reference_inputs,
    rounded,
    run_alpha,
    training_gaps,
    write_monitoring_report,
)
from riskmodel.features import FeatureSpec, build_labels, build_matrix
from riskmodel.jobs._decisions_store import read_offers
from riskmodel.jobs._extract import open_extract
from riskmodel.jobs.score import _workspace_capacity
from riskmodel.models import feature_contributions
from riskmodel.scoring import cuts_from_meta, risk_bands, score_cohort
from riskmodel.store import (
    load_model,
    log_monitoring,
    monitoring_history,
    read_text,
    resolve_model_version,
)
from riskmodel.training import offered_rows

REFERENCE = "reference.json"
FAIL_ON = ("watch", "retrain")
EXIT_CODES = {"ok": 0, "watch": 3, "retrain recommended": 4}
EARLY_MONTHS = 1
IMPORTANCE_ROWS = 2000


# --------------------------------------------------------------------------- at training ---

@dataclass
class TrainingReference:
    """What the reference of every candidate shares: its rows and the model-free parts
    (each feature's buckets and counts per calendar month, the mix, the cohort: computed for
    the first candidate, kept for the others)."""

    rows: pd.DataFrame
    features: list[str]
    early: dict
    contacts: dict
    source: str
    min_count: int
    contacts_by_month: dict = field(default_factory=dict)
    policy: FairnessPolicy | None = None  # whose groups the by-group gaps at training are of
    #: The model-free part of every candidate's reference: computed once.
    _inputs: ReferenceInputs | None = field(default=None, repr=False)
    #: The labelled rows as the by-group gaps read them (with their record keys): made once.
    _labelled: tuple[pd.DataFrame, np.ndarray] | None = field(default=None, repr=False)

    @property
    def inputs(self) -> ReferenceInputs:
        """The model-free part of the reference (:func:`reference_inputs`), computed once."""
        if self._inputs is None:
            self._inputs = reference_inputs(self.rows, self.features, min_count=self.min_count)
        return self._inputs

    def for_model(self, model, *, capacity: dict, risk_bands_cuts: dict | None,
                  seed: int = 0) -> bytes:
        """``reference.json`` for one fitted candidate (scores, bands, capacity, weights)."""
        X = self.rows[self.features]
        score = model.predict_proba(X)[:, 1]
        frame = self.rows[["as_of", "locality"]].assign(score=score)
        flags = Capacity.from_spec(capacity).select(frame)
        bands = risk_bands(score, cuts_from_meta({"risk_bands": risk_bands_cuts}, score))
        sample = X.sample(min(len(X), IMPORTANCE_ROWS), random_state=seed)
        weights = importance_shares(feature_contributions(model, sample))
        ref = model_reference(self.inputs, score=score, flags=flags, bands=bands,
                              importance=weights, early=self.early, contacts=self.contacts,
                              contacts_by_month=self.contacts_by_month, source=self.source)
        ref["fairness"] = self.gaps(score, flags, seed=seed)
        return json.dumps(ref, indent=1).encode()

    def gaps(self, score: np.ndarray, flags: np.ndarray, *, seed: int = 0) -> dict:
        """Each fairness group's gap to its reference on the reference's labelled rows (the
        gap a month's is judged against: :func:`~riskmodel.evaluation.monitoring.gap_change`)."""
        pol = self.policy or resolve_policy(None)
        if "label" not in self.rows.columns:
            return {}
        chars = {pol.column(c): pol.reference(c) for c in pol.characteristics}
        labelled, keep = self._labelled_rows(list(chars))
        frame = labelled.assign(p=np.asarray(score)[keep], flag=np.asarray(flags)[keep])
        groups = by_group(frame, chars, rest=REST, tolerance=(pol.tolerance.low,
                                                              pol.tolerance.high),
                          min_count=self.min_count, n_boot=pol.monitoring.bootstrap, seed=seed)
        return training_gaps(groups)

    def _labelled_rows(self, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        """The labelled rows' family, ``columns`` (the characteristics), outcome (``y``) and
        record key (the fairness report's), and which rows they are: the same for every
        candidate, so made once (not a copy of every feature per candidate)."""
        if self._labelled is None:
            keep = self.rows["label"].notna().to_numpy()
            cols = [c for c in ("family_id", *columns) if c in self.rows.columns]
            frame = self.rows.loc[keep, cols].reset_index(drop=True)
            frame["y"] = self.rows.loc[keep, "label"].reset_index(drop=True)
            ids = [c for c in ("child_id", "as_of") if c in self.rows.columns]
            frame["record_id"] = record_identity(self.rows.loc[keep, ids]
                                                 .reset_index(drop=True))
            self._labelled = (frame, keep)
        return self._labelled


def reference_dates(test_dates, months: int = 12) -> list[pd.Timestamp]:
    """The monthly reference dates: the ``months`` first-of-months ending at the last test
    date (every calendar month once, so a month is compared with the same month there).

    Examples
    --------
    >>> [str(d.date()) for d in reference_dates(["2024-09-01", "2025-06-01"], 3)]
    ['2025-04-01', '2025-05-01', '2025-06-01']
    """
    last = max(pd.Timestamp(d) for d in test_dates).to_period("M").to_timestamp()
    return [last - pd.DateOffset(months=k) for k in range(months - 1, -1, -1)]


def training_reference(extract, matrix: pd.DataFrame, features: list[str], *, outcome: str,
                       horizon_months: int, test_dates, min_count: int | None = None,
                       spec=None) -> TrainingReference:
    """The model-free part of the reference, from a training run's matrix.

    The rows are the children open on each first of the month of the year ending at the last
    test date (the period the model's promise was measured in, every calendar month once),
    built with the model's feature ``spec``; without one, the rows of the test dates. How
    soon outcomes come is measured on every labelled row.

    Examples
    --------
    >>> ref = training_reference(tm.extract, tm.matrix, tm.features, outcome="escalation",
    ...                          horizon_months=6, test_dates=result.test_dates,
    ...                          spec=tm.feature_spec)  # doctest: +SKIP
    >>> files["reference.json"] = ref.for_model(
    ...     model, capacity=Capacity.parse("10%").to_spec(), risk_bands_cuts=None)  # doctest: +SKIP
    """
    pol = resolve_policy(None)
    if min_count is None:
        min_count = pol.min_count
    if spec is not None:
        dates = reference_dates(test_dates)
        rows = extract.matrix(dates, outcome=outcome, spec=spec, horizon_months=horizon_months)
        rows = rows.reset_index(drop=True)
        what = "the 12 months ending at the last out-of-time test date"
    else:
        dates = sorted(pd.Timestamp(d) for d in test_dates)
        rows = matrix[matrix["as_of"].isin(dates)].reset_index(drop=True)
        what = f"the {len(dates)} out-of-time test dates of training"
    labelled = matrix[matrix["label"].notna()]
    early: dict = {"months": EARLY_MONTHS, "horizon_months": int(horizon_months)}
    if len(labelled):
        first = build_labels(extract.tables, sorted(labelled["as_of"].unique()),
                             horizon_months=EARLY_MONTHS, extract_date=extract.date)
        first["as_of"] = first["as_of"].astype(labelled["as_of"].dtype)
        both = labelled[["child_id", "as_of", "label"]].merge(
            first[["child_id", "as_of", outcome]], on=["child_id", "as_of"], how="left")
        early.update(events=int(both[outcome].fillna(0).sum()),
                     events_horizon=int(both["label"].sum()), rows=int(len(both)))
    c, kids = extract.tables["contacts"], extract.tables["children"]
    contacts = contact_volumes(c, kids, dates, months=EARLY_MONTHS, min_count=min_count)
    by_month = {f"{d.month:02d}": contact_volumes(c, kids, [d], months=EARLY_MONTHS,
                                                  min_count=min_count) for d in dates}
    size = rounded(len(rows))
    source = (f"{what} ({dates[0].date()} to {dates[-1].date()}; about "
              f"{size:,} child-dates)" if isinstance(size, int) else f"{what}")
    return TrainingReference(rows=rows, features=list(features), early=early,
                             contacts=contacts, source=source, min_count=min_count,
                             contacts_by_month=by_month, policy=pol)


# --------------------------------------------------------------------------- each month ----

@dataclass
class MonitorRun:
    """One monitoring run: its summary, the files written and the history it completes."""

    summary: MonitorSummary
    paths: dict[str, Path]
    #: every month monitored, this one included, as stored (JSON)
    history: list[dict] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.summary.verdict

    def exit_code(self, fail_on: str | None) -> int:
        """0, or 3 (watch) / 4 (retrain recommended) when ``fail_on`` asks for it."""
        if fail_on is None:
            return 0
        check_fail_on(fail_on)
        code = EXIT_CODES[self.verdict]
        return code if code >= (3 if fail_on == "watch" else 4) else 0


def _reference_of(loaded, uri: str) -> dict:
    text = read_text(loaded.run_id, REFERENCE)
    if text is None:
        raise InputError(f"model: {uri} (version {loaded.version}) has no monitoring "
                         f"reference ({REFERENCE}); it was trained before riskmodel logged "
                         "one: retrain it to monitor it")
    return json.loads(text)


def _scored(matrix: pd.DataFrame, loaded, top) -> pd.DataFrame:
    run = score_cohort(matrix, loaded, top=top, explain_top="none", with_characteristics=True)
    keys = matrix[["child_id", "family_id"]].astype({"child_id": str})
    return run.scores.merge(keys, on="child_id", how="left")


def _month(date: pd.Timestamp, months: int) -> pd.Timestamp:
    return (date - pd.DateOffset(months=months)).normalize()


def matured_dates(when: pd.Timestamp, horizon: int, window: int) -> list[pd.Timestamp]:
    """The last ``window`` monthly list dates whose outcome window has closed by ``when``
    (a list of date m matures at m + horizon, the rule training labels by).

    Examples
    --------
    >>> [str(d.date()) for d in matured_dates(pd.Timestamp("2025-12-01"), 6, 3)]
    ['2025-04-01', '2025-05-01', '2025-06-01']
    """
    last = (when - pd.DateOffset(months=horizon)).to_period("M").to_timestamp()
    return [last - pd.DateOffset(months=k) for k in range(window - 1, -1, -1)]


def _pooled_realised(ex, loaded, fspec: FeatureSpec, when: pd.Timestamp, horizon: int, top,
                     characteristics: dict, t, tolerance, min_count: int, alpha: Alpha,
                     reference: dict, offers: pd.DataFrame | None = None) -> dict:
    """Realised performance pooled over the last matured months (a rolling window).

    The outcomes are those known on ``when`` (labels built with ``when`` as the extract
    date, as training builds them), so a run never reads what happened after its date.
    """
    dates = matured_dates(when, horizon, t.window_months)
    matrix = build_matrix(ex.tables, dates, outcome=loaded.meta["outcome"], spec=fspec,
                          horizon_months=horizon, extract_date=when)
    parts = []  # each month's list as it was (every child open), then those with an outcome
    for m in dates:
        month = matrix[matrix["as_of"] == m]
        if not len(month):
            continue
        s = _scored(month.drop(columns=["label"]), loaded, top)
        known = month.loc[month["label"].notna(), ["child_id", "label"]]
        parts.append(s.merge(known.astype({"child_id": str}), on="child_id")
                     .assign(as_of=str(m.date())))
    if not parts:
        return {}
    frame = pd.concat(parts, ignore_index=True).rename(
        columns={"label": "y", "score": "p", "in_capacity": "flag"})
    frame["record_id"] = record_identity(frame)  # the fairness report's record keys
    key = str(dates[-1].date())
    fitted = [str(d.date()) for d in dates if str(d.date()) <= max(reference.get("as_of") or
                                                                   [""])]
    return {key: {
        "offers": _offers(frame, offers, horizon, t.bootstrap, min_count),
        "first": str(dates[0].date()), "months": [str(d.date()) for d in dates],
        "in_reference_year": fitted,
        "overall": realised(frame["y"], frame["p"], frame["flag"], frame["family_id"],
                            n_boot=t.bootstrap, min_count=min_count,
                            ids=frame["record_id"].to_numpy()),
        "groups": by_group(frame, characteristics, rest=REST, tolerance=tolerance,
                           min_count=min_count,
                           n_boot=t.bootstrap, training=reference.get("fairness") or {},
                           p_value=alpha.alpha * max(alpha.fairness_tests, 1)),
    }}


def _offers(frame: pd.DataFrame, offers: pd.DataFrame | None, horizon: int, n_boot: int,
            min_count: int) -> dict | None:
    """Observed over expected among the window's children offered help and not (None
    without decisions): help that can have changed a child's outcome is an offer on a list
    within the horizon either side of the child's date (as training reads offers)."""
    if offers is None:
        return None
    rows = frame[["child_id", "as_of"]].assign(as_of=lambda d: pd.to_datetime(d["as_of"]))
    hit = offered_rows(rows, offers.astype({"child_id": str}), horizon_months=horizon)
    return offered_help(frame["y"], frame["p"], frame["flag"], frame["family_id"], hit,
                        n_boot=n_boot, min_count=min_count, ids=frame["record_id"].to_numpy())


def _early(ex, loaded, fspec: FeatureSpec, when: pd.Timestamp, horizon: int, top,
           reference: dict, t, min_count: int, alpha: float) -> dict:
    """Outcomes in the month after last month's list against what its scores expected."""
    before = _month(when, EARLY_MONTHS)
    matrix = ex.matrix([before], outcome=loaded.meta["outcome"], spec=fspec,
                       horizon_months=horizon)
    if not len(matrix) or not reference.get("early"):
        return {}
    s = _scored(matrix, loaded, top)
    first = build_labels(ex.tables, [before], horizon_months=EARLY_MONTHS, extract_date=when,
                         knowledge=fspec.knowledge)
    had = set(first.loc[first[loaded.meta["outcome"]].fillna(0) > 0, "child_id"].astype(str))
    had &= set(s["child_id"])  # the list's scored children (one row each) who had it
    mask = matrix["child_id"].astype(str).isin(had).to_numpy()
    events, ids = int(mask.sum()), record_identity(matrix).to_numpy()
    published = published_outcomes(ids, mask, min_count=min_count)
    out = early_outcomes(s["score"].to_numpy(float), events, early=reference["early"],
                         min_count=min_count, thresholds=t, alpha=alpha, published=published)
    # that month's cohort as its summary published it (cell-keyed), never the exact count
    out["children"] = published_cohort(ids, min_count=min_count)
    out["list_of"] = str(before.date())
    return out


def _framed(assessment: Assessment, when: pd.Timestamp, loaded, model_uri: str,
            reference: dict, pol: FairnessPolicy, started: float) -> MonitorSummary:
    """The month's summary with what it is of: the model, the reference, the promise, the
    policy (the reference's size rounded: no exact count of child-dates is published)."""
    meta = loaded.meta
    fairness_file = next((str(p) for p in reversed(specs_used())
                          if p.name == "fairness.yaml"), "the packaged policy")
    as_of = reference.get("as_of")
    return MonitorSummary.framed(
        assessment, as_of=str(when.date()),
        model=ModelRef(uri=loaded.uri, asked=model_uri, name=loaded.name,
                       version=loaded.version, run_id=loaded.run_id, outcome=meta["outcome"],
                       horizon_months=int(meta["horizon_months"])),
        reference=ReferenceRef(source=reference.get("source"),
                               as_of=None if as_of is None else tuple(as_of),
                               min_count=reference.get("min_count"),
                               n=rounded(reference.get("n") or 0)),
        promise=tuple(meta.get("test_metrics") or []), thresholds=pol.monitoring.model_dump(),
        tolerance=(pol.tolerance.low, pol.tolerance.high), policy=fairness_file,
        seconds=time.perf_counter() - started)


def _caveats(ex, meta: dict, reference: dict) -> list[str]:
    """What the verdict is judged at and what it cannot see, in words."""
    notes = []
    if not reference.get("fairness"):
        notes.append("by group: the model's reference holds no gaps measured at training "
                     "(it was trained before riskmodel kept them), so the gaps are shown but "
                     "not judged; retrain it to judge them")
    model_cap = Capacity.from_spec(meta.get("capacity")).option()
    workspace_cap = _workspace_capacity(meta["outcome"])
    if workspace_cap is not None and workspace_cap != model_cap:
        notes.append(f"capacity: judged at {model_cap}, the capacity the model card's promise "
                     f"was measured at; the workspace now lists {workspace_cap}")
    return notes


def _offer_notes(matured: dict, decisions) -> list[str]:
    """Observed over expected among the children offered help and not, or the caveat when
    no decisions were given."""
    if decisions is None:
        return ["offers of help: no decisions given (--decisions), so monitoring cannot see "
                "them: help that works lowers the outcomes of the children offered it, so "
                "realised performance and observed over expected read low where the list "
                "led to help"]
    return [offered_text(r["offers"]) for r in matured.values() if r.get("offers")]


def _headline(summary: MonitorSummary) -> dict[str, float | None]:
    """The month's headline numbers, logged as MLflow metrics beside the summary."""
    level = {"ok": 0, "watch": 1, "retrain recommended": 2}[summary.verdict]
    out: dict[str, float | None] = {
        "verdict_level": level, "children": summary.cohort.now,
        "features_moved": summary.moved.counted,
        "psi_max": max((r.psi for r in summary.inputs if r.psi is not None), default=None),
        "score_psi": summary.scores.psi, "score_mean": summary.scores.mean_now,
        "auc_estimated": summary.estimate.auc.value,
        "early_ratio": None if summary.early is None else summary.early.ratio}
    for month, r in summary.realised.items():
        auc = r.overall.metrics.get("auc")
        out["auc_realised"] = None if auc is None else auc.value
        out["realised_month"] = int(month[:4]) * 100 + int(month[5:7])
    return out


def monitor(data, model_uri: str = "models:/escalation@champion", as_of=None, *, out,
            policy=None, record: bool = True, extract_date=None, progress=None,
            decisions=None) -> MonitorRun:
    """Monitor a registered model on one month's children; write the report and summary.

    Parameters
    ----------
    data : path or database URL: the council extract (as for ``riskmodel score``)
    model_uri : str, default="models:/escalation@champion"
    as_of, out : the as-of date (default: the extract date); the folder for the outputs
    policy : path or FairnessPolicy, optional
        The fairness policy (its ``monitoring`` section): the workspace's, else the packaged.
    record : bool, default=True: add the summary to the model's MLflow record (the history)
    decisions : path, optional: the stored decisions (``riskmodel decisions add``'s folder or
        file): observed over expected among children offered help and not (else a caveat)

    Returns
    -------
    MonitorRun: its ``summary`` a :class:`~riskmodel.evaluation.monitoring.MonitorSummary`

    Examples
    --------
    >>> run = monitor("council/", as_of="2025-07-01", out="m/2025-07")  # doctest: +SKIP
    >>> run.verdict, run.paths["html"].name  # doctest: +SKIP
    ('ok', 'report.html')
    """
    started = time.perf_counter()
    say = progress or (lambda msg: None)
    check_writable(out := Path(out), folder=True)
    pol = resolve_policy(policy)
    loaded = load_model(model_uri)
    reference = _reference_of(loaded, model_uri)
    ex = open_extract(data, extract_date=extract_date)
    when, matrix = _month_matrix(ex, as_of, loaded, say)
    scored = _scored(matrix, loaded, top := None)  # top: the capacity the promise is at
    history = [h for h in monitoring_history(loaded.run_id) if h["as_of"] != str(when.date())]
    earlier = [h for h in history if h["as_of"] < str(when.date())]
    alpha = run_alpha(reference, pol.monitoring,
                      characteristics=[pol.column(c) for c in pol.characteristics])
    say("looking back at last month's list and the matured months…")
    early, matured = _look_back(ex, loaded, when, top, reference, pol, alpha, decisions)
    notes = (_caveats(ex, loaded.meta, reference) + _reference_year_notes(matured)
             + _offer_notes(matured, decisions))
    say("comparing with the training reference…")
    contacts = contact_volumes(ex.tables["contacts"], ex.tables["children"], [when],
                               min_count=pol.min_count)
    summary = _framed(assess_month(
        reference, matrix, scored, thresholds=pol.monitoring,
        tolerance=(pol.tolerance.low, pol.tolerance.high), contacts=contacts,
        last=earlier[-1] if earlier else None, early=early, realised=matured,
        promise=loaded.meta.get("test_metrics"), alpha=alpha, notes=notes,
        cohort=published_cohort(ids := record_identity(matrix).to_numpy(),
                                min_count=pol.min_count), ids=ids),
        when, loaded, model_uri, reference, pol, started)
    history = sorted([*history, published := summary.to_dict()], key=lambda s: s["as_of"])
    paths = _write(summary, history, out)
    if record:
        log_monitoring(loaded.run_id, summary.as_of, published, _headline(summary))
    say(f"monitored in {time.perf_counter() - started:.1f}s")
    return MonitorRun(summary=summary, paths=paths, history=history)


def _look_back(ex, loaded, when: pd.Timestamp, top, reference: dict, pol, alpha: Alpha,
               decisions=None) -> tuple[dict, dict]:
    """Early outcomes of last month's list, and realised performance of the matured months
    (with the offers of help among them when the stored ``decisions`` are given)."""
    offers = None if decisions is None else read_offers(decisions, what="--decisions")
    t, min_count = pol.monitoring, pol.min_count
    fspec = FeatureSpec.model_validate(loaded.meta["feature_spec"])
    horizon = int(loaded.meta["horizon_months"])
    characteristics = {pol.column(c): pol.reference(c) for c in pol.characteristics}
    early = _early(ex, loaded, fspec, when, horizon, top, reference, t, min_count,
                   alpha.alpha)
    matured = _pooled_realised(ex, loaded, fspec, when, horizon, top, characteristics, t,
                               (pol.tolerance.low, pol.tolerance.high), min_count, alpha,
                               reference, offers)
    return early, matured


def _month_matrix(ex, as_of, loaded, say) -> tuple[pd.Timestamp, pd.DataFrame]:
    """The month's date and the feature matrix of the children open on it (one-line errors)."""
    fspec = FeatureSpec.model_validate(loaded.meta["feature_spec"])
    outcome, horizon = loaded.meta["outcome"], int(loaded.meta["horizon_months"])
    when = ex.date if as_of is None else parse_date(as_of, "--as-of")
    if when > ex.date:
        raise InputError(f"--as-of: {when.date()} is after the extract date {ex.date.date()}; "
                         "the data cannot describe children at a later date")
    say(f"building the children open on {when.date()}…")
    matrix = ex.matrix([when], outcome=outcome, spec=fspec, horizon_months=horizon)
    if not len(matrix):
        raise InputError(f"data: no child has an early-help episode open on {when.date()}; "
                         "nothing to monitor")
    return when, matrix


def _reference_year_notes(matured: dict) -> list[str]:
    """A caveat for each realised window with lists in the training reference's year."""
    return [f"realised: {len(r['in_reference_year'])} of the lists of {r['first']} to {k} "
            "fall in the training reference's year; the final model was fitted on its "
            "dates' children, so those lists read better than new ones will"
            for k, r in matured.items() if r["in_reference_year"]]


def _write(summary: MonitorSummary, history: list[dict], out: Path) -> dict[str, Path]:
    """Write ``summary.json`` and ``report.html`` (atomically) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return {"summary": write_text(json.dumps(summary.to_dict(), indent=1, ensure_ascii=False)
                                  + "\n",
                                  out / "summary.json"),
            "html": write_monitoring_report(summary, history, out / "report.html")}


def check_fail_on(fail_on: str | None) -> None:
    """A one-line error for a ``--fail-on`` that is not ``watch`` or ``retrain``.

    Examples
    --------
    >>> check_fail_on("watch")
    >>> check_fail_on("sometimes")
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: --fail-on: 'sometimes' is not one of watch, retrain
    """
    if fail_on is not None and fail_on not in FAIL_ON:
        raise InputError(f"--fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON)}")


def monitor_text(run: MonitorRun, *, record: bool = True) -> str:
    """What ``riskmodel monitor`` prints: the verdict, its reasons, the files, a closing line.

    Examples
    --------
    >>> print(monitor_text(monitor("council/", out="m/")))  # doctest: +SKIP
    verdict: ok
    report: m/report.html
    ...
    """
    s = run.summary
    lines = [f"verdict: {s.verdict}"]
    lines += [f"  {'retrain recommended' if r.level == 'retrain' else r.level} "
              f"({r.section}): {r.text}" for r in s.reasons]
    lines += performance_lines(s.realised, s.estimate.checks)
    lines += [f"  note: {n}" for n in s.notes]
    lines += [f"report: {run.paths['html']}", f"summary: {run.paths['summary']}"]
    real = ", ".join(f"{r.first} to {k}" for k, r in s.realised.items()) or "none matured"
    lines.append(f"OK monitored {s.model.name} v{s.model.version} at {s.as_of} "
                 f"in {s.seconds:.1f}s: {s.cohort.now:,} children open; verdict "
                 f"{s.verdict} ({len(s.reasons)} reasons); realised performance: {real}"
                 + ("; history in MLflow" if record else ""))
    return "\n".join(lines)


def performance_lines(realised: Mapping[str, RealisedWindow],
                      estimate_checks: Sequence[Check]) -> list[str]:
    """Each realised measure (pooled over the matured months) and each estimate, with the
    smallest change it can show beside every one that is within its bar.

    Examples
    --------
    >>> from riskmodel.evaluation.monitoring import Check
    >>> auc = Check(metric="auc", value=0.741, change=0.01, p=0.4, bar=0.05, smallest=0.06,
    ...             short=False, text="AUC 0.741 (0.70-0.78)")
    >>> performance_lines({}, [auc])
    ['  estimate: AUC 0.741 (0.70-0.78): ok (the smallest drop it can show: 0.060)']
    """
    lines = []
    for key, r in realised.items():
        lines += [f"  realised, lists of {r.first} to {key}: {c.text}: ok ({smallest_text(c)})"
                  for c in r.checks if not c.short]
    lines += [f"  estimate: {c.text}: ok ({smallest_text(c)})"
              for c in estimate_checks if not c.short]
    return lines


def smallest_text(check: Check) -> str:
    """The smallest change a check can show, in words.

    Examples
    --------
    >>> from riskmodel.evaluation.monitoring import Check
    >>> def check(metric, smallest):
    ...     return Check(metric=metric, value=None, change=None, p=None, bar=None,
    ...                  smallest=smallest, short=False, text="")
    >>> smallest_text(check("auc", 0.06))
    'the smallest drop it can show: 0.060'
    >>> smallest_text(check("recall_at_capacity", 1.3))
    'this much data cannot show any drop of recall at capacity'
    """
    m, v = check.metric, float(check.smallest or 0.0)
    if m in ("precision_at_capacity", "recall_at_capacity"):
        if v >= 1:
            return f"this much data cannot show any drop of {m.replace('_', ' ')}"
        return f"the smallest drop it can show: {v:.0%} of the promise"
    if m == "observed_over_expected":
        return f"the smallest change it can show: {math.exp(v):.2f} times either way"
    word = "rise" if m == "calibration_error" else "drop"
    return f"the smallest {word} it can show: {v:.3f}"


def history_text(model_uri: str = "models:/escalation@champion") -> str:
    """``riskmodel monitor --history``: the table of every month monitored, as text.

    Examples
    --------
    >>> print(history_text("models:/escalation@champion"))  # doctest: +SKIP
    models:/escalation@champion: every month monitored
         as_of  children verdict ...
    """
    table = monitor_history(model_uri)
    if table.empty:
        return f"{model_uri}: not monitored yet (riskmodel monitor --data DIR --out DIR)"
    return f"{model_uri}: every month monitored\n" + table.to_string(
        index=False, na_rep="", float_format=lambda v: f"{v:.3f}")


def monitor_history(model_uri: str = "models:/escalation@champion") -> pd.DataFrame:
    """Every month monitored for a registered model, as a table (``riskmodel monitor
    --history``).

    Examples
    --------
    >>> monitor_history("models:/escalation@champion")  # doctest: +SKIP
    """
    from riskmodel.evaluation.monitoring import history_table

    mv = resolve_model_version(model_uri)
    return history_table(monitoring_history(mv.run_id))


__all__ = ["EXIT_CODES", "MonitorRun", "TrainingReference", "monitor", "monitor_history",
           "training_reference"]
