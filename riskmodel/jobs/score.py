"""``riskmodel score``: features for a date, scores for every child, files and an audit line."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from riskmodel._core.capacity import Capacity
from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError, InputWarning
from riskmodel._core.io import check_writable
from riskmodel._core.workspace import specs_used, workspace
from riskmodel.data import EARLY_HELP_SERVICES
from riskmodel.features import FeatureSpec
from riskmodel.jobs._extract import open_extract
from riskmodel.scoring import FROM_MODEL, ScoreOptions, ScoreRun, output_paths, score_matrix
from riskmodel.store import load_model
from riskmodel.training import load_training_spec


def score(data, model_uri: str = "models:/escalation@champion", as_of=None, *,
          out: str | os.PathLike, options: ScoreOptions | None = None,
          extract_date=None) -> ScoreRun:
    """Score every child open to early help at ``as_of`` with a registered model.

    Loads the model (checking its checksum), reads and checks the council's extract,
    builds the features for the date with the model's own feature spec (labels are not
    needed, so the date may be the extract date), scores every child in the cohort and
    writes the scores, the rejected rows and an audit line (see :func:`score_matrix`). The
    audit's ``seconds`` is the whole job's, from the moment this function is called.

    Parameters
    ----------
    data : path
        The council extract: a folder of Parquet/CSV tables or a DuckDB file.
    model_uri : str, default="models:/escalation@champion"
        ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
    as_of : str or date, optional
        The as-of date; default: the extract date.
    out : path
        ``scores.parquet``, ``scores.csv`` or ``scores.xlsx``.
    options : ScoreOptions, optional
        Capacity (default: the workspace's training spec, else the model's), who gets
        reasons, chunk size, one CSV per locality, characteristics.
    extract_date : str or date, optional
        Default: ``manifest.json``'s ``extract_date`` in ``data``, else the latest date in
        the tables.

    Returns
    -------
    ScoreRun

    Examples
    --------
    >>> run = score("council/", "models:/escalation@champion", "2025-12-01",
    ...             out="scores.parquet")  # doctest: +SKIP
    >>> run.counts  # doctest: +SKIP
    {'rows_in': 2210, 'scored': 2210, 'rejected': 0, 'in_capacity': 221, 'explained': 221}
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    # Bad options fail before any slow work.
    paths = output_paths(out)
    for path in paths.values():
        check_writable(path)
    options = (options or ScoreOptions()).check()
    with _one_writer(paths["scores"]):
        return _score(data, model_uri, as_of, out=out, options=options,
                      extract_date=extract_date, started=started, timings=timings)


@contextlib.contextmanager
def _one_writer(path: Path) -> Iterator[None]:
    """Hold ``.tmp-lock.<name>`` beside the scores file while a run writes it: a second run
    onto the same output is refused with one line, never left to overwrite the first silently.

    The lock is the operating system's (``flock``): a run that is killed releases it, so a
    stale lock file never blocks the next month (the next run removes it). A run removes its
    lock file as it finishes, while still holding it; a run that locked a file so removed
    (its inode is no longer the name's) tries again on the new one.
    """
    import fcntl

    if not path.parent.is_dir():  # a folder this run makes: nobody else writes there yet
        yield
        return
    lock = path.with_name(f".tmp-lock.{path.name}")
    while True:
        fh = open(lock, "a")  # noqa: SIM115 (held open for the whole run)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise InputError(f"--out: another riskmodel score is writing {path} now (it "
                             f"holds {lock.name}); wait for it to finish or choose another "
                             "--out") from None
        try:
            if os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        fh.close()  # removed by the run that held it just now: lock the new file
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        fh.close()


def _score(data, model_uri: str, as_of, *, out: str | os.PathLike, options: ScoreOptions,
           extract_date, started: float, timings: dict[str, float]) -> ScoreRun:
    """:func:`score` once its options are checked and its output is its own."""
    t0 = time.perf_counter()
    loaded = load_model(model_uri)
    timings["load_model"] = time.perf_counter() - t0
    meta = loaded.meta
    try:
        fspec = FeatureSpec.model_validate(meta["feature_spec"])
    except Exception as exc:  # pydantic error or a missing key: an unusable artefact
        detail = " ".join(str(exc).split())[:160]
        raise InputError(f"model: {model_uri} (version {loaded.version}) has no usable "
                         f"feature spec ({detail})") from None
    t0 = time.perf_counter()
    ex = open_extract(data, extract_date=extract_date)
    timings["read_extract"] = time.perf_counter() - t0
    extract = ex.date
    when = extract if as_of is None else parse_date(as_of, "--as-of")
    if when > extract:
        raise InputError(f"--as-of: {when.date()} is after the extract date {extract.date()}; "
                         "the data cannot describe children at a later date")
    t0 = time.perf_counter()
    matrix = ex.matrix([when], outcome=meta["outcome"], spec=fspec,
                       horizon_months=int(meta["horizon_months"]))
    timings["build_features"] = time.perf_counter() - t0
    if len(matrix) == 0:
        raise InputError(f"data: no child has an early-help episode open on {when.date()} "
                         f"in {data}; nothing to score")
    missing = [f for f in loaded.features if f not in matrix.columns]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise InputError(
            f"model: {model_uri} (version {loaded.version}) was trained on features this data "
            f"does not give: {', '.join(missing[:3])}{more}; retrain it on this extract or "
            "score with the model that matches"
        )
    lag = fspec.knowledge.lag_days.episode_start
    waiting = _waiting_children(ex.tables, when, matrix, lag)
    _warn_waiting(len(waiting), when, lag, output_paths(out)["rejected"].name)
    if options.top is None:
        options = dataclasses.replace(options, top=_workspace_capacity(meta["outcome"]))
    t0 = time.perf_counter()
    fingerprint = ex.fingerprint
    timings["fingerprint"] = time.perf_counter() - t0
    run = score_matrix(
        matrix, loaded, out=out, options=options, data_fingerprint=fingerprint,
        started=started, timings=timings, not_scored=waiting,
        audit={"model_uri": model_uri, "extract_date": str(extract.date()),
               "specs": [str(p) for p in specs_used()]},
    )
    bands = run.record["risk_bands"]
    if bands["source"] != FROM_MODEL:
        warnings.warn(InputWarning(
            f"model: {model_uri} (version {loaded.version}) has no risk-band cut-points (it "
            f"was registered before they were stored); its bands use the {bands['source']} "
            f"({bands['rule']}); retrain to store them"), stacklevel=2)
    return run


def _warn_waiting(n: int, when, lag: int, rejected: str) -> None:
    """Say how many open children wait for their episode to be known (named in the file)."""
    if n:
        warnings.warn(InputWarning(
            f"{n:,} child{'ren' if n > 1 else ''} with an early-help episode open on "
            f"{when.date()} {'are' if n > 1 else 'is'} not scored this month: the episode "
            f"was not yet known then (entered on or after that day, or without "
            f"episodes.start_recorded_date begun less than {lag} days before; the feature "
            "spec's knowledge.lag_days.episode_start, docs/knowledge-dates.md); "
            f"listed in {rejected}"), stacklevel=3)


def _not_yet_known(tables, when, matrix) -> int:
    """How many children open to early help at ``when`` wait for their episode to be known."""
    return len(_waiting_children(tables, when, matrix, 0))


def _waiting_children(tables, when, matrix, lag_days: int) -> pd.DataFrame:
    """Children open to early help at ``when`` whose episode was not yet known (not scored):
    ``child_id``, ``locality`` and the ``reason`` the rejected file gives."""
    ep = tables["episodes"]
    start, end = pd.to_datetime(ep["start_date"]), pd.to_datetime(ep["end_date"])
    open_now = (ep["service"].isin(EARLY_HELP_SERVICES).fillna(False) & (start < when)
                & (end.isna() | (end >= when)))
    opened = set(ep.loc[open_now, "child_id"].astype(str))
    waiting = sorted(opened - set(matrix["child_id"].astype(str)))
    children = tables["children"].assign(child_id=lambda d: d["child_id"].astype(str))
    where = children.drop_duplicates("child_id").set_index("child_id")["locality"]
    return pd.DataFrame({
        "child_id": waiting, "locality": [where.get(c) for c in waiting],
        "reason": f"early-help episode not yet known on {when.date()} (entered on or after "
                  f"that day, or begun less than {lag_days} days before with no "
                  "start_recorded_date; knowledge.lag_days.episode_start)"})


def _workspace_capacity(outcome: str) -> str | None:
    """The capacity in the workspace's training spec, if a workspace has one for ``outcome``.

    Capacity is the panels' setting, which can change between retrains: the workspace's
    value wins over the one the model was trained with; outside a workspace, the model's.
    """
    ws = workspace()
    if ws is None or not (ws / "training" / f"{outcome}.yaml").is_file():
        return None
    return Capacity.from_spec(load_training_spec(outcome=outcome).capacity).option()
