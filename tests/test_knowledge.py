"""Knowledge dates on the hand-made council: each value counts only once it was recorded.

The hand council (``tests/helpers/hand_council.py``, also ``test_features.py``'s) records
when every rating, outcome, episode start and triage level was filled in (with its row) and
a history of family, locality and IMD decile. Each test moves one knowledge date (or takes
the columns away) and checks the features at T1 = 2024-04-01 against values worked out by hand.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from riskmodel._core.errors import InputWarning
from riskmodel.features import build_matrix, feature_columns, load_feature_spec
from riskmodel.features._spec import CurrentValues, KnowledgeSpec, LagDays

from helpers.hand_council import EXTRACT, T1, hand_council


def at_t1(tables, spec=None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        m = build_matrix(tables, [T1], outcome="escalation", spec=spec, extract_date=EXTRACT)
    return m.set_index("child_id")


def with_knowledge(**kw) -> object:
    spec = load_feature_spec()
    return spec.model_copy(update={"knowledge": KnowledgeSpec(**kw)})


@pytest.fixture
def hand():
    return hand_council()


def test_a_rating_or_outcome_filled_in_on_t_is_not_known_at_t(hand):
    base = at_t1(hand)
    assert base.loc["c1", "contacts_mash_red_3m_count"] == 1  # k1, rated red, 2024-03-25
    k1 = hand["contacts"]["contact_id"] == "k1"
    hand["contacts"].loc[k1, ["mash_rag_recorded_date", "outcome_recorded_date"]] = T1
    late = at_t1(hand)
    assert late.loc["c1", "contacts_mash_red_3m_count"] == 0
    assert late.loc["c1", "contacts_outcome_early_help_3m_count"] == 0
    # the contact itself was recorded before T1 and still counts
    assert late.loc["c1", "contacts_total_3m_count"] == 1
    hand["contacts"].loc[k1, "mash_rag_recorded_date"] = T1 - pd.Timedelta(days=1)
    assert at_t1(hand).loc["c1", "contacts_mash_red_3m_count"] == 1


def test_without_recorded_dates_ratings_wait_for_the_lag(hand):
    hand["contacts"] = hand["contacts"].drop(
        columns=["mash_rag_recorded_date", "outcome_recorded_date"])
    m = at_t1(hand)  # default lag: 14 days after the contact was recorded
    assert load_feature_spec().knowledge.lag_days.mash_rag == 14
    # k1 was recorded 2024-03-25, 7 days before T1: its rating and outcome are not known yet
    assert m.loc["c1", "contacts_mash_red_3m_count"] == 0
    assert m.loc["c1", "contacts_outcome_early_help_3m_count"] == 0
    assert m.loc["c1", "contacts_total_3m_count"] == 1
    # k6 was recorded 2024-01-10: long enough ago
    assert m.loc["c2", "contacts_mash_green_3m_count"] == 1
    assert at_t1(hand, with_knowledge(lag_days=LagDays(mash_rag=7))).loc[
        "c1", "contacts_mash_red_3m_count"] == 0
    assert at_t1(hand, with_knowledge(lag_days=LagDays(mash_rag=6))).loc[
        "c1", "contacts_mash_red_3m_count"] == 1


def test_a_backdated_episode_is_not_known_before_it_was_entered(hand):
    assert "c3" in at_t1(hand).index  # e8 began 2024-02-01
    eps = hand["episodes"]
    eps.loc[eps["episode_id"] == "e8", "start_recorded_date"] = pd.Timestamp("2024-04-10")
    assert "c3" not in at_t1(hand).index
    # without the column, an episode that began a day before T1 (e4) waits for the lag
    assert "c4" in at_t1(hand).index
    hand["episodes"] = eps.drop(columns=["start_recorded_date"])
    assert "c4" not in at_t1(hand).index
    assert "c4" in at_t1(hand, with_knowledge(lag_days=LagDays(episode_start=0))).index


def test_a_triage_level_filled_in_late_is_missing(hand):
    eps = hand["episodes"]
    eps.loc[eps["episode_id"] == "e1", "triage_start_recorded_date"] = T1
    m = at_t1(hand)
    assert m.loc["c1", "episodes_current_all_triage"] == 0  # imputed: not known
    assert m.loc["c1", "episodes_current_all_triage_missing"] == 1
    assert m.loc["c2", "episodes_current_all_triage"] == 4


def test_locality_imd_and_family_come_from_the_history_at_t(hand):
    # c1 lived in the south (IMD 7) until 2024-05-01; c3 joined family f1 only after T1.
    h = hand["children_history"]
    h.loc[h["child_id"] == "c1", ["locality", "imd_decile"]] = ["south", 7]
    moves = pd.DataFrame({"child_id": ["c1", "c3"],
                          "valid_from": pd.to_datetime(["2024-05-01", "2024-06-01"]),
                          "family_id": [None, "f1"], "locality": ["north", None],
                          "imd_decile": pd.array([2, pd.NA], dtype="Int64")})
    h.loc[h["child_id"] == "c3", "family_id"] = "f9"
    hand["children_history"] = pd.concat([h, moves], ignore_index=True)
    m = at_t1(hand)
    # South at T1: c1 and c5 known; contacts recorded in the 12 months: k1, k3 (c1), k9 (c5)
    assert m.loc["c1", "demand_locality_12m_contactrate"] == pytest.approx(1500.0)
    assert m.loc["c1", "demand_imd_all_decile"] == 7
    # North at T1: c2, c3, c6, c7 known; contacts in 12 months: k6, k7
    assert m.loc["c2", "demand_locality_12m_contactrate"] == pytest.approx(500.0)
    # c1's siblings at T1: c2 only (c3 was in family f9 then)
    assert m.loc["c1", "family_siblings_all_count"] == 1
    # the matrix still carries today's locality and family (for lists and splits)
    assert m.loc["c1", "locality"] == "north" and m.loc["c3", "family_id"] == "f1"


def test_without_a_history_locality_and_imd_are_off_unless_the_spec_says_current(hand):
    hand.pop("children_history")
    with pytest.warns(InputWarning, match=r"children_history\.locality"):
        build_matrix(hand, [T1], outcome="escalation", extract_date=EXTRACT)
    names = feature_columns(at_t1(hand))
    assert not [n for n in names if n.startswith(("demand_locality", "demand_imd"))]
    assert "family_siblings_all_count" in names  # family: today's value, by default
    spec = with_knowledge(current_values=CurrentValues(locality="current",
                                                       imd_decile="current"))
    m = at_t1(hand, spec)
    assert m.loc["c1", "demand_locality_12m_contactrate"] == pytest.approx(800.0)
    assert m.loc["c4", "demand_imd_all_decile"] == 10
    off = with_knowledge(current_values=CurrentValues(family_id="off"))
    assert not [n for n in feature_columns(at_t1(hand, off)) if n.startswith("family_")]


def test_scoring_says_how_many_open_children_wait_for_their_episode_to_be_known(hand):
    from riskmodel.jobs.score import _not_yet_known

    assert _not_yet_known(hand, T1, at_t1(hand).reset_index()) == 0
    hand["episodes"] = hand["episodes"].drop(columns=["start_recorded_date"])
    # e4 (c4) began the day before T1: open, but not known for another 13 days
    assert _not_yet_known(hand, T1, at_t1(hand).reset_index()) == 1
