"""The input contract, validation, readers and the synthetic council."""

from riskmodel.data._contract import COLUMNS, TABLES
from riskmodel.data._dates import extract_date_of, first_record_date
from riskmodel.data._mapping import load_mapping, map_extract
from riskmodel.data._read import coerce_tables, load_tables, read_extract_date, read_tables
from riskmodel.data._sources import DatabaseSource, as_source, is_database, mask
from riskmodel.data._sql import read_database
from riskmodel.data._summary import (
    describe_knowledge,
    history_changes,
    knowledge_delays,
    summarise_tables,
)
from riskmodel.data._validate import validate_tables
from riskmodel.data.annex_a import read_annex_a
from riskmodel.data.synth import (
    SyntheticCouncil,
    calibration_table,
    generate_council,
    read_truth,
    simulate_council,
)

__all__ = [
    "COLUMNS", "TABLES", "DatabaseSource", "SyntheticCouncil", "as_source", "calibration_table",
    "coerce_tables", "describe_knowledge", "extract_date_of", "first_record_date",
    "generate_council",
    "history_changes", "is_database", "knowledge_delays", "load_mapping", "load_tables",
    "map_extract", "mask", "read_annex_a", "read_database", "read_extract_date", "read_tables",
    "read_truth", "simulate_council", "summarise_tables", "validate_tables",
]
