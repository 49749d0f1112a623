"""riskmodel: predictive risk models for children's early help services.

Leak-free as-of-date features, honest model comparison, per-child reasons and
fairness reports for English councils' early help services.
"""

from riskmodel._core.errors import InputError
from riskmodel._core.version import __version__

__all__ = ["InputError", "__version__"]
