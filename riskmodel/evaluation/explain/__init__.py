"""SHAP explanations of a model: what drives it overall and for one example child."""

from riskmodel.evaluation.explain._explain import (
    ModelExplanation,
    explain_model,
    render_explanation,
    write_explanation_report,
)

__all__ = ["ModelExplanation", "explain_model", "render_explanation", "write_explanation_report"]
