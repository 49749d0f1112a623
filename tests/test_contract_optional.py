"""A contract that fits councils: only what outcomes and time need is required.

Triage levels, closure reasons on social care, ACE factors and every other optional input may
be left out; the features that need them are switched off, said once in the run and on the
model card; extra columns stay ignored.
"""

from __future__ import annotations

import warnings

import pytest

from riskmodel import InputError
from riskmodel.cli import main
from riskmodel.data import coerce_tables, load_tables, validate_tables
from riskmodel.data._contract import COLUMNS, OPTIONAL_COLUMNS
from riskmodel.data._inputs import INPUTS, missing_inputs
from riskmodel.features import build_labels, build_matrix, feature_columns
from riskmodel.features._builders import all_definitions
from riskmodel.features._spec import full_spec
from riskmodel.features._switches import feature_needs

from helpers.extract import EXTRACT, valid_tables, write_csv


def test_social_care_without_triage_or_closure_reason_is_valid():
    """The first failure of a real council: cin/cp/lac episodes have no triage level."""
    t = valid_tables()
    t["episodes"].loc[4, ["triage_start", "closure_reason"]] = ""  # E5 is cin, closed
    assert validate_tables(t, extract_date=EXTRACT) == []


def test_triage_may_be_left_out_everywhere():
    t = valid_tables()
    t["episodes"] = t["episodes"].drop(columns=["triage_start", "triage_end"])
    assert validate_tables(t, extract_date=EXTRACT) == []
    typed = coerce_tables(t)
    assert typed["episodes"]["triage_start"].isna().all()
    assert "episodes.triage_start" in missing_inputs(typed)


def test_every_optional_column_may_be_left_out_and_reads_as_empty():
    t = valid_tables()
    for table, cols in OPTIONAL_COLUMNS.items():
        t[table] = t[table].drop(columns=list(cols))
    del t["ace_factors"]
    assert validate_tables(t, extract_date=EXTRACT) == []
    typed = coerce_tables(t)
    for table, cols in COLUMNS.items():
        assert list(typed[table].columns) == list(cols)
    children = typed["children"]
    assert set(children["sex"]) == {"unknown"} and set(children["ethnicity"]) == {"unknown"}
    assert (children["family_id"] == children["child_id"]).all()  # families of one
    assert len(typed["ace_factors"]) == 0


def test_required_columns_are_only_what_outcomes_and_time_need():
    required = {t: [c for c in cols if c not in OPTIONAL_COLUMNS[t]]
                for t, cols in COLUMNS.items()}
    assert required == {
        "children": ["child_id"],
        "contacts": ["contact_id", "child_id", "contact_date", "recorded_date"],
        "ace_factors": ["child_id", "factor", "recorded_date"],
        "episodes": ["episode_id", "child_id", "service", "start_date", "end_date"],
        "children_history": ["child_id", "valid_from"],
    }


def test_extra_columns_are_ignored_and_staff_columns_never_read(tmp_path):
    t = valid_tables()
    t["episodes"]["Allocated Worker"] = "A. Person"
    t["contacts"]["notes"] = "free text"
    assert validate_tables(t, extract_date=EXTRACT) == []
    assert "Allocated Worker" not in coerce_tables(t)["episodes"].columns
    from riskmodel.data import read_tables

    raw = read_tables(write_csv(t, tmp_path / "extract"))
    assert "Allocated Worker" not in raw["episodes"].columns  # not even read
    assert "notes" in raw["contacts"].columns


def test_closure_reasons_once_recorded_are_needed_on_every_closed_early_help_episode():
    t = valid_tables()
    t["episodes"].loc[0, "closure_reason"] = ""  # E1, early help, closed
    assert validate_tables(t, extract_date=EXTRACT) == [
        "episodes.closure_reason: empty on a closed early-help episode (end_date set) in 1 "
        "row (e.g. episode_id E1)"]
    t["episodes"]["closure_reason"] = ""  # none recorded at all (as in Annex A): valid
    assert validate_tables(t, extract_date=EXTRACT) == []


def test_an_extract_without_ace_factors_reads_validates_and_says_so(tmp_path, capsys):
    t = valid_tables()
    del t["ace_factors"]
    folder = write_csv(t, tmp_path / "extract")
    main(["validate", str(folder), "--extract-date", EXTRACT])
    out = capsys.readouterr().out
    assert "ace_factors      0 rows" in " ".join(out.split("\n")).replace("  ", " ") or \
        "ace_factors" in out
    assert "not held" in out and "ACE factors (the ace_factors table)" in out
    assert len(load_tables(folder, extract_date=EXTRACT)["ace_factors"]) == 0


# ---------------------------------------------------------------- features switched off -----

def test_every_feature_names_the_inputs_it_reads():
    """Each rule of _switches matches the builders' names; unmatched features need nothing."""
    defs = all_definitions(full_spec())
    needs = {d.name: feature_needs(d) for d in defs}
    assert all(needs[d.name] == ("ace_factors",) for d in defs if d.builder == "ace")
    assert needs["episodes_current_all_triage"] == ("episodes.triage_start",)
    assert needs["episodes_current_all_triage_missing"] == ("episodes.triage_start",)
    assert needs["contacts_need_neglect_12m_count"] == ("contacts.need",)
    assert needs["episodes_current_source_police_all_count"] == ("contacts.source",)
    assert needs["demand_locality_12m_stepuprate"] == (
        "children.locality", "children_history.locality", "episodes.closure_reason")
    assert needs["demand_imd_all_decile"] == ("children.imd_decile", "children_history.imd_decile")
    assert needs["family_siblings_all_count"] == ("children.family_id",
                                                  "children_history.family_id")
    assert needs["child_age_all_years"] == ("children.date_of_birth",)
    assert needs["contacts_total_12m_count"] == () and needs["episodes_open_all_count"] == ()
    used = {n for v in needs.values() for n in v}
    assert used <= set(INPUTS)


def _typed(**drop):
    t = valid_tables()
    for table, cols in drop.items():
        t[table][list(cols)] = ""
    return coerce_tables(t)


def test_features_without_their_input_are_switched_off_and_said_once():
    typed = _typed(episodes=["triage_start", "triage_end"])
    typed["ace_factors"] = typed["ace_factors"].iloc[:0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = build_matrix(typed, ["2025-10-01"], outcome="escalation", extract_date=EXTRACT)
    said = [str(w.message) for w in caught if "switched off" in str(w.message)]
    assert len(said) == 1
    assert "for ACE factors (the ace_factors table)" in said[0]
    assert "for triage levels (episodes.triage_start)" in said[0]
    names = feature_columns(m)
    assert not any(n.startswith("ace_") or "triage" in n for n in names)
    full = build_matrix(coerce_tables(valid_tables()), ["2025-10-01"], outcome="escalation",
                        extract_date=EXTRACT)
    assert set(names) < set(feature_columns(full))


def test_disengagement_needs_closure_reasons():
    typed = _typed(episodes=["closure_reason"])
    with pytest.raises(InputError, match="^episodes.closure_reason: empty on every early-help "
                                         "episode, so the disengagement outcome cannot be "
                                         "labelled"):
        build_matrix(typed, ["2025-10-01"], outcome="disengagement", extract_date=EXTRACT)
    labels = build_labels(typed, ["2024-06-01"], extract_date=EXTRACT)
    assert labels["escalation"].notna().all()


@pytest.mark.slow  # about 40 s of CPU: trains on a 4,000-child council of its own
def test_a_council_without_ace_factors_trains_and_the_card_says_so(
        test_spec, tmp_path, monkeypatch, capsys):
    """No ace_factors table: training works, the ACE features are off, said plainly."""
    from riskmodel.data import generate_council
    from riskmodel.jobs import model_card

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    council = generate_council(n_children=4000, seed=21, out=tmp_path / "council")
    (council / "ace_factors.parquet").unlink()
    main(["train", "--data", str(council), "--spec", str(test_spec)])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "switched off" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: features switched off")
    assert "ACE factors (the ace_factors table)" in lines[0]
    mc = model_card("models:/escalation@champion")
    card = mc.card.to_dict()
    value = card["sections"]["training_data"]["fields"]["inputs_missing"]
    text = " ".join(value) if isinstance(value, list) else value
    assert "ACE factors (the ace_factors table): 13 features switched off" in text


def test_the_card_says_when_nothing_was_switched_off():
    from riskmodel.evaluation.card._model_card import switched_off_words

    assert switched_off_words({"switched_off": {}}).startswith("None: the extract held")
    assert switched_off_words({}) == "Not recorded in the training run."
    words = switched_off_words({"switched_off": {"episodes.triage_start": ["a", "b"]}})
    assert words == ["triage levels (episodes.triage_start): 2 features switched off (a, b)"]


def test_summary_of_a_partial_extract_lists_what_is_not_held():
    from riskmodel.data import summarise_tables

    t = valid_tables()
    t["episodes"]["triage_start"] = ""
    text = summarise_tables(t)
    assert "not held      triage levels (episodes.triage_start)" in text

