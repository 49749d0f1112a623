"""Small made-up tables for unit tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def child_dates(size: int, seed: int) -> pd.DataFrame:
    """Scored child-date rows: children at two as-of dates (most at both), some with no
    outcome yet."""
    rng = np.random.default_rng(seed)
    ids = [f"c{seed}-{i}" for i in range(size)]
    frame = pd.concat([pd.DataFrame({"child_id": ids, "as_of": pd.Timestamp(d)})
                       for d in ("2024-01-01", "2024-04-01")], ignore_index=True)
    frame = frame.sample(frac=0.8, random_state=seed).reset_index(drop=True)
    frame["label"] = rng.integers(0, 2, len(frame)).astype(float)
    frame.loc[rng.random(len(frame)) < 0.05, "label"] = np.nan
    frame["score"] = rng.random(len(frame))
    frame["sex"] = rng.choice(["F", "M"], len(frame))
    return frame

