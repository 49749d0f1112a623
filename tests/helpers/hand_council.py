"""Seven children worked through by hand: their features at T1 are known exactly."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

T1, T2 = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-10-01")
EXTRACT = "2025-01-01"


def frame(cols: list[str], rows: list[list], *, dates: Sequence[str] = (),
          ints: Sequence[str] = ()) -> pd.DataFrame:
    """A contract table with the types ``coerce_tables`` gives."""
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c in dates:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
        elif c in ints:
            df[c] = pd.array(df[c], dtype="Int64")
        else:
            df[c] = df[c].astype("string")
    return df


def hand_council() -> dict[str, pd.DataFrame]:
    """Seven children in five families, three localities; dates chosen to hit the edges.

    As-of date T1 = 2024-04-01: windows start 3m 2024-01-01, 12m 2023-04-01,
    36m 2021-04-01. Rows recorded on T1 itself are not yet known.
    """
    children = frame(
        ["child_id", "family_id", "date_of_birth", "sex", "ethnicity", "disability",
         "locality", "imd_decile"],
        [
            ["c1", "f1", "2016-06-15", "male", "white", "none", "north", 2],
            ["c2", "f1", "2012-04-01", "female", "white", "sen_support", "north", 2],
            ["c3", "f1", "2024-06-01", "unknown", "white", "none", "north", None],  # unborn
            ["c4", "f2", "2008-01-01", "male", "black", "ehcp", "east", 10],
            ["c5", "f3", "2020-02-29", "female", "asian", "none", "south", 4],
            ["c6", "f4", "2018-01-01", "female", "mixed", "none", "north", 3],
            ["c7", "f5", "2015-01-01", "male", "other", "none", "north", 3],
        ], dates=["date_of_birth"], ints=["imd_decile"])
    contacts = frame(
        ["contact_id", "child_id", "contact_date", "recorded_date", "source", "need",
         "mash_rag", "outcome"],
        [
            ["k1", "c1", "2024-03-20", "2024-03-25", "police", "domestic_abuse", "red",
             "early_help"],
            ["k2", "c1", "2024-03-30", "2024-04-01", "school", "behaviour", "green", "nfa"],
            ["k3", "c1", "2023-11-01", "2023-11-02", "police", "domestic_abuse", "amber",
             "early_help"],
            ["k4", "c1", "2021-05-01", "2021-05-03", "health", "parenting", "green", "nfa"],
            ["k5", "c1", "2019-01-01", "2019-01-02", "school", "behaviour", None, "signposted"],
            ["k6", "c2", "2024-01-10", "2024-01-10", "school", "school_attendance", "green",
             "early_help"],
            ["k7", "c3", "2024-01-20", "2024-01-22", "health", "adult_mental_health", "amber",
             "early_help"],
            ["k8", "c4", "2023-02-01", "2023-02-01", "youth_justice", "exploitation", "red",
             "social_care"],
            ["k9", "c5", "2023-05-01", "2023-05-02", "la", "neglect", "green", "early_help"],
            ["k10", "c5", "2024-05-01", "2024-05-02", "police", "neglect", "red", "social_care"],
            # happened before T1 but recorded after it: unknown at T1
            ["k11", "c3", "2024-03-01", "2024-04-15", "police", "domestic_abuse", "red",
             "early_help"],
            ["k12", "c7", "2022-03-01", "2022-03-01", "police", "other", None, "nfa"],
        ], dates=["contact_date", "recorded_date"])
    aces = frame(
        ["child_id", "factor", "recorded_date"],
        [
            ["c1", "domestic_abuse", "2023-11-02"],
            ["c1", "mental_illness", "2023-11-02"],
            ["c1", "domestic_abuse", "2024-01-01"],       # the same factor again
            ["c1", "parental_separation", "2024-04-01"],  # recorded on T1: not yet known
            ["c1", "substance_misuse", "2024-05-01"],
            ["c2", "emotional_neglect", "2022-01-01"],
            ["c4", "physical_abuse", "2020-01-01"],
            ["c4", "sexual_abuse", "2020-01-01"],
            ["c4", "emotional_abuse", "2020-01-01"],
            ["c4", "incarceration", "2020-01-01"],
            ["c6", "parental_separation", "2023-01-01"],
        ], dates=["recorded_date"])
    episodes = frame(
        ["episode_id", "child_id", "service", "start_date", "end_date", "closure_reason",
         "triage_start", "triage_end"],
        [
            ["e0", "c1", "targeted_support", "2022-01-10", "2022-06-30", "escalated", "green",
             "green"],
            ["e1", "c1", "early_help_pathway", "2023-12-01", "2024-05-10", "escalated",
             "yellow", "orange"],
            ["e2", "c2", "fsw_intervention", "2024-01-15", None, None, "orange", None],
            ["e3", "c2", "cin", "2024-10-01", None, None, "orange", None],
            ["e4", "c4", "early_help_pathway", "2024-03-31", "2024-04-01", "declined", "green",
             "green"],
            ["e5", "c4", "cp", "2023-01-01", "2023-06-01", "needs_met", "orange", "yellow"],
            ["e6", "c5", "early_help_pathway", "2024-04-01", None, None, "blue", None],
            ["e7", "c5", "targeted_support", "2023-06-01", "2024-03-31", "escalated", "yellow",
             "orange"],
            ["e8", "c3", "early_help_pathway", "2024-02-01", None, None, "yellow", None],
            ["e9", "c2", "early_help_pathway", "2023-05-01", "2023-08-01", "disengaged", "blue",
             "blue"],
            ["e11", "c2", "cin", "2023-09-01", "2023-12-01", "needs_met", "orange", "green"],
        ], dates=["start_date", "end_date"])
    # The council records when each value was filled in (here: with its row) and a history
    # of family, locality and IMD decile (here: unchanged since long before the first record),
    # so every value is known from the date it carries (docs/knowledge-dates.md).
    for col in ("mash_rag", "outcome"):
        contacts[f"{col}_recorded_date"] = contacts["recorded_date"].where(
            contacts[col].notna())
    episodes["start_recorded_date"] = episodes["start_date"]
    episodes["triage_start_recorded_date"] = episodes["start_date"]
    history = children[["child_id", "family_id", "locality", "imd_decile"]].copy()
    history.insert(1, "valid_from", pd.Timestamp("2000-01-01"))
    return {"children": children, "contacts": contacts, "ace_factors": aces,
            "episodes": episodes, "children_history": history}
