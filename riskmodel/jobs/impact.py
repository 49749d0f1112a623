"""``riskmodel impact``: did the lists help? The effect at each month's capacity cut-off.

:func:`impact_report` finds the scores files (``--scores``, else every list under the data
folder's ``scores/``), reads the decisions stored beside each, builds each month's cohort
with its outcome from the extract, and writes the report
(:mod:`riskmodel.evaluation.impact`). :func:`plant_listed_help` (``riskmodel synth
--help-effect``) makes a synthetic council with lists and help of known effect.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel._core.io import check_writable
from riskmodel.evaluation import load_fairness_policy
from riskmodel.evaluation.impact import (
    DEFAULT_TITLE,
    ImpactReport,
    impact_report,
    write_impact_report,
)
from riskmodel.features import build_labels
from riskmodel.jobs._decisions_store import read_scores_table, read_stored, stored_path
from riskmodel.jobs._extract import open_extract
from riskmodel.jobs._help_synth import plant_listed_help
from riskmodel.scoring import CHARACTERISTIC_COLUMNS

__all__ = ["find_scores", "impact_inputs", "plant_listed_help", "report_impact"]


def find_scores(data) -> list[Path]:
    """Every list under ``<data>/scores/`` (not decisions, rejected rows or locality lists).

    Examples
    --------
    >>> find_scores("no-such-folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskmodel._core.errors.InputError: --scores: none given and no scores files under ...
    """
    folder = Path(data) / "scores"
    found = sorted(p for p in folder.glob("*.parquet") if p.name.count(".") == 1) \
        if folder.is_dir() else []
    if not found:
        raise InputError(f"--scores: none given and no scores files under {folder}")
    return found


RUNNING = ("log-odds", "score", "rank")
#: The characteristics a scores file may carry (``riskmodel score --with-characteristics``).
GROUPED = ("locality", *CHARACTERISTIC_COLUMNS)
_EDGE = 1e-6  # probabilities of exactly 0 or 1 are held this far inside for the log-odds


def _distance(score: np.ndarray, listed: np.ndarray, running: str, name: str) -> np.ndarray:
    """Distance from the month's cut-off (above 0: listed): in log-odds of the score (the
    default), in score, or in rank as a share of the month's cohort; the cut-off midway
    between the last child listed and the first not, ties put on their list's side."""
    if running == "rank":
        order = pd.Series(-score).rank(method="first").to_numpy()
        x = (listed.sum() + 0.5 - order) / len(score)
    else:
        if running == "log-odds":
            if np.nanmin(score) < 0 or np.nanmax(score) > 1:
                raise InputError(f"--running log-odds: {name}'s scores are not probabilities "
                                 "(0 to 1); give --running score or --running rank")
            p = np.clip(score, _EDGE, 1 - _EDGE)
            score = np.log(p / (1 - p))
        x = score - (score[listed].min() + score[~listed].max()) / 2
    return np.where(listed, np.maximum(x, 1e-12), np.minimum(x, 0.0))


def _month_rows(p: Path, running: str = "log-odds") -> pd.DataFrame:
    """One list: distance from its cut-off (:func:`_distance`), listed, offered (decision
    ``offered``)."""
    s = read_scores_table(p)
    if "score" not in s.columns:
        raise InputError(f"--scores: {p.name} has no score column")
    s["as_of"] = pd.to_datetime(s["as_of"]).astype("datetime64[ns]")
    if s["as_of"].nunique() != 1:
        raise InputError(f"--scores: {p.name} holds more than one as-of date")
    listed = s["in_capacity"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    if listed.all() or not listed.any():
        raise InputError(f"--scores: {p.name} has no cut-off (every child, or none, listed)")
    score = s["score"].to_numpy(float)
    x = _distance(score, listed, running, p.name)
    stored, _ = read_stored(stored_path(p))
    if stored is None:
        raise InputError(f"--scores: no decisions recorded for {p.name} (riskmodel decisions "
                         f"add FILE --scores {p})")
    offered = s["child_id"].isin(set(stored.loc[stored["decision"] == "offered", "child_id"]))
    by = {f"by_{c}": s[c].to_numpy() for c in GROUPED if c in s.columns}
    return pd.DataFrame({"child_id": s["child_id"], "as_of": s["as_of"],
                         "month": s["as_of"].dt.strftime("%Y-%m"), "x": x, "listed": listed,
                         "offered": offered.to_numpy(), "score": score, **by})


def _inputs(t: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """The inputs checked for balance: age, sex, disability, deprivation, last month's score."""
    ch = children.copy()
    ch["child_id"] = ch["child_id"].astype(str)
    t = t.merge(ch[[c for c in ("child_id", "date_of_birth", "sex", "disability",
                                "imd_decile", "ethnicity") if c in ch]], on="child_id",
                how="left")
    if "date_of_birth" in t:
        t["age"] = (t["as_of"] - pd.to_datetime(t.pop("date_of_birth"))).dt.days / 365.25
    for col, value, new in (("sex", "female", "female"), ("ethnicity", "white", "white")):
        if col in t:
            t[new] = (t.pop(col).astype(str).str.lower() == value).astype(float)
    if "disability" in t:  # none, sen_support or ehcp: any recorded need counts
        d = t["disability"].astype("string").str.lower()
        t["disability"] = (~d.isin(["none", "no", "false", "0", ""])).astype(float).where(
            d.notna())
    t = t.sort_values(["child_id", "as_of"])
    prev = t.groupby("child_id")["score"].shift()
    gap = t["as_of"] - t.groupby("child_id")["as_of"].shift()
    t["score_last_month"] = prev.where(gap <= pd.Timedelta(days=31))
    return t.drop(columns="score")


def impact_inputs(data, scores=None, running: str = "log-odds") -> tuple[pd.DataFrame, list[dict]]:
    """The child-months of every list with their outcome, family and inputs."""
    if running not in RUNNING:
        raise InputError(f"--running: expected log-odds, score or rank, got {running!r}")
    ex = open_extract(data)
    paths = [Path(p) for p in ([scores] if isinstance(scores, str | os.PathLike)
                               else (scores or []))] or find_scores(data)
    parts = [_month_rows(p, running) for p in paths]
    months = [str(part["month"].iloc[0]) for part in parts]
    if len(set(months)) != len(months):
        raise InputError("--scores: each month's list may be given once")
    t = pd.concat(parts, ignore_index=True)
    lab = build_labels(ex.tables, sorted(t["as_of"].unique()), horizon_months=6,
                       extract_date=ex.date)
    lab["child_id"] = lab["child_id"].astype(str)
    lab["as_of"] = pd.to_datetime(lab["as_of"]).astype("datetime64[ns]")
    t = t.merge(lab[["child_id", "as_of", "family_id", "escalation"]], on=["child_id", "as_of"],
                how="left")
    t["family_id"] = t["family_id"].astype(str).where(t["family_id"].notna(), t["child_id"])
    t["y"] = pd.to_numeric(t.pop("escalation"), errors="coerce")
    t["helped_before"] = _helped_before(t)
    lists = [{"scores": p.name, "month": m} for p, m in zip(paths, months, strict=True)]
    return _inputs(t, ex.tables["children"]), lists


def _helped_before(t: pd.DataFrame, months: int = 6) -> np.ndarray:
    """Child-months whose child was offered help for a list of the ``months`` before: their
    help began before this list, whichever side of the cut-off they are."""
    off = t.loc[t["offered"], ["child_id", "as_of"]].rename(columns={"as_of": "offer"})
    m = t[["child_id", "as_of"]].reset_index().merge(off, on="child_id")
    hit = (m["offer"] < m["as_of"]) & (m["offer"] >= m["as_of"] - pd.DateOffset(months=months))
    out = np.zeros(len(t), bool)
    out[m.loc[hit, "index"].unique()] = True
    return out


def report_impact(data, out_dir, *, scores=None, policy=None, running: str = "log-odds",
                  all_children: bool = False, title: str = DEFAULT_TITLE
                  ) -> tuple[ImpactReport, dict]:
    """Write the impact report (``report.html``, ``summary.json``) for a council's lists.

    Parameters
    ----------
    data : path
        The council's extract (outcomes and families come from it).
    out_dir : path
    scores : list of paths, optional
        The monthly scores files, each with its decisions recorded; default every scores
        file under ``<data>/scores/``.
    policy : path, optional
        The fairness policy whose ``min_count`` rounds every count.
    running : {"log-odds", "score", "rank"}
        The distance from each month's cut-off: in the log-odds of the score (the
        default), in score, or in rank as a share of the month's cohort.
    all_children : bool
        Judge every child-month; by default a child offered help for a list of the 6 months
        before is left out of that month (their help had begun: listing them again decides
        nothing), which sharpens the comparison.
    title : str

    Returns
    -------
    (ImpactReport, dict of paths)

    Examples
    --------
    >>> report, paths = report_impact("council/", "impact/")  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['html', 'json']
    """
    check_writable(out_dir, folder=True)
    t, lists = impact_inputs(data, scores, running)
    if t["y"].notna().sum() < 200:
        raise InputError("impact: fewer than 200 child-months with a known outcome (the "
                         "6-month horizon has not passed for enough lists)")
    pol = load_fairness_policy(policy)
    report = impact_report(t, lists=lists, min_count=int(pol.min_count), running=running,
                           exclude_helped=not all_children,
                           characteristics=[c for c in pol.characteristics if f"by_{c}" in t])
    return report, write_impact_report(report, out_dir, title=title)
