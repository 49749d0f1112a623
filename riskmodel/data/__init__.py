"""The input contract, readers and the synthetic council."""

from ._contract import COLUMNS, TABLES
from ._read import coerce_tables, load_tables, read_extract_date, read_tables
from ._summary import summarise_tables
from ._synth import SyntheticCouncil, generate_council, simulate_council
from ._synth_calibration import calibration_table
from ._validate import validate_tables

__all__ = [
    "COLUMNS", "TABLES", "SyntheticCouncil", "calibration_table", "coerce_tables",
    "generate_council", "load_tables", "read_extract_date", "read_tables", "simulate_council",
    "summarise_tables", "validate_tables",
]
