"""The input contract, validation, readers and the synthetic council.

The synthetic council (and SciPy, which it needs), the mappings and code lists, the Annex A
reader and the database reader are imported on first use.
"""

from typing import TYPE_CHECKING

from riskmodel._core.lazy import lazy_package
from riskmodel.data._contract import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    COLUMNS,
    CONTACT_OUTCOMES,
    CONTRACT_VERSION,
    DATE_COLUMNS,
    DISABILITY,
    EARLY_HELP_SERVICES,
    ETHNICITY,
    HISTORY_ATTRIBUTES,
    MASH_RAG,
    NEEDS,
    PROTECTED,
    RECORDED_DATES,
    SEX,
    SOCIAL_CARE_SERVICES,
    SOURCES,
    TABLES,
    TOXIC_TRIO,
    TRIAGE_LEVELS,
)
from riskmodel.data._dates import KNOWN_DATES, date_bounds, extract_date_of, first_record_date
from riskmodel.data._decisions import DECISIONS, read_decisions, row_names
from riskmodel.data._duck import DuckTables
from riskmodel.data._engine import duckdb_connect, duckdb_settings
from riskmodel.data._inputs import (
    INPUTS,
    complete_tables,
    describe_missing,
    history_holds,
    missing_inputs,
)
from riskmodel.data._read import coerce_tables, load_tables, read_extract_date, read_tables
from riskmodel.data._schemas import normalise_table
from riskmodel.data._sources import DatabaseSource, as_source, is_database, mask
from riskmodel.data._summary import (
    describe_knowledge,
    history_changes,
    knowledge_delays,
    summarise_tables,
)
from riskmodel.data._validate import validate_tables

if TYPE_CHECKING:
    from riskmodel.data._codelists import UnmappedValues
    from riskmodel.data._mapping import Mapping, load_mapping, map_extract, todo_path, todo_text
    from riskmodel.data._sql import read_database
    from riskmodel.data.annex_a import read_annex_a
    from riskmodel.data.synth import (
        SyntheticCouncil,
        calibration_table,
        generate_council,
        read_truth,
        simulate_council,
    )

__all__ = [
    "Mapping", "first_record_date", "todo_path", "todo_text",
    "ACE_FACTORS", "CLOSURE_REASONS", "COLUMNS", "CONTACT_OUTCOMES", "CONTRACT_VERSION",
    "DATE_COLUMNS", "DECISIONS", "DISABILITY", "DatabaseSource", "DuckTables",
    "EARLY_HELP_SERVICES",
    "ETHNICITY", "HISTORY_ATTRIBUTES", "INPUTS", "KNOWN_DATES", "MASH_RAG", "NEEDS",
    "PROTECTED", "RECORDED_DATES", "SEX", "SOCIAL_CARE_SERVICES", "SOURCES",
    "SyntheticCouncil", "TABLES", "TOXIC_TRIO", "TRIAGE_LEVELS", "UnmappedValues", "as_source",
    "calibration_table", "coerce_tables", "complete_tables", "date_bounds",
    "describe_knowledge", "describe_missing", "duckdb_connect", "duckdb_settings",
    "extract_date_of", "generate_council",
    "history_changes", "history_holds", "is_database", "knowledge_delays", "load_mapping",
    "load_tables", "map_extract", "mask", "missing_inputs", "normalise_table", "read_annex_a",
    "read_database", "read_decisions", "read_extract_date", "read_tables", "read_truth",
    "row_names", "simulate_council", "summarise_tables", "validate_tables",
]

lazy_package(__name__, {
    **{name: "riskmodel.data.synth" for name in (
        "SyntheticCouncil", "calibration_table", "generate_council", "read_truth",
        "simulate_council")},
    # Not on a build's way (import, mapping, databases): 0.1 s of a build's imports.
    "UnmappedValues": "riskmodel.data._codelists",
    **{name: "riskmodel.data._mapping" for name in (
        "Mapping", "load_mapping", "map_extract", "todo_path", "todo_text")},
    "read_database": "riskmodel.data._sql",
    "read_annex_a": "riskmodel.data.annex_a",
})
