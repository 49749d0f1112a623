"""``riskmodel train``: build the matrix, evaluate candidates, log to MLflow, register the best."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd
import yaml

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel._core.workspace import specs_used
from riskmodel.data import read_truth
from riskmodel.evaluation import (
    AuditOptions,
    add_referrals,
    calibration_png,
    fairness_audit,
    load_fairness_policy,
    referral_disproportionality,
    total_key,
    write_explanation_report,
    write_fairness_report,
)
from riskmodel.evaluation.card import TEST_ROWS_PARAMS
from riskmodel.evaluation.fairness import record_identity
from riskmodel.features import knowledge_rules, switched_off_features
from riskmodel.jobs._extract import training_matrix, with_characteristics
from riskmodel.jobs.compare import flatten
from riskmodel.jobs.monitor import REFERENCE, training_reference
from riskmodel.jobs.replay import stored_predictions
from riskmodel.models import FitPool
from riskmodel.scoring import band_cut_points
from riskmodel.store import (
    TEST_PREDICTIONS,
    CandidateRecord,
    RunTags,
    TrainingRun,
    last_training,
    read_text,
    register,
    training_run,
)
from riskmodel.training import (
    TrainingSpec,
    TrainResult,
    best_passing,
    diff_lines,
    evaluate_candidates,
    fit_final,
    judge_fairness,
    load_training_spec,
    make_candidate,
)


def _git_commit() -> str:
    for where in (Path.cwd(), Path(__file__).resolve().parent):
        try:
            out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                 text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return out.stdout.strip()
    return "unknown"


MODEL_DESCRIPTION = (
    "riskmodel {outcome} model: the calibrated probability that a child open to early help "
    "has the {outcome} outcome within {horizon} months. Versions are registered by "
    "`riskmodel train` only when every pass threshold of the training spec is met; the "
    "champion alias is the one scored each month.")


def _version_description(best, common: RunTags) -> str:
    m = best.metrics.set_index("metric")
    auc = m.loc["auc"]
    return (f"{best.name} ({best.kind}) trained {dt.date.today().isoformat()} on data "
            f"{common.data_fingerprint[:12]}; out-of-time AUC {auc['value']:.3f} "
            f"(95% interval {auc['low']:.3f}-{auc['high']:.3f}) on test dates "
            f"{', '.join(common.test_dates)}; passed every threshold of its spec.")


def _run_name(spec: TrainingSpec, spec_text: str, common: RunTags) -> str:
    """``escalation 2026-12-02: <what changed since the last training>``."""
    previous = last_training(spec.outcome)
    if previous is None:
        change = "first training"
    else:
        before = read_text(previous.run_id, "spec.yaml")
        changed = [] if before is None else [
            line.split(":")[0] for line in diff_lines(
                flatten(yaml.safe_load(before) or {}), flatten(yaml.safe_load(spec_text) or {}),
                names=("before", "now"))]
        parts = []
        if changed:
            parts.append("spec " + ", ".join(changed[:3]) + (" …" if len(changed) > 3 else ""))
        if previous.tags.data_fingerprint != common.data_fingerprint:
            parts.append("new data")
        if previous.tags.git_commit != common.git_commit:
            parts.append("new code")
        change = "; ".join(parts) or "same spec, data and code"
    return f"{spec.outcome} {dt.date.today().isoformat()}: {change}"


def _record(res, spec: TrainingSpec, spec_text: str, features: list[str], feature_spec: dict,
            common: RunTags, risk_bands: dict | None = None,
            switched_off: dict | None = None, knowledge: list | None = None) -> CandidateRecord:
    """What is logged for one candidate (aggregates, the spec and the model's JSON)."""
    params = {"candidate": res.name, "kind": res.kind, "outcome": spec.outcome,
              "horizon_months": spec.horizon_months, "calibration": spec.calibration,
              "capacity": spec.capacity.describe(), "n_features": len(features),
              "bootstrap": spec.bootstrap, "seed": spec.seed}
    for k, v in next(c for c in spec.candidates if c.name == res.name).params.items():
        params[f"param_{k}"] = v
    tags = replace(common, candidate=res.name, kind=res.kind,
                   result="PASS" if res.passed else "FAIL",
                   why="; ".join(res.reasons)[:4000] or "meets thresholds")
    files = {
        "spec.yaml": spec_text.encode(),
        "features.json": json.dumps(features, indent=1).encode(),
        "metrics.csv": res.metrics.to_csv(index=False).encode(),
        "metrics_by_locality.csv": res.by_locality.to_csv(index=False).encode(),
        "calibration.png": calibration_png(res.predictions, res.name),
    }
    payload = {"model": res.model.to_dict(), "meta": {
        "outcome": spec.outcome, "horizon_months": spec.horizon_months,
        "candidate": res.name, "kind": res.kind, "features": features,
        "feature_spec": feature_spec, "capacity": spec.capacity.model_dump(),
        "spec": yaml.safe_load(spec_text), "data_fingerprint": common.data_fingerprint,
        "git_commit": common.git_commit, "test_metrics": res.metrics.to_dict(orient="records"),
        # Band cut-points on the calibrated probability, fixed now (docs/scoring.md).
        "risk_bands": risk_bands,
        "switched_off": switched_off or {},
        # When late-filled and changeable values were taken as known (docs/knowledge-dates.md)
        "knowledge": knowledge or [],
    }}
    return CandidateRecord(name=res.name, tags=tags, params=params, metrics=res.metrics,
                           by_locality=res.by_locality, files=files, model_payload=payload,
                           features=features)


def _audit_options(res, spec: TrainingSpec, **extra) -> AuditOptions:
    """The rule the candidate's capacity gives: its top percent, else the lowest score that
    was in per-locality capacity."""
    cap = Capacity.from_spec(spec.capacity)
    threshold = None
    if cap.per_locality:
        threshold = float(res.predictions.loc[res.predictions["flagged"], "score"].min())
    return AuditOptions(label="label", score="score", cluster="family_id",
                        random_state=spec.seed,
                        top=None if cap.per_locality else cap.option(),
                        threshold=threshold, **extra)


def _judge_fairness(result: TrainResult, matrix, spec: TrainingSpec, say) -> None:
    """Apply the spec's fairness bars to every candidate (findings only, no bootstrap)."""
    bars = spec.fairness
    if bars is None:
        return
    for res in result.candidates:
        # judged on the final period only (the selection dates chose the model)
        pred = res.predictions
        if result.holdout_dates:
            pred = pred[pred["as_of"].isin(result.holdout_dates)]
        pred = with_characteristics(pred.drop(columns=["flagged"]), matrix)
        chars = [c for c in bars.characteristics if c in pred.columns]
        if not chars:
            raise InputError(f"training spec: fairness: none of {bars.characteristics} is a "
                             "characteristic of the matrix")
        audit = fairness_audit(pred, _audit_options(
            res, spec, sensitive=chars, bootstrap=False, source=f"candidate {res.name}",
            policy=load_fairness_policy().model_copy(update={"metrics": list(bars.measures)})))
        ok, reasons, shown = judge_fairness(audit.findings, spec)
        res.fairness = shown
        if not ok:
            res.passed = False
            res.reasons = res.reasons + reasons
        say(f"fairness bars for {res.name}: {shown.get('fairness_flags', 0)} flagged")


def _write_reviews(res, matrix, spec: TrainingSpec, out: Path, tables=None,
                   final_dates=()) -> None:
    """Write the fairness and explanation reports of one candidate into ``out/fairness`` and
    ``out/explain``; with the extract's ``tables``, the fairness report adds the front door
    (referrals). The fairness report audits the ``final_dates`` (the rows its metrics and
    bars were measured on), every test date when no period was held out."""
    pred = with_characteristics(_final_rows(res.predictions, final_dates).drop(columns=["flagged"]),
                                matrix)
    audit = fairness_audit(pred, _audit_options(res, spec,
                                                source=f"test predictions of {res.name}"))
    if tables is not None and {"children", "contacts"} <= set(tables):
        add_referrals(audit, referral_disproportionality(tables["children"],
                                                         tables["contacts"]))
    write_fairness_report(audit, out / "fairness", title=f"Fairness review: {spec.outcome} "
                          f"({res.name}), final out-of-time period")
    write_explanation_report(res.model, matrix[matrix["label"].notna()],
                             out / "explain" / "explain.html",
                             capacity=spec.capacity.model_dump(),
                             title=f"How the {spec.outcome} model ({res.name}) scores")


def _final_rows(pred: pd.DataFrame, final_dates: Sequence = ()) -> pd.DataFrame:
    """The predictions at the final dates (every test date when no period was held out):
    the rows the fairness report audits."""
    return pred[pred["as_of"].isin(list(final_dates))] if len(final_dates) else pred


def _test_rows_params(pred: pd.DataFrame, final_dates: Sequence = ()) -> dict[str, int]:
    """The final rows with a known outcome, as the fairness report counts them: their exact
    number and the cell key it rounds them by (riskmodel.evaluation.total_key), logged so the
    model card publishes the same count as the same figure."""
    rows = _final_rows(pred, final_dates).reset_index(drop=True)
    known = rows["label"].notna().to_numpy()
    return dict(zip(TEST_ROWS_PARAMS, (int(known.sum()), total_key(record_identity(rows), known)),
                    strict=True))


def _log_overview(run: TrainingRun, result: TrainResult, spec_text: str) -> None:
    """The parent run's files: the leaderboard and, over time, every candidate at every test
    date, list stability, the learning curve and what the bars need (aggregates only)."""
    run.log_file("leaderboard.csv", result.leaderboard().to_csv(index=False))
    run.log_file("per_date.csv", result.per_date().to_csv(index=False))
    chosen = next(r for r in result.candidates if r.name == result.chosen)
    if chosen.stability is not None:
        run.log_file("list_stability.csv", chosen.stability.to_csv(index=False))
    if result.learning_curve is not None:
        run.log_file("learning_curve.csv", result.learning_curve.to_csv(index=False))
    if result.notes:
        run.log_file("attainability.txt", "\n".join(result.notes) + "\n")
    run.log_file("spec.yaml", spec_text)
    if result.truth is not None:
        run.log_metrics({f"truth_{r.metric}": r.value
                         for r in result.truth.metrics.itertuples()})


def _start_references(result: TrainResult, tm, spec_obj: TrainingSpec, cuts: dict,
                      finals: list[Future], pool: FitPool) -> list[Future]:
    """Each candidate's monitoring reference (``reference.json``, docs/monitoring.md), in
    the background one after another as its final fit is done, beside the chosen
    candidate's reports and the logging (no chart is drawn in them: pyplot is not shared)."""
    reference = training_reference(tm.extract, tm.matrix, tm.features,
                                   outcome=spec_obj.outcome,
                                   horizon_months=spec_obj.horizon_months,
                                   test_dates=result.test_dates, spec=tm.feature_spec)
    _ = reference.inputs  # the model-free part: made once, here, for every candidate

    def one(final: Future) -> bytes:
        return reference.for_model(final.result(), capacity=spec_obj.capacity.model_dump(),
                                   risk_bands_cuts=cuts, seed=spec_obj.seed)

    return [pool.then(one, final) for final in finals]


def _log_candidates(run: TrainingRun, result: TrainResult, tm, spec_obj: TrainingSpec,
                    spec_text: str, common: RunTags, say, fitted: tuple) -> dict:
    """Log each candidate, fitted on every labelled row, with its monitoring reference, as
    a nested run (``fitted``: the cut-points, the final fits and the references under way:
    :func:`_start_final_fits`, :func:`_start_references`)."""
    matrix, features = tm.matrix, tm.features
    cuts, finals, references = fitted
    records = {}
    # Every candidate's test predictions are the same rows in the same order (the folds'
    # test rows), so their count and cell key are computed once (2.3 s of CPU each at
    # 100,000 children: a record key per row).
    test_rows = _test_rows_params(result.candidates[0].predictions, result.holdout_dates)
    for res, final, reference in zip(result.candidates, finals, references, strict=True):
        say(f"fitting {res.name} on every labelled row…")
        res.model = final.result()
        record = _record(res, spec_obj, spec_text, features, result.extra["feature_spec"],
                         common, cuts, result.extra["switched_off"], result.extra["knowledge"])
        # the test scores, by row position (no ids), so a review need not refit (jobs/replay)
        record.files[TEST_PREDICTIONS] = stored_predictions(res.predictions, matrix)
        record.params.update(test_rows)
        record.files[REFERENCE] = reference.result()
        rec = run.log_candidate(record)
        res.run_id = rec.run_id
        records[res.name] = rec
        say(f"logged {res.name} to MLflow")
    return records


def _add_extras(result: TrainResult, tm, say) -> None:
    """What the run logs and the model card shows beside the leaderboard."""
    matrix = tm.matrix
    result.fingerprint = tm.extract.fingerprint
    result.extra["matrix"] = matrix
    result.extra["features"] = tm.features
    result.extra["feature_spec"] = tm.feature_spec.model_dump(mode="json")
    # Inputs the extract lacks (no ACE factors, no triage, ...): their features were left
    # out of the matrix; the model card says which.
    result.extra["switched_off"] = switched_off_features(
        tm.extract.tables, tm.feature_spec, before=matrix["as_of"].max())
    result.extra["knowledge"] = knowledge_rules(tm.extract.tables, tm.feature_spec,
                                                before=matrix["as_of"].max())
    for line in result.extra["knowledge"]:
        say(f"knowledge dates: {line}")


def _start_final_fits(tm, spec_obj: TrainingSpec, pool: FitPool) -> list[Future]:
    """Each candidate fitted on every labelled row, in the background (``pool``): beside
    the fairness bars, the reference rows' matrix and the earlier candidates' references,
    which run on one core. Each is the model it would be fitted alone."""
    return [pool.submit(partial(fit_final, tm.matrix, tm.features, cand, spec_obj, pool=pool))
            for cand in spec_obj.candidates]


def _log_and_register(result: TrainResult, tm, spec_obj: TrainingSpec, spec_text: str,
                      register_best: bool, say, finals: list[Future], pool: FitPool) -> None:
    """Log the training and its candidates to MLflow; register the best passing one. The
    candidates' references are made in the background while the reviewed candidate's
    reports are written and the candidates logged."""
    common = RunTags(outcome=spec_obj.outcome, data_fingerprint=result.fingerprint,
                     git_commit=_git_commit(),
                     test_dates=[str(d.date()) for d in result.test_dates])
    best = best_passing(result)
    params = {"outcome": spec_obj.outcome, "n_rows": result.n_rows,
              "n_features": len(tm.features), "n_candidates": len(result.candidates)}
    with training_run(spec_obj.outcome, run_name=_run_name(spec_obj, spec_text, common),
                      tags=replace(common, role="training"),
                      params=params) as run, tempfile.TemporaryDirectory() as tmp:
        result.parent_run_id = run.run_id
        _log_overview(run, result, spec_text)
        # Risk-band cut-points from the dates before the final period only (docs/scoring.md)
        cuts = band_cut_points(tm.matrix.loc[~tm.matrix["as_of"].isin(result.holdout_dates),
                                             "label"])
        references = _start_references(result, tm, spec_obj, cuts, finals, pool)
        reviewed = best or max(result.candidates, key=lambda r: r.metrics.set_index(
            "metric").loc[spec_obj.select_by, "value"])
        reviewed.model = finals[result.candidates.index(reviewed)].result()
        say(f"writing the fairness and explanation reports for {reviewed.name}…")
        _write_reviews(reviewed, tm.matrix, spec_obj, Path(tmp), tables=tm.extract.tables,
                       final_dates=result.holdout_dates)
        records = _log_candidates(run, result, tm, spec_obj, spec_text, common, say,
                                  (cuts, finals, references))
        for part in ("fairness", "explain"):
            run.log_folder(Path(tmp) / part, part, records[reviewed.name].run_id)
        say(f"logged the fairness and explanation reports for {reviewed.name}")
        run.set_tags(RunTags(spec_files=[str(p) for p in specs_used()]))
        if best is not None:
            run.set_tags(RunTags(best=best.name))
        if best is not None and register_best:
            rec = records[best.name]
            result.registered = register(
                spec_obj.outcome, rec.model_uri, rec.checksum, rec.run_id,
                description=_version_description(best, common),
                model_description=MODEL_DESCRIPTION.format(outcome=spec_obj.outcome,
                                                           horizon=spec_obj.horizon_months))
            run.set_tags(RunTags(registered=f"{result.registered['name']} "
                                            f"v{result.registered['version']}"))
            say(f"registered {best.name} as {spec_obj.outcome} "
                f"v{result.registered['version']} ({result.registered['alias']})")


def train(data, spec=None, *, outcome: str = "escalation", register_best: bool = True,
          progress=None) -> TrainResult:
    """Train and judge every candidate of a spec, log each to MLflow, register the best.

    Parameters
    ----------
    data : path
        A council extract (folder or DuckDB file); a ``truth.parquet`` beside the tables
        (synthetic councils) adds the true probabilities as a reference row.
    spec : path or TrainingSpec, optional
        Default: the packaged spec for ``outcome``.
    register_best : bool, default=True
        Register the best passing candidate as a new version of the model named after the
        outcome (alias ``champion`` if there is none, else ``challenger``).
    progress : callable, optional
        Called with a short message after each step.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> data = generate_council(n_children=3000, seed=2, out=tempfile.mkdtemp())
    >>> result = train(data)  # doctest: +SKIP
    >>> result.leaderboard()[["candidate", "auc", "result"]]  # doctest: +SKIP
    """
    say = progress or (lambda msg: None)
    if isinstance(spec, TrainingSpec):
        spec_obj = spec
        spec_text = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    else:
        spec_obj = load_training_spec(spec, outcome=outcome)
        spec_text = (Path(spec).read_text() if spec else
                     yaml.safe_dump(spec_obj.model_dump(mode="json"), sort_keys=False))
    for cand in spec_obj.candidates:  # a bad parameter fails now, before any slow work
        make_candidate(cand, calibration=spec_obj.calibration, seed=spec_obj.seed,
                       calibration_folds=spec_obj.calibration_folds)
    t0 = time.perf_counter()
    say("reading the extract and building the matrix…")
    tm = training_matrix(data, spec_obj)
    matrix, features = tm.matrix, tm.features
    say(f"built the matrix: {len(matrix):,} rows, {len(features)} features "
        f"({time.perf_counter() - t0:.1f}s)")
    truth = read_truth(data, outcome=spec_obj.outcome, horizon_months=spec_obj.horizon_months)
    if truth is not None:
        truth["as_of"] = truth["as_of"].astype(matrix["as_of"].dtype)
    for line in tm.notes:
        say(f"as-of schedule: {line}")
    with FitPool() as pool:  # every fit, side by side: the models each fit makes alone
        result = evaluate_candidates(matrix, spec_obj, features=features, truth=truth,
                                     progress=say, pool=pool)
        finals = _start_final_fits(tm, spec_obj, pool)
        result.notes = tm.notes + result.notes
        _judge_fairness(result, matrix, spec_obj, say)
        _add_extras(result, tm, say)
        _log_and_register(result, tm, spec_obj, spec_text, register_best, say, finals, pool)
    return result
