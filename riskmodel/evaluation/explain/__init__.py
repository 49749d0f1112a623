"""SHAP explanations of a model: what drives it overall and for one example child."""

from riskmodel.evaluation.explain._explain import (
    ModelExplanation,
    chart_label,
    explain_model,
    render_explanation,
    write_explanation_report,
)

__all__ = ["ModelExplanation", "chart_label", "explain_model", "render_explanation",
           "write_explanation_report"]
