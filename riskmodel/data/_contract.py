"""The input contract (v1): table names, columns and allowed values.

A council maps its own extract onto these four tables (and, where it keeps one, a fifth:
``children_history``). Column names and the
listed values are the contract; extra columns are allowed and ignored.
Only what the outcomes and the rules of time need is required: every column in
:data:`OPTIONAL_COLUMNS` may be left out or left empty, and ``ace_factors`` may be
left out; the features that need a missing input are switched off (see
``docs/input-contract.md``).

Knowledge dates (when a value became known, not when the event it describes happened) are
optional too: ``contacts.mash_rag_recorded_date`` and ``outcome_recorded_date`` (a MASH
rating or outcome filled in after the contact was recorded), ``episodes.start_recorded_date``
(an episode entered after the start date it carries) and ``triage_start_recorded_date``, and
the ``children_history`` table (a child's family, locality and IMD decile from each
``valid_from`` date; the ``children`` table holds them as at the extract). Without them the
feature spec's ``knowledge`` section says what is assumed (``docs/knowledge-dates.md``).
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
        "outcome", "mash_rag_recorded_date", "outcome_recorded_date",
    ),
    "ace_factors": ("child_id", "factor", "recorded_date"),
    "episodes": (
        "episode_id", "child_id", "service", "start_date", "end_date", "closure_reason",
        "triage_start", "triage_end", "start_recorded_date", "triage_start_recorded_date",
    ),
    # One row per child and date a recorded attribute took a value: from valid_from (the day
    # it was recorded) until the child's next row. An empty cell: this row does not say.
    "children_history": ("child_id", "valid_from", "family_id", "locality", "imd_decile"),
}
TABLES = tuple(COLUMNS)
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "children": ("date_of_birth",),
    "contacts": ("contact_date", "recorded_date", "mash_rag_recorded_date",
                 "outcome_recorded_date"),
    "ace_factors": ("recorded_date",),
    "episodes": ("start_date", "end_date", "start_recorded_date", "triage_start_recorded_date"),
    "children_history": ("valid_from",),
}
# The column that identifies a row in messages (the first id column of the table).
ROW_ID: dict[str, str] = {
    "children": "child_id",
    "contacts": "contact_id",
    "ace_factors": "child_id",
    "episodes": "episode_id",
    "children_history": "child_id",
}
PROTECTED = ("ethnicity", "sex", "disability")

# Columns a council may leave out altogether (read as empty in every row) or leave empty in
# any row. Nothing in the outcomes or the rules of time reads them; the features that do are
# switched off when a column is empty in every row (riskmodel.data._inputs).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "children": ("family_id", "date_of_birth", "sex", "ethnicity", "disability", "locality",
                 "imd_decile"),
    "contacts": ("source", "need", "mash_rag", "outcome", "mash_rag_recorded_date",
                 "outcome_recorded_date"),
    "ace_factors": (),
    "episodes": ("closure_reason", "triage_start", "triage_end", "start_recorded_date",
                 "triage_start_recorded_date"),
    "children_history": ("family_id", "locality", "imd_decile"),
}
# Tables a council may leave out: no ACE factors means the ACE features are switched off; no
# children_history means family, locality and IMD are known only as at the extract.
OPTIONAL_TABLES = ("ace_factors", "children_history")
# Knowledge dates: a column whose value may be filled in after its row was recorded, and the
# column saying when it was (contacts are known from recorded_date; an episode's start, from
# start_recorded_date where the extract has one).
RECORDED_DATES: dict[tuple[str, str], str] = {
    ("contacts", "mash_rag"): "mash_rag_recorded_date",
    ("contacts", "outcome"): "outcome_recorded_date",
    ("episodes", "start_date"): "start_recorded_date",
    ("episodes", "triage_start"): "triage_start_recorded_date",
}
# Child attributes that can change and that children_history dates.
HISTORY_ATTRIBUTES = ("family_id", "locality", "imd_decile")
# What an empty optional cell is read as once checked (coerce_tables): sex and ethnicity not
# recorded are "unknown"; a child with no family_id is a family of one.
EMPTY_AS_UNKNOWN = (("children", "sex"), ("children", "ethnicity"))
