"""riskmodel.training."""
