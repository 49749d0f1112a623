"""riskmodel.scoring."""
