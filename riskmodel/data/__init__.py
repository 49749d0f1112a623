"""The input contract, readers and the synthetic council."""

from ._contract import COLUMNS, TABLES
from ._read import coerce_tables, load_tables, read_tables
from ._validate import validate_tables

__all__ = ["COLUMNS", "TABLES", "coerce_tables", "load_tables", "read_tables", "validate_tables"]
