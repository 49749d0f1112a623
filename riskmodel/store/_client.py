"""Where MLflow is, and the three ways talking to it can fail.

By default everything goes to an embedded store under ``models/`` (``sqlite:///models/mlflow.db``
with artefacts in ``models/artifacts``); ``MLFLOW_TRACKING_URI`` points elsewhere, e.g. a
council's ``mlflow server``. Every MLflow call in riskmodel goes through :func:`call`, which
tells apart a store that cannot be reached (:class:`StoreUnreachable`), a run, model or
alias that does not exist (:class:`NotInStore`) and, in :mod:`riskmodel.store._models`, an
artefact that fails its checksum (:class:`ChecksumMismatch`).

A Ctrl-C (SIGINT) is held while a call runs (``riskmodel._core.interrupt.held_interrupt``)
and raised as ``KeyboardInterrupt`` once it returns: one interrupted mid-write would leave
its database session open, and the embedded (SQLite) store locked to every later write,
including the one that marks an interrupted training's runs KILLED.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from riskmodel._core.errors import InputError
from riskmodel._core.interrupt import held_interrupt


class StoreUnreachable(InputError):
    """The tracking store (server or local database) cannot be reached."""


class NotInStore(InputError):
    """A run, registered model, version or alias that the tracking store does not hold."""


class NoStoreHere(NotInStore):
    """The embedded store (``models/mlflow.db`` under the current folder) does not exist."""


class ChecksumMismatch(InputError):
    """A stored model artefact whose SHA-256 differs from the one recorded at registration."""


_NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")
_UNREACHABLE = ("Max retries", "Connection", "connect", "timed out", "unable to open database")


# MLflow 3's UI opens an experiment on its GenAI traces unless told it holds model training.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
_VERBOSE = False


def set_verbose(verbose: bool) -> None:
    """Let MLflow's own INFO lines and notices ("Successfully registered…") through, or not.

    Quiet by default: riskmodel says what it did in its own words, and MLflow's lines mixed
    into stderr read as errors to a scheduler.
    """
    global _VERBOSE
    _VERBOSE = bool(verbose)
    _quiet()


def _quiet() -> None:
    import logging

    from mlflow.utils import logging_utils

    logging.getLogger("mlflow").setLevel(logging.INFO if _VERBOSE else logging.WARNING)
    if _VERBOSE:
        logging_utils.enable_logging()
    else:
        logging_utils.disable_logging()


def tracking_uri() -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` or the embedded store under models/.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("MLFLOW_TRACKING_URI", None) and None
    >>> tracking_uri().startswith("sqlite:///") and tracking_uri().endswith("models/mlflow.db")
    True
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{(Path.cwd() / 'models' / 'mlflow.db').as_posix()}"


def embedded_store() -> Path | None:
    """The embedded store's database file, or None when ``MLFLOW_TRACKING_URI`` names
    another store (a server, or a database URI that is not sqlite)."""
    uri = tracking_uri()
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def configure(*, create: bool = False) -> str:
    """Point MLflow at the store, failing fast (seconds, not minutes) if a server is down.

    Only a training makes a new embedded store (``create=True``); any other command run
    where there is none is :class:`NoStoreHere`, and leaves no ``models/`` behind.
    """
    import mlflow

    # An unreachable server must fail within seconds, not after MLflow's long retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    # MLflow's download bar would add noise to stderr, where errors go.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri()
    db = embedded_store()
    if db is not None and not db.is_file():
        if not create:
            raise NoStoreHere(
                f"no model store here: {db} does not exist (run the command in the folder "
                "where the models were trained, or set MLFLOW_TRACKING_URI)")
        db.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _quiet()
    return uri


def client():
    """An MLflow client on the configured store."""
    import mlflow

    configure()
    return mlflow.MlflowClient()


def is_not_found(exc: Exception) -> bool:
    """Whether an MLflow error says the thing asked for does not exist."""
    code = getattr(exc, "error_code", "")
    text = str(exc).lower()
    return code in _NOT_FOUND_CODES or "not found" in text or "does not exist" in text


def call(what: str, fn: Callable[..., Any], *args: Any, missing: str | None = None,
         **kwargs: Any) -> Any:
    """Run one MLflow call, holding Ctrl-C until it returns (:func:`held_interrupt`), and
    turn its failures into one-line errors.

    Parameters
    ----------
    what : str
        What the call does, in words ("reading the run"), for the unreachable message.
    fn : callable
        The MLflow function or client method.
    missing : str, optional
        The message when MLflow says the thing does not exist; without it such an error is
        raised as it came.

    Raises
    ------
    StoreUnreachable
        The server or database cannot be reached.
    NotInStore
        ``missing`` was given and the run, model or alias does not exist.
    """
    from mlflow.exceptions import MlflowException

    try:
        with held_interrupt():
            return fn(*args, **kwargs)
    except MlflowException as exc:
        text = " ".join(str(exc).split())
        if any(s in text for s in _UNREACHABLE):
            raise StoreUnreachable(
                f"mlflow: cannot reach the tracking server at {tracking_uri()} ({what})"
            ) from None
        if missing is not None and is_not_found(exc):
            raise NotInStore(missing) from None
        raise
    except OSError as exc:
        raise StoreUnreachable(
            f"mlflow: cannot reach the tracking store at {tracking_uri()} ({what}: {exc})"
        ) from None


def experiment_name(outcome: str) -> str:
    """The experiment that holds an outcome's runs."""
    return f"riskmodel-{outcome}"


def experiment_id(outcome: str, *, create: bool = True) -> str | None:
    """The experiment for an outcome (``riskmodel-<outcome>``), created on first use."""
    import mlflow

    uri = configure(create=create)
    name = experiment_name(outcome)
    exp = call("looking up the experiment", mlflow.get_experiment_by_name, name)
    if exp is not None:
        if create and (exp.tags or {}).get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:
            call("tagging the experiment", client().set_experiment_tag, exp.experiment_id,
                 *EXPERIMENT_KIND)
        return exp.experiment_id
    if not create:
        return None
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///"):]).parent / "artifacts").resolve().as_uri()
    return call("creating the experiment", mlflow.create_experiment, name,
                artifact_location=location, tags=dict([EXPERIMENT_KIND]))


# What the printed link opens: the candidate runs only (not their collapsed parents), best
# test AUC first. MLflow's runs page reads searchFilter, orderByKey and orderByAsc from its
# URL; the columns shown are the viewer's own choice (kept in the browser), so the link's
# text names the metric columns to add.
CANDIDATE_FILTER = "tags.`riskmodel.candidate` != '' and attributes.status = 'FINISHED'"
CANDIDATE_ORDER = "metrics.`test_auc`"
CANDIDATE_COLUMNS = ("test_auc", "test_average_precision", "test_brier",
                     "test_calibration_error", "test_precision_at_capacity",
                     "test_recall_at_capacity")


def experiment_url(outcome: str, *, ui: str | None = None) -> str | None:
    """Where a person opens an outcome's candidate runs side by side in the MLflow UI: the
    model-training view (not GenAI traces), filtered to the candidates, best AUC first.

    ``ui`` is the UI's address; default: the tracking server itself when it is one
    (``http(s)://``), else ``http://127.0.0.1:5000`` (``mlflow ui``'s default).

    Examples
    --------
    >>> experiment_url("escalation")  # doctest: +SKIP
    'http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning&searchFilter=...'
    """
    from urllib.parse import urlencode

    exp = experiment_id(outcome, create=False)
    if exp is None:
        return None
    uri = tracking_uri()
    base = ui or (uri.rstrip("/") if uri.startswith(("http://", "https://"))
                  else "http://127.0.0.1:5000")
    query = urlencode({"workflowType": "machine_learning", "searchFilter": CANDIDATE_FILTER,
                       "orderByKey": CANDIDATE_ORDER, "orderByAsc": "false"})
    return f"{base}/#/experiments/{exp}/runs?{query}"


def experiment_link(outcome: str) -> str | None:
    """:func:`experiment_url` with the metric columns to show beside it, for printing."""
    url = experiment_url(outcome)
    if url is None:
        return None
    return f"{url} (in Columns, add {', '.join(CANDIDATE_COLUMNS)})"
