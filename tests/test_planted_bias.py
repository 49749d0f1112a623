"""The fairness report finds a planted referral bias, and stays quiet without one.

Two synthetic councils of 30,000 children from the same seed differ only in spurious extra
police and school contacts for black children, planted at x2 (their true needs and hazards are
identical). The bias enters at the front door, so that is where it is looked for: referral
rates per group by source, and what the contacts led to. The findings must flag black children
on the biased council, and flag no ethnic group on the unbiased one.
"""

from __future__ import annotations

import json

import pytest

from riskmodel.data import generate_council
from riskmodel.evaluation import referral_disproportionality
from riskmodel.evaluation.fairness._referrals import over_referral
from riskmodel.jobs._extract import open_extract

CHILDREN = 30_000


def _front_door(tmp_path, bias):
    data = generate_council(n_children=CHILDREN, seed=11, out=tmp_path / "council",
                            referral_bias=bias)
    tables = open_extract(data).tables
    return referral_disproportionality(tables["children"], tables["contacts"])


@pytest.fixture(scope="module")
def biased(tmp_path_factory):
    return _front_door(tmp_path_factory.mktemp("biased"), ["ethnicity=black:2.0"])


@pytest.fixture(scope="module")
def fair(tmp_path_factory):
    return _front_door(tmp_path_factory.mktemp("fair"), None)


@pytest.mark.slow
def test_planted_referral_bias_flags_black_children(biased):
    f = biased.findings
    black = f[(f.characteristic == "ethnicity") & (f.group == "black")]
    hit = black[black.status == "flag"]
    assert len(hit), black.to_string()
    assert (hit.direction == "disadvantaged").all() and (hit.measure == "contact_rate").all()
    assert {"police", "school"} <= set(hit.source)
    assert (hit.low > 1.25).all()
    # referred more often, stepped up less often: the mark of over-referral
    assert any("black" in s for s in over_referral(f))
    # no other ethnic group is flagged against
    others = f[(f.characteristic == "ethnicity") & (f.group != "black")
               & (f.status == "flag") & (f.direction == "disadvantaged")]
    assert others.empty, others.to_string()


@pytest.mark.slow
def test_no_ethnicity_finding_is_flagged_without_bias(fair):
    f = fair.findings
    flagged = f[(f.characteristic == "ethnicity") & (f.status == "flag")]
    assert flagged.empty, flagged.to_string()
    assert (f.characteristic == "ethnicity").sum() >= 30  # every group and source was judged
    assert json.dumps(fair.settings)  # settings are plain data, publishable as JSON


@pytest.mark.slow  # about 11 s of CPU
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
    # the front door is in the report: referral rates by group and source, and its findings
    doc = json.loads((out / "fairness.json").read_text())
    assert doc["tables"]["referrals"] and doc["tables"]["referral_findings"]
    assert any(f.get("measure") == "contact_rate" for f in doc["findings"])
    assert "The front door" in (out / "fairness_report.html").read_text()
    # the long steps are said as they start, one line each (stderr is not a terminal here)
    steps = [ln for ln in captured.err.splitlines() if ln.startswith("  [")]
    assert [s.split("] ", 1)[1].split()[0] for s in steps] == ["rebuilding", "auditing",
                                                              "comparing", "writing"], \
        captured.err


# ------------------------------------------------ large groups (#27): boys, half the cohort ---

@pytest.fixture(scope="module")
def boys(tmp_path_factory):
    """x2 referral bias against boys, on the smallest council that shows it (3,000)."""
    data = generate_council(n_children=3000, seed=11, out=tmp_path_factory.mktemp("boys"),
                            referral_bias=["sex=male:2.0"])
    tables = open_extract(data).tables
    return referral_disproportionality(tables["children"], tables["contacts"]).findings


def test_a_bias_against_half_the_cohort_is_flagged_against_the_rest(boys):
    """Against everyone (half of whom are boys) x2 showed as about x1.33, only "watch"."""
    sex = boys[boys.characteristic == "sex"]
    male = sex[(sex.group == "male") & (sex.measure == "contact_rate")].set_index("source")
    for src in ("police", "school"):
        assert male.loc[src, "reference"] == "everyone else"
        assert male.loc[src, "status"] == "flag", male.to_string()
        assert male.loc[src, "direction"] == "disadvantaged"
        assert 1.6 < male.loc[src, "ratio"] < 2.5 and male.loc[src, "low"] > 1.25


def test_the_other_half_is_not_called_advantaged_by_it(boys):
    girls = boys[(boys.characteristic == "sex") & (boys.group == "female")]
    called = girls[girls.status.isin(["flag", "watch"])]  # what the report puts in words
    assert len(called) and not (called.direction == "advantaged").any(), called.to_string()
    mirrored = girls[girls.status == "flag"]
    assert len(mirrored) and (mirrored.direction == "counterpart").all()
    assert all("other side of a disparity" in s for s in mirrored.sentence)


def test_model_findings_compare_a_large_group_with_the_rest():
    """The model audit too: twice the misses for boys (half the cohort) is flagged, at the
    size of the bias, and girls are its counterpart, not "advantaged"."""
    import numpy as np
    import pandas as pd

    from riskmodel.evaluation import AuditOptions, fairness_audit

    rng = np.random.default_rng(2)
    n = 6000
    sex = rng.choice(["female", "male"], n)
    y = (rng.uniform(size=n) < 0.3).astype(int)
    miss = np.where(sex == "male", 0.5, 0.25)  # boys who need help are missed twice as often
    found = (y == 1) & (rng.uniform(size=n) > miss)
    score = np.where(found, 0.9, rng.uniform(0, 0.6, n))
    frame = pd.DataFrame({"sex": sex, "label": y, "score": score})
    audit = fairness_audit(frame, AuditOptions(
        label="label", score="score", threshold=0.8, sensitive="sex", bootstrap=False,
        policy={"characteristics": {"sex": None}, "intersections": [],
                "metrics": ["false_negative_rate"]}))
    f = audit.findings.set_index("group")
    assert f.loc["male", "reference"] == "everyone else"
    assert f.loc["male", "status"] == "flag" and 1.7 < f.loc["male", "ratio"] < 2.3
    assert f.loc["female", "direction"] == "counterpart"
