"""The fairness report finds a planted referral bias, and stays quiet without one.

Two synthetic councils from the same seed differ only in spurious extra police and school
contacts for black children (their true hazards are identical). A model trained on the biased
council over-flags them; the fairness review of its out-of-time test predictions must flag the
black group, and the review of the unbiased council must flag no group of 500+ children.
"""

from __future__ import annotations

import pytest
import yaml

from riskmodel.data import generate_council
from riskmodel.evaluation import AuditOptions, fairness_audit
from riskmodel.jobs import training_matrix
from riskmodel.jobs._extract import with_characteristics
from riskmodel.training import load_training_spec
from riskmodel.training._evaluate import evaluate_candidates

CHILDREN = 60_000


def _review(tmp_path, bias):
    data = generate_council(n_children=CHILDREN, seed=11, out=tmp_path / "council",
                            referral_bias=bias)
    spec = load_training_spec(outcome="escalation")
    spec.candidates = [c for c in spec.candidates if c.kind == "lightgbm"]
    spec.candidates[0].params["n_estimators"] = 250
    spec.bootstrap = 20
    spec.splits.n_folds = 6  # more out-of-time test dates: enough black children to judge
    tm = training_matrix(data, spec)
    matrix, features = tm.matrix, tm.features
    result = evaluate_candidates(matrix, spec, features=features)
    pred = with_characteristics(result.candidates[0].predictions.drop(columns="flagged"),
                                matrix[matrix["label"].notna()])
    return fairness_audit(pred, AuditOptions(label="label", score="score", top="10%",
                                             cluster="family_id", sensitive="ethnicity"))


@pytest.fixture(scope="module")
def biased(tmp_path_factory):
    return _review(tmp_path_factory.mktemp("biased"), ["ethnicity=black:4.0"])


@pytest.fixture(scope="module")
def fair(tmp_path_factory):
    return _review(tmp_path_factory.mktemp("fair"), None)


def test_planted_referral_bias_is_flagged_for_the_planted_group(biased):
    r = biased.ratios
    black = r[(r.characteristic == "ethnicity") & (r.group == "black")]
    assert black["flagged"].any(), black.to_string()
    # the planted pattern: black children are flagged more often than white children who
    # share their true risk, so the selection-rate or false-positive ratio is high
    hit = black[black.flagged]
    assert (hit["ratio"] > 1.25).any() or (hit["ratio"] < 0.8).any()
    assert any("black" in s for s in biased.summary)


def test_no_flag_for_any_large_group_without_bias(fair):
    groups = fair.groups
    big = set(groups.loc[pd_numeric(groups["n"]) >= 500, "group"])
    r = fair.ratios
    flagged_big = r[r.flagged & r.group.isin(big)]
    assert flagged_big.empty, flagged_big.to_string()
    assert yaml.safe_dump(fair.settings)  # settings are plain data, publishable as JSON


def pd_numeric(col):
    import pandas as pd

    return pd.to_numeric(col, errors="coerce").fillna(0)


def test_fairness_cli_reviews_a_training_run(trained, council, tmp_path, capsys):
    from riskmodel.cli import main

    run_id = next(c.run_id for c in trained.candidates if c.name == "lightgbm")
    out = tmp_path / "fair"
    try:
        main(["fairness", "--run", run_id, "--data", str(council), "--out", str(out),
              "--sensitive", "ethnicity,sex"])
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "fairness_report.html").exists()
    assert "children" in captured.out
    # the long steps are said as they start, one line each (stderr is not a terminal here)
    steps = [ln for ln in captured.err.splitlines() if ln.startswith("  [")]
    assert [s.split("] ", 1)[1].split()[0] for s in steps] == ["rebuilding", "auditing",
                                                              "writing"], captured.err
