"""MLflow: the embedded default store, the registry, and loading models safely.

By default everything goes to an embedded store under ``models/`` (``sqlite:///models/mlflow.db``
with artefacts in ``models/artifacts``); ``MLFLOW_TRACKING_URI`` points elsewhere, e.g. a
council's ``mlflow server``. A registered model is stored as JSON whose SHA-256 is recorded on
the model version at registration and checked at every load; nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from .._errors import InputError

MODEL_JSON = "model.json"
CHECKSUM_TAG = "riskmodel.sha256"


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


def _configure() -> str:
    """Point MLflow at the store, failing fast (seconds, not minutes) if a server is down."""
    import mlflow

    # An unreachable server must fail within seconds, not after MLflow's long retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    # MLflow's download bar would add noise to stderr, where errors go.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _client():
    import mlflow

    _configure()
    return mlflow.MlflowClient()


def _call(what: str, fn, *args, **kwargs):
    """Run an MLflow call; a connection failure becomes one clear line."""
    from mlflow.exceptions import MlflowException

    try:
        return fn(*args, **kwargs)
    except MlflowException as exc:
        text = " ".join(str(exc).split())
        if any(s in text for s in ("Max retries", "Connection", "connect", "timed out")):
            raise InputError(
                f"mlflow: cannot reach the tracking server at {tracking_uri()} ({what})"
            ) from None
        raise
    except OSError as exc:
        raise InputError(
            f"mlflow: cannot reach the tracking store at {tracking_uri()} ({what}: {exc})"
        ) from None


def experiment_id(outcome: str) -> str:
    """The experiment for an outcome (``riskmodel-<outcome>``), created on first use."""
    import mlflow

    uri = _configure()
    name = f"riskmodel-{outcome}"
    exp = _call("looking up the experiment", mlflow.get_experiment_by_name, name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///"):]).parent / "artifacts").resolve().as_uri()
    return _call("creating the experiment", mlflow.create_experiment, name,
                 artifact_location=location)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


def resolve_model_version(uri: str):
    """The registered model version a ``models:/name@alias`` or ``models:/name/N`` URI names."""
    from mlflow.exceptions import MlflowException

    m = _URI.match(uri or "")
    if not m:
        raise InputError(
            f"model: {uri!r} is not a model URI; "
            "expected models:/NAME@ALIAS or models:/NAME/VERSION"
        )
    client = _client()
    try:
        if m["alias"]:
            return _call("resolving the alias", client.get_model_version_by_alias,
                         m["name"], m["alias"])
        return _call("resolving the version", client.get_model_version, m["name"], m["version"])
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND") or (
            "not found" in str(exc).lower() or "does not exist" in str(exc).lower()
        ):
            what = f"alias '{m['alias']}'" if m["alias"] else f"version {m['version']}"
            raise InputError(
                f"model: no registered model '{m['name']}' with {what} in {tracking_uri()} "
                f"(train one with riskmodel train, or check riskmodel compare)"
            ) from None
        raise


def load_model(uri: str):
    """Load a registered model after checking its checksum.

    Parameters
    ----------
    uri : str
        ``models:/escalation@champion`` or ``models:/escalation/3``.

    Returns
    -------
    LoadedModel
        ``.model`` (a fitted :class:`~riskmodel.training.CalibratedModel`), ``.meta`` (the
        spec, features, candidate, run id), ``.name``, ``.version``, ``.run_id``.

    Raises
    ------
    InputError
        Unknown model or alias, or an artefact whose checksum does not match the one
        recorded at registration (tampered or corrupted).
    """
    import mlflow

    from ._candidates import model_from_dict

    mv = resolve_model_version(uri)
    expected = (mv.tags or {}).get(CHECKSUM_TAG)
    with tempfile.TemporaryDirectory() as tmp:
        folder = _call("downloading the model", mlflow.artifacts.download_artifacts,
                       artifact_uri=f"models:/{mv.name}/{mv.version}", dst_path=tmp)
        local = Path(folder) / "artifacts" / MODEL_JSON
        if not local.is_file():
            raise InputError(f"model: {uri} (version {mv.version}) has no {MODEL_JSON}; "
                             "it was not registered by riskmodel")
        actual = sha256_file(local)
        if not expected or actual != expected:
            raise InputError(
                f"model: {uri} (version {mv.version}) fails its checksum: the stored artefact "
                "was changed or corrupted after registration; refusing to load it"
            )
        with open(local, encoding="utf-8") as fh:
            payload = json.load(fh)
    return LoadedModel(model=model_from_dict(payload["model"]), meta=payload["meta"],
                       name=mv.name, version=str(mv.version), run_id=mv.run_id)


class LoadedModel:
    """A registered model and what it was trained with."""

    def __init__(self, *, model, meta, name, version, run_id):
        self.model, self.meta = model, meta
        self.name, self.version, self.run_id = name, version, run_id

    @property
    def features(self) -> list[str]:
        return list(self.model.feature_names_in_)

    def __repr__(self):
        return f"LoadedModel({self.name} v{self.version}, run {self.run_id})"
