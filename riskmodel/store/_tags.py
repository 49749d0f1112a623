"""The tags riskmodel writes on MLflow runs and model versions: one name for each, typed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Tag(StrEnum):
    """Every tag key riskmodel sets; nothing else writes ``riskmodel.*`` tags."""

    OUTCOME = "riskmodel.outcome"
    ROLE = "riskmodel.role"                  # "training" on a parent run
    CANDIDATE = "riskmodel.candidate"
    KIND = "riskmodel.kind"
    RESULT = "riskmodel.result"              # PASS or FAIL
    WHY = "riskmodel.why"
    DATA_FINGERPRINT = "riskmodel.data_fingerprint"
    GIT_COMMIT = "riskmodel.git_commit"
    TEST_DATES = "riskmodel.test_dates"      # comma-separated ISO dates
    MODEL_URI = "riskmodel.model_uri"
    CHECKSUM = "riskmodel.sha256"            # on the run and on the model version
    RUN_ID = "riskmodel.run_id"              # on the model version
    BEST = "riskmodel.best"
    REGISTERED = "riskmodel.registered"
    SPEC_FILES = "riskmodel.spec_files"      # ";"-separated full paths of the specs read


@dataclass
class RunTags:
    """A run's riskmodel tags as typed values (empty where the run has none).

    Examples
    --------
    >>> t = RunTags.from_mlflow({"riskmodel.result": "PASS",
    ...                          "riskmodel.test_dates": "2024-01-01,2024-04-01"})
    >>> t.result, t.test_dates
    ('PASS', ['2024-01-01', '2024-04-01'])
    >>> RunTags(outcome="escalation").to_mlflow()
    {'riskmodel.outcome': 'escalation'}
    """

    outcome: str = ""
    role: str = ""
    candidate: str = ""
    kind: str = ""
    result: str = ""
    why: str = ""
    data_fingerprint: str = ""
    git_commit: str = ""
    test_dates: list[str] = field(default_factory=list)
    model_uri: str = ""
    checksum: str = ""
    best: str = ""
    registered: str = ""
    spec_files: list[str] = field(default_factory=list)

    @classmethod
    def from_mlflow(cls, tags: dict) -> RunTags:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = tags.get(Tag[f.name.upper()].value, "")
            sep = {"test_dates": ",", "spec_files": ";"}.get(f.name)
            values[f.name] = [d for d in raw.split(sep) if d] if sep else raw
        return cls(**values)

    def to_mlflow(self) -> dict[str, str]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                value = (";" if f.name == "spec_files" else ",").join(value)
            if value:
                out[Tag[f.name.upper()].value] = str(value)
        return out
