"""``riskmodel fairness``: a disproportionality report from a scores file or a training run."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.errors import InputError
from riskmodel._core.io import check_writable
from riskmodel.evaluation import (
    AuditOptions,
    FairnessAudit,
    add_referrals,
    fairness_audit,
    referral_disproportionality,
    write_fairness_report,
)
from riskmodel.jobs._extract import Extract, open_extract
from riskmodel.jobs.replay import run_test_predictions

DEFAULT_TITLE = "Fairness and disproportionality report"
PathLike: TypeAlias = str | os.PathLike


@dataclass(frozen=True)
class FairnessReport:
    """What :func:`fairness_report` made.

    Attributes
    ----------
    audit : FairnessAudit
    options : AuditOptions
        The options the audit ran with (for a run: with its rule, clusters and source).
    paths : dict
        The files written, by name (``html``, ``json`` and one per table), as
        :func:`~riskmodel.evaluation.write_fairness_report` returns them.
    """

    audit: FairnessAudit
    options: AuditOptions
    paths: dict[str, Path]


def read_scores(path: PathLike) -> pd.DataFrame:
    """Read a scores table (CSV or Parquet, chosen by the suffix).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> pd.DataFrame({"score": [0.2], "label": [1]}).to_csv(p, index=False)
    >>> read_scores(p).columns.tolist()
    ['score', 'label']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scores file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: could not be read as {suffix[1:]} "
                         f"({' '.join(str(exc).split())[:120]})") from None
    raise InputError(f"{path}: expected a .csv or .parquet scores file")


def fairness_report(options: AuditOptions, out_dir: PathLike, *, scores: PathLike | None = None,
                    run: str | None = None, data: PathLike | None = None,
                    title: str = DEFAULT_TITLE,
                    progress: Callable[[str], None] | None = None) -> FairnessReport:
    """Audit a scores file or a training run's test predictions and write the report.

    Give either ``scores`` (a table holding ``options.label`` and ``options.score``) or
    ``run`` with ``data``: the run's out-of-time test predictions
    (:func:`run_test_predictions`), resampled by family and, unless ``options`` sets a rule,
    flagged at the run's capacity; the report then adds the front door
    (:func:`referral_disproportionality`). ``options.source`` is set to the scores file's
    path or ``run RUN_ID``, the name errors and the report use.

    Parameters
    ----------
    options : AuditOptions
        What to audit and how (see :func:`~riskmodel.evaluation.fairness_audit`).
    out_dir : path
        Folder for the HTML report, the CSV tables and ``fairness.json``.
    scores : path, optional
        A scores table (``.csv`` or ``.parquet``).
    run, data : str and path, optional
        Instead of ``scores``: an MLflow candidate run (``riskmodel compare`` lists them) and
        the extract it was trained on.
    title, progress : str and callable, optional
        The report's title; a function called with a short message before each long step.

    Returns
    -------
    FairnessReport

    Raises
    ------
    InputError
        Neither or both of ``scores`` and ``run`` (or ``run`` without ``data``), or any
        problem the audit finds, as one line.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, pandas as pd
    >>> from riskmodel.evaluation import AuditOptions
    >>> rng, folder = np.random.default_rng(1), pathlib.Path(tempfile.mkdtemp())
    >>> f = pd.DataFrame({"sex": rng.choice(["female", "male"], 200),
    ...                   "score": rng.uniform(size=200)})
    >>> f["label"] = (rng.uniform(size=200) < f.score).astype(int)
    >>> f.to_csv(folder / "scores.csv", index=False)
    >>> options = AuditOptions(label="label", score="score", top="10%", sensitive="sex",
    ...                        policy={"characteristics": {"sex": None}, "intersections": [],
    ...                                "bootstrap": {"n": 20}})
    >>> report = fairness_report(options, folder / "report", scores=folder / "scores.csv")
    >>> report.paths["html"].name, report.options.source.endswith("scores.csv")
    ('fairness_report.html', True)
    """
    say = progress or (lambda msg: None)
    check_writable(out_dir, folder=True)
    frame, options, extract = _audited_table(options, scores=scores, run=run, data=data, say=say)
    audit = _audit(frame, options, extract, say)
    say("writing the report…")
    paths = write_fairness_report(audit, out_dir, title=title)
    return FairnessReport(audit=audit, options=options, paths=paths)


def _audited_table(options: AuditOptions, *, scores: PathLike | None, run: str | None,
                  data: PathLike | None, say: Callable[[str], None]
                  ) -> tuple[pd.DataFrame, AuditOptions, Extract | None]:
    """The rows to audit and the options to audit them with, from a scores file or a run.

    For a run, its out-of-time test predictions are its stored scores on the extract's
    rows (:func:`run_test_predictions`; a run trained before scores were stored is
    refitted); clusters default to ``family_id`` and, when ``options``
    sets neither ``threshold`` nor ``top``, the rule is the run's capacity (its top
    percentage, else the lowest score in per-locality capacity).
    """
    if run is not None:
        if scores is not None or data is None:
            raise InputError("fairness: give --run RUN_ID with --data DIR, or --scores FILE "
                             "--label COL --score COL, not both")
        say(f"rebuilding run {run[:8]}'s out-of-time test predictions from {data} "
            "(the scores it stored at training)…")
        extract = open_extract(data)  # once: for the predictions and the front door
        frame = run_test_predictions(run, extract, progress=say)
        return frame, dataclasses.replace(
            options, cluster=options.cluster or "family_id", source=f"run {run}",
            **_capacity_rule(options, frame)), extract
    if scores is None:
        raise InputError("fairness: give --scores FILE --label COL --score COL "
                         "(or --run RUN_ID --data DIR)")
    return read_scores(scores), dataclasses.replace(options, source=str(Path(scores))), None


def _audit(frame: pd.DataFrame, options: AuditOptions, ex: Extract | None,
           say: Callable[[str], None]) -> FairnessAudit:
    """The audit of the rows and, given a run's extract (read once, for the predictions
    too), its front door (referral rates per group by source)."""
    say(f"auditing {len(frame):,} rows (bootstrap intervals)…")
    audit = fairness_audit(frame, options)
    if ex is None:
        return audit
    say("comparing referral rates by group (the front door)…")
    add_referrals(audit, referral_disproportionality(
        ex.tables["children"], ex.tables["contacts"], policy=options.policy,
        subjects=options.subjects))
    return audit


def _capacity_rule(options: AuditOptions, frame: pd.DataFrame) -> dict:
    """The run's capacity as the rule, unless the options set one."""
    if options.threshold is not None or options.top is not None:
        return {}
    cap = frame.attrs.get("capacity")
    if cap and Capacity.from_spec(cap).kind == "percent":
        return {"top": Capacity.from_spec(cap).option()}
    return {"threshold": frame.attrs.get("capacity_threshold")}
