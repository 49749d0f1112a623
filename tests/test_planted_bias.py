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
