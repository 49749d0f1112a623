"""A small hand-made extract that meets the input contract, written as CSV like a council's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EXTRACT = "2025-12-31"


def valid_tables() -> dict[str, pd.DataFrame]:
    """A small extract that meets the contract, as text (like a CSV), with an extra column.

    C4 is unborn at her first contact (events before birth are legal); E2 and E4 are open.
    Knowledge dates: K6's rating and K7's rating and outcome are undated, E2 was entered
    before it started (planned ahead), E5 has none; C1 moved north and to a lower IMD
    decile in 2024 (children_history), C3's and C4's history agrees with today's values.
    """
    children = pd.DataFrame({
        "child_id": ["C1", "C2", "C3", "C4", "C5"],
        "family_id": ["F1", "F1", "F2", "F3", "F3"],
        "date_of_birth": ["2012-04-01", "2015-09-30", "2020-01-15", "2025-12-01", "2009-12-31"],
        "sex": ["female", "male", "unknown", "female", "male"],
        "ethnicity": ["white", "asian", "mixed", "black", "other"],
        "disability": ["none", "sen_support", "none", "none", "ehcp"],
        "locality": ["north", "north", "south", "east", "east"],
        "imd_decile": ["1", "3", "", "10", "5"],
        "case_worker": ["A. Smith", "A. Smith", "B. Jones", "B. Jones", "C. Khan"],  # extra
    })
    contacts = pd.DataFrame({
        "contact_id": ["K1", "K2", "K3", "K4", "K5", "K6", "K7"],
        "child_id": ["C1", "C1", "C2", "C3", "C4", "C5", "C4"],
        "contact_date": ["2023-01-10", "2023-05-02", "2023-05-02", "2024-02-29", "2025-09-01",
                         "2022-07-07", "2025-12-20"],
        "recorded_date": ["2023-01-12", "2023-05-02", "2023-05-09", "2024-03-01", "2025-09-03",
                          "2022-07-08", "2025-12-31"],
        "source": ["police", "school", "health", "la", "health", "youth_justice", "police"],
        "need": ["domestic_abuse", "behaviour", "parenting", "neglect", "housing",
                 "exploitation", "domestic_abuse"],
        "mash_rag": ["red", "", "amber", "green", "", "red", "amber"],
        "outcome": ["early_help", "nfa", "signposted", "early_help", "early_help",
                    "social_care", "early_help"],
        "mash_rag_recorded_date": ["2023-01-13", "", "2023-05-09", "2024-03-04", "", "", ""],
        "outcome_recorded_date": ["2023-01-20", "2023-05-02", "2023-05-12", "2024-03-01",
                                  "2025-09-10", "2022-07-20", ""],
    })
    ace_factors = pd.DataFrame({
        "child_id": ["C1", "C1", "C3", "C5"],
        "factor": ["domestic_abuse", "mental_illness", "physical_neglect", "incarceration"],
        "recorded_date": ["2023-01-12", "2023-02-01", "2024-03-05", "2022-08-01"],
    })
    episodes = pd.DataFrame({
        "episode_id": ["E1", "E2", "E3", "E4", "E5"],
        "child_id": ["C1", "C2", "C3", "C4", "C5"],
        "service": ["early_help_pathway", "fsw_intervention", "targeted_support",
                    "early_help_pathway", "cin"],
        "start_date": ["2023-01-20", "2023-05-15", "2024-03-10", "2025-09-10", "2022-08-01"],
        "end_date": ["2023-09-01", "", "2024-12-01", "", "2023-02-01"],
        "closure_reason": ["escalated", "", "needs_met", "", "transferred"],
        "triage_start": ["yellow", "green", "blue", "orange", "orange"],
        "triage_end": ["orange", "", "green", "", ""],
        "start_recorded_date": ["2023-01-20", "2023-05-10", "2024-03-18", "2025-09-12", ""],
        "triage_start_recorded_date": ["2023-01-25", "2023-05-15", "2024-03-18", "2025-09-12",
                                       ""],
    })
    children_history = pd.DataFrame({
        "child_id": ["C1", "C1", "C3", "C4"],
        "valid_from": ["2022-07-08", "2024-06-01", "2023-03-01", "2025-12-01"],
        "family_id": ["F1", "", "", "F3"],
        "locality": ["south", "north", "south", ""],
        "imd_decile": ["2", "1", "", "10"],
    })
    return {"children": children, "contacts": contacts, "ace_factors": ace_factors,
            "episodes": episodes, "children_history": children_history}


def write_csv(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder
