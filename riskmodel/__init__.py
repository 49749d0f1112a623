"""riskmodel: predictive risk models for children's early help services.

Leak-free as-of-date features, honest model comparison, per-child reasons and
fairness reports for English councils' early help services.
"""

from ._errors import InputError

__version__ = "0.1.0"
__all__ = ["InputError", "__version__"]
