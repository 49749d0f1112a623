"""The store tells apart an unreachable store, a missing run/model/alias and a bad checksum."""

from __future__ import annotations

import socket

import pytest

from riskmodel import InputError
from riskmodel.store import (
    ChecksumMismatch,
    NotInStore,
    StoreUnreachable,
    get_run,
    load_model,
    resolve_model_version,
)

from helpers.model_files import flip_a_digit, model_json


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_three_failures_are_distinct_input_errors():
    kinds = (StoreUnreachable, NotInStore, ChecksumMismatch)
    assert all(issubclass(k, InputError) for k in kinds)
    assert not any(issubclass(a, b) for a in kinds for b in kinds if a is not b)


def test_an_unreachable_server_is_never_called_missing(monkeypatch, council):
    from riskmodel.jobs import run_test_predictions

    uri = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for call in (lambda: get_run("0" * 32),
                 lambda: load_model("models:/escalation@champion"),
                 lambda: run_test_predictions("0" * 32, council)):
        with pytest.raises(StoreUnreachable, match=f"^mlflow: cannot reach the tracking "
                                                   f"server at {uri} "):
            call()


def test_missing_runs_models_and_aliases(trained):
    with pytest.raises(NotInStore, match="^run: no MLflow run '0+' in the tracking store$"):
        get_run("0" * 32)
    with pytest.raises(NotInStore, match="^model: no registered model 'escalation' with "
                                         "alias 'nosuch'"):
        load_model("models:/escalation@nosuch")
    with pytest.raises(NotInStore, match="^model: no registered model 'nosuch' with version 1"):
        resolve_model_version("models:/nosuch/1")
    with pytest.raises(NotInStore, match="with version 999"):
        load_model("models:/escalation/999")
    assert load_model("models:/escalation@champion").run_id == get_run(
        load_model("models:/escalation@champion").run_id).run_id


def test_a_changed_artefact_fails_its_checksum(trained):
    path = model_json()
    original = path.read_bytes()
    try:
        path.write_bytes(flip_a_digit(original))
        with pytest.raises(ChecksumMismatch, match="fails its checksum"):
            load_model("models:/escalation@champion")
    finally:
        path.write_bytes(original)
    load_model("models:/escalation@champion")


@pytest.mark.parametrize("command", [
    ["score", "--data", "{council}", "--out", "scores.csv"],
    ["compare"],
    ["monitor", "--history"],
    ["promote"],
    ["card", "--out", "card"],
])
def test_a_command_where_no_store_is_creates_none_and_says_so(command, council, tmp_path,
                                                               monkeypatch, capsys):
    from riskmodel.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        main([a.format(council=council) for a in command])
        code = 0
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("  [", "spec: "))]
    assert len(lines) == 1 and lines[0].startswith("error: no model store here: "), err
    assert str(tmp_path / "models" / "mlflow.db") in lines[0] and "train one" not in err
    assert list(tmp_path.iterdir()) == [], "the command left something behind"


def test_the_printed_link_opens_the_candidates_best_first(trained):
    import urllib.parse

    import mlflow

    from riskmodel.store import compare_runs, experiment_link, experiment_url

    url = experiment_url("escalation")
    assert url is not None and "/#/experiments/" in url
    query = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    assert query["workflowType"] == "machine_learning"
    exp = url.split("/#/experiments/")[1].split("/")[0]
    # the filter is MLflow's own search syntax and finds the candidates, no parent run
    found = mlflow.search_runs(experiment_ids=[exp], filter_string=query["searchFilter"])
    assert set(compare_runs("escalation", max_runs=1000)["run_id"]) <= set(found["run_id"])
    assert found["tags.mlflow.parentRunId"].notna().all()  # candidates, never a parent
    key = query["orderByKey"].replace("`", "")
    assert key in found.columns and found[key].notna().all() and query["orderByAsc"] == "false"
    link = experiment_link("escalation")
    assert link.startswith(url) and "test_auc, test_average_precision" in link
