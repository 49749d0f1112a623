"""Batch scoring: scores, ranks, bands, capacity, reasons, rejected rows, files and audit."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.cli import main
from riskmodel.models import (
    CalibratedModel,
    LightGBMClassifier,
    LogisticClassifier,
    RuleClassifier,
    explain_rows,
)
from riskmodel.scoring import (
    AUDIT_NAME,
    SCORE_COLUMNS,
    ScoreOptions,
    parse_selection,
    read_audit,
    score_cohort,
    score_matrix,
)
from riskmodel.scoring._bands import FROM_COHORT
from riskmodel.store import LoadedModel

FEATURES = ["ace_total_all_count", "contacts_total_12m_count",
            "contacts_source_police_12m_count", "child_age_all_years"]
LOCALITIES = ["Bilston", "Dove", "Low Hill"]


def _loaded(model, capacity=None) -> LoadedModel:
    meta = {"outcome": "escalation", "horizon_months": 6, "candidate": "test", "kind": "test",
            "capacity": capacity or {"top_percent": 10, "top_n_per_locality": None}}
    return LoadedModel(model=model, meta=meta, name="escalation", version="3", run_id="run3")


@pytest.fixture(scope="module")
def models() -> dict[str, LoadedModel]:
    rng = np.random.default_rng(0)
    n = 1500
    X = pd.DataFrame({"ace_total_all_count": rng.poisson(1.5, n),
                      "contacts_total_12m_count": rng.poisson(2, n),
                      "contacts_source_police_12m_count": rng.poisson(0.5, n),
                      "child_age_all_years": rng.integers(0, 18, n)})
    logit = 0.5 * X.ace_total_all_count + 0.3 * X.contacts_total_12m_count - 3
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return {
        "lightgbm": _loaded(CalibratedModel(LightGBMClassifier(
            n_estimators=30, num_leaves=7, min_child_samples=20)).fit(X, y)),
        "logistic": _loaded(CalibratedModel(LogisticClassifier(), method="sigmoid").fit(X, y)),
        "rule": _loaded(CalibratedModel(RuleClassifier()).fit(X, y)),
    }


def _matrix(n: int, *, seed: int = 1, as_of: str = "2025-06-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = pd.DataFrame({
        "child_id": [f"C{i:05d}" for i in range(n)],
        "family_id": [f"F{i // 2:05d}" for i in range(n)],
        "as_of": pd.Timestamp(as_of),
        "label": pd.array([pd.NA] * n, dtype="Int64"),
        "locality": rng.choice(LOCALITIES, n),
    })
    for f in FEATURES:
        m[f] = rng.poisson(2, n).astype("int32")
    return m


# ------------------------------------------------------------------ score_cohort ------------

@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 60))
    m = _matrix(n, seed=draw(st.integers(0, 1000)))
    m["ace_total_all_count"] = m["ace_total_all_count"].astype(float)
    ids = m["child_id"].astype(object).to_numpy().copy()
    for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        ids[i] = draw(st.sampled_from([None, "  ", ids[draw(st.integers(0, n - 1))]]))
    m["child_id"] = pd.array(ids, dtype="string")
    for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        m.loc[i, "ace_total_all_count"] = draw(st.sampled_from([np.nan, np.inf]))
    for i in draw(st.lists(st.integers(0, n - 1), max_size=2)):
        m.loc[i, "locality"] = None
    return m


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrix=cohorts(), kind=st.sampled_from(["lightgbm", "logistic", "rule"]),
       top=st.sampled_from([None, "25%", "4", "2/locality"]),
       explain=st.sampled_from([None, "all", "none", "3"]),
       chunk=st.sampled_from([1, 4, 10_000]))
def test_every_child_is_scored_or_rejected_and_ranked_consistently(
        models, matrix, kind, top, explain, chunk):
    loaded = models[kind]
    out = score_cohort(matrix, loaded, top=top, explain_top=explain, chunk_size=chunk)
    s, r, c = out.scores, out.rejected, out.counts
    # no child lost: every input row is in exactly one of the two tables
    assert c["rows_in"] == len(matrix) == c["scored"] + c["rejected"]
    assert (len(s), len(r)) == (c["scored"], c["rejected"])
    key = lambda v: sorted(v.fillna("<NA>").tolist())  # noqa: E731
    assert key(pd.concat([s["child_id"], r["child_id"]])) == key(matrix["child_id"])
    assert r["reason"].notna().all()
    ids = matrix["child_id"].fillna("").str.strip()
    bad = (ids == "") | ids.duplicated(keep=False) | ~np.isfinite(matrix["ace_total_all_count"])
    assert c["rejected"] == int(bad.sum())
    nonfinite = set(matrix.loc[~np.isfinite(matrix["ace_total_all_count"]), "child_id"]
                    .fillna("<NA>"))
    flagged = r["reason"].str.contains("feature ace_total_all_count is missing or not a number")
    assert set(r.loc[flagged, "child_id"].fillna("<NA>")) == nonfinite
    if s.empty:
        return
    # scores are the model's calibrated probabilities
    by_id = matrix.set_index("child_id").loc[s["child_id"], FEATURES]
    np.testing.assert_allclose(s["score"], loaded.model.predict_proba(by_id)[:, 1], atol=1e-12)
    # ranked highest first, 1..m; within each locality 1..k in the same order
    assert s["rank_overall"].tolist() == list(range(1, len(s) + 1))
    assert s["score"].is_monotonic_decreasing
    for _, part in s.groupby(s["locality"].fillna("<NA>"), sort=False):
        assert part["rank_in_locality"].tolist() == list(range(1, len(part) + 1))
    # ventiles: 20 at the top, sizes within one of each other
    assert s["risk_ventile"].is_monotonic_decreasing
    assert s["risk_ventile"].between(1, 20).all()
    if len(s) >= 20:
        sizes = s["risk_ventile"].value_counts()
        assert len(sizes) == 20 and sizes.max() - sizes.min() <= 1
    # capacity: the spec's (top 10%) unless --top
    sel = parse_selection(top or "10%")
    m = len(s)
    if sel.kind == "per_locality":
        flagged = s["rank_in_locality"] <= sel.value
    else:
        k = math.ceil(m * sel.value / 100) if sel.kind == "percent" else min(int(sel.value), m)
        flagged = s["rank_overall"] <= k
    assert s["in_capacity"].tolist() == flagged.tolist()
    assert (s["capacity_rule"] == sel.words()).all()
    # bands: cut-points on the score (this bare model has none: the cohort's mean score)
    cut = out.bands
    assert cut["source"] == FROM_COHORT and cut["high"] == pytest.approx(2 * cut["medium"])
    assert cut["medium"] == pytest.approx(s["score"].mean())
    assert (s["risk_band"] == "high").tolist() == (s["score"] >= cut["high"]).tolist()
    medium = (s["score"] >= cut["medium"]) & (s["score"] < cut["high"])
    assert (s["risk_band"] == "medium").tolist() == medium.tolist()
    # per-locality counts add up to the cohort's
    by = out.by_locality
    assert sum(v["rows_in"] for v in by.values()) == c["rows_in"]
    assert sum(v["in_capacity"] for v in by.values()) == c["in_capacity"]
    # reasons for those in capacity (or --explain-top) and nobody else
    wanted = {None: flagged, "all": pd.Series(True, index=s.index),
              "none": pd.Series(False, index=s.index), "3": s["rank_overall"] <= 3}[explain]
    assert c["explained"] == int(wanted.sum())
    assert s.loc[~wanted, ["reason_1", "reason_2", "reason_3"]].isna().all().all()
    # every explained child has a reason, except where nothing moved their score: a tree
    # model's flat contributions, or a rule child with no ACE and no recent contact (0 points)
    silent = s.loc[wanted & s["reason_1"].isna(), "child_id"]
    if kind == "rule":
        rows = matrix.set_index("child_id").loc[silent, FEATURES]
        pts = RuleClassifier().fit(rows, np.zeros(len(rows))).points(rows)
        assert (pts == 0).all()
    else:
        assert silent.empty or kind == "lightgbm"
    assert s.loc[wanted, "reason_1"].dropna().str.endswith(("raises risk", "lowers risk")).all()
    assert (s["model_name"] == "escalation").all() and (s["model_version"] == "3").all()
    assert list(s.columns) == list(SCORE_COLUMNS)


def test_ties_in_the_calibrated_score_are_broken_by_the_margin(models):
    # Isotonic calibration makes steps; the base model's margin orders children within one.
    loaded = models["lightgbm"]
    s = score_cohort(_matrix(800), loaded, explain_top="none").scores
    margin = loaded.model.decision_function(
        _matrix(800).set_index("child_id").loc[s["child_id"], FEATURES])
    for _, step in s.groupby("score", sort=False):
        assert np.all(np.diff(margin[step.index.to_numpy()]) <= 0)
    assert s["score"].nunique() < len(s)  # there were ties to break


def test_chunks_and_parquet_input_give_the_same_scores(models, tmp_path):
    matrix = _matrix(500)
    matrix.loc[7, "contacts_total_12m_count"] = 3  # any value; then one bad row:
    matrix["child_age_all_years"] = matrix["child_age_all_years"].astype("Int64")
    matrix.loc[11, "child_age_all_years"] = pd.NA
    whole = score_cohort(matrix, models["lightgbm"], chunk_size=100_000)
    assert whole.counts["rejected"] == 1
    assert whole.rejected["reason"].tolist() == [
        "feature child_age_all_years is missing or not a number"]
    path = tmp_path / "matrix.parquet"
    matrix.to_parquet(path, row_group_size=64)
    # the reasons are those of each child's own row
    explained = whole.scores[whole.scores["reason_1"].notna()]
    assert len(explained) == whole.counts["explained"] == 50
    rows = matrix.set_index("child_id").loc[explained["child_id"], FEATURES]
    expected = explain_rows(models["lightgbm"].model, rows)
    assert (explained[["reason_1", "reason_2", "reason_3"]].to_numpy(na_value=None)
            == expected.to_numpy(na_value=None)).all()
    read_back = pd.read_parquet(path)  # Arrow-backed columns, in several chunks
    for source, chunk in ((matrix, 7), (read_back, 50), (path, 33), (path, 100_000)):
        part = score_cohort(source, models["lightgbm"], chunk_size=chunk)
        pd.testing.assert_frame_equal(part.scores, whole.scores)
        pd.testing.assert_frame_equal(part.rejected, whole.rejected)
        assert part.counts == whole.counts


def test_a_missing_value_is_rejected_even_where_the_trees_never_look():
    rng = np.random.default_rng(5)
    X = _matrix(400)[FEATURES].astype(float).assign(child_age_all_years=7.0)
    y = (X["ace_total_all_count"] + rng.normal(size=400) > 2.5).astype(int)
    model = CalibratedModel(LightGBMClassifier(n_estimators=10, num_leaves=4,
                                               min_child_samples=10)).fit(X, y)
    assert model.base_.booster_.feature_importance()[3] == 0  # a constant: never split on
    m = _matrix(50).astype({"child_age_all_years": float})
    m.loc[4, "child_age_all_years"] = np.nan
    out = score_cohort(m, _loaded(model))
    assert out.rejected["child_id"].tolist() == ["C00004"]
    assert out.rejected["reason"].tolist() == [
        "feature child_age_all_years is missing or not a number"]


def test_bad_matrices_and_options_are_one_line_errors(models):
    loaded = models["logistic"]
    two_dates = pd.concat([_matrix(5), _matrix(5, as_of="2025-09-01")], ignore_index=True)
    with pytest.raises(InputError, match=r"^matrix: as_of holds 2 dates \(2025-06-01, 2025-09"):
        score_cohort(two_dates, loaded)
    with pytest.raises(InputError, match=r"feature contacts_source_police_12m_count is not "
                                         r"in the data"):
        score_cohort(_matrix(5).drop(columns="contacts_source_police_12m_count"), loaded)
    with pytest.raises(InputError, match="feature ace_total_all_count holds str values"):
        score_cohort(_matrix(5).astype({"ace_total_all_count": "str"}), loaded)
    for bad in ("ten", "0", "150%", "3/district", "-5"):
        with pytest.raises(InputError, match=f"^--top: '{bad}' is not a selection"):
            score_cohort(_matrix(5), loaded, top=bad)
    with pytest.raises(InputError, match="^--explain-top: 'some' is not a selection"):
        score_cohort(_matrix(5), loaded, explain_top="some")


def test_files_are_written_whole_with_an_audit_line_and_no_ids_in_it(models, tmp_path):
    matrix = _matrix(300)
    matrix.loc[[3, 4], "child_id"] = "C00009"  # a repeated id: rejected, with the reason
    expected = score_cohort(matrix, models["lightgbm"])
    stale = tmp_path / ".tmp-scores.parquet.killed"
    stale.write_bytes(b"half a file")
    for suffix in (".parquet", ".csv"):
        run = score_matrix(matrix, models["lightgbm"], out=tmp_path / f"scores{suffix}",
                           data_fingerprint="abc123")
        read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
        got = read(run.scores)
        assert list(got.columns) == list(SCORE_COLUMNS)
        assert got["child_id"].tolist() == expected.scores["child_id"].tolist()
        np.testing.assert_allclose(got["score"], expected.scores["score"])
        assert read(run.rejected)["child_id"].tolist() == ["C00009"] * 3
        # child ids: the owner's alone; the audit (no ids) as the umask says
        umask = os.umask(0)
        os.umask(umask)
        assert run.scores.stat().st_mode & 0o777 == 0o600
        assert run.rejected.stat().st_mode & 0o777 == 0o600
        assert run.audit.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not stale.exists()  # a killed run's leftovers are cleared
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        AUDIT_NAME, "scores.csv", "scores.parquet", "scores.rejected.csv",
        "scores.rejected.parquet"])
    records = read_audit(tmp_path / AUDIT_NAME)
    assert len(records) == 2
    for rec in records:
        assert rec["counts"] == {"rows_in": 300, "scored": 297, "rejected": 3,
                                 "in_capacity": 30, "explained": 30}
        assert rec["rejected_reasons"] == {"child_id repeated": 3}
        assert rec["model"]["version"] == "3" and rec["data_fingerprint"] == "abc123"
        assert rec["capacity"] == "top 10%" and rec["as_of"] == "2025-06-01"
    text = (tmp_path / AUDIT_NAME).read_text()
    assert not any(cid in text for cid in matrix["child_id"])


# ------------------------------------------------------------------ the command -------------

def _cli(args, capsys):
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow  # about 6 s of CPU (quick lane kept under 3 min)
def test_score_command_scores_the_whole_cohort(trained, council, tmp_path, capsys):
    from riskmodel.data import load_tables
    from riskmodel.features import build_matrix
    from riskmodel.features._spec import FeatureSpec
    from riskmodel.store import load_model

    out = tmp_path / "scores.parquet"
    t0 = time.perf_counter()
    code, stdout, err = _cli(["score", "--data", council, "--out", out], capsys)
    elapsed = time.perf_counter() - t0
    assert code == 0, err
    loaded = load_model("models:/escalation@champion")
    tables = load_tables(council)
    extract = pd.Timestamp(json.loads((council / "manifest.json").read_text())["extract_date"])
    cohort = build_matrix(tables, [extract], outcome="escalation",
                          spec=FeatureSpec.model_validate(loaded.meta["feature_spec"]),
                          horizon_months=6, extract_date=extract)
    s = pd.read_parquet(out)
    assert sorted(s["child_id"]) == sorted(cohort["child_id"])
    assert (pd.to_datetime(s["as_of"]) == extract).all()
    assert (s["model_version"] == loaded.version).all()
    assert (s["model_run_id"] == loaded.run_id).all()
    k = math.ceil(len(s) * loaded.meta["capacity"]["top_percent"] / 100)
    assert s["in_capacity"].sum() == k
    assert s.loc[s.in_capacity, "reason_1"].str.endswith("raises risk").all()
    assert s.loc[~s.in_capacity, "reason_1"].isna().all()
    # the closing line: OK, the counts, the capacity rule and each locality's counts
    closing = stdout.strip().splitlines()[-1]
    assert closing.startswith(f"OK escalation v{loaded.version} at {extract.date()}")
    assert f"{len(s):,} children in, {len(s):,} scored, 0 rejected; {k} within capacity " \
           "(top 10% of the whole cohort; lists by locality" in closing
    for loc, part in s.groupby("locality"):
        assert (f"{loc} {len(part)} in, {len(part)} scored, 0 rejected, "
                f"{int(part['in_capacity'].sum())} within capacity") in closing
    rec = read_audit(tmp_path / AUDIT_NAME)[-1]
    assert rec["counts"]["rows_in"] == len(cohort) and rec["model_uri"].endswith("@champion")
    assert rec["data_fingerprint"] == loaded.meta["data_fingerprint"]  # same extract
    # the audit times the whole job (model, extract, features, scoring, files)
    assert rec["seconds"] >= 0.7 * elapsed, (rec["seconds"], elapsed)
    assert {"load_model", "read_extract", "build_features", "score", "write"} <= set(
        rec["timings"])
    assert rec["by_locality"] == {
        loc: {"rows_in": len(part), "scored": len(part), "rejected": 0,
              "in_capacity": int(part["in_capacity"].sum())}
        for loc, part in s.groupby("locality")}

    csv = tmp_path / "by-locality.csv"
    code, stdout, err = _cli(["score", "--data", council, "--out", csv, "--top", "5/locality",
                              "--explain-top", "all", "--as-of", "2025-06-01",
                              "--by-locality"], capsys)
    assert code == 0, err
    s = pd.read_csv(csv)
    assert (s.groupby("locality")["in_capacity"].sum() <= 5).all()
    assert s["reason_1"].notna().all() and (s["as_of"] == "2025-06-01").all()
    assert (s["capacity_rule"] == "top 5 in each locality").all()
    assert "within capacity (top 5 in each locality)" in stdout.strip().splitlines()[-1]
    lists = sorted(tmp_path.glob("by-locality.locality-*.csv"))
    assert len(lists) == s["locality"].nunique()
    for path in lists:
        part = pd.read_csv(path)
        assert path.stat().st_mode & 0o777 == 0o600
        assert part["locality"].nunique() == 1
        want = s[s["locality"] == part["locality"].iloc[0]]
        assert part["child_id"].tolist() == want["child_id"].tolist()
        assert part["rank_in_locality"].tolist() == list(range(1, len(part) + 1))


def _register_variant(name: str, tmp_path: Path, **changes) -> None:
    """Register the champion's model again under ``name`` with changed metadata.

    Each keyword replaces that metadata entry; ``None`` removes it.
    """
    import mlflow

    from riskmodel._core.fingerprint import sha256_file
    from riskmodel.store import load_model, register
    from riskmodel.store._client import experiment_id
    from riskmodel.store._models import MODEL_JSON
    from riskmodel.store._runs import MODEL_CODE

    loaded = load_model("models:/escalation@champion")
    path = tmp_path / MODEL_JSON
    meta = {k: v for k, v in {**loaded.meta, **changes}.items() if v is not None}
    path.write_text(json.dumps({"model": loaded.model.to_dict(), "meta": meta}))
    with mlflow.start_run(experiment_id=experiment_id("scoring-tests")) as run:
        info = mlflow.pyfunc.log_model(name="model", python_model=str(MODEL_CODE),
                                       artifacts={"model_json": str(path)},
                                       pip_requirements=["riskmodel"])
    register(name, info.model_uri, sha256_file(path), run.info.run_id)


def test_model_problems_are_one_line_and_exit_2(trained, council, tmp_path, capsys):
    from riskmodel.features import load_feature_spec

    spec = load_feature_spec().model_dump(mode="json")
    spec["builders"]["contacts"]["windows"] = ["6m", "all"]
    _register_variant("mismatch", tmp_path, feature_spec=spec)
    out = tmp_path / "scores.parquet"
    cases = {
        "models:/mismatch@champion": r"^error: model: models:/mismatch@champion \(version 1\) "
                                     r"was trained on features this data does not give: "
                                     r"contacts_source_police_3m_count, .* more\); retrain",
        "models:/nosuchmodel@champion": r"^error: model: no registered model 'nosuchmodel' "
                                        r"with alias 'champion'",
        "models:/escalation@nosuchalias": r"^error: model: no registered model 'escalation' "
                                          r"with alias 'nosuchalias'",
    }
    for uri, pattern in cases.items():
        code, _, err = _cli(["score", "--data", council, "--out", out, "--model", uri], capsys)
        assert code == 2, err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert pd.Series(lines).str.contains(pattern, regex=True).all(), lines[0]
    code, _, err = _cli(["score", "--data", council, "--out", out, "--as-of", "2031-01-01"],
                        capsys)
    assert code == 2 and "error: --as-of: 2031-01-01 is after the extract date" in err
    assert not out.exists()


# A wrapper that runs `riskmodel score` but stops at a chosen point (mid-write of the
# scores, or just before the audit line) and signals it, so the test can kill it there.
_PAUSING = """
import pathlib, sys, time
import riskmodel.scoring._output as run
from riskmodel.cli import main
from riskmodel.models import explain_rows

marker, where = pathlib.Path(sys.argv[1]), sys.argv[2]
stream, audit = run.stream_batches, run.audit_bytes

def stop():
    marker.write_text("stopped")
    time.sleep(600)

def stream_batches(batches, schema, path, **kw):
    def slowly():
        for i, batch in enumerate(batches):
            if where == "scores" and i == 3:
                stop()
            yield batch
    return stream(slowly(), schema, path, **kw)

def audit_bytes(record, path):
    if where == "audit":
        stop()
    return audit(record, path)

run.stream_batches, run.audit_bytes = stream_batches, audit_bytes
main(sys.argv[3:])
"""


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


@pytest.mark.slow  # about 20 s of CPU: scoring runs killed and rerun
def test_a_killed_run_leaves_the_previous_output_and_a_rerun_completes(
        trained, council, tmp_path, capsys):
    out = tmp_path / "scores.parquet"
    args = ["score", "--data", str(council), "--out", str(out), "--chunk-size", "5"]
    code, _, err = _cli([*args, "--top", "5%"], capsys)  # the previous month's output
    assert code == 0, err
    before = _outputs(tmp_path)
    assert sorted(before) == sorted([AUDIT_NAME, "scores.parquet", "scores.rejected.parquet"])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def killed(cmd, marker: Path | None, *, after: float = 60.0) -> None:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        start = time.monotonic()
        while time.monotonic() - start < (120 if marker else after):
            if proc.poll() is not None:
                pytest.fail(f"the run ended (exit {proc.returncode}) before the kill point")
            if marker is not None and marker.exists():
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _outputs(tmp_path) == before  # not a byte changed
        visible = [p.name for p in tmp_path.glob("*") if not p.name.startswith(".")]
        assert sorted(visible) == sorted(before)  # nothing a reader would pick up
        assert pd.read_parquet(out)["in_capacity"].sum() == \
            pd.read_parquet(io.BytesIO(before["scores.parquet"]))["in_capacity"].sum()

    # early: the real command, killed while it loads
    killed([sys.executable, "-m", "riskmodel", *args], None, after=1.5)
    # mid-write of the scores, and after every file is written but before any rename
    for where in ("scores", "audit"):
        marker = tmp_path / f".marker-{where}"
        killed([sys.executable, "-c", _PAUSING, str(marker), where, *args], marker)
        marker.unlink()
        left = [p.name for p in tmp_path.glob(".tmp-*")]
        assert any(name.startswith(".tmp-scores.parquet.") for name in left), left

    code, _, err = _cli(args, capsys)  # the rerun completes
    assert code == 0, err
    assert not list(tmp_path.glob(".tmp-*"))
    after = pd.read_parquet(out)
    assert after["in_capacity"].sum() == math.ceil(len(after) * 0.10)
    assert [r["capacity"] for r in read_audit(tmp_path / AUDIT_NAME)] == ["top 5%", "top 10%"]


# ------------------------------------------------------------------ capacity, bands, reasons --

def _meta_with(loaded: LoadedModel, **changes) -> LoadedModel:
    meta = {k: v for k, v in {**loaded.meta, **changes}.items() if v is not None}
    return LoadedModel(model=loaded.model, meta=meta, name=loaded.name, version=loaded.version,
                       run_id=loaded.run_id)


def test_capacity_rule_and_each_localitys_list_length_are_in_the_outputs(models, tmp_path):
    matrix = _matrix(300)
    for top, words in ((None, "top 10% of the whole cohort"), ("4/locality",
                                                               "top 4 in each locality")):
        run = score_matrix(matrix, models["logistic"], out=tmp_path / "scores.parquet",
                           options=ScoreOptions(top=top))
        s = pd.read_parquet(run.scores)
        assert (s["capacity_rule"] == words).all()
        rec = read_audit(run.audit)[-1]
        assert rec["capacity_rule"] == words
        lengths = s.groupby("locality")["in_capacity"].sum().to_dict()
        assert {k: v["in_capacity"] for k, v in rec["by_locality"].items()} == lengths
        assert {k: v["rows_in"] for k, v in rec["by_locality"].items()} == \
            s["locality"].value_counts().to_dict()
        if top:
            assert set(lengths.values()) == {4}


def test_the_packaged_specs_show_per_locality_capacity_with_a_worked_example(tmp_path):
    from importlib import resources

    from riskmodel.training import load_training_spec

    repo = Path(__file__).resolve().parents[1]
    for outcome in ("escalation", "disengagement"):
        text = (resources.files("riskmodel.training") / "specs" / f"{outcome}.yaml").read_text()
        assert text == (repo / "training" / f"{outcome}.yaml").read_text()
        assert "# Worked example" in text and "top_n_per_locality: 5 gives every" in text
        # the commented alternative is a valid spec once swapped in
        swapped = text.replace("  top_percent: 10 ", "  # top_percent: 10 ").replace(
            "  # top_n_per_locality: 5 ", "  top_n_per_locality: 5 ")
        path = tmp_path / f"{outcome}.yaml"
        path.write_text(swapped)
        cap = load_training_spec(path).capacity
        assert (cap.top_percent, cap.top_n_per_locality) == (None, 5)


def test_risk_bands_are_cut_points_on_the_score_whatever_the_capacity(models):
    from riskmodel.scoring import band_cut_points
    from riskmodel.scoring._bands import FROM_MODEL, FROM_TEST_METRICS

    cuts = band_cut_points(np.r_[np.ones(15), np.zeros(85)])  # base rate 15%
    assert (cuts["medium"], cuts["high"]) == pytest.approx((0.15, 0.30))
    loaded = _meta_with(models["lightgbm"], risk_bands=cuts)
    matrix = _matrix(600)
    few = score_cohort(matrix, loaded, top="5%", explain_top="none")
    many = score_cohort(matrix, loaded, top="50%", explain_top="none")
    assert (few.counts["in_capacity"], many.counts["in_capacity"]) == (30, 300)
    assert few.scores["risk_band"].tolist() == many.scores["risk_band"].tolist()
    s = few.scores
    assert ((s["score"] >= 0.30) == (s["risk_band"] == "high")).all()
    assert (((s["score"] >= 0.15) & (s["score"] < 0.30)) == (s["risk_band"] == "medium")).all()
    assert few.bands["source"] == FROM_MODEL and set(s["risk_band"]) == {"high", "medium", "low"}
    # a model registered before cut-points were stored: its test dates' base rate
    legacy = _meta_with(models["lightgbm"], risk_bands=None,
                        test_metrics=[{"metric": "auc", "value": 0.7},
                                      {"metric": "base_rate", "value": 0.15}])
    old = score_cohort(matrix, legacy, top="5%", explain_top="none")
    assert old.bands["source"] == FROM_TEST_METRICS
    assert old.scores["risk_band"].tolist() == s["risk_band"].tolist()


@pytest.mark.slow  # about 6 s of CPU (quick lane kept under 3 min)
def test_top_changes_who_is_in_capacity_but_never_the_risk_band(trained, council, tmp_path,
                                                                 capsys):
    from riskmodel.scoring._bands import FROM_MODEL, FROM_TEST_METRICS
    from riskmodel.store import load_model

    loaded = load_model("models:/escalation@champion")
    # the cut-points come from the training dates only (the final period never sets them)
    m = trained.extra["matrix"]
    labels = m.loc[~m["as_of"].isin(trained.holdout_dates), "label"].astype(float)
    assert loaded.meta["risk_bands"]["base_rate"] == pytest.approx(labels.mean())
    runs = {}
    for top in ("5%", "30%"):
        out = tmp_path / f"top-{top[:-1]}.parquet"
        code, _, err = _cli(["score", "--data", council, "--out", out, "--top", top,
                             "--explain-top", "none"], capsys)
        assert code == 0, err
        runs[top] = pd.read_parquet(out).set_index("child_id").sort_index()
    a, b = runs["5%"], runs["30%"]
    assert a["in_capacity"].sum() < b["in_capacity"].sum()
    assert a["risk_band"].tolist() == b["risk_band"].tolist()
    high = loaded.meta["risk_bands"]["high"]
    assert ((a["score"] >= high) == (a["risk_band"] == "high")).all()
    rec = read_audit(tmp_path / AUDIT_NAME)[-1]
    assert rec["risk_bands"]["source"] == FROM_MODEL
    assert rec["risk_bands"]["counts"] == a["risk_band"].value_counts().reindex(
        ["high", "medium", "low"], fill_value=0).to_dict()

    # a model registered before cut-points were stored: said in a warning and the audit
    _register_variant("legacy", tmp_path, risk_bands=None)
    out = tmp_path / "legacy.parquet"
    code, _, err = _cli(["score", "--data", council, "--out", out, "--model",
                         "models:/legacy@champion", "--explain-top", "none"], capsys)
    assert code == 0, err
    assert "warning: model: models:/legacy@champion (version 1) has no risk-band cut-points" \
        in err
    rec = read_audit(tmp_path / AUDIT_NAME)[-1]
    base = next(m["value"] for m in loaded.meta["test_metrics"] if m["metric"] == "base_rate")
    assert rec["risk_bands"]["source"] == FROM_TEST_METRICS
    assert rec["risk_bands"]["high"] == pytest.approx(2 * base)


def test_reasons_leave_out_values_nearly_the_whole_cohort_shares(models):
    from riskmodel.features import describe_feature
    from riskmodel.models import feature_contributions

    m = _matrix(400)
    m["contacts_total_12m_count"] = 8  # the same for every child: says nothing about one
    aces = np.where(np.arange(400) % 7 == 0, 6, 0)  # 6 ACEs for one child in 7, else none
    m["ace_total_all_count"] = aces
    constant = describe_feature("contacts_total_12m_count", 8) + " —"
    no_aces = describe_feature("ace_total_all_count", 0) + " —"
    six_aces = describe_feature("ace_total_all_count", 6) + " —"
    for kind in ("logistic", "lightgbm"):
        model = models[kind].model
        # without the rule the constant is a reason for most children ...
        plain = explain_rows(model, m[FEATURES])
        if kind == "logistic":
            assert plain["reason_1"].str.startswith(constant).mean() > 0.5
        # ... with it, never; a minority's value ("6 ACEs") still is
        out = score_cohort(m, models[kind], explain_top="all")
        words = out.scores[["reason_1", "reason_2", "reason_3"]]
        for phrase in (constant, no_aces):
            assert not words.apply(lambda col, p=phrase: col.str.startswith(p)).any().any()
        six = out.scores["child_id"].isin(m.loc[aces == 6, "child_id"])
        assert words[six].apply(lambda col: col.str.startswith(six_aces)).any(axis=1).all()
        left = out.common["features"]
        assert left["contacts_total_12m_count"] == {
            "value": 8.0, "share": 1.0, "words": constant[:-2],
            "reasons_left_out": int(plain["reason_1"].notna().sum()) if kind == "logistic"
            else left["contacts_total_12m_count"]["reasons_left_out"]}
        assert left["ace_total_all_count"]["share"] == round((aces == 0).mean(), 3)
        assert left["ace_total_all_count"]["value"] == 0.0
    # the full contributions are unchanged: the constant still moves every child's score
    contrib = feature_contributions(models["logistic"].model, m[FEATURES])
    assert (contrib["contacts_total_12m_count"] > 0).all()
    # a cohort under 50 children keeps every reason
    small = score_cohort(m.head(30), models["logistic"], explain_top="all")
    assert small.common["features"] == {}
    assert small.scores["reason_1"].str.startswith(constant).any()


def test_reasons_rule_counts_across_chunks_and_parquet(models, tmp_path):
    m = _matrix(700)
    m["contacts_total_12m_count"] = np.where(np.arange(700) < 60, 1, 8)  # 8 for 91%
    whole = score_cohort(m, models["logistic"], explain_top="all")
    path = tmp_path / "m.parquet"
    m.to_parquet(path, row_group_size=50)
    for source, chunk in ((m, 7), (path, 40), (m, 100_000)):
        part = score_cohort(source, models["logistic"], explain_top="all", chunk_size=chunk)
        assert part.common == whole.common
        # (a logistic margin's last bits can differ with the chunk, so compare by child)
        by_id = ["child_id", "reason_1", "reason_2", "reason_3"]
        pd.testing.assert_frame_equal(
            part.scores[by_id].sort_values("child_id", ignore_index=True),
            whole.scores[by_id].sort_values("child_id", ignore_index=True))
    assert whole.common["features"]["contacts_total_12m_count"]["share"] == 0.914


# ------------------------------------------------------------------ outputs for the hub -----

def test_locality_lists_excel_and_csv_that_excel_reads(models, tmp_path, monkeypatch):
    from riskmodel.scoring import _write

    matrix = _matrix(300)
    stale = tmp_path / "scores.locality-gone.csv"  # last month's list for a locality now empty
    stale.write_text("child_id\nC99999\n")
    other = tmp_path / "other.locality-gone.csv"  # another scores file's: left alone
    other.write_text("x\n")
    run = score_matrix(matrix, models["logistic"], out=tmp_path / "scores.csv",
                       options=ScoreOptions(by_locality=True))
    raw = run.scores.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "—".encode() in raw  # Excel reads it as UTF-8
    s = pd.read_csv(run.scores, encoding="utf-8-sig")
    assert s.columns[0] == "child_id"
    names = {"Bilston": "bilston", "Dove": "dove", "Low Hill": "low-hill"}
    for loc, slug in names.items():
        path = tmp_path / f"scores.locality-{slug}.csv"
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        assert path.stat().st_mode & 0o777 == 0o600
        part = pd.read_csv(path, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(part, s[s["locality"] == loc].reset_index(drop=True))
    assert not stale.exists() and other.exists()
    rec = read_audit(run.audit)[-1]
    assert rec["outputs"]["by_locality"] == sorted(f"scores.locality-{v}.csv"
                                                   for v in names.values())
    assert not list(tmp_path.glob(".tmp-*"))

    xlsx = score_matrix(matrix, models["logistic"], out=tmp_path / "scores.xlsx")
    x = pd.read_excel(xlsx.scores)
    assert list(x.columns) == list(SCORE_COLUMNS)
    assert x["child_id"].tolist() == s["child_id"].tolist()
    np.testing.assert_allclose(x["score"], s["score"])
    assert x["reason_1"].dropna().str.contains("—").all()
    assert xlsx.scores.stat().st_mode & 0o777 == 0o600
    assert xlsx.rejected.name == "scores.rejected.xlsx" and xlsx.rejected.exists()

    monkeypatch.setattr(_write, "XLSX_MAX_ROWS", 100)
    before = xlsx.scores.read_bytes()
    with pytest.raises(InputError, match=r"^--out: 300 rows do not fit an Excel sheet"):
        score_matrix(matrix, models["logistic"], out=tmp_path / "scores.xlsx")
    assert xlsx.scores.read_bytes() == before
    with pytest.raises(InputError, match=r"must end in \.parquet, \.csv or \.xlsx"):
        score_matrix(matrix, models["logistic"], out=tmp_path / "scores.txt")


def _with_characteristics(m: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = len(m)
    return m.assign(ethnicity=pd.array(rng.choice(["white", "asian", "black"], n), "string"),
                    sex=pd.array(rng.choice(["female", "male"], n), "string"),
                    disability=pd.array(rng.choice(["none", "ehcp"], n), "string"),
                    age_band=pd.array(rng.choice(["0-4", "5-7"], n), "string"),
                    imd_quintile=pd.array(rng.integers(1, 6, n), "Int64"))


def test_characteristics_are_carried_only_when_asked(models, tmp_path):
    from riskmodel.scoring import CHARACTERISTIC_COLUMNS

    m = _with_characteristics(_matrix(120))
    plain = score_cohort(m, models["logistic"])
    assert list(plain.scores.columns) == list(SCORE_COLUMNS)
    out = score_cohort(m, models["logistic"], with_characteristics=True)
    assert list(out.scores.columns) == [*SCORE_COLUMNS, *CHARACTERISTIC_COLUMNS]
    got = out.scores[["child_id", *CHARACTERISTIC_COLUMNS]].astype(str)
    want = m.set_index("child_id").loc[out.scores["child_id"], list(CHARACTERISTIC_COLUMNS)]
    assert got.to_numpy().tolist() == want.reset_index().astype(str).to_numpy().tolist()
    run = score_matrix(m, models["logistic"], out=tmp_path / "s.parquet",
                       options=ScoreOptions(with_characteristics=True))
    assert read_audit(run.audit)[-1]["with_characteristics"] is True
    text = run.audit.read_text()
    assert "white" not in text and "female" not in text  # the audit holds no child data
    with pytest.raises(InputError, match=r"^matrix: column disability missing "
                                         r"\(--with-characteristics"):
        score_cohort(m.drop(columns="disability"), models["logistic"],
                     with_characteristics=True)


@pytest.mark.slow  # about 6 s of CPU (quick lane kept under 3 min)
def test_fairness_checks_a_months_list_joined_with_its_matured_outcome(
        trained, council, tmp_path, capsys):
    import yaml

    scores = tmp_path / "scores-2025-06.csv"
    code, _, err = _cli(["score", "--data", council, "--out", scores, "--as-of", "2025-06-01",
                         "--with-characteristics", "--explain-top", "none"], capsys)
    assert code == 0, err
    s = pd.read_csv(scores)
    assert {"ethnicity", "sex", "disability", "age_band", "imd_quintile"} <= set(s.columns)
    policy = tmp_path / "policy.yaml"
    from importlib import resources
    pol = yaml.safe_load((resources.files("riskmodel.evaluation") / "fairness.yaml").read_text())
    pol["bootstrap"]["n"] = 30
    policy.write_text(yaml.safe_dump(pol))
    fair = ["fairness", "--score", "score", "--label", "label", "--top", "10%",
            "--policy", policy, "--out", tmp_path / "fair"]
    # this month's list alone has no outcome yet: the fairness command says so in one line
    code, _, err = _cli([*fair, "--scores", scores], capsys)
    assert code == 2 and err.count("error:") == 1
    # six months on, the outcome has matured: join it and check the list
    matrix = tmp_path / "outcome-2025-06.parquet"
    code, _, err = _cli(["build", "--data", council, "--outcome", "escalation", "--as-of",
                         "2025-06-01", "--out", matrix], capsys)
    assert code == 0, err
    outcome = pd.read_parquet(matrix, columns=["child_id", "label"])
    joined = s.merge(outcome, on="child_id", how="left", validate="one_to_one")
    # children who moved away before an outcome was seen are censored (no label): left out
    assert joined["label"].notna().mean() > 0.95
    joined = joined[joined["label"].notna()]
    path = tmp_path / "scores-with-outcome.csv"
    joined.to_csv(path, index=False)
    code, stdout, err = _cli([*fair, "--scores", path], capsys)
    assert code == 0, err
    report = tmp_path / "fair" / "fairness_report.html"
    assert report.exists() and "ethnicity" in report.read_text().lower()
