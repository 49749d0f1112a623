"""The impact report: the effects at the cut-off, its checks, plain words, HTML and JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel._core.io import atomic_path
from riskmodel.evaluation._disclosure import protect_counts, record_keys, rounding_note
from riskmodel.evaluation.impact._effects import balance, density_test, rd_effects
from riskmodel.evaluation.impact._groups import (
    MIN_ESCALATIONS,
    MIN_NEAR,
    effects_by_group,
    enough_near,
    months_for_enough,
)

DEFAULT_TITLE = "Did the lists help? The effect of being listed, at the capacity cut-off"
TARGET_RR = 0.8  # the smallest effect worth finding: a fifth fewer escalations
BALANCE_INPUTS = ("age", "female", "disability", "imd_decile", "white", "score_last_month")

MEANS = ("These estimates are about the children near each month's cut-off: those listed "
         "only just, against those only just missed. They say what being listed (and being "
         "offered help) did for children like them, not for everyone on the list: the "
         "highest-risk children, far above the edge, may gain more or less.")
NOT_MEANS = ("They are not causal beyond the edge, and they are not the effect of the model: "
             "they judge the offer of help that follows a listing, compared with the usual "
             "service for children just below the cut-off. A difference could also come from "
             "anything else that changes exactly at the cut-off (checked below: the number "
             "of children each side and their inputs should not jump).")


@dataclass
class ImpactReport:
    """What :func:`impact_report` found (aggregates only; counts rounded)."""

    summary: list[str]
    effects: list[dict]
    first_stage: dict
    density: dict
    balance: list[dict]
    counts: dict
    settle: dict
    settings: dict
    by_group: list[dict] = field(default_factory=list)
    means: str = MEANS
    not_means: str = NOT_MEANS
    notes: list[str] = field(default_factory=list)


def months_to_settle(se_log_rr: float | None, months: int, target: float = TARGET_RR) -> dict:
    """How many months of lists would give an 80% chance of finding a ``target`` risk ratio
    (5% two-sided), if the standard error shrinks as one over the square root of the months.

    Examples
    --------
    >>> months_to_settle(0.2, 12)["months_needed"]
    76
    """
    if se_log_rr is None or not np.isfinite(se_log_rr) or months < 1:
        return {"months_needed": None, "more_months": None, "target_risk_ratio": target}
    need = abs(math.log(target)) / (1.959964 + 0.841621)
    needed = int(math.ceil(months * (se_log_rr / need) ** 2))
    return {"months_needed": needed, "more_months": max(0, needed - months),
            "target_risk_ratio": target, "se_log_rr": se_log_rr}


def _counter(t: pd.DataFrame, base: int) -> Callable[[np.ndarray], int]:
    keys = record_keys((t["child_id"].astype(str) + "|" + t["month"].astype(str)).to_numpy())

    def count(mask: np.ndarray) -> int:
        return int(protect_counts(np.asarray(mask, bool)[None, :], keys, base)[0])
    return count


def _rounded_effects(effects: list[dict], t: pd.DataFrame,
                     count: Callable[[np.ndarray], int]) -> list[dict]:
    x = t["x"].to_numpy(float)
    out = []
    for e in effects:
        h = e["bandwidth"]
        e = dict(e)
        e["n_below"] = count((x <= 0) & (x > -h))
        e["n_above"] = count((x > 0) & (x < h))
        e["families"] = None  # a count of families is not published
        out.append({k: v for k, v in e.items() if k != "families"})
    return out


_UNROUNDED = ("n_below", "n_above", "families")


def _no_counts(row: dict) -> dict:
    """A row of estimates without its (unrounded) counts of children."""
    return {k: v for k, v in row.items() if k not in _UNROUNDED}


def _judge(known: pd.DataFrame, count: Callable[[np.ndarray], int], months: int
           ) -> tuple[dict, dict]:
    """Both designs (:func:`rd_effects`) and how many months would settle them; with too few
    child-months near the cut-off (:func:`enough_near`), no numbers: the effects are blank
    and ``settle`` says how many months of lists would give enough."""
    rd = rd_effects(known)
    h = min(rd["bandwidths"]["listed"], rd["bandwidths"]["offered"])
    if not enough_near(known, h, count):
        for e in rd["effects"]:
            e.update(estimate=None, low=None, high=None, se_robust=None)
        needed = months_for_enough(known, h, count, months)
        return rd, {"months_needed": needed, "more_months": None if needed is None
                    else max(0, needed - months), "target_risk_ratio": None,
                    "too_few_near": True}
    rr = next(e for e in rd["effects"] if (e["of"], e["scale"]) == ("offered", "risk_ratio"))
    return rd, months_to_settle(rr["se_robust"], months)


TOO_FEW = ("Too few child-months near the cut-off to estimate the effects (a council needs "
           f"{MIN_NEAR} each side within the bandwidth and {MIN_ESCALATIONS} escalations each "
           "side).")


def _sentences(effects: list[dict], first: dict, settle: dict, months: int) -> list[str]:
    by = {(e["of"], e["scale"]): e for e in effects}
    if settle.get("too_few_near"):
        more = settle["more_months"]
        return [TOO_FEW + (f" About {more} more months of lists like these "
                           f"({settle['months_needed']} in all, against {months} now) would "
                           "give enough." if more is not None else " No month so far has "
                           "children on both sides of the cut-off with an outcome.")]
    out = []
    for of, words in (("listed", "being listed"), ("offered", "being offered help")):
        rr, rd = by[(of, "risk_ratio")], by[(of, "risk_difference")]
        if rr["estimate"] is None:
            out.append(f"The effect of {words} could not be estimated (too few outcomes near "
                       "the cut-off).")
            continue
        verdict = ("lowered escalation" if rr["high"] < 1 else "raised escalation"
                   if rr["low"] > 1 else "made no clear difference to escalation")
        out.append(f"At the cut-off, {words} {verdict}: risk ratio {rr['estimate']:.2f} "
                   f"(95% interval {rr['low']:.2f} to {rr['high']:.2f}); risk difference "
                   f"{rd['estimate'] * 100:+.1f} points ({rd['low'] * 100:+.1f} to "
                   f"{rd['high'] * 100:+.1f}).")
    out.append(f"Listing raised the share offered help by {first['estimate'] * 100:.0f} "
               f"points at the cut-off ({first['below'] * 100:.0f}% just below, "
               f"{first['above'] * 100:.0f}% just above).")
    rr = by[("offered", "risk_ratio")]
    if rr["estimate"] is not None and rr["low"] < 1 < rr["high"] and settle["more_months"]:
        out.append(f"The interval is too wide to settle it: about {settle['more_months']} more "
                   f"months of lists like these ({settle['months_needed']} in all, against "
                   f"{months} now) would give an 80% chance of finding a fifth fewer "
                   "escalations (risk ratio 0.8) if help does that.")
    return out


RUNNING_WORDS = {
    "log-odds": "log-odds of the score minus the month's cut-off in log-odds (midway between "
                "the last child listed and the first not listed)",
    "score": "score minus the month's cut-off score (midway between the last child listed "
             "and the first not listed)",
    "rank": "places from the month's cut-off, as a share of the month's children (above 0: "
            "listed)"}


def _settings(lists: list[dict], t: pd.DataFrame, bandwidths: dict, min_count: int,
              running: str) -> dict:
    return {"lists": lists, "months": sorted({str(m) for m in t["month"]}),
            "bandwidths": bandwidths, "min_count": min_count,
            "disclosure": {"method": "cell-key rounding" if min_count > 1 else "none",
                           "base": min_count, "note": rounding_note(min_count)},
            "running_variable": RUNNING_WORDS[running],
            "interval": "robust bias-corrected 95% (the bias from a local quadratic at the "
                        "pilot bandwidth), family-clustered"}


def _counts(t: pd.DataFrame, judged: np.ndarray, count: Callable[[np.ndarray], int],
            months: int) -> dict:
    """The report's counts of child-months, each rounded (``count``)."""
    return {"child_months": count(np.ones(len(t), bool)),
            "child_months_with_outcome": count(t["y"].notna().to_numpy()),
            "listed": count(t["listed"].to_numpy(bool)),
            "offered": count(t["offered"].to_numpy(bool)),
            "left_out_helped_before": count(~judged), "months": months}


def impact_report(t: pd.DataFrame, *, lists: list[dict], min_count: int = 5,
                  running: str = "log-odds", exclude_helped: bool = True,
                  characteristics: list[str] | None = None) -> ImpactReport:
    """The regression discontinuity at each month's capacity cut-off.

    Parameters
    ----------
    t : DataFrame
        One row per child-month: ``child_id``, ``family_id``, ``month``, ``x`` (distance from
        that month's cut-off, above 0 listed), ``listed``, ``offered``, ``y`` (the outcome,
        0/1, empty when not known yet) and any of the inputs checked for balance
        (``BALANCE_INPUTS``).
    lists : list of dict
        The lists (scores file, month), for the settings.
    min_count : int
        The disclosure control's rounding base (the fairness policy's ``min_count``).
    running : {"log-odds", "score", "rank"}
        What ``x`` measures (for the report's words).
    exclude_helped : bool
        Leave out child-months marked ``helped_before`` (help begun for an earlier list).
    characteristics : list of str, optional
        The effect by each of these characteristics (columns ``by_<name>`` of ``t``), where
        the groups are large enough (:func:`effects_by_group`).

    Returns
    -------
    ImpactReport

    Examples
    --------
    >>> rng = np.random.default_rng(4); n = 8000; x = rng.uniform(-1, 1, n)
    >>> off = (x > 0) & (rng.uniform(size=n) < 0.8)
    >>> y = (rng.uniform(size=n) < 0.3 * np.where(off, 0.5, 1.0)).astype(float)
    >>> t = pd.DataFrame({"child_id": np.arange(n), "family_id": np.arange(n) // 2,
    ...     "month": "2024-01", "x": x, "listed": x > 0, "offered": off, "y": y})
    >>> r = impact_report(t, lists=[{"month": "2024-01"}])
    >>> r.effects[3]["of"], r.effects[3]["scale"], r.effects[3]["high"] < 1
    ('offered', 'risk_ratio', True)
    """
    count = _counter(t, min_count)
    judged = ~t["helped_before"].to_numpy(bool) if exclude_helped and "helped_before" in t \
        else np.ones(len(t), bool)
    known = t[judged & t["y"].notna().to_numpy()].reset_index(drop=True)
    months = int(known["month"].nunique())
    count_known = _counter(known, min_count)
    rd, settle = _judge(known, count_known, months)
    cols = [c for c in BALANCE_INPUTS if c in known.columns]
    bal = balance(known, cols)
    effects = _rounded_effects(rd["effects"], known, count_known)
    by_group = effects_by_group(known, list(characteristics or []), rd["bandwidths"],
                                count_known)
    counts = _counts(t, judged, count, months)
    settings = _settings(lists, t, rd["bandwidths"], min_count, running)
    summary = _sentences(effects, rd["first_stage"], settle, months)
    return ImpactReport(summary=summary, effects=effects,
                        first_stage=_no_counts(rd["first_stage"]),
                        density=density_test(t["x"].to_numpy(float)),
                        balance=[_no_counts(b) for b in bal],
                        counts=counts, settle=settle, settings=settings, by_group=by_group)


def write_impact_report(report: ImpactReport, out_dir, *, title: str = DEFAULT_TITLE
                        ) -> dict[str, Path]:
    """Write ``summary.json`` and ``report.html`` (self-contained) atomically."""
    from riskmodel.evaluation._html import render

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = asdict(report)
    paths = {"json": out / "summary.json", "html": out / "report.html"}
    with atomic_path(paths["json"]) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    html = render("impact.html.j2", title=title, r=report)
    with atomic_path(paths["html"]) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return paths
