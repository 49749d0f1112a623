"""The synthetic council written as the contract says (and its known truth)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_truth(data_dir: str | Path, *, outcome: str, horizon_months: int) -> pd.DataFrame | None:
    """The synthetic council's true probabilities for this outcome and horizon, if present."""
    path = Path(data_dir) / "truth.parquet"
    if not Path(data_dir).is_dir() or not path.exists():
        return None
    col = f"p_{outcome}_{horizon_months}m"
    truth = pd.read_parquet(path)
    if col not in truth.columns:
        return None
    truth = truth[["child_id", "as_of", col]].rename(columns={col: "p_true"})
    truth["child_id"] = truth["child_id"].astype(str)
    truth["as_of"] = pd.to_datetime(truth["as_of"]).astype("datetime64[ns]")
    return truth


