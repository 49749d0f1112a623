"""Knowledge dates and moves: values filled in later, and families that change locality.

A real extract carries values that were not known on the date they seem to describe: a MASH
rating or a contact outcome filled in days after the contact was recorded, an episode entered
weeks after the start date it carries (backdated), a child's locality and IMD decile as they are
today rather than as they were. The synthetic council plants each with known truth:

- ``mash_rag_recorded_date`` and ``outcome_recorded_date`` on contacts, ``start_recorded_date``
  and ``triage_start_recorded_date`` on episodes (delays in ``_params``: ``RATING_DELAY``,
  ``OUTCOME_DELAY``, ``EH_START_RECORDED_DELAY``, ``SC_START_RECORDED_DELAY``,
  ``TRIAGE_RECORDED_DELAY``);
- moves between localities (``MOVE_*``): a family whose child stepped up to social care moves
  far more often than others, so a locality or IMD decile read as at the extract date, at a past
  date, carries the outcome — a leak;
- ``children_history``: each child's family, locality and IMD decile from the day the council
  first recorded them, and from the move for families that moved.

Every draw comes from streams of its own (``_STREAM_KNOWLEDGE``), so every other column of
every table is byte for byte what it is without them; the ``children`` table holds the values
as at the extract (movers' new locality and IMD decile) with or without knowledge dates.

The truth is kept exact: a family moves only after every early-help episode of its children has
closed, so every hazard (which sees the family's locality demand and IMD decile at the
episode's start) and every truth row was computed with the values of the children's first
history row.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

import riskmodel.data.synth._params as P
from riskmodel.data.synth._dates import _ADULT, _INF, _YEAR
from riskmodel.data.synth._draws import _rng

_STREAM_KNOWLEDGE = 13
# sub-streams: moves; genuine contacts; spurious contacts (referral bias, drift); episodes as
# simulated (drawn before any drift); episodes a drift added
_MOVES, _CONTACTS, _SPURIOUS, _EPISODES, _EPISODES_ADDED = range(5)
_LAG_KEYS = ("start_lag", "triage_lag")


def _delay(bands, u_band: np.ndarray, u_day: np.ndarray) -> np.ndarray:
    """Days of delay from ``(share, first, last)`` bands, given two uniforms per row."""
    share = np.array([b[0] for b in bands], dtype=float)
    lo = np.array([b[1] for b in bands], dtype=np.int64)
    hi = np.array([b[2] for b in bands], dtype=np.int64)
    k = np.searchsorted(np.cumsum(share) / share.sum(), u_band, side="right")
    k = np.minimum(k, len(bands) - 1)
    return lo[k] + np.minimum(np.floor(u_day * (hi[k] - lo[k] + 1)).astype(np.int64),
                              hi[k] - lo[k])


def _episode_lags(ep: dict, bands, u: np.ndarray, rows: np.ndarray) -> None:
    ep["start_lag"][rows] = _delay(bands, u[:, 0], u[:, 1])
    ep["triage_lag"][rows] = _delay(P.TRIAGE_RECORDED_DELAY, u[:, 2], u[:, 3])


def draw_episode_lags(sim: dict, *, chunk: int, seed: int) -> None:
    """Each simulated episode's recording delays, before any drift (in place).

    Drawn before ``--drift`` changes anything, and carried through it with the episodes, so an
    episode has the same delays with or without drift; episodes a drift adds get theirs from
    :func:`fill_added_lags`.
    """
    rng = _rng(seed, 1, chunk, _STREAM_KNOWLEDGE, _EPISODES)
    for key, bands in (("eh", P.EH_START_RECORDED_DELAY), ("sc", P.SC_START_RECORDED_DELAY)):
        ep = sim[key]
        k = len(ep["child"])
        for lag in _LAG_KEYS:
            ep[lag] = np.full(k, -1, dtype=np.int64)
        _episode_lags(ep, bands, rng.random((k, 4)), np.arange(k))


def fill_added_lags(sim: dict, *, chunk: int, seed: int) -> None:
    """Delays for episodes a drift added (in place): new arrivals' early help (which copy
    their originals' rows) and social care after an escalation a drift brought forward."""
    rng = _rng(seed, 1, chunk, _STREAM_KNOWLEDGE, _EPISODES_ADDED)
    for key, bands in (("eh", P.EH_START_RECORDED_DELAY), ("sc", P.SC_START_RECORDED_DELAY)):
        ep = sim[key]
        rows = np.flatnonzero((ep["start_lag"] < 0) | ((ep["contact"] < 0) if key == "eh"
                                                      else False))
        _episode_lags(ep, bands, rng.random((len(rows), 4)), rows)


def trigger_starts(ct: dict, eh: dict, sc: dict) -> np.ndarray:
    """The start day of the episode each contact led to (``_INF`` for none)."""
    out = np.full(len(ct["child"]), _INF, dtype=np.int64)
    out[eh["contact"]] = eh["start"]
    direct = sc["contact"] >= 0
    out[sc["contact"][direct]] = sc["start"][direct]
    return out


# --------------------------------------------------------------------------- moves -----------

def _first_records(sim: dict, fin: dict, *, start: int, end: int, genuine_only: bool
                   ) -> np.ndarray:
    """Each child's first recorded day: contacts (recorded), ACEs, episode starts.

    ``genuine_only`` leaves out the spurious contacts of referral bias and drift, so that
    moves are the same with or without them. A child with no record: the later of the start
    and the date of birth.
    """
    n = sim["n"]
    first = np.full(n, _INF, dtype=np.int64)
    ct = fin["contacts"]
    keep = ~ct["spurious"] if genuine_only else np.ones(len(ct["child"]), bool)
    np.minimum.at(first, ct["child"][keep].astype(np.int64), ct["rdate"][keep].astype(np.int64))
    np.minimum.at(first, fin["aces"]["child"].astype(np.int64),
                  fin["aces"]["rdate"].astype(np.int64))
    for key in ("eh", "sc"):
        ep = sim[key]
        ok = ep["start"] <= end
        np.minimum.at(first, ep["child"][ok].astype(np.int64), ep["start"][ok])
    return np.where(first == _INF, np.maximum(start, sim["dob"]), first)


def plan_moves(sim: dict, fin: dict, *, chunk: int, seed: int, start: int, end: int) -> dict:
    """Which families move, when, and to which locality and IMD decile.

    Returns per-family arrays ``day`` (``_INF``: no move seen by the extract), ``loc``,
    ``imd`` (the new values), ``step_up`` (a child's early-help episode closed as escalated by
    the extract), ``rehoused`` (moved because of the step-up) and ``eligible`` (every
    early-help episode of the family closed by the extract, no child relocated out).
    """
    nf, fam = sim["nf"], sim["fam"]
    eh = sim["eh"]
    first = _first_records(sim, fin, start=start, end=end, genuine_only=True)
    first_max = np.full(nf, -_INF, dtype=np.int64)
    np.maximum.at(first_max, fam, first)
    youngest = np.full(nf, -_INF, dtype=np.int64)
    np.maximum.at(youngest, fam, sim["dob"])
    eh_fam = fam[eh["child"]]
    last_eh = np.full(nf, -_INF, dtype=np.int64)
    np.maximum.at(last_eh, eh_fam, eh["end"])
    step_up = np.zeros(nf, bool)
    step_up[eh_fam[(eh["cause"] == 1) & (eh["end"] <= end)]] = True
    relocated = np.zeros(nf, bool)
    relocated[fam[sim["reloc"] < _INF]] = True
    eligible = ~relocated & (last_eh <= end)
    base = np.maximum(last_eh, first_max)

    # one row of uniforms per family (families a drift adds come last and change no other's)
    u = _rng(seed, 1, chunk, _STREAM_KNOWLEDGE, _MOVES).random((nf, 6))
    u = np.clip(u, 1e-12, 1 - 1e-12)
    lo, hi = P.MOVE_STEP_UP_DELAY
    d_up = base + lo + np.minimum(np.floor(u[:, 1] * (hi - lo + 1)).astype(np.int64), hi - lo)
    wait = np.floor(-np.log1p(-u[:, 2]) / P.MOVE_RATE_OTHER * _YEAR).astype(np.int64)
    d_bg = base + 1 + np.minimum(wait, 2 * _INF)
    up = step_up & (u[:, 0] < P.MOVE_AFTER_STEP_UP)
    day = np.where(up, np.minimum(d_up, d_bg), d_bg)
    moved = eligible & (day <= end) & (day < youngest + _ADULT)
    rehoused = moved & up & (d_up <= d_bg)
    day = np.where(moved, day, _INF)

    # the new locality: any other, by weight (tilted towards deprivation when rehoused)
    loc = sim["loc"]
    dep = np.asarray(P.LOCALITY_DEPRIVATION, dtype=float)
    w = np.tile(np.asarray(P.LOCALITY_WEIGHT, dtype=float), (nf, 1))
    w[rehoused] *= np.exp(-P.MOVE_REHOUSED_TILT * dep)
    w[np.arange(nf), loc] = 0.0
    cum = np.cumsum(w, axis=1)
    new_loc = np.minimum(((u[:, 3] * cum[:, -1])[:, None] >= cum).sum(axis=1), len(dep) - 1)
    # the new IMD decile: the family's place in the deprivation scale, moved by the difference
    # between the localities (an unrecorded decile: a draw from the old locality's spread)
    imd = sim["imd"]
    z_old = np.where(imd > 0, ndtri(np.clip((np.maximum(imd, 1) - 1 + u[:, 4]) / 10, 1e-12,
                                            1 - 1e-12)),
                     dep[loc] - 0.5 + ndtri(u[:, 4]))
    z_new = (z_old + dep[new_loc] - dep[loc] + P.MOVE_REHOUSED_IMD_SHIFT * rehoused
             + P.MOVE_IMD_NOISE * ndtri(u[:, 5]))
    new_imd = np.clip(np.floor(ndtr(z_new) * 10).astype(np.int64) + 1, 1, 10)
    return dict(day=day, loc=np.where(moved, new_loc, loc), imd=np.where(moved, new_imd, imd),
                moved=moved, step_up=step_up, rehoused=rehoused, eligible=eligible)


# --------------------------------------------------------------------------- per chunk -------

def plant_knowledge(sim: dict, fin: dict, *, chunk: int, seed: int, start: int, end: int,
                    dates: bool) -> None:
    """Moves (always) and, with ``dates``, every knowledge date of one chunk (into ``fin``).

    ``fin["moves"]``: :func:`plan_moves`. With ``dates``: ``fin["knowledge"]`` holds the
    contacts' ``rag_rec`` and ``out_rec`` (aligned with ``fin["contacts"]``), the episodes'
    ``eh_rec``, ``eh_tri``, ``sc_rec``, ``sc_tri`` (aligned with ``sim["eh"]``/``["sc"]``)
    and each child's first recorded day ``first`` (the history's first ``valid_from``).
    """
    fin["moves"] = plan_moves(sim, fin, chunk=chunk, seed=seed, start=start, end=end)
    if not dates:
        return
    fill_added_lags(sim, chunk=chunk, seed=seed)
    ct = fin["contacts"]
    m = len(ct["child"])
    spurious = ct["spurious"]
    genuine = np.flatnonzero(~spurious)
    u = np.empty((m, 4))
    u[genuine] = _rng(seed, 1, chunk, _STREAM_KNOWLEDGE, _CONTACTS).random((len(genuine), 4))
    u[spurious] = _rng(seed, 1, chunk, _STREAM_KNOWLEDGE, _SPURIOUS).random(
        (int(spurious.sum()), 4))
    r_lag = _delay(P.RATING_DELAY, u[:, 0], u[:, 1])
    o_lag = np.maximum(r_lag, _delay(P.OUTCOME_DELAY, u[:, 2], u[:, 3]))
    # a contact that led to an episode was rated and decided by the day before it started
    cap = np.full(m, end, dtype=np.int64)
    cap[genuine] = np.minimum(end, fin["trigger_start"] - 1)
    rdate = ct["rdate"].astype(np.int64)
    know = {"rag_rec": np.minimum(rdate + r_lag, cap), "out_rec": np.minimum(rdate + o_lag, cap)}
    for key in ("eh", "sc"):
        ep = sim[key]
        top = np.minimum(ep["end"], end)  # never entered after it closed, nor after the extract
        rec = np.minimum(ep["start"] + ep["start_lag"], top)
        know[f"{key}_rec"] = rec
        know[f"{key}_tri"] = np.minimum(rec + ep["triage_lag"], top)
    # (an episode's start is never a child's first record: the contact it came from is earlier)
    know["first"] = _first_records(sim, fin, start=start, end=end, genuine_only=False)
    fin["knowledge"] = know
