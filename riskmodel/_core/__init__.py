"""The ground floor: errors, atomic writes, spec loading, dates, capacity and fingerprints.

Nothing here imports any other part of riskmodel, so every layer may use it.
"""
