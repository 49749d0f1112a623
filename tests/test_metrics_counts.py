"""The bootstrap from family counts (riskmodel.evaluation.metrics.CountSets, issue 33) against
the replicate-by-replicate definition: every measure of every set of rows, for every resample,
the same number to the last bit as :meth:`ScoreCurve.measures` of that resample's row weights
alone. Random grouped data: families of several rows, tied scores, sets of rows that are
empty or hold one family, resamples that draw nobody, single and double precision."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.evaluation.fairness import MEASURES, SCORE_MEASURES, GroupTable, group_scores
from riskmodel.evaluation.metrics import (
    CURVE_MEASURES,
    CountSets,
    ScoreCurve,
    bootstrap_sets,
    fairlearn_weights,
    resample_weights,
)


@st.composite
def grouped_rows(draw: st.DrawFn) -> dict:
    """Rows in families, with 0/1 outcomes, tied scores (a few decimals), capacity flags and
    a grouping of the rows into sets (one of them possibly empty)."""
    n = draw(st.integers(1, 150))
    n_fam = draw(st.integers(1, n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(2, 6, n), draw(st.integers(1, 5)))
    y = (rng.uniform(size=n) < p).astype(float)
    groups = rng.integers(0, draw(st.integers(1, 5)), n)
    sets = [np.arange(n)] + [np.flatnonzero(groups == g) for g in range(int(groups.max()) + 2)]
    return {"y": y, "p": p, "f": p >= np.quantile(p, 0.8), "codes": rng.integers(0, n_fam, n),
            "n_fam": n_fam, "sets": sets, "rng": rng,
            "dtype": draw(st.sampled_from([np.float64, np.float32])),
            "n_bins": draw(st.integers(2, 12))}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


@settings(max_examples=150, deadline=None)
@given(grouped_rows(), st.integers(1, 20))
def test_counts_equal_row_weights(d: dict, n_resamples: int) -> None:
    """Each measure from a block of family counts equals, bit for bit, the measure of each
    resample's row weights (``counts[codes]``) taken one resample at a time."""
    k = d["n_fam"]
    C = d["rng"].multinomial(k, np.full(k, 1 / k), size=n_resamples).astype(float)
    C[0] = 0 if n_resamples > 2 else C[0]  # a resample that draws nobody
    curves = [ScoreCurve(d["y"], d["p"], d["f"], rows=rows, dtype=d["dtype"],
                         n_bins=d["n_bins"]) for rows in d["sets"]]
    fast = CountSets(curves, d["codes"]).measures(C, [CURVE_MEASURES] * len(curves))
    for curve, got in zip(curves, fast, strict=True):
        for i in range(n_resamples):
            one = curve.measures(C[i, d["codes"]][None], only=CURVE_MEASURES)
            for m in CURVE_MEASURES:
                assert _same(got[m][i:i + 1], one[m]), (m, i, got[m][i], one[m][0])


@settings(max_examples=40, deadline=None)
@given(grouped_rows(), st.booleans())
def test_bootstrap_sets_equal_one_resample_at_a_time(d: dict, dates: bool) -> None:
    """``bootstrap_sets`` (family counts, with or without as-of dates drawn too) gives each
    resample's measures as the row weights of that resample alone give them."""
    date_codes = d["rng"].integers(0, 3, len(d["y"])) if dates else None
    got = bootstrap_sets(d["y"], d["p"], d["f"], d["codes"], d["sets"], n_boot=20, seed=3,
                         date_codes=date_codes, dtype=d["dtype"])
    W = np.vstack(list(resample_weights(d["codes"], 20, 3, date_codes=date_codes)))
    for rows, drawn in zip(d["sets"], got, strict=True):
        curve = ScoreCurve(d["y"], d["p"], d["f"], rows=rows, dtype=d["dtype"])
        for i, w in enumerate(W):
            one = curve.measures(w[None], only=CURVE_MEASURES)
            for m in CURVE_MEASURES:
                assert _same(drawn[m][i:i + 1].astype(float), one[m].astype(float)), (m, i)


@settings(max_examples=25, deadline=None)
@given(grouped_rows())
def test_fairness_resamples_equal_one_resample_at_a_time(d: dict) -> None:
    """The fairness report's bootstrap (fairlearn's draws of families) gives every group's
    AUC, observed over expected and calibration error as each resample's row weights alone
    give them."""
    n = len(d["y"])
    groups = np.zeros(n, int) if n < 2 else (d["p"] > np.median(d["p"])).astype(int)
    table = GroupTable(key="g", label="g", kind="characteristic", members=("g",),
                       codes=groups, groups=["low", "high"])
    clusters = pd.Series(d["codes"]).astype(str)
    _, boot = group_scores([table], d["y"], d["f"].astype(float), d["p"], probabilities=True,
                           n_boot=12, random_state=5, clusters=clusters)
    names = [str(MEASURES[m].score) for m in SCORE_MEASURES]
    assert set(names) == {"auc", "observed_over_expected", "calibration_error"}
    sets = [np.arange(n), np.flatnonzero(groups == 0), np.flatnonzero(groups == 1)]
    for i, w in enumerate(fairlearn_weights(n, 12, 5, clusters)):
        for g, rows in enumerate(sets):
            one = ScoreCurve(d["y"], d["p"], d["f"], rows=rows).measures(w[None], only=names)
            drawn = boot["__all__"][i] if g == 0 else boot["g"][i, g - 1]
            for j, m in enumerate(names):
                assert _same(drawn[j:j + 1], one[m]), (m, i, g)
