"""``riskmodel fairness``: a disproportionality report from a scores file or a training run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskmodel._core.errors import InputError


def read_scores(path) -> pd.DataFrame:
    """Read a scores table (CSV or Parquet, chosen by the suffix).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> pd.DataFrame({"score": [0.2], "label": [1]}).to_csv(p, index=False)
    >>> read_scores(p).columns.tolist()
    ['score', 'label']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scores file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: could not be read as {suffix[1:]} "
                         f"({' '.join(str(exc).split())[:120]})") from None
    raise InputError(f"{path}: expected a .csv or .parquet scores file")


