"""Feature builders on a small hand-made council, the feature spec, dictionary and CLI."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.data._contract import ACE_FACTORS, NEEDS, PROTECTED, SOURCES
from riskmodel.features import (
    build_labels,
    build_matrix,
    describe_feature,
    feature_columns,
    feature_dictionary,
    load_feature_spec,
)
from riskmodel.features._spec import packaged_spec_path

from helpers.hand_council import EXTRACT, T1, T2, hand_council

ROOT = Path(__file__).resolve().parents[1]


def each(template: str, values: dict[str, float]) -> dict[str, float]:
    """Expand ``contacts_total_{w}_count`` over windows: {"3m": 1, "12m": 2} -> two names."""
    return {template.format(w=w): v for w, v in values.items()}


# Hand-computed features at T1: every feature NOT listed here must be 0.
EXPECTED_T1 = {
    "c1": {
        # ACEs before T1: domestic abuse (twice), mental illness -> 2 distinct, both trio.
        "ace_domestic_abuse_all_flag": 1, "ace_mental_illness_all_flag": 1,
        "ace_total_all_count": 2, "ace_total_all_band": 2, "ace_toxictrio_all_count": 2,
        # Known contacts k1 (3m), k3 (12m), k4 (36m), k5 (all); k2 is recorded on T1.
        **each("contacts_total_{w}_count", {"3m": 1, "12m": 2, "36m": 3, "all": 4}),
        **each("contacts_source_police_{w}_count", {"3m": 1, "12m": 2, "36m": 2, "all": 2}),
        **each("contacts_need_domestic_abuse_{w}_count",
               {"3m": 1, "12m": 2, "36m": 2, "all": 2}),
        **each("contacts_mash_red_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_mash_amber_{w}_count", {"12m": 1, "36m": 1, "all": 1}),
        **each("contacts_mash_green_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_outcome_early_help_{w}_count",
               {"3m": 1, "12m": 2, "36m": 2, "all": 2}),
        **each("contacts_outcome_nfa_{w}_count", {"36m": 1, "all": 1}),
        "contacts_outcome_signposted_all_count": 1,
        **each("contacts_source_health_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_need_parenting_{w}_count", {"36m": 1, "all": 1}),
        "contacts_source_school_all_count": 1, "contacts_need_behaviour_all_count": 1,
        # k1 (2024-03-20) came 4.5 months after k3 (2023-11-01): the only repeat.
        **each("contacts_repeat_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        "contacts_last_all_days": 12,  # 2024-03-20 -> 2024-04-01
        # e0 closed escalated on 2022-06-30: inside 36m, not 12m; 641 days before T1.
        **each("episodes_prior_{w}_count", {"36m": 1, "all": 1}),
        **each("episodes_closed_escalated_{w}_count", {"36m": 1, "all": 1}),
        "episodes_lastclosure_all_days": 641,
        "episodes_open_all_count": 1,
        # current episode e1 (its closure on 2024-05-10 must not show): 122 days, yellow = 3
        "episodes_current_all_daysopen": 122, "episodes_current_all_triage": 3,
        "episodes_current_service_early_help_pathway_all_flag": 1,
        # contacts recorded in the 12 months before e1 began (2022-12-01..2023-11-30): k3
        "episodes_current_source_police_12m_count": 1,
        "episodes_current_need_domestic_abuse_12m_count": 1,
        "episodes_current_total_12m_count": 1,
        # siblings c2 (k6) and c3 (k7; k11 not yet recorded); c2's CIN e11 began 2023-09-01
        "family_siblings_all_count": 2,
        **each("family_contacts_{w}_count", {"12m": 2, "all": 2}),
        **each("family_socialcare_{w}_count", {"12m": 1, "all": 1}),
        # north: c1, c2, c3, c6, c7 known; contacts recorded in 12m: k1, k3, k6, k7 -> 4/5
        # north early-help closures in 12m: e9 (disengaged) -> step-up rate 0
        "demand_locality_12m_contactrate": 800.0, "demand_imd_all_decile": 2,
        "child_age_all_years": 7,  # born 2016-06-15, birthday not yet reached
    },
    "c2": {
        "ace_emotional_neglect_all_flag": 1, "ace_total_all_count": 1, "ace_total_all_band": 1,
        **each("contacts_total_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_source_school_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_need_school_attendance_{w}_count",
               {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_mash_green_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_outcome_early_help_{w}_count",
               {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        "contacts_last_all_days": 82,  # 2024-01-10 -> 2024-04-01 (a leap February)
        # e9 closed disengaged 2023-08-01 (244 days before T1); CIN e11 began 2023-09-01
        **each("episodes_prior_{w}_count", {"12m": 1, "36m": 1, "all": 1}),
        **each("episodes_prior_disengaged_{w}_count", {"12m": 1, "36m": 1, "all": 1}),
        **each("episodes_closed_disengaged_{w}_count", {"12m": 1, "36m": 1, "all": 1}),
        **each("episodes_socialcare_{w}_count", {"12m": 1, "36m": 1, "all": 1}),
        "episodes_lastclosure_all_days": 244,
        "episodes_open_all_count": 1,
        "episodes_current_all_daysopen": 77, "episodes_current_all_triage": 4,
        "episodes_current_service_fsw_intervention_all_flag": 1,
        "episodes_current_source_school_12m_count": 1,
        "episodes_current_need_school_attendance_12m_count": 1,
        "episodes_current_total_12m_count": 1,
        # siblings c1 (k1, k3 in 12m; 4 in all) and c3 (k7); c1's e0 closed escalated
        "family_siblings_all_count": 2,
        **each("family_contacts_{w}_count", {"12m": 3, "all": 5}),
        "family_escalated_all_count": 1,
        "demand_locality_12m_contactrate": 800.0, "demand_imd_all_decile": 2,
        "child_age_all_years": 12,  # twelfth birthday on T1
    },
    "c3": {
        **each("contacts_total_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_source_health_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_need_adult_mental_health_{w}_count",
               {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_mash_amber_{w}_count", {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        **each("contacts_outcome_early_help_{w}_count",
               {"3m": 1, "12m": 1, "36m": 1, "all": 1}),
        "contacts_last_all_days": 72,
        "episodes_lastclosure_all_days": 3650, "episodes_lastclosure_all_days_missing": 1,
        "episodes_open_all_count": 1,
        "episodes_current_all_daysopen": 60, "episodes_current_all_triage": 3,
        "episodes_current_service_early_help_pathway_all_flag": 1,
        "episodes_current_source_health_12m_count": 1,
        "episodes_current_need_adult_mental_health_12m_count": 1,
        "episodes_current_total_12m_count": 1,
        "family_siblings_all_count": 2,
        **each("family_contacts_{w}_count", {"12m": 3, "all": 5}),
        **each("family_socialcare_{w}_count", {"12m": 1, "all": 1}),
        "family_escalated_all_count": 1,
        "demand_locality_12m_contactrate": 800.0,
        "demand_imd_all_decile": 5.5, "demand_imd_all_decile_missing": 1,
        "child_unborn_all_flag": 1,  # age 0
    },
    "c4": {
        **{f"ace_{f}_all_flag": 1 for f in
           ("physical_abuse", "sexual_abuse", "emotional_abuse", "incarceration")},
        "ace_total_all_count": 4, "ace_total_all_band": 3,
        **each("contacts_total_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_source_youth_justice_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_need_exploitation_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_mash_red_{w}_count", {"36m": 1, "all": 1}),
        **each("contacts_outcome_social_care_{w}_count", {"36m": 1, "all": 1}),
        "contacts_last_all_days": 425,
        **each("episodes_socialcare_{w}_count", {"36m": 1, "all": 1}),  # CP from 2023-01-01
        "episodes_lastclosure_all_days": 3650, "episodes_lastclosure_all_days_missing": 1,
        # e4 ends on T1 itself: open at T1, and its declined closure is not yet known
        "episodes_open_all_count": 1,
        "episodes_current_all_daysopen": 1, "episodes_current_all_triage": 2,
        "episodes_current_service_early_help_pathway_all_flag": 1,
        # east: only c4, no contact in 12m (rate 0), no closures -> council step-up rate:
        # e9 (north, disengaged) and e7 (south, escalated) -> 1 / 2
        "demand_locality_12m_stepuprate": 0.5, "demand_locality_12m_stepuprate_missing": 1,
        "demand_imd_all_decile": 10,
        "child_age_all_years": 16,
    },
}


@pytest.fixture(scope="module")
def hand():
    return hand_council()


@pytest.fixture(scope="module")
def matrix(hand):
    return build_matrix(hand, [T2, "2024-04-01"], outcome="escalation",
                        extract_date=EXTRACT)


def test_hand_computed_features_match_exactly(matrix):
    at_t1 = matrix[matrix["as_of"] == T1].set_index("child_id")
    assert sorted(at_t1.index) == sorted(EXPECTED_T1)  # c5's episode starts on T1
    names = feature_columns(matrix)
    for child, expected in EXPECTED_T1.items():
        assert set(expected) <= set(names), set(expected) - set(names)
        got = {n: at_t1.loc[child, n] for n in names if at_t1.loc[child, n] != 0}
        assert got == pytest.approx(expected), child


def test_matrix_keys_label_and_carried_columns(matrix, hand):
    head = ["child_id", "family_id", "as_of", "label", "locality", "ethnicity", "sex",
            "disability", "age_band", "imd_quintile"]
    assert list(matrix.columns[:10]) == head
    assert list(matrix.columns[10:]) == feature_columns(matrix)
    assert matrix["label"].dtype == "Int64" and matrix["imd_quintile"].dtype == "Int64"
    assert matrix["as_of"].dtype == "datetime64[ns]"
    rows = matrix.set_index(["as_of", "child_id"])
    # sorted by as-of date, then child
    assert list(rows.index) == sorted(rows.index)
    t1 = rows.loc[T1]
    assert t1["age_band"].to_dict() == {"c1": "5-7", "c2": "12-15", "c3": "unborn",
                                        "c4": "16+"}
    assert t1["imd_quintile"].tolist()[:2] == [1, 1] and pd.isna(t1.loc["c3", "imd_quintile"])
    assert t1.loc["c4", "imd_quintile"] == 5
    assert t1["label"].tolist() == [1, 1, 0, 0]
    # T2 + 6 months is past the extract date: no label yet
    assert rows.loc[T2, "label"].isna().all()
    assert rows.loc[T2].index.tolist() == ["c2", "c3", "c5"]
    # the label column is the chosen outcome of build_labels
    labels = build_labels(hand, [T1, T2], extract_date=EXTRACT)
    for outcome in ("escalation", "disengagement"):
        m = build_matrix(hand, [T1, T2], outcome=outcome, extract_date=EXTRACT)
        pd.testing.assert_series_equal(m["label"], labels[outcome], check_names=False)


def test_protected_characteristics_are_carried_not_features(matrix, hand, tmp_path):
    names = feature_columns(matrix)
    assert not any(c in names for c in PROTECTED)
    assert not any(n.startswith(("child_ethnicity", "child_sex", "child_disability"))
                   for n in names)
    assert matrix.set_index("child_id").loc["c4", "ethnicity"] == "black"
    # ...unless the spec lists them
    text = packaged_spec_path().read_text().replace(
        "protected_features: []", "protected_features: [disability]")
    (tmp_path / "s.yaml").write_text(text)
    m = build_matrix(hand, [T1], outcome="escalation", spec=tmp_path / "s.yaml",
                     extract_date=EXTRACT).set_index("child_id")
    assert m["child_disability_ehcp_all_flag"].to_dict() == {"c1": 0, "c2": 0, "c3": 0, "c4": 1}
    assert m.loc["c2", "child_disability_sen_support_all_flag"] == 1


def test_spec_chooses_builders_windows_and_imputation(hand, tmp_path):
    text = packaged_spec_path().read_text()
    text = text.replace("windows: [3m, 12m, 36m, all]", "windows: [6m]")
    text = text.replace("  family:           # family_*: siblings (same family_id) known "
                        "before t\n    enabled: true", "  family:\n    enabled: false")
    text = text.replace("days_since: {rule: constant, value: 3650}",
                        "days_since: {rule: constant, value: 999}")
    path = tmp_path / "custom.yaml"
    path.write_text(text)
    spec = load_feature_spec(path)
    m = build_matrix(hand, [T1], outcome="disengagement", spec=spec, extract_date=EXTRACT)
    names = feature_columns(m)
    assert names == feature_columns(spec) == feature_dictionary(spec)["name"].tolist()
    assert not any(n.startswith("family_") for n in names)
    assert not any(n.startswith("contacts_") and "_12m_" in n for n in names)
    m = m.set_index("child_id")
    # c1's contacts recorded in the 6 months before T1 (from 2023-10-01): k1, k3
    assert m.loc["c1", "contacts_total_6m_count"] == 2
    assert m.loc["c3", "episodes_lastclosure_all_days"] == 999
    assert m.loc["c3", "episodes_lastclosure_all_days_missing"] == 1


def test_packaged_spec_is_the_top_level_spec():
    top = ROOT / "features" / "early_help.yaml"
    assert packaged_spec_path().read_bytes() == top.read_bytes()
    assert load_feature_spec(top) == load_feature_spec()


@pytest.mark.parametrize(("old", "new", "key", "expected"), [
    ("    repeat_within_months: 12", "    repeat_within_months: twelve",
     "builders.contacts.repeat_within_months", "valid integer"),
    ("  ace:              #", "  aces:             #", "builders.aces", "unknown key"),
    ("windows: [12m, all]", "windows: [12m, 2y]", "builders.family.windows.1",
     "'3m', '12m' or 'all'"),
    ("protected_features: []", "protected_features: [religion]",
     "builders.child.protected_features.0", "ethnicity"),
    ("triage: {rule: constant, value: 0}", "triage: {rule: council}", "imputation.triage",
     "locality_rate"),
    ("age: {rule: constant, value: 8}", "age: {rule: constant}", "imputation.age",
     "needs a number"),
])
def test_spec_errors_name_file_key_and_expectation(tmp_path, old, new, key, expected):
    text = packaged_spec_path().read_text()
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(InputError) as err:
        load_feature_spec(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{key}'" in msg and expected in msg, msg
    assert "\n" not in msg


def test_dictionary_names_descriptions_and_missing_flags():
    fd = feature_dictionary()
    names = fd["name"].tolist()
    assert len(names) == len(set(names))
    pattern = re.compile(r"^(ace|contacts|episodes|family|demand|child)_[a-z0-9_]+_"
                         r"(3m|12m|36m|all)_[a-z]+(_missing)?$")
    assert all(pattern.match(n) for n in names), [n for n in names if not pattern.match(n)]
    for row in fd.itertuples():
        assert row.name.startswith(row.builder + "_")
        assert f"_{row.window}_{row.metric}" in row.name
        assert row.description and row.imputation
        if row.missing_flag:
            assert row.missing_flag in names
    # every feature that can be missing has a flag, and only those
    flagged = set(fd.loc[fd["missing_flag"] != "", "name"])
    assert flagged == {
        "contacts_last_all_days", "episodes_lastclosure_all_days",
        "episodes_current_all_triage", "demand_locality_12m_contactrate",
        "demand_locality_12m_stepuprate", "demand_imd_all_decile", "child_age_all_years",
    }
    # the names other areas rely on (names.md)
    required = {"ace_total_all_count", "ace_toxictrio_all_count", "child_age_all_years",
                "episodes_current_all_daysopen"}
    required |= {f"ace_{f}_all_flag" for f in ACE_FACTORS}
    for w in ("3m", "12m", "36m", "all"):
        required |= {f"contacts_source_{s}_{w}_count" for s in SOURCES}
        required |= {f"contacts_need_{n}_{w}_count" for n in NEEDS}
        required.add(f"contacts_total_{w}_count")
    assert required <= set(names)
    assert any(n.startswith("episodes_current_service_") for n in names)
    assert any(n.startswith("episodes_current_source_") for n in names)


def test_describe_feature_plain_words():
    assert describe_feature("contacts_source_police_12m_count", 3) == \
        "3 police contacts in the last 12 months"
    assert describe_feature("contacts_source_police_12m_count", 1) == \
        "1 police contact in the last 12 months"
    assert describe_feature("ace_total_all_count", 4) == "4 ACEs recorded"
    assert describe_feature("episodes_current_all_daysopen", 120) == "open 120 days"
    assert describe_feature("episodes_prior_all_count", 0) == "no earlier early-help episode"
    assert describe_feature("contacts_last_all_days", math.nan) == "no earlier contact"
    assert describe_feature("episodes_current_all_triage", 4) == \
        "triage at start: orange (targeted)"
    # a window only a custom spec uses is still described
    assert describe_feature("contacts_need_neglect_6m_count", 2) == \
        "2 contacts about neglect in the last 6 months"
    for name in feature_dictionary()["name"]:
        for value in (0, 1, 2, math.nan):
            text = describe_feature(name, value)
            assert isinstance(text, str) and text and "_" not in text, (name, text)
    with pytest.raises(InputError, match="contacts_source_pigeon_12m_count"):
        describe_feature("contacts_source_pigeon_12m_count", 1)


def run_cli(args, capsys) -> tuple[int, str, str]:
    from riskmodel.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    got = capsys.readouterr()
    return code, got.out, got.err


def test_cli_build_and_features(hand, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for name, df in hand.items():
        df.to_parquet(data / f"{name}.parquet")
    out = tmp_path / "m.parquet"
    code, stdout, stderr = run_cli(
        ["build", "--data", str(data), "--outcome", "escalation", "--as-of", "2024-04-01",
         "--as-of", "2024-10-01", "--out", str(out), "--extract-date", EXTRACT], capsys)
    assert code == 0, stderr
    assert "7 rows" in stdout
    expected = build_matrix(hand, [T1, T2], outcome="escalation", extract_date=EXTRACT)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected, check_dtype=False)

    code, _, stderr = run_cli(
        ["build", "--data", str(data), "--outcome", "stepup", "--as-of", "2024-04-01",
         "--out", str(tmp_path / "x.parquet")], capsys)
    assert code == 2
    assert stderr.strip().splitlines() == [
        "error: outcome: unknown outcome 'stepup' (expected escalation or disengagement)"]
    assert not (tmp_path / "x.parquet").exists()

    code, stdout, stderr = run_cli(["features", "--out", str(tmp_path / "fd.csv")], capsys)
    assert code == 0, stderr
    fd = feature_dictionary()
    assert "Number of police contacts recorded in the 12 months before the as-of date." in \
        stdout
    for name in fd["name"]:
        assert re.search(rf"^{name}\s", stdout, re.M), name
    written = pd.read_csv(tmp_path / "fd.csv", keep_default_na=False)
    assert written["name"].tolist() == fd["name"].tolist()


def test_module_entry_point_runs_build(hand, tmp_path):
    """``python -m riskmodel build`` works as a command, not only in-process."""
    data = tmp_path / "data"
    data.mkdir()
    for name, df in hand.items():
        df.to_csv(data / f"{name}.csv", index=False)
    run = subprocess.run(
        [sys.executable, "-m", "riskmodel", "build", "--data", str(data), "--outcome",
         "disengagement", "--as-of", "2024-04-01", "--out", str(tmp_path / "m.csv")],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr
    got = pd.read_csv(tmp_path / "m.csv")
    assert got["child_id"].tolist() == ["c1", "c2", "c3", "c4"]
    assert got["label"].tolist() == [0, 0, 0, 0]


def test_a_builder_registered_in_one_place_is_built_listed_and_trained_on(hand):
    # The builders' registry is the one list: a builder defined and registered here (a prefix
    # no other code knows) has its columns in the matrix, the model's feature list, the
    # dictionary and the card's words. Before, columns of an unlisted prefix were built and
    # silently dropped from the feature list.
    from riskmodel.features._builder_base import BUILDERS, Builder, register_builder
    from riskmodel.features._dictionary import FeatureDef, say_flag

    class TwinBuilder(Builder):
        prefix, table = "twin", "f_twin"
        words = "whether the child is a twin"

        def definitions(self):
            return [FeatureDef("twin_any_all_flag", "1 if the child is a twin.", self.prefix,
                               "all", "flag", say=say_flag("a twin", "not a twin"))]

        def build(self, s):
            s.run(f"CREATE TEMP TABLE {self.table} AS SELECT c.as_of, c.child_id, "
                  "CAST(c.child_id = 'c1' AS INTEGER) AS twin_any_all_flag FROM cohort c")

    register_builder(TwinBuilder)
    try:
        m = build_matrix(hand, [T1], outcome="escalation", extract_date=EXTRACT)
        assert "twin_any_all_flag" in feature_columns(m)
        assert feature_columns(m)[-1] == "twin_any_all_flag" == feature_columns(None)[-1]
        assert m.set_index("child_id")["twin_any_all_flag"].to_dict()["c1"] == 1
        fd = feature_dictionary()
        assert fd["name"].iloc[-1] == "twin_any_all_flag"
        assert describe_feature("twin_any_all_flag", 1) == "a twin"
        from riskmodel.features import builder_words

        assert builder_words()["twin"] == "whether the child is a twin"
    finally:
        BUILDERS.pop("twin")
    assert "twin_any_all_flag" not in feature_columns(None)


def test_words_come_from_the_models_own_spec_not_the_packaged_one():
    # A workspace that counts a repeat contact within 6 months is told so in every reason.
    from riskmodel.features import describer, lookup

    spec = load_feature_spec().model_dump(mode="json")
    spec["builders"]["contacts"]["repeat_within_months"] = 6
    name = "contacts_repeat_12m_count"
    assert "within 6 months" in describer(spec)(name, 2)
    assert "within 6 months" in lookup(name, spec).description
    assert "within 12 months" in describer(None)(name, 2)


@pytest.mark.parametrize("outcome", ["escalation", "disengagement"])
def test_the_matrix_of_tables_kept_in_duckdb_is_the_matrix_of_the_frames(
        council: Path, outcome: str) -> None:
    """``riskmodel build`` reads the checked tables where DuckDB checked them
    (``load_tables(in_duckdb=True)``): the matrix, its types and the warnings are the same."""
    import warnings

    from riskmodel.data import DuckTables, load_tables

    as_of = ["2024-04-01", "2024-10-01", "2025-01-01"]
    frames = load_tables(council)
    kept = load_tables(council, in_duckdb=True)
    try:
        assert isinstance(kept, DuckTables)
        with warnings.catch_warnings(record=True) as said_kept:
            warnings.simplefilter("always")
            got = build_matrix(kept, as_of, outcome=outcome)
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            expected = build_matrix(frames, as_of, outcome=outcome)
    finally:
        kept.close()
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected)
    assert [str(w.message) for w in said_kept] == [str(w.message) for w in said]


class _Sliced:
    """``build_matrix`` with slices of at most ``rows`` cohort rows; counts the slices."""

    def __init__(self, rows: int) -> None:
        self.rows, self.slices = rows, 0

    def __enter__(self) -> _Sliced:
        from unittest import mock

        from riskmodel.features import _session

        plan = _session.Session._slice_plan

        def counted(session, rows):
            got = plan(session, rows)
            self.slices += len(got)
            return got

        self._patches = [mock.patch.object(_session, "slice_rows", lambda mb: self.rows),
                         mock.patch.object(_session.Session, "_slice_plan", counted)]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc) -> None:
        for p in self._patches:
            p.stop()


_SLICE_DATES = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"]


@pytest.fixture(scope="module")
def sliced_inputs(council: Path) -> tuple[dict, dict]:
    """The council's tables and, by (outcome, dates), its matrix in one slice."""
    from riskmodel.data import load_tables

    return load_tables(council), {}


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(150, 2000), dates=st.sets(st.sampled_from(_SLICE_DATES), min_size=1),
       outcome=st.sampled_from(["escalation", "disengagement"]))
def test_a_matrix_built_in_slices_is_the_matrix_built_at_once(
        sliced_inputs: tuple[dict, dict], rows: int, dates: set[str], outcome: str) -> None:
    """However the cohort is cut (several as-of dates a slice, one, or ranges of child ids
    within a date), the matrix is the one built in one slice: rows, order, values, types."""
    tables, whole = sliced_inputs
    key = (outcome, tuple(sorted(dates)))
    if key not in whole:
        with _Sliced(10**9) as once:
            whole[key] = build_matrix(tables, sorted(dates), outcome=outcome)
        assert once.slices == 1
    with _Sliced(rows) as cut:
        got = build_matrix(tables, sorted(dates), outcome=outcome)
    per_date = whole[key].groupby("as_of").size()
    assert cut.slices >= max(1, math.ceil(len(whole[key]) / rows))
    if rows < per_date.max():
        assert cut.slices > len(dates)  # some date was cut into ranges of child ids
    pd.testing.assert_frame_equal(got, whole[key])
