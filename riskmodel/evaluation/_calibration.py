"""The calibration plot of a candidate's test predictions (aggregates only)."""

from __future__ import annotations

import io

import pandas as pd


def calibration_png(predictions: pd.DataFrame, name: str) -> bytes:
    """Observed rate against mean predicted probability in tenths, as PNG bytes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=200)
    >>> png = calibration_png(pd.DataFrame({"score": p, "label": rng.uniform(size=200) < p}), "x")
    >>> png[:4]
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    bins = pd.qcut(predictions["score"].rank(method="first"), 10, labels=False)
    agg = predictions.groupby(bins).agg(p=("score", "mean"), y=("label", "mean"))
    ax.plot([0, 1], [0, 1], color="#999", lw=1, ls="--", label="perfect")
    ax.plot(agg["p"], agg["y"], marker="o", label=name)
    lim = max(0.05, float(max(agg["p"].max(), agg["y"].max())) * 1.1)
    ax.set(xlim=(0, lim), ylim=(0, lim), xlabel="mean predicted probability (tenth)",
           ylabel="observed rate", title=f"Calibration on test dates: {name}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
