"""The fairness audit: the policy, the numbers (checked independently), the flags, mitigation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskmodel import InputError
from riskmodel.cli import main
from riskmodel.evaluation import (
    AuditOptions,
    fairness_audit,
    load_fairness_policy,
    write_fairness_report,
)
from riskmodel.evaluation._metrics import expected_calibration_error

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
COMPAS = SHARED / "external" / "compas" / "compas-two-years.csv"


def compas() -> pd.DataFrame:
    assert COMPAS.is_file(), f"the COMPAS sample is missing: expected {COMPAS}"
    return pd.read_csv(COMPAS)


def one_char_policy(name, **extra):
    return {"characteristics": {name: None}, "intersections": [], **extra}


# ------------------------------------------------------------------ the policy -----------------

def test_shipped_policy_is_the_packaged_one_and_loads():
    top = REPO / "evaluation" / "fairness.yaml"
    packaged = REPO / "riskmodel" / "evaluation" / "fairness.yaml"
    assert top.read_bytes() == packaged.read_bytes()
    p = load_fairness_policy(top)
    assert p == load_fairness_policy()
    assert list(p.characteristics) == ["ethnicity", "sex", "disability", "age_band", "locality",
                                       "imd_quintile"]
    assert p.intersections == [["ethnicity", "sex"]]
    assert (p.tolerance.low, p.tolerance.high, p.min_count) == (0.8, 1.25, 5)
    assert p.metrics[:2] == ["false_negative_rate", "selection_rate"]


@pytest.mark.parametrize("text, key, expected", [
    ("characteristics: {sex: {}}\ntolerance: {low: 1.2}", "tolerance.low", "less than 1"),
    ("characteristics: {sex: {}}\nintersections: [[sex, race]]", "intersections",
     "not 'race'"),
    ("characteristics: {sex: {}}\nmetrics: [recall]", "metrics.0", "false_negative_rate"),
    ("characteristics: {sex: {}}\nmin_cout: 5", "min_cout", "allowed"),
    ("characteristics: {}", "characteristics", "at least one"),
])
def test_policy_errors_name_file_key_and_expectation(tmp_path, text, key, expected):
    path = tmp_path / "fairness.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_fairness_policy(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{key}'" in msg and expected in msg and "\n" not in msg


# ------------------------------------------------------------------ COMPAS, checked by hand -----

@pytest.mark.parametrize("rule", ["decile", "score_text"])
def test_compas_error_rates_equal_an_independent_computation(tmp_path, rule):
    df = compas()
    if rule == "decile":
        kwargs = {"score": "decile_score", "threshold": 5}
        flag = df["decile_score"] >= 5
    else:
        df["not_low"] = (df["score_text"] != "Low").astype(int)
        kwargs = {"score": "not_low", "threshold": 1}
        flag = df["score_text"] != "Low"
    audit = fairness_audit(df, AuditOptions(
        label="two_year_recid", sensitive="race",
        policy=one_char_policy("race", bootstrap={"n": 50}), **kwargs))
    paths = write_fairness_report(audit, tmp_path, charts=False)
    published = pd.read_csv(paths["groups"]).query("characteristic == 'race'")
    published = published.set_index("group")

    y = df["two_year_recid"] == 1
    checked = 0
    for race, g in df.groupby("race"):
        yy, ff = y[g.index], flag[g.index]
        tp, fp = int((yy & ff).sum()), int((~yy & ff).sum())
        fn, tn = int((yy & ~ff).sum()), int((~yy & ~ff).sum())
        row = published.loc[race]
        assert int(row["n"]) == len(g)
        if min(tp, fp, fn, tn) == 0 or min(tp, fp, fn, tn) >= 5:
            expected = {"false_negative_rate": fn / (fn + tp), "true_positive_rate": tp / (tp + fn),
                        "false_positive_rate": fp / (fp + tn), "precision": tp / (tp + fp),
                        "selection_rate": (tp + fp) / len(g), "base_rate": (tp + fn) / len(g)}
            for measure, value in expected.items():
                assert float(row[measure]) == pytest.approx(value, abs=1e-12), (race, measure)
            if rule == "decile":
                auc = roc_auc_score(yy, g["decile_score"])
                assert float(row["auc"]) == pytest.approx(auc, abs=1e-12)
            checked += 1
        else:  # a small cell: its rates must not be published
            assert row["false_negative_rate"] == "suppressed"
    assert checked >= 4
    # The summary leads with the lead measure, in words, with its interval.
    assert audit.summary[1].startswith("Children in the race group")
    assert "missed" in audit.summary[1] and "95% interval" in audit.summary[1]


def test_bootstrap_intervals_are_fairlearns():
    """Same seeds, same resampled rows, same percentile intervals as MetricFrame's own."""
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    df = compas()
    df = df[df.race.isin(["African-American", "Caucasian", "Hispanic"])].head(600)
    df = df.reset_index(drop=True)
    audit = fairness_audit(df, AuditOptions(
        label="two_year_recid", score="decile_score", threshold=5, sensitive="race",
        random_state=3, policy=one_char_policy("race", bootstrap={"n": 20})))
    y, p = df["two_year_recid"].to_numpy(), (df["decile_score"] >= 5).astype(int).to_numpy()
    metrics = {
        "selection_rate": lambda a, b: selection_rate(a, b, pos_label=1),
        "true_positive_rate": lambda a, b: true_positive_rate(a, b, pos_label=1),
        "false_negative_rate": lambda a, b: false_negative_rate(a, b, pos_label=1),
        "false_positive_rate": lambda a, b: false_positive_rate(a, b, pos_label=1),
    }
    mf = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=df["race"],
                     n_boot=20, ci_quantiles=[0.025, 0.975], random_state=3)
    low, high = mf.by_group_ci
    ours = audit.groups.query("characteristic == 'race'").set_index("group")
    assert len(low.index) == 3 and not (ours == "suppressed").any().any()
    for m in metrics:
        for race in low.index:
            assert ours.loc[race, m + "_low"] == pytest.approx(low.loc[race, m], abs=1e-12)
            assert ours.loc[race, m + "_high"] == pytest.approx(high.loc[race, m], abs=1e-12)
            assert ours.loc[race, m] == pytest.approx(mf.by_group.loc[race, m], abs=1e-12)


# ------------------------------------------------------------------ flags ----------------------

def planted(seed=7, n=5000):
    """Five groups with the same scores and outcomes, except group e, where the score
    under-rates children who go on to need help (so e's children are missed more)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(list("abcde"), n, p=[0.45, 0.25, 0.15, 0.08, 0.07])
    risk = rng.beta(2, 5, n)
    y = (rng.uniform(size=n) < risk).astype(int)
    score = risk.copy()
    e = group == "e"
    score[e & (y == 1)] *= 0.45
    return pd.DataFrame({"group": group, "score": score, "label": y})


@pytest.fixture(scope="module")
def planted_audit():
    return fairness_audit(planted(), AuditOptions(
        label="label", score="score", top="20%", sensitive="group",
        policy=one_char_policy("group", bootstrap={"n": 200}), mitigate=True))


def test_only_the_group_with_a_real_disparity_is_flagged(planted_audit):
    r = planted_audit.ratios
    flagged = r[r.flagged]
    assert set(flagged.group) == {"e"}
    assert "false_negative_rate" in set(flagged.metric)
    fnr = r.query("group == 'e' and metric == 'false_negative_rate'").iloc[0]
    assert fnr.ratio_low > 1.25 and fnr.reference == "a"
    # Unbiased groups, even small ones (d: about 400 children), stay unflagged.
    assert not r[r.group.isin(list("bcd"))].flagged.any()
    assert "'e'" in planted_audit.summary[1].replace("\u2018", "'").replace("\u2019", "'")


def test_a_ratio_is_flagged_only_when_its_whole_interval_is_outside():
    # Same miss rate (about 0.46 against the reference's 0.30) in a large and a small group:
    # the large group's interval is clear of the tolerance, the small group's is not.
    def block(group, pos, missed, neg, false_pos):
        flags = [0] * missed + [1] * (pos - missed) + [1] * false_pos + [0] * (neg - false_pos)
        return pd.DataFrame({"g": group, "y": [1] * pos + [0] * neg,
                             "s": [0.9 if f else 0.1 for f in flags]})

    df = pd.concat([block("ref", 1000, 300, 1000, 200), block("large", 500, 230, 500, 100),
                    block("small", 30, 14, 30, 6)], ignore_index=True)
    audit = fairness_audit(df, AuditOptions(
        label="y", score="s", threshold=0.5, sensitive="g",
        policy=one_char_policy("g", bootstrap={"n": 300})))
    r = audit.ratios.query("metric == 'false_negative_rate'").set_index("group")
    assert r.loc["large", "ratio"] == pytest.approx(0.46 / 0.30)
    assert r.loc["small", "ratio"] == pytest.approx((14 / 30) / 0.30)
    assert r.loc["large", "status"] == "outside" and r.loc["large", "flagged"]
    assert r.loc["small", "status"] == "check" and not r.loc["small", "flagged"]
    assert r.loc["small", "ratio_low"] < 1.25 < r.loc["small", "ratio_high"]


def test_auc_and_calibration_within_groups(planted_audit):
    df = planted()
    f = planted_audit.groups.query("characteristic == 'group'").set_index("group")
    for g, part in df.groupby("group"):
        assert f.loc[g, "auc"] == pytest.approx(roc_auc_score(part.label, part.score), abs=1e-12)
        assert f.loc[g, "calibration"] == pytest.approx(part.label.sum() / part.score.sum())
        assert f.loc[g, "calibration_error"] == pytest.approx(
            expected_calibration_error(part.label, part.score), abs=1e-12)
    # Group e's scores under-predict: observed over predicted is well above 1; the others'
    # scores are right on average.
    cal = planted_audit.ratios.query("metric == 'calibration'").set_index("group")
    assert cal.loc["e", "ratio"] > 1.2 and cal.loc["e", "status"] in ("check", "outside")
    assert (cal.loc[list("abcd"), "status"] == "within").all()


def test_mitigation_is_cross_fitted_and_narrows_the_gap(planted_audit):
    m = planted_audit.mitigation.set_index("group")
    gap_before = m.loc["e", "false_negative_rate_before"] / m.loc["a", "false_negative_rate_before"]
    gap_after = m.loc["e", "false_negative_rate_after"] / m.loc["a", "false_negative_rate_after"]
    assert gap_before > 1.5 and abs(np.log(gap_after)) < abs(np.log(gap_before)) / 2
    th = planted_audit.thresholds.set_index("group")["rule"]
    assert th.str.startswith("score \u2265").all()
    # e needs a lower threshold than a to find the same share of its children.
    assert float(th["e"].split()[-1]) < float(th["a"].split()[-1])


def test_threshold_optimizer_mitigation():
    df = planted(n=2000)
    audit = fairness_audit(df, AuditOptions(
        label="label", score="score", top="20%", sensitive="group", mitigate=True,
        policy=one_char_policy("group", bootstrap={"n": 20},
                               mitigation={"method": "threshold_optimizer"})))
    m = audit.mitigation.set_index("group")
    assert audit.settings["mitigation"]["method"] == "threshold_optimizer"
    assert all(isinstance(v, float) for v in m["false_negative_rate_after"])
    assert audit.thresholds["rule"].str.contains("flag if").all()


# ------------------------------------------------------------------ options and errors ----------

def test_top_flags_exactly_k_with_ties_broken_by_row_order():
    # 40 tied scores (20 girls, then 20 boys), then 20 lower scores (boys).
    df = pd.DataFrame({"s": [0.5] * 40 + [0.1] * 20, "y": [1, 0] * 30,
                       "sex": ["female"] * 20 + ["male"] * 40})
    pol = one_char_policy("sex", bootstrap={"n": 20})
    for top, female, male in (("15%", 9, 0), (25, 20, 5), ("50%", 20, 10)):
        audit = fairness_audit(df, AuditOptions(label="y", score="s", top=top, sensitive="sex",
                                                policy=pol))
        g = audit.groups.set_index("group")
        assert (g.loc["female", "n_flagged"], g.loc["male", "n_flagged"]) == (female, male)
    assert audit.settings["rule"] == "top 50% by score"


def test_reference_groups_from_policy_and_option():
    df = compas()
    pol = {"characteristics": {"race": {"reference": "Caucasian"}, "sex": None},
           "intersections": [["race", "sex"]], "bootstrap": {"n": 20}}
    options = AuditOptions(label="two_year_recid", score="decile_score", threshold=5,
                           policy=pol)
    audit = fairness_audit(df, options)
    refs = {k: v["reference"] for k, v in audit.settings["characteristics"].items()}
    assert refs == {"race": "Caucasian", "sex": "Male", "race \u00d7 sex": "Caucasian \u00d7 Male"}
    with pytest.raises(InputError, match="'Martian'.*not in the data"):
        fairness_audit(df, replace(options, references={"race": "Martian"}))


def test_input_errors_are_one_line_and_name_the_problem():
    df = pd.DataFrame({"child_id": ["c1", "c2", "c3"], "y": [0, 2, 1], "s": [0.1, 0.2, None],
                       "sex": ["female", "male", "male"]})
    options = AuditOptions(label="y", score="s", threshold=0.5, sensitive="sex",
                           policy=one_char_policy("sex"))
    with pytest.raises(InputError, match="'y' must be 0/1.*rows c2"):
        fairness_audit(df.assign(s=0.5), options)
    with pytest.raises(InputError, match="'s' must hold a number.*rows c3"):
        fairness_audit(df.assign(y=1), options)
    with pytest.raises(InputError, match="no characteristic \\(race\\) column 'race'"):
        fairness_audit(df, replace(options, sensitive="race"))
    with pytest.raises(InputError, match="exactly one of --threshold or --top"):
        fairness_audit(df, replace(options, top="10%"))
    with pytest.raises(InputError, match="--top"):
        fairness_audit(df, replace(options, threshold=None, top="ten"))


def test_options_are_one_typed_frozen_object():
    df = pd.DataFrame({"y": [0, 1] * 10, "s": [0.1, 0.9] * 10, "sex": ["female", "male"] * 10})
    options = AuditOptions(label="y", score="s", threshold=0.5, sensitive="sex",
                           policy=one_char_policy("sex", bootstrap={"n": 20}))
    with pytest.raises(TypeError, match="AuditOptions"):
        fairness_audit(df, {"label": "y", "score": "s", "threshold": 0.5})
    with pytest.raises(AttributeError):
        options.top = "10%"
    audit = fairness_audit(df, options)
    assert (audit.settings["label"], audit.settings["threshold"]) == ("y", 0.5)


def test_cli_writes_the_report_and_exits_2_on_user_errors(tmp_path, capsys):
    df = compas()
    scores = tmp_path / "compas.parquet"
    df.to_parquet(scores)
    policy = tmp_path / "policy.yaml"
    policy.write_text("characteristics: {race: {}, sex: {}}\nintersections: []\n"
                      "bootstrap: {n: 20}\n")
    out = tmp_path / "out"
    main(["fairness", "--scores", str(scores), "--label", "two_year_recid", "--score",
          "decile_score", "--top", "40%", "--sensitive", "race,sex,race*sex", "--policy",
          str(policy), "--out", str(out), "--subjects", "people", "--positive-words",
          "reoffended", "--negative-words", "did not reoffend"])
    printed = capsys.readouterr().out
    assert "reoffended were missed" in printed and "fairness_report.html" in printed
    for name in ("fairness_report.html", "fairness.json", "fairness_groups.csv",
                 "fairness_ratios.csv", "fairness_rri.csv", "fairness_between_groups.csv",
                 "fairness_profile.csv"):
        assert (out / name).is_file(), name
    g = pd.read_csv(out / "fairness_groups.csv")
    assert {"race", "sex", "race \u00d7 sex"} <= set(g.characteristic)
    with pytest.raises(SystemExit) as exit_info:
        main(["fairness", "--scores", str(scores), "--label", "nope", "--score",
              "decile_score", "--threshold", "5", "--policy", str(policy)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no label column 'nope'" in err and "Traceback" not in err
