"""The synthetic council: a calibrated simulation with known truth and planted effects."""

from riskmodel.data.synth._assemble import TRUTH_COLUMNS
from riskmodel.data.synth._calibration import calibration_table
from riskmodel.data.synth._council import (
    SyntheticCouncil,
    generate_council,
    simulate_council,
    write_council,
)
from riskmodel.data.synth._decisions import plant_help, synth_decisions
from riskmodel.data.synth._truth import read_truth

__all__ = [
    "TRUTH_COLUMNS", "SyntheticCouncil", "calibration_table", "generate_council", "plant_help",
    "read_truth", "simulate_council", "synth_decisions", "write_council",
]
