"""The input contract (v1): table names, columns and allowed values.

A council maps its own extract onto these four tables. Column names and the
listed values are the contract; extra columns are allowed and ignored.
Only what the outcomes and the rules of time need is required: every column in
:data:`OPTIONAL_COLUMNS` may be left out or left empty, and ``ace_factors`` may be
left out; the features that need a missing input are switched off (see
``docs/input-contract.md``).
"""

from __future__ import annotations

CONTRACT_VERSION = "1"

SEX = ("female", "male", "unknown")
ETHNICITY = ("asian", "black", "mixed", "white", "other", "unknown")
DISABILITY = ("none", "sen_support", "ehcp")
SOURCES = (
    "police", "school", "health", "la", "voluntary", "housing", "youth_justice", "family",
    "other",
)
NEEDS = (
    "parenting", "adult_mental_health", "domestic_abuse", "behaviour", "housing",
    "substance_misuse", "neglect", "child_mental_health", "exploitation", "school_attendance",
    "financial", "other",
)
MASH_RAG = ("red", "amber", "green")  # or empty
CONTACT_OUTCOMES = ("nfa", "signposted", "early_help", "social_care")
ACE_FACTORS = (
    "physical_abuse", "sexual_abuse", "emotional_abuse", "physical_neglect",
    "emotional_neglect", "domestic_abuse", "substance_misuse", "mental_illness",
    "parental_separation", "incarceration",
)
# The "toxic trio": domestic abuse, parental substance misuse, parental mental ill-health.
TOXIC_TRIO = ("domestic_abuse", "substance_misuse", "mental_illness")
EARLY_HELP_SERVICES = ("early_help_pathway", "fsw_intervention", "targeted_support")
SOCIAL_CARE_SERVICES = ("cin", "cp", "lac")
SERVICES = EARLY_HELP_SERVICES + SOCIAL_CARE_SERVICES
CLOSURE_REASONS = (
    "needs_met", "escalated", "disengaged", "declined", "transferred", "relocated",
)  # or empty while open
TRIAGE_LEVELS = ("blue", "green", "yellow", "orange")

# Column order per table; dates are ISO dates, ids are strings.
COLUMNS: dict[str, tuple[str, ...]] = {
    "children": (
        "child_id", "family_id", "date_of_birth", "sex", "ethnicity", "disability", "locality",
        "imd_decile",
    ),
    "contacts": (
        "contact_id", "child_id", "contact_date", "recorded_date", "source", "need", "mash_rag",
        "outcome",
    ),
    "ace_factors": ("child_id", "factor", "recorded_date"),
    "episodes": (
        "episode_id", "child_id", "service", "start_date", "end_date", "closure_reason",
        "triage_start", "triage_end",
    ),
}
TABLES = tuple(COLUMNS)
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "children": ("date_of_birth",),
    "contacts": ("contact_date", "recorded_date"),
    "ace_factors": ("recorded_date",),
    "episodes": ("start_date", "end_date"),
}
# The column that identifies a row in messages (the first id column of the table).
ROW_ID: dict[str, str] = {
    "children": "child_id",
    "contacts": "contact_id",
    "ace_factors": "child_id",
    "episodes": "episode_id",
}
PROTECTED = ("ethnicity", "sex", "disability")

# Columns a council may leave out altogether (read as empty in every row) or leave empty in
# any row. Nothing in the outcomes or the rules of time reads them; the features that do are
# switched off when a column is empty in every row (riskmodel.data._inputs).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "children": ("family_id", "date_of_birth", "sex", "ethnicity", "disability", "locality",
                 "imd_decile"),
    "contacts": ("source", "need", "mash_rag", "outcome"),
    "ace_factors": (),
    "episodes": ("closure_reason", "triage_start", "triage_end"),
}
# Tables a council may leave out: no ACE factors means the ACE features are switched off.
OPTIONAL_TABLES = ("ace_factors",)
# What an empty optional cell is read as once checked (coerce_tables): sex and ethnicity not
# recorded are "unknown"; a child with no family_id is a family of one.
EMPTY_AS_UNKNOWN = (("children", "sex"), ("children", "ethnicity"))
