"""Synthetic panel decisions with known truth, and a planted effect of help on escalation.

:func:`synth_decisions` answers a scores file as locality panels might: most listed
children are reviewed, most of those offered help, some found already supported, some not
needed (an override), some families decline; a few children not on the list are added. An
*override bias* ``column=value:factor`` multiplies the chance that a listed child of that
group is offered help (and that a child of the group not listed is added) by ``factor``:
below 1 it is a bias against the group, which the decisions report must find; with none, the
decisions do not depend on any characteristic, and the report must flag nothing.

:func:`plant_help` changes a council's tables as if help worked: each child offered help is,
with probability ``effect``, kept from escalating in the horizon after each offer (an
escalated early-help closure becomes ``needs_met`` and a social-care episode starting then is
removed), so the chance of escalation within the horizon after an offer is exactly
``1 - effect`` times what it was. Training choices are measured against this known truth,
and so is ``riskmodel impact``: ``riskmodel synth --help-effect FACTOR``
(:func:`riskmodel.jobs.plant_listed_help`) plants help with ``effect = 1 - FACTOR``, so an
offered child's risk of escalating within the horizon is ``FACTOR`` times what it was (a
risk ratio; not a hazard ratio, which would give a slightly smaller risk reduction where
escalation is common).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.data._contract import EARLY_HELP_SERVICES, SOCIAL_CARE_SERVICES
from riskmodel.data.synth._bias import split_group_factor

BIAS_COLUMNS = ("ethnicity", "sex", "disability", "age_band", "imd_quintile", "locality")
_NOT_NEEDED = ("needs met by universal services", "school already supporting",
               "family circumstances changed", "panel judged risk low")
_ADDED = ("practitioner concern", "school request", "sibling of a listed child")


@dataclass(frozen=True)
class OverrideBias:
    """A planted override bias: the chance of an offer times ``factor`` for the group."""

    column: str
    value: str
    factor: float


def parse_override_bias(specs, columns=None) -> tuple[OverrideBias, ...]:
    """Parse ``column=value:factor`` (e.g. ``ethnicity=black:0.5``).

    Parameters
    ----------
    specs : str or list of str, optional
    columns : collection of str, optional
        The scores' columns: the bias's column must be one of them.

    Examples
    --------
    >>> parse_override_bias(["ethnicity=black:0.5"])
    (OverrideBias(column='ethnicity', value='black', factor=0.5),)
    """
    if not specs:
        return ()
    if isinstance(specs, str):
        specs = [specs]
    out = []
    for spec in specs:
        text, column, value, f, well_formed = split_group_factor(spec)
        if not (well_formed and value) or column not in BIAS_COLUMNS:
            raise InputError(f"--override-bias: '{text}' is not column=value:factor with column "
                             f"one of {', '.join(BIAS_COLUMNS)} (e.g. ethnicity=black:0.5)")
        if not np.isfinite(f) or not 0 < f <= 20:
            raise InputError(f"--override-bias: '{text}': factor must be a number above 0 and "
                             "at most 20 (below 1: fewer offers for the group)")
        if columns is not None and column not in columns:
            raise InputError(f"--override-bias: '{text}': the scores have no {column} column "
                             "(score with --with-characteristics)")
        out.append(OverrideBias(column, value, f))
    return tuple(out)


def _factor(scores: pd.DataFrame, biases) -> np.ndarray:
    f = np.ones(len(scores))
    for b in biases:
        values = scores[b.column].astype(str).str.strip().to_numpy()
        if b.value not in set(values):
            raise InputError(f"--override-bias: no child in the scores has {b.column} "
                             f"'{b.value}' (found: {', '.join(sorted(set(values))[:8])})")
        f = np.where(values == b.value, f * b.factor, f)
    return f


def synth_decisions(scores: pd.DataFrame, *, sent=None, override_bias=None, seed: int = 0,
                    review: float = 0.92, agree=0.8, supported: float = 0.08,
                    decline: float = 0.15, add: float = 0.01, previously_offered=()
                    ) -> pd.DataFrame:
    """Decisions a set of panels might record for one list (a scores table).

    Parameters
    ----------
    scores : DataFrame
        One list: ``child_id``, ``as_of``, ``in_capacity`` (and the bias's column).
    sent : datetime, optional
        When the list was sent; decisions are dated 1 to 21 days after it (default: after
        the as-of date).
    override_bias : str or list of str, optional
        ``column=value:factor``: that group's chance of being offered help (listed) or added
        (not listed) times ``factor``.
    seed : int
    review : float
        Chance a listed child is reviewed.
    agree : float or array
        Chance a reviewed listed child (not already supported) is offered help; an array
        gives each child's own chance (e.g. panels who see more than the score).
    supported : float
        Chance a reviewed listed child is found already supported.
    decline : float
        Chance an offer is declined by the family.
    add : float
        Chance a child not on the list is added (offered help), at random.
    previously_offered : collection of str
        Children offered help for an earlier list: found already supported if reviewed.

    Returns
    -------
    DataFrame
        ``child_id``, ``scoring_month``, ``decision``, ``reason``, ``decision_date``: one row
        per listed child and per child added.

    Examples
    --------
    >>> s = pd.DataFrame({"child_id": [f"C{i}" for i in range(200)], "as_of": "2025-12-31",
    ...                   "in_capacity": [True] * 40 + [False] * 160})
    >>> d = synth_decisions(s, seed=1)
    >>> int(d.child_id.isin(s.child_id[:40]).sum()), sorted(d.decision.unique())
    (40, ['already_supported', 'declined', 'not_needed', 'not_reviewed', 'offered'])
    """
    s = scores.reset_index(drop=True)
    as_of = pd.Timestamp(pd.to_datetime(s["as_of"]).iloc[0])
    biases = parse_override_bias(override_bias, s.columns)
    factor = _factor(s, biases)
    rng = np.random.default_rng([int(seed), as_of.toordinal()])
    n = len(s)
    listed = s["in_capacity"].astype(str).str.lower().isin(["true", "1"]).to_numpy() \
        if s["in_capacity"].dtype != bool else s["in_capacity"].to_numpy()
    u = rng.uniform(size=(6, n))
    p_agree = np.clip(np.broadcast_to(np.asarray(agree, float), (n,)) * factor, 0, 1)
    before = s["child_id"].astype(str).isin(set(map(str, previously_offered))).to_numpy()
    decision, added = _decide(listed, before, u, p_agree, np.clip(add * factor, 0, 1),
                              review=review, supported=supported, decline=decline)
    return _dated_rows(s, decision, added, _start_day(sent, as_of), as_of, rng)


def _start_day(sent: object, as_of: pd.Timestamp) -> pd.Timestamp:
    """The day decisions start from: the day the list was sent (no time zone), else as-of."""
    return (pd.Timestamp(sent).tz_localize(None) if sent is not None
            and pd.Timestamp(sent).tzinfo else pd.Timestamp(sent if sent is not None
                                                            else as_of)).normalize()


def _decide(listed: np.ndarray, before: np.ndarray, u: np.ndarray, p_agree: np.ndarray,
            p_add: np.ndarray, *, review: float, supported: float, decline: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Each child's decision from its uniform draws (empty: not decided) and who was added."""
    reviewed = listed & (u[0] < review)
    already = reviewed & (before | (u[1] < supported))
    offer = reviewed & ~already & (u[2] < p_agree)
    added = ~listed & (u[3] < p_add)
    offered = offer | added
    declined = offered & (u[4] < decline)
    decision = np.select(
        [listed & ~reviewed, already, offered & declined, offered, reviewed],
        ["not_reviewed", "already_supported", "declined", "offered", "not_needed"], "")
    return decision, added


def _dated_rows(s: pd.DataFrame, decision: np.ndarray, added: np.ndarray,
                start: pd.Timestamp, as_of: pd.Timestamp, rng: np.random.Generator
                ) -> pd.DataFrame:
    """The decided children's rows, each with a drawn reason and a date after ``start``."""
    n = len(s)
    keep = decision != ""
    days = rng.integers(1, 22, n)
    reason = np.where(decision == "not_needed", np.array(_NOT_NEEDED)[
        rng.integers(0, len(_NOT_NEEDED), n)], "")
    reason = np.where(added, np.array(_ADDED)[rng.integers(0, len(_ADDED), n)], reason)
    reason = np.where(decision == "declined", "family declined", reason)
    dates = pd.Series(start + pd.to_timedelta(days, unit="D"))
    dates[decision == "not_reviewed"] = pd.NaT
    out = pd.DataFrame({"child_id": s["child_id"].astype(str), "scoring_month":
                        as_of.strftime("%Y-%m"), "decision": decision, "reason": reason,
                        "decision_date": dates})
    out = out[keep].reset_index(drop=True)
    out["decision_date"] = out["decision_date"].dt.strftime("%Y-%m-%d").fillna("")
    return out


def plant_help(tables: dict, offers: pd.DataFrame, *, effect: float, horizon_months: int = 6,
               seed: int = 0) -> tuple[dict, dict]:
    """Change a council's tables as if help offered to some children lowered escalation.

    Each child with an offer is *helped* with probability ``effect`` (one draw per child);
    for a helped child, every escalation in the ``horizon_months`` after each of their offers
    is undone: an early-help episode closing ``escalated`` then closes ``needs_met``, and a
    social-care episode starting then is removed. So for a child offered help on a date,
    the chance of escalating within the horizon after it is ``1 - effect`` times the chance
    without help, exactly.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The contract tables (only ``episodes`` changes).
    offers : DataFrame
        ``child_id`` and ``as_of`` (the list's date) of each offer of help.
    effect : float
        From 0 (help does nothing) to 1 (help prevents every escalation).
    horizon_months : int
    seed : int

    Returns
    -------
    (dict, dict)
        The tables (``episodes`` replaced) and what was done: ``effect``,
        ``horizon_months``, ``children_offered``, ``children_helped``,
        ``closures_changed``, ``social_care_removed``.

    Examples
    --------
    >>> ep = pd.DataFrame({"episode_id": ["E1", "E2"], "child_id": ["C1", "C1"],
    ...     "service": ["early_help_pathway", "cin"],
    ...     "start_date": pd.to_datetime(["2024-01-10", "2024-03-02"]),
    ...     "end_date": pd.to_datetime(["2024-03-01", None]),
    ...     "closure_reason": ["escalated", None]})
    >>> offers = pd.DataFrame({"child_id": ["C1"], "as_of": pd.to_datetime(["2024-02-01"])})
    >>> t, rec = plant_help({"episodes": ep}, offers, effect=1.0)
    >>> t["episodes"][["episode_id", "closure_reason"]].values.tolist(), rec["children_helped"]
    ([['E1', 'needs_met']], 1)
    """
    if not 0 <= float(effect) <= 1:
        raise InputError(f"--help-effect: must be from 0 to 1, got {effect}")
    ep = tables["episodes"].copy()
    o, children, helped = _helped_offers(offers, effect, horizon_months, seed)
    change, drop = _undone(ep, o)
    reason = ep["closure_reason"].astype(object).to_numpy().copy()
    reason[change] = "needs_met"
    ep["closure_reason"] = pd.array(reason, dtype=ep["closure_reason"].dtype) \
        if str(ep["closure_reason"].dtype) != "object" else reason
    keep = np.ones(len(ep), bool)
    keep[drop] = False
    out = dict(tables)
    out["episodes"] = ep[keep].reset_index(drop=True)
    return out, {"effect": float(effect), "horizon_months": int(horizon_months),
                 "children_offered": int(len(children)), "children_helped": len(helped),
                 "closures_changed": int(len(change)), "social_care_removed": int(len(drop))}


def _helped_offers(offers: pd.DataFrame, effect: float, horizon_months: int, seed: int
                   ) -> tuple[pd.DataFrame, np.ndarray, set]:
    """The offers to helped children (drawn once per child) with their horizon's end."""
    o = offers[["child_id", "as_of"]].copy()
    o["child_id"] = o["child_id"].astype(str)
    o["as_of"] = pd.to_datetime(o["as_of"])
    children = np.sort(o["child_id"].unique())
    rng = np.random.default_rng([int(seed), 7331])
    helped = set(children[rng.uniform(size=len(children)) < float(effect)])
    o = o[o["child_id"].isin(helped)]
    o["until"] = o["as_of"] + pd.DateOffset(months=int(horizon_months))
    return o, children, helped


def _undone(ep: pd.DataFrame, o: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions of escalated closures and of social-care starts within a helped horizon."""
    ep_child = ep["child_id"].astype(str)
    rows = ep.assign(_i=np.arange(len(ep)), child_id=ep_child).merge(o, on="child_id")
    eh = rows["service"].isin(EARLY_HELP_SERVICES) & rows["closure_reason"].eq("escalated") \
        & (rows["end_date"] > rows["as_of"]) & (rows["end_date"] <= rows["until"])
    sc = rows["service"].isin(SOCIAL_CARE_SERVICES) & (rows["start_date"] > rows["as_of"]) \
        & (rows["start_date"] <= rows["until"])
    change = np.unique(rows.loc[eh, "_i"].to_numpy())
    drop = np.unique(rows.loc[sc, "_i"].to_numpy())
    return change, drop
