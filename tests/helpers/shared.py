"""The only files the tests read from outside the repository: the project's ``shared/`` folder.

It sits beside the clone (``../shared``, as the README says); CI checks it out there.
"""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
# ProPublica's COMPAS two-year sample (shared/external/compas/README.md): a public data set
# with known disparities, for checking the fairness measures by hand.
COMPAS = SHARED / "external" / "compas" / "compas-two-years.csv"
