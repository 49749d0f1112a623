"""Registered models: resolve a URI, load with a checksum check, register, promote.

A registered model is stored as JSON whose SHA-256 is recorded on the model version at
registration and checked at every load; nothing is unpickled.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import sha256_file
from riskmodel.store._client import (
    ChecksumMismatch,
    NotInStore,
    call,
    client,
    held_interrupt,
    is_not_found,
    tracking_uri,
)
from riskmodel.store._tags import Tag

MODEL_JSON = "model.json"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


class LoadedModel:
    """A registered model and what it was trained with."""

    def __init__(self, *, model, meta, name, version, run_id):
        self.model, self.meta = model, meta
        self.name, self.version, self.run_id = name, version, run_id

    @property
    def features(self) -> list[str]:
        return list(self.model.feature_names_in_)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def __repr__(self):
        return f"LoadedModel({self.name} v{self.version}, run {self.run_id})"


def resolve_model_version(uri: str):
    """The registered model version a ``models:/name@alias`` or ``models:/name/N`` URI names.

    Raises
    ------
    InputError
        Not a model URI.
    NotInStore
        No such registered model, version or alias.
    StoreUnreachable
        The tracking store cannot be reached.
    """
    m = _URI.match(uri or "")
    if not m:
        raise InputError(
            f"model: {uri!r} is not a model URI; "
            "expected models:/NAME@ALIAS or models:/NAME/VERSION"
        )
    what = f"alias '{m['alias']}'" if m["alias"] else f"version {m['version']}"
    missing = (f"model: no registered model '{m['name']}' with {what} in {tracking_uri()} "
               "(train one with riskmodel train, or check riskmodel compare)")
    c = client()
    from mlflow.exceptions import MlflowException

    try:
        if m["alias"]:
            return call("resolving the alias", c.get_model_version_by_alias, m["name"],
                        m["alias"], missing=missing)
        return call("resolving the version", c.get_model_version, m["name"], m["version"],
                    missing=missing)
    except MlflowException as exc:
        # An unknown alias comes back as an invalid parameter, not as "not found".
        if getattr(exc, "error_code", "") == "INVALID_PARAMETER_VALUE" or is_not_found(exc):
            raise NotInStore(missing) from None
        raise


def load_model(uri: str) -> LoadedModel:
    """Load a registered model after checking its checksum.

    Parameters
    ----------
    uri : str
        ``models:/escalation@champion`` or ``models:/escalation/3``.

    Returns
    -------
    LoadedModel
        ``.model`` (a fitted :class:`~riskmodel.models.CalibratedModel`), ``.meta`` (the
        spec, features, candidate, run id), ``.name``, ``.version``, ``.run_id``.

    Raises
    ------
    NotInStore
        Unknown model or alias.
    ChecksumMismatch
        An artefact whose checksum does not match the one recorded at registration.

    Examples
    --------
    >>> load_model("models:/escalation@champion").features[:1]  # doctest: +SKIP
    ['ace_total_all_count']
    """
    import mlflow

    # here, not at the top: reading a run (a fairness review) does not load the models
    from riskmodel.models import model_from_dict

    mv = resolve_model_version(uri)
    expected = (mv.tags or {}).get(Tag.CHECKSUM)
    with tempfile.TemporaryDirectory() as tmp:
        folder = call("downloading the model", mlflow.artifacts.download_artifacts,
                      artifact_uri=f"models:/{mv.name}/{mv.version}", dst_path=tmp)
        local = Path(folder) / "artifacts" / MODEL_JSON
        if not local.is_file():
            raise InputError(f"model: {uri} (version {mv.version}) has no {MODEL_JSON}; "
                             "it was not registered by riskmodel")
        actual = sha256_file(local)
        if not expected or actual != expected:
            raise ChecksumMismatch(
                f"model: {uri} (version {mv.version}) fails its checksum: the stored artefact "
                "was changed or corrupted after registration; refusing to load it"
            )
        with open(local, encoding="utf-8") as fh:
            payload = json.load(fh)
    return LoadedModel(model=model_from_dict(payload["model"]), meta=payload["meta"],
                       name=mv.name, version=str(mv.version), run_id=mv.run_id)


def register(outcome: str, model_uri: str, checksum: str, run_id: str, *,
             description: str = "", model_description: str = "") -> dict:
    """Register a model version; champion if there is none yet, else challenger.

    ``description`` says what this version is (shown in the MLflow UI's model registry);
    ``model_description`` describes the registered model itself and is set only when the
    model has none (a council's own words are never replaced).
    """
    import mlflow

    c = client()
    with held_interrupt():  # a version is registered whole (store/_client.py)
        mv = call("registering the model", mlflow.register_model, model_uri, outcome)
        c.set_model_version_tag(outcome, mv.version, Tag.CHECKSUM.value, checksum)
        c.set_model_version_tag(outcome, mv.version, Tag.RUN_ID.value, run_id)
        if description:
            c.update_model_version(outcome, mv.version, description=description)
        if model_description and not (c.get_registered_model(outcome).description or ""):
            c.update_registered_model(outcome, description=model_description)
        aliases = c.get_registered_model(outcome).aliases or {}
        alias = "challenger" if "champion" in aliases else "champion"
        c.set_registered_model_alias(outcome, alias, mv.version)
    return {"name": outcome, "version": str(mv.version), "alias": alias,
            "uri": f"models:/{outcome}@{alias}"}


def promote(outcome: str, *, version: str | int | None = None, alias: str = "champion") -> dict:
    """Point ``alias`` at a model version (default: the current challenger becomes champion).

    The version that held ``alias`` before loses it; promoting the challenger to champion
    also removes the challenger alias.

    Returns
    -------
    dict
        ``name``, ``version``, ``alias``, ``previous`` (the version that held it, or None).
    """
    c = client()
    if version is None:
        version = resolve_model_version(f"models:/{outcome}@challenger").version
    else:
        version = resolve_model_version(f"models:/{outcome}/{version}").version
    with held_interrupt():  # both aliases move, or neither (store/_client.py)
        aliases = c.get_registered_model(outcome).aliases or {}
        previous = aliases.get(alias)
        c.set_registered_model_alias(outcome, alias, str(version))
        if alias == "champion" and str(aliases.get("challenger")) == str(version):
            c.delete_registered_model_alias(outcome, "challenger")
    return {"name": outcome, "version": str(version), "alias": alias,
            "previous": None if previous is None else str(previous)}


@dataclass
class VersionInfo:
    """What the registry says of one model version (for the model card)."""

    aliases: list[str]
    registered: str


def version_info(name: str, version: str) -> VersionInfo:
    """Aliases and registration date of a model version."""
    mv = call("reading the model version", client().get_model_version, name, version,
              missing=f"model: no registered model '{name}' version {version}")
    created = dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=dt.UTC)
    return VersionInfo(aliases=sorted(getattr(mv, "aliases", None) or []),
                       registered=created.date().isoformat())
