"""The registered model's file in the artefact store, and a one-digit change to it."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path


def model_json(name: str = "escalation", alias: str = "champion") -> Path:
    """The registered version's model.json, where the artefact store keeps it."""
    import mlflow

    from riskmodel.store import MODEL_JSON, resolve_model_version

    mv = resolve_model_version(f"models:/{name}@{alias}")  # configures the store's MLflow
    folder = mlflow.MlflowClient().get_model_version_download_uri(name, mv.version)
    assert folder.startswith("file://"), folder
    path = Path(urllib.parse.urlparse(folder).path) / "artifacts" / MODEL_JSON
    assert path.is_file(), path
    return path


def flip_a_digit(data: bytes) -> bytes:
    """The same JSON with one digit of one number changed: still valid, no longer the model."""
    number = re.search(rb"\d\.\d{6,}", data)
    assert number is not None, "no number with six decimals in the model file"
    i = number.start() + 3
    return data[:i] + (b"1" if data[i:i + 1] != b"1" else b"2") + data[i + 1:]
