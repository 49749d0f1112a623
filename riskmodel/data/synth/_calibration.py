"""Calibration measures: the published figures against what a council's tables show.

Each measure is defined on the four contract tables alone, so it can be computed for the
synthetic council and for a real extract alike. Definitions (also in
``docs/synthetic-council.md``):

- *early-help children*: children with at least one early-help episode (any start date);
  their *first start* is the start of their earliest early-help episode.
- ``ace_count``: distinct ACE factors recorded for each early-help child (any recorded date),
  in bands 0 / 1 / 2-3 / 4+ (Walsall 2016).
- ``ace_prevalence``: share of early-help children with the factor recorded (Walsall 2016).
- ``age_at_start``: age in whole years at the first start, Walsall's bands; *unborn* when the
  first start is before the date of birth.
- ``children_per_family``: early-help children / their distinct families (892/502).
- ``presenting_need``: share of early-help children with a contact of that need dated in the
  365 days up to and including the first start (Walsall's five most common needs); ``top_five``
  is 1 when those five needs are the five most common.
- ``closure_<service>``: shares of closed episodes of that service by closure reason:
  positive = ``needs_met``, disengaged_or_declined = ``disengaged`` + ``declined``
  (Warwickshire 2020).
- ``fsw_duration``: mean length in weeks of closed ``fsw_intervention`` episodes (about 18).
- ``initiating_agency``: sources of the contacts whose outcome is ``early_help`` (the contacts
  that led to an early-help episode; Wolverhampton 2018).
- ``flow``: early-help episodes open at any time in the 16 months ending 12 months before the
  extract date ("cases worked"): share closed, and share closed as escalated, within those
  16 months (Wolverhampton 2018: 65% and about 10%).
- ``localities``: 1 when Wednesfield and Whitmore Reans have the most early-help episodes; the
  rank correlation across localities between mean closed-episode length and escalated share
  (below 0: shorter-duration localities step up more).

Shares have a tolerance of 3 percentage points, or the target itself when that is smaller (at
least 0.3 points), so that small shares such as unborn children are checked meaningfully.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import riskmodel.data.synth._params as P
from riskmodel.data._contract import EARLY_HELP_SERVICES

_COLUMNS = ["measure", "category", "target", "generated", "tolerance", "ok"]


def _share_tol(target: float) -> float:
    """Tolerance of a share: 3 points, or the target itself when smaller (at least 0.3)."""
    return min(P.TOLERANCE_PP, max(target, 0.003))


def _typed(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with dates typed (``coerce_tables`` unless they already are)."""
    from riskmodel.data._read import coerce_tables

    ok = all(pd.api.types.is_datetime64_any_dtype(tables["episodes"][c])
             for c in ("start_date", "end_date"))
    ok = ok and pd.api.types.is_datetime64_any_dtype(tables["contacts"]["contact_date"])
    ok = ok and pd.api.types.is_datetime64_any_dtype(tables["children"]["date_of_birth"])
    return tables if ok else coerce_tables(tables)


def _whole_years(dob: pd.Series, at: pd.Series) -> np.ndarray:
    """Age in whole years on ``at`` of children born on ``dob``."""
    years = at.dt.year.to_numpy() - dob.dt.year.to_numpy()
    before = (at.dt.month.to_numpy() < dob.dt.month.to_numpy()) | (
        (at.dt.month.to_numpy() == dob.dt.month.to_numpy())
        & (at.dt.day.to_numpy() < dob.dt.day.to_numpy()))
    return years - before


def calibration_table(tables: dict[str, pd.DataFrame], *, extract_date: Any = None
                      ) -> pd.DataFrame:
    """Compare a council's tables with the published figures the synthetic council targets.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The four contract tables (as read, or typed by ``coerce_tables``).
    extract_date : date-like, optional
        The date of the extract (for the flow measure); defaults to the latest date in the
        tables.

    Returns
    -------
    DataFrame
        Columns ``measure``, ``category``, ``target``, ``generated``, ``tolerance`` and
        ``ok`` (``|generated - target| <= tolerance``); the measures are defined in the
        module docstring and ``docs/synthetic-council.md``.

    Examples
    --------
    >>> from riskmodel.data import calibration_table, simulate_council
    >>> table = calibration_table(simulate_council(2_000, seed=1).tables)
    >>> list(table.columns)
    ['measure', 'category', 'target', 'generated', 'tolerance', 'ok']
    """
    t = _typed(tables)
    ch, ct, ace, ep = t["children"], t["contacts"], t["ace_factors"], t["episodes"]
    out = _Measures()
    eh = ep[ep["service"].isin(EARLY_HELP_SERVICES)]
    first = eh.groupby("child_id", observed=True)["start_date"].min()
    ehc = pd.DataFrame({"child_id": first.index, "first_start": first.to_numpy()})
    ehc = ehc.merge(ch[["child_id", "family_id", "date_of_birth"]], on="child_id", how="left")
    _ace_measures(out, ace, ehc)
    _age_measures(out, ehc)
    _need_measures(out, ct, first, max(len(ehc), 1))
    _closure_measures(out, eh)
    _flow_measures(out, ep, ct, eh, extract_date)
    _locality_measures(out, eh, ch)
    return pd.DataFrame(out.rows, columns=_COLUMNS)


class _Measures:
    """The rows of the calibration table, added one measure at a time."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float, float, bool]] = []

    def add(self, measure: str, category: str, target: float, generated: Any,
            tol: float) -> None:
        """Add one row; ``ok`` when ``generated`` is within ``tol`` of ``target``."""
        value = float(generated) if generated is not None else float("nan")
        self.rows.append((measure, category, float(target), value, float(tol),
                          bool(abs(value - target) <= tol + 1e-9)))


def _ace_measures(out: _Measures, ace: pd.DataFrame, ehc: pd.DataFrame) -> None:
    """ACE count bands and prevalences among early-help children."""
    n = max(len(ehc), 1)
    aces = ace[ace["child_id"].isin(ehc["child_id"])].drop_duplicates(["child_id", "factor"])
    count = aces.groupby("child_id").size().reindex(ehc["child_id"], fill_value=0).to_numpy()
    bands = {"0": count == 0, "1": count == 1, "2-3": (count >= 2) & (count <= 3),
             "4+": count >= 4}
    for band, target in P.TARGET_ACE_BANDS.items():
        out.add("ace_count", band, target, bands[band].sum() / n, _share_tol(target))
    prev = aces["factor"].value_counts()
    for factor, target in P.TARGET_ACE_PREVALENCE.items():
        out.add("ace_prevalence", factor, target, prev.get(factor, 0) / n, _share_tol(target))


def _age_measures(out: _Measures, ehc: pd.DataFrame) -> None:
    """Age at the first early-help start, and early-help children per family."""
    n = max(len(ehc), 1)
    age = _whole_years(ehc["date_of_birth"], ehc["first_start"])
    unborn = (ehc["first_start"] < ehc["date_of_birth"]).to_numpy()
    edges = [("0-4", 0, 5), ("5-7", 5, 8), ("8-11", 8, 12), ("12-15", 12, 16), ("16+", 16, 99)]
    out.add("age_at_start", "unborn", P.TARGET_AGE_BANDS["unborn"], unborn.sum() / n,
            _share_tol(P.TARGET_AGE_BANDS["unborn"]))
    for band, a0, a1 in edges:
        target = P.TARGET_AGE_BANDS[band]
        out.add("age_at_start", band, target, ((~unborn) & (age >= a0) & (age < a1)).sum() / n,
                _share_tol(target))
    out.add("children_per_family", "early-help children / families",
            P.TARGET_CHILDREN_PER_FAMILY, len(ehc) / max(ehc["family_id"].nunique(), 1), 0.1)


def _need_measures(out: _Measures, ct: pd.DataFrame, first: pd.Series, n: int) -> None:
    """Presenting needs in the 365 days up to the first start, and whether the top five match."""
    # the first start of each contact's child (NaT for children never in early help)
    start = (ct["child_id"].map(first) if len(first)
             else pd.Series(pd.NaT, index=ct.index, dtype="datetime64[ns]"))
    win = ct.loc[(ct["contact_date"] <= start)
                 & (ct["contact_date"] > start - pd.Timedelta(days=365)), ["child_id", "need"]]
    shares = win.drop_duplicates(["child_id", "need"])["need"].value_counts() / n
    for need, target in P.TARGET_TOP_NEEDS.items():
        out.add("presenting_need", need, target, shares.get(need, 0.0), _share_tol(target))
    top = set(shares.sort_values(ascending=False).index[:5])
    out.add("presenting_need", "top_five (1 = the same five)", 1.0,
            float(top == set(P.TARGET_TOP_NEEDS)), 0.0)


def _closure_measures(out: _Measures, eh: pd.DataFrame) -> None:
    """Closure reasons by early-help service, and the mean length of FSW interventions."""
    closed = eh[eh["closure_reason"].notna()]
    group = closed["closure_reason"].replace({"needs_met": "positive", "disengaged":
                                              "disengaged_or_declined",
                                              "declined": "disengaged_or_declined"})
    for service, targets in P.TARGET_CLOSURE.items():
        g = group[closed["service"] == service]
        vc = g.value_counts() / max(len(g), 1)
        for outcome, target in targets.items():
            out.add(f"closure_{service}", outcome, target, vc.get(outcome, 0.0),
                    _share_tol(target))
    fsw = closed[closed["service"] == "fsw_intervention"]
    weeks = ((fsw["end_date"] - fsw["start_date"]).dt.days / 7).mean() if len(fsw) else np.nan
    out.add("fsw_duration", "mean weeks", P.TARGET_FSW_WEEKS, weeks, 2.0)


def _flow_measures(out: _Measures, ep: pd.DataFrame, ct: pd.DataFrame, eh: pd.DataFrame,
                   extract_date: Any) -> None:
    """Initiating agencies, and the flow over 16 months ending 12 months before the extract."""
    src = ct.loc[ct["outcome"] == "early_help", "source"].value_counts()
    total = max(int(src.sum()), 1)
    for source, target in P.TARGET_INITIATING.items():
        out.add("initiating_agency", source, target, src.get(source, 0) / total,
                _share_tol(target))
    if extract_date is None:
        extract_date = max(ep["start_date"].max(), ep["end_date"].max(),
                           ct["recorded_date"].max())
    extract = pd.Timestamp(extract_date)
    p1 = extract - pd.DateOffset(months=12)
    p0 = p1 - pd.DateOffset(months=16)
    worked = eh[(eh["start_date"] <= p1) & (eh["end_date"].isna() | (eh["end_date"] >= p0))]
    shut = worked["end_date"].notna() & (worked["end_date"] <= p1)
    m = max(len(worked), 1)
    out.add("flow", "closed", P.TARGET_FLOW["closed"], shut.sum() / m, 0.05)
    out.add("flow", "escalated", P.TARGET_FLOW["escalated"],
            (shut & (worked["closure_reason"] == "escalated")).sum() / m, 0.05)


def _locality_measures(out: _Measures, eh: pd.DataFrame, ch: pd.DataFrame) -> None:
    """The busiest localities, and the rank correlation of duration and escalation."""
    loc = eh.merge(ch[["child_id", "locality"]], on="child_id", how="left")
    busiest = set(loc["locality"].value_counts().index[:2])
    out.add("localities", "busiest two are Wednesfield and Whitmore Reans", 1.0,
            float(busiest == {"Wednesfield", "Whitmore Reans"}), 0.0)
    lc = loc[loc["closure_reason"].notna()]
    days = (lc["end_date"] - lc["start_date"]).dt.days
    per = pd.DataFrame({
        "days": days.groupby(lc["locality"]).mean(),
        "esc": (lc["closure_reason"] == "escalated").groupby(lc["locality"]).mean(),
    })
    rho = per["days"].rank().corr(per["esc"].rank()) if len(per) > 2 else np.nan
    out.add("localities", "rank correlation of duration and escalation (below 0)", -0.5, rho,
            0.5)
