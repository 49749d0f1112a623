"""MLflow "model from code" entry point for a riskmodel model.

MLflow runs this file when it loads the logged model; it reads the model's JSON artefact and
unpickles nothing. Scoring inside riskmodel does not go through here: it reads the same JSON
after checking its checksum (see :func:`riskmodel.store.load_model`).
"""

import json

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class RiskModelPyfunc(PythonModel):
    """Predicts the calibrated probability of the outcome for each row of features."""

    def load_context(self, context):
        from riskmodel.models import model_from_dict

        with open(context.artifacts["model_json"], encoding="utf-8") as fh:
            self.model = model_from_dict(json.load(fh)["model"])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return pd.Series(self.model.predict_proba(model_input)[:, 1], name="score")


mlflow.models.set_model(RiskModelPyfunc())
