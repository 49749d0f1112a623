"""riskmodel.evaluation."""
