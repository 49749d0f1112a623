"""Simulating the synthetic council one chunk of whole families at a time.

The simulation is event based and vectorised over children. Each family and child gets fixed
traits (locality, ethnicity, deprivation, ACEs, an unrecorded latent need); contacts arrive as
Poisson events (household events reach every child of the family, child events one child);
each contact may lead, through the front door, to early help or social care. A child's
episodes then follow one another: the next episode starts from the first "converting" contact
after the child is free again, so the only Python loop runs over episode number, not children.

:func:`_simulate_chunk` does that; :func:`_finish_chunk` then decides contact outcomes and MASH
ratings, cuts at relocation and the extract date, computes the truth rows (see
:mod:`riskmodel.data.synth._episodes`) and plants any referral bias. Indices are local to the
chunk; :mod:`riskmodel.data.synth._assemble` joins the chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

import riskmodel.data.synth._params as P
from riskmodel.data._contract import (
    ACE_FACTORS,
    CONTACT_OUTCOMES,
    DISABILITY,
    NEEDS,
    SEX,
    SOURCES,
    TOXIC_TRIO,
)
from riskmodel.data.synth._bias import _add_bias, _Bias
from riskmodel.data.synth._dates import (
    _ADULT,
    _BIG,
    _INF,
    _PREBIRTH,
    _YEAR,
    _add_months,
    _age_band,
    _age_years,
)
from riskmodel.data.synth._draws import _pick, _rng, _sigmoid, _weights
from riskmodel.data.synth._episodes import (
    _EH_KEYS,
    _SC_KEYS,
    _SERVICES_SC,
    _early_help,
    _social_care,
    _stack,
)
from riskmodel.data.synth._knowledge import trigger_starts

_STREAM_POP, _STREAM_CONTACTS, _STREAM_EPISODES = 0, 1, 2
_STREAM_BIAS = 9


def _population(n_children: int, seed: int) -> np.ndarray:
    """Family sizes summing exactly to ``n_children``."""
    rng = _rng(seed, 0)
    w = np.asarray(P.FAMILY_SIZE_WEIGHT) / np.sum(P.FAMILY_SIZE_WEIGHT)
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n_children:
        sizes = np.concatenate([sizes, rng.choice(np.arange(1, len(w) + 1), max(n_children, 16),
                                                  p=w)])
    cum = np.cumsum(sizes)
    last = int(np.searchsorted(cum, n_children))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= cum[last] - n_children
    return sizes[sizes > 0]



@dataclass
class _Families:
    """Fixed traits of a chunk's families, and which family each child belongs to."""

    sizes: np.ndarray
    fam: np.ndarray
    fam_first: np.ndarray
    loc: np.ndarray
    eth: np.ndarray
    lat_f: np.ndarray
    imd: np.ndarray
    dob: np.ndarray

    @property
    def n(self) -> int:
        """Number of children in the chunk."""
        return len(self.fam)

    @property
    def nf(self) -> int:
        """Number of families in the chunk."""
        return len(self.sizes)


@dataclass
class _Population(_Families):
    """The families' traits plus each child's sex, disability, latent need and ACEs."""

    sex: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    dis: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    latent: np.ndarray = field(default_factory=lambda: np.empty(0))
    ace: np.ndarray = field(default_factory=lambda: np.empty((0, 0), bool))


@dataclass
class _Events:
    """Contacts of one origin (household or child events) before the front door."""

    child: np.ndarray
    date: np.ndarray
    need: np.ndarray
    source: np.ndarray
    u: np.ndarray


@dataclass
class _Contacts:
    """Recorded contacts sorted by child and date, with their front-door decision."""

    child: np.ndarray
    cdate: np.ndarray
    rdate: np.ndarray
    need: np.ndarray
    source: np.ndarray
    conv: np.ndarray  # 0 none, 1 early help, 2 social care
    eh_delay: np.ndarray
    sc_delay: np.ndarray


@dataclass
class _ChainIndex:
    """Lookups the episode chain needs: converting contacts and 12-month contact counts."""

    keyc: np.ndarray
    next_conv: np.ndarray
    keyr: np.ndarray
    cum: dict[str, np.ndarray]
    trio: list[int]


@dataclass
class _ChainState:
    """What changes while the episodes of a chunk are chained one after another."""

    free: np.ndarray
    prior_dis: np.ndarray
    reloc: np.ndarray
    trigger: np.ndarray
    ace_rec: np.ndarray
    eh_rows: list[dict[str, Any]] = field(default_factory=list)
    sc_rows: list[dict[str, Any]] = field(default_factory=list)


def _families(rp: np.random.Generator, sizes: np.ndarray, start: int, end: int) -> _Families:
    """Locality, ethnicity, latent need, deprivation and birth dates of each family."""
    nf, n = len(sizes), int(sizes.sum())
    fam = np.repeat(np.arange(nf), sizes)
    fam_first = np.cumsum(sizes) - sizes
    rank = np.arange(n) - fam_first[fam]
    loc = rp.choice(len(P.LOCALITIES), nf, p=np.asarray(P.LOCALITY_WEIGHT))
    eth_names = tuple(P.ETHNICITY_WEIGHT)
    eth = rp.choice(len(eth_names), nf, p=np.asarray(list(P.ETHNICITY_WEIGHT.values())))
    lat_f = rp.standard_normal(nf)
    z = -0.6 * lat_f + np.asarray(P.LOCALITY_DEPRIVATION)[loc] - 0.5 + 0.8 * rp.standard_normal(nf)
    imd = np.clip(np.floor(ndtr(z) * 10).astype(np.int64) + 1, 1, 10)
    imd = np.where(rp.random(nf) < P.IMD_MISSING, 0, imd)  # 0 = not recorded
    gaps = rp.integers(P.SIBLING_GAP_DAYS[0], P.SIBLING_GAP_DAYS[1] + 1, n)
    gaps[rank == 0] = 0
    offset = np.cumsum(gaps) - np.cumsum(gaps)[fam_first][fam]
    span = offset[fam_first + sizes - 1]
    lo, hi = start - int(17.5 * _YEAR), end - 30
    anchor = lo + np.floor(rp.random(nf) * np.maximum(hi - lo - span, 1)).astype(np.int64)
    dob = anchor[fam] + offset
    return _Families(sizes=sizes, fam=fam, fam_first=fam_first, loc=loc, eth=eth, lat_f=lat_f,
                     imd=imd, dob=dob)


def _children(rp: np.random.Generator, f: _Families) -> _Population:
    """Sex, disability, latent need and ACEs of each child (household ACEs shared)."""
    n, nf, fam = f.n, f.nf, f.fam
    sex = rp.choice(len(SEX), n, p=_weights(P.SEX_WEIGHT, SEX))
    dis = rp.choice(len(DISABILITY), n, p=_weights(P.DISABILITY_WEIGHT, DISABILITY))
    latent = 0.75 * f.lat_f[fam] + np.sqrt(1 - 0.75**2) * rp.standard_normal(n)
    ace = np.zeros((n, len(ACE_FACTORS)), dtype=bool)
    for kf, factor in enumerate(ACE_FACTORS):
        slope = P.ACE_LATENT_SLOPE * P.ACE_SLOPE_SCALE.get(factor, 1.0)
        if factor in P.HOUSEHOLD_ACES:
            p = _sigmoid(P.ACE_INTERCEPT[factor] + slope * f.lat_f)
            ace[:, kf] = (rp.random(nf) < p)[fam]
        else:
            p = _sigmoid(P.ACE_INTERCEPT[factor] + slope * latent)
            ace[:, kf] = rp.random(n) < p
    return _Population(**vars(f), sex=sex, dis=dis, latent=latent, ace=ace)


def _source_weights() -> np.ndarray:
    """Referrer weights given each need (rows: NEEDS, columns: SOURCES)."""
    return np.array([_weights(P.SOURCE_GIVEN_NEED.get(x, {"other": 1.0}), SOURCES)
                     for x in NEEDS])


def _household_events(rc: np.random.Generator, pop: _Population, start: int, end: int
                      ) -> _Events:
    """Household events, each reaching every child of the family present on its date."""
    sizes, fam_first, dob = pop.sizes, pop.fam_first, pop.dob
    hh_cols = [ACE_FACTORS.index(f) for f in P.HOUSEHOLD_ACES]
    n_ace_f = pop.ace[fam_first][:, hh_cols].sum(axis=1)
    fam_any = np.maximum.reduceat(pop.ace, fam_first, axis=0)  # any child of the family
    demand = np.asarray(P.LOCALITY_DEMAND)[pop.loc]
    w0 = np.maximum(start, dob[fam_first] - _PREBIRTH)
    w1 = np.minimum(end, dob[fam_first + sizes - 1] + _ADULT - 1)
    rate = (P.HOUSEHOLD_RATE / _YEAR * demand
            * np.exp(P.RATE_LATENT * pop.lat_f + P.RATE_ACE * n_ace_f))
    n_ev = rc.poisson(rate * np.maximum(w1 - w0 + 1, 0))
    ev_fam = np.repeat(np.arange(pop.nf), n_ev)
    ev_date = w0[ev_fam] + np.floor(rc.random(len(ev_fam)) * (w1 - w0 + 1)[ev_fam]).astype(np.int64)
    need_w = np.tile(_weights(P.NEED_WEIGHT, P.HOUSEHOLD_NEEDS), (len(ev_fam), 1))
    for col, hh_need in enumerate(P.HOUSEHOLD_NEEDS):
        if hh_need in P.NEED_ACE:
            has = fam_any[ev_fam, ACE_FACTORS.index(P.NEED_ACE[hh_need])]
            need_w[:, col] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
    ev_need = np.asarray([NEEDS.index(x) for x in P.HOUSEHOLD_NEEDS])[_pick(rc, need_w)]
    ev_src = _pick(rc, _source_weights()[ev_need])  # one event, one referrer, for every child
    ev_u = rc.random(len(ev_fam))
    # reach every child of the family present at the event
    reach = sizes[ev_fam]
    rep = np.repeat(np.arange(len(ev_fam)), reach)
    hc_child = fam_first[ev_fam][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(reach) - reach,
                                                                         reach))
    hc_date = ev_date[rep]
    present = (hc_date >= dob[hc_child] - _PREBIRTH) & (hc_date < dob[hc_child] + _ADULT)
    rep = rep[present]
    return _Events(child=hc_child[present], date=hc_date[present], need=ev_need[rep],
                   source=ev_src[rep], u=ev_u[rep])


def _age_band_windows(dob: np.ndarray, start: int, end: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each child's days in each age band inside the window: child, first day, length, band."""
    bounds = [0, 5, 8, 12, 16]
    cb_parts: tuple[list, list, list, list] = ([], [], [], [])
    for b, (a0, a1) in enumerate(zip(bounds, bounds[1:] + [None], strict=True), start=1):
        b0 = dob + int(round(a0 * _YEAR))
        b1 = dob + (int(round(a1 * _YEAR)) if a1 is not None else _ADULT)
        lo_b, hi_b = np.maximum(b0, start), np.minimum(b1 - 1, end)
        ok = hi_b >= lo_b
        for part, got in zip(cb_parts, (np.flatnonzero(ok), lo_b[ok], (hi_b - lo_b + 1)[ok],
                                        np.full(ok.sum(), b)), strict=True):
            part.append(got)
    cb_child, cb_lo, cb_len, cb_band = (np.concatenate(part) for part in cb_parts)
    return cb_child, cb_lo, cb_len, cb_band


def _child_events(rc: np.random.Generator, pop: _Population, start: int, end: int) -> _Events:
    """Events of one child, at an age-banded rate, with needs allowed at the child's age."""
    cb_child, cb_lo, cb_len, cb_band = _age_band_windows(pop.dob, start, end)
    dis_mult = _weights(P.DISABILITY_RATE, DISABILITY)[pop.dis]
    demand = np.asarray(P.LOCALITY_DEMAND)[pop.loc]
    rate_c = (P.CHILD_RATE / _YEAR * demand[pop.fam] * dis_mult
              * np.exp(P.RATE_LATENT * pop.latent + P.RATE_ACE * pop.ace.sum(axis=1)))
    n_cev = rc.poisson(rate_c[cb_child] * np.asarray(P.CHILD_RATE_AGE)[cb_band] * cb_len)
    seg = np.repeat(np.arange(len(cb_child)), n_cev)
    cc_child = cb_child[seg]
    cc_date = cb_lo[seg] + np.floor(rc.random(len(seg)) * cb_len[seg]).astype(np.int64)
    cc_age = _age_years(pop.dob[cc_child], cc_date)
    need_w = np.tile(_weights(P.NEED_WEIGHT, P.CHILD_NEEDS), (len(seg), 1))
    for col, c_need in enumerate(P.CHILD_NEEDS):
        need_w[:, col] *= cc_age >= P.NEED_MIN_AGE[c_need]
        if c_need in P.NEED_ACE:
            has = pop.ace[cc_child, ACE_FACTORS.index(P.NEED_ACE[c_need])]
            need_w[:, col] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
    cc_need = np.asarray([NEEDS.index(x) for x in P.CHILD_NEEDS])[_pick(rc, need_w)]
    cc_src = _pick(rc, _source_weights()[cc_need])
    cc_u = rc.random(len(seg))
    return _Events(child=cc_child, date=cc_date, need=cc_need, source=cc_src, u=cc_u)


def _front_door(rc: np.random.Generator, pop: _Population, hh: _Events, cc: _Events,
                end: int) -> _Contacts:
    """Recording lag and front-door decision of every contact; keep those recorded by ``end``."""
    child = np.concatenate([hh.child, cc.child])
    cdate = np.concatenate([hh.date, cc.date])
    need = np.concatenate([hh.need, cc.need])
    source = np.concatenate([hh.source, cc.source])
    u = np.concatenate([hh.u, cc.u])
    m = len(child)
    lag = rc.choice(np.array([0, 1, 2, 3, 5, 8]), m, p=[0.4, 0.25, 0.12, 0.08, 0.1, 0.05])
    long = rc.random(m) < P.LONG_LAG_SHARE
    lag = np.where(long, rc.integers(14, 91, m), lag)
    rdate = cdate + lag
    eh_delay = rc.integers(P.EH_START_DELAY[0], P.EH_START_DELAY[1] + 1, m)
    sc_delay = rc.integers(P.SC_START_DELAY[0], P.SC_START_DELAY[1] + 1, m)
    band = _age_band(pop.dob[child], cdate)
    p_eh = (_weights(P.EH_SOURCE, SOURCES)[source]
            * np.array([P.EH_NEED.get(x, 1.0) for x in NEEDS])[need]
            * np.asarray(P.EH_AGE)[band])
    p_sc = (_weights(P.SC_SOURCE, SOURCES)[source]
            * np.array([P.SC_NEED.get(x, P.SC_NEED_DEFAULT) for x in NEEDS])[need])
    conv = np.where(u < p_eh, 1, np.where(u < p_eh + p_sc, 2, 0))
    keep = rdate <= end  # not yet recorded at the extract date: not in the extract
    order = np.lexsort((np.arange(m), cdate, child))
    order = order[keep[order]]
    return _Contacts(child=child[order], cdate=cdate[order], rdate=rdate[order],
                     need=need[order], source=source[order], conv=conv[order],
                     eh_delay=eh_delay[order], sc_delay=sc_delay[order])


def _disclose_aces(rc: np.random.Generator, ace: np.ndarray, ct: _Contacts) -> np.ndarray:
    """Record date of each ACE: at the k-th contact (k geometric), else never (yet)."""
    n = len(ace)
    ncont = np.bincount(ct.child, minlength=n)
    coff = np.concatenate([[0], np.cumsum(ncont)])
    ci, fi = np.nonzero(ace)
    k_th = rc.geometric(P.ACE_DISCLOSE_P, len(ci))
    told = k_th <= ncont[ci]
    ace_rec = np.full((n, len(ACE_FACTORS)), _INF, dtype=np.int64)
    ace_rec[ci[told], fi[told]] = ct.rdate[coff[ci[told]] + k_th[told] - 1]
    return ace_rec


def _chain_index(ct: _Contacts) -> _ChainIndex:
    """The next converting contact after each contact, and running counts by record date."""
    m = len(ct.child)
    keyc = ct.child.astype(np.int64) * _BIG + ct.cdate
    idx = np.where(ct.conv > 0, np.arange(m), m)
    next_conv = np.append(np.minimum.accumulate(idx[::-1])[::-1], m)
    ordr = np.lexsort((ct.rdate, ct.child))
    keyr = ct.child[ordr].astype(np.int64) * _BIG + ct.rdate[ordr]
    counts = {
        "police": ct.source == SOURCES.index("police"),
        "school": ct.source == SOURCES.index("school"),
        "neglect": ct.need == NEEDS.index("neglect"),
        "domestic_abuse": ct.need == NEEDS.index("domestic_abuse"),
        "substance_misuse": ct.need == NEEDS.index("substance_misuse"),
    }
    cum = {k: np.concatenate([[0], np.cumsum(v[ordr])]) for k, v in counts.items()}
    trio = [ACE_FACTORS.index(f) for f in TOXIC_TRIO]
    return _ChainIndex(keyc=keyc, next_conv=next_conv, keyr=keyr, cum=cum, trio=trio)


def _start_early_help(rng_ep: np.random.Generator, pop: _Population, ix: _ChainIndex,
                      state: _ChainState, c: np.ndarray, s: np.ndarray,
                      contact: np.ndarray) -> None:
    """Early-help episodes of children ``c`` from ``s``, and any escalation to social care."""
    row = _early_help(rng_ep, c, s, ix.cum, ix.keyr, state.ace_rec, pop.ace, ix.trio,
                      state.prior_dis, pop.dob, pop.loc[pop.fam], pop.imd[pop.fam], pop.latent)
    row["contact"] = contact
    state.eh_rows.append(row)
    cause, end_d = row["cause"], row["end"]
    state.prior_dis[c] += cause == 2
    lag = rng_ep.integers(14, 43, len(c))  # the assessment records any ACE not yet told
    state.ace_rec[c] = np.where(pop.ace[c] & (state.ace_rec[c] > (s + lag)[:, None]),
                                (s + lag)[:, None], state.ace_rec[c])
    state.free[c] = end_d + P.LOCKOUT_DAYS
    gone = cause == 4
    state.reloc[c[gone]] = end_d[gone]
    state.free[c[gone]] = _INF
    esc = cause == 1
    if esc.any():
        ce = c[esc]
        sc_start = end_d[esc] + rng_ep.integers(0, 2, len(ce))
        svc = rng_ep.choice(3, len(ce), p=_weights(P.SC_SERVICE_ON_ESCALATION, _SERVICES_SC))
        state.sc_rows.append(_social_care(rng_ep, ce, sc_start, svc, np.full(len(ce), -1)))
        state.free[ce] = state.sc_rows[-1]["end"] + 1


def _episode_chain(rng_ep: np.random.Generator, pop: _Population, ct: _Contacts,
                   ace_rec: np.ndarray, start: int, end: int) -> _ChainState:
    """Each child's episodes in turn, each from the first converting contact once free."""
    ix = _chain_index(ct)
    n, m = pop.n, len(ct.child)
    state = _ChainState(free=np.full(n, start, dtype=np.int64),
                        prior_dis=np.zeros(n, dtype=np.int64),
                        reloc=np.full(n, _INF, dtype=np.int64),
                        trigger=np.zeros(m, dtype=np.int8), ace_rec=ace_rec)
    act = np.arange(n)
    while act.size:
        j = ix.next_conv[np.searchsorted(ix.keyc, act * _BIG + state.free[act])]
        live = j < m
        live[live] &= ct.child[j[live]] == act[live]
        act, j = act[live], j[live]
        kind = ct.conv[j]
        st = np.where(kind == 1, ct.rdate[j] + ct.eh_delay[j], ct.rdate[j] + ct.sc_delay[j])
        ok = st <= end
        act, j, kind, st = act[ok], j[ok], kind[ok], st[ok]
        if not act.size:
            break
        state.trigger[j] = kind
        e = kind == 1
        if e.any():
            _start_early_help(rng_ep, pop, ix, state, act[e], st[e], j[e])
        s_ = kind == 2
        if s_.any():
            c, s = act[s_], st[s_]
            svc = rng_ep.choice(3, len(c), p=_weights(P.SC_SERVICE_DIRECT, _SERVICES_SC))
            state.sc_rows.append(_social_care(rng_ep, c, s, svc, j[s_]))
            state.free[c] = state.sc_rows[-1]["end"] + 1
        act = act[state.free[act] <= end]
    return state


def _simulate_chunk(sizes: np.ndarray, chunk: int, seed: int, start: int, end: int
                    ) -> dict[str, Any]:
    """Simulate one chunk of whole families; indices are local to the chunk."""
    rp = _rng(seed, 1, chunk, _STREAM_POP)
    rc = _rng(seed, 1, chunk, _STREAM_CONTACTS)
    rng_ep = _rng(seed, 1, chunk, _STREAM_EPISODES)
    pop = _children(rp, _families(rp, sizes, start, end))
    hh = _household_events(rc, pop, start, end)
    cc = _child_events(rc, pop, start, end)
    ct = _front_door(rc, pop, hh, cc, end)
    ace_rec = _disclose_aces(rc, pop.ace, ct)
    state = _episode_chain(rng_ep, pop, ct, ace_rec, start, end)
    return dict(
        n=pop.n, nf=pop.nf, fam=pop.fam, dob=pop.dob, sex=pop.sex, dis=pop.dis, loc=pop.loc,
        eth=pop.eth, imd=pop.imd, latent=pop.latent, ace=pop.ace, ace_rec=state.ace_rec,
        reloc=state.reloc,
        contacts=dict(child=ct.child, cdate=ct.cdate, rdate=ct.rdate, need=ct.need,
                      source=ct.source, conv=ct.conv, trigger=state.trigger),
        eh=_stack(state.eh_rows, _EH_KEYS), sc=_stack(state.sc_rows, _SC_KEYS),
    )


# --------------------------------------------------------------------------- finishing -------

def _inside_kind(ct: dict[str, np.ndarray], eh: dict[str, np.ndarray],
                 sc: dict[str, np.ndarray]) -> np.ndarray:
    """The kind of episode (0 none, 1 early help, 2 social care) each contact falls inside."""
    ep_child = np.concatenate([eh["child"], sc["child"]])
    ep_start = np.concatenate([eh["start"], sc["start"]])
    ep_end = np.concatenate([eh["end"], sc["end"]])
    ep_kind = np.concatenate([np.ones(len(eh["child"]), np.int8), np.full(len(sc["child"]), 2,
                                                                           np.int8)])
    o = np.lexsort((ep_start, ep_child))
    ep_key = ep_child[o].astype(np.int64) * _BIG + ep_start[o]
    i = np.searchsorted(ep_key, ct["child"] * _BIG + ct["cdate"], side="right") - 1
    inside_kind = np.zeros(len(ct["child"]), dtype=np.int8)
    if len(o):
        ii = o[np.maximum(i, 0)]
        inside = (i >= 0) & (ep_child[ii] == ct["child"]) & (ct["cdate"] <= ep_end[ii])
        inside_kind = np.where(inside, ep_kind[ii], 0)
    return inside_kind


def _outcome_and_rag(ro: np.random.Generator, ct: dict[str, np.ndarray],
                     sc: dict[str, np.ndarray], inside_kind: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's outcome and MASH RAG rating (0 red, 1 amber, 2 green, 3 empty)."""
    m = len(ct["child"])
    trig = ct["trigger"]
    nfa, sign, to_eh, to_sc = (CONTACT_OUTCOMES.index(x) for x in
                               ("nfa", "signposted", "early_help", "social_care"))
    outcome = np.where(ro.random(m) < 0.55, nfa, sign)
    outcome = np.where(inside_kind == 1, sign, np.where(inside_kind == 2, to_sc, outcome))
    outcome = np.where(trig == 1, to_eh, np.where(trig == 2, to_sc, outcome))
    r = ro.random(m)
    rag = np.where(outcome == nfa, np.where(r < 0.25, 2, 3), np.where(r < 0.55, 2, 3))
    rag = np.where(inside_kind == 2, np.where(r < 0.5, 1, 3), rag)
    rag = np.where(ct["conv"] == 2, np.where(r < 0.4, 0, 1), rag)
    rag = np.where(trig == 1, np.where(r < 0.88, 2, 1), rag)
    sc_direct = sc["contact"] >= 0
    sc_rag = np.where(sc["service"][sc_direct] == 0, 1, 0)  # cin: amber; cp/lac: red
    rag[sc["contact"][sc_direct]] = sc_rag
    return outcome, rag


def _truth_rows(eh: dict[str, np.ndarray], quarters: np.ndarray, end: int
                ) -> dict[str, np.ndarray]:
    """Every quarterly date t with the episode open at t (start < t <= raw end), with truth."""
    top = np.minimum(eh["raw"], end)
    lo = np.searchsorted(quarters, eh["start"], side="right")
    hi = np.searchsorted(quarters, top, side="right")
    cnt = np.maximum(hi - lo, 0)
    rep = np.repeat(np.arange(len(cnt)), cnt)
    t = quarters[lo[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt))]
    a = t - eh["start"][rep]
    truth = {"episode": rep, "child": eh["child"][rep], "as_of": t}
    for months in (6, 12):
        d = _add_months(t, months) - t
        scale = eh["scale"][rep]
        dg = ((a + d - 1) / scale) ** P.DURATION_SHAPE - ((a - 1) / scale) ** P.DURATION_SHAPE
        close = -np.expm1(-eh["rate"][rep] * dg)
        close0 = -np.expm1(-eh["rate0"][rep] * dg)
        within = eh["raw"][rep] <= t + d - 1
        for name, k in (("escalation", 1), ("disengagement", 2)):
            truth[f"p_{name}_{months}m"] = eh["pi"][rep, k] * close
            truth[f"q_{name}_{months}m"] = eh["pi0"][rep, k] * close0
            truth[f"y_{name}_{months}m"] = (within & (eh["cause"][rep] == k)).astype(np.int8)
    return {k: (v.astype(np.int8) if k.startswith("y_") else v) for k, v in truth.items()}


def _compact(contacts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Contacts in the small dtypes assembling needs (a million children hold 16M contacts)."""
    small = {"child": np.int32, "cdate": np.int32, "rdate": np.int32, "need": np.int8,
             "source": np.int8, "outcome": np.int8, "rag": np.int8}
    return {k: contacts[k].astype(t) for k, t in small.items()} | {
        "spurious": contacts["spurious"]}


def _finish_chunk(sim: dict[str, Any], chunk: int, seed: int, start: int, end: int,
                  quarters: np.ndarray, biases: tuple[_Bias, ...]) -> dict[str, Any]:
    """Contact outcomes and MASH ratings, relocation, the extract cut, truth rows, bias."""
    ro = _rng(seed, 1, chunk, 3)
    ct, eh, sc = sim["contacts"], sim["eh"], sim["sc"]
    reloc = sim["reloc"]
    outcome, rag = _outcome_and_rag(ro, ct, sc, _inside_kind(ct, eh, sc))
    keep = ct["cdate"] <= reloc[ct["child"]]
    trig_start = trigger_starts(ct, eh, sc)[keep]  # for the knowledge dates (no draw)
    contacts = {k: v[keep] for k, v in ct.items()}
    contacts["outcome"], contacts["rag"] = outcome[keep], rag[keep]
    contacts["spurious"] = np.zeros(keep.sum(), dtype=bool)
    # ACE records known at the extract date
    ci, fi = np.nonzero(sim["ace_rec"] <= np.minimum(end, reloc)[:, None])
    aces = dict(child=ci, factor=fi, rdate=sim["ace_rec"][ci, fi])
    truth = _truth_rows(eh, quarters, end)
    # planted referral bias: spurious police and school contacts from their own stream
    for b, bias in enumerate(biases):
        contacts = _add_bias(contacts, sim, bias, _rng(seed, 1, chunk, _STREAM_BIAS, b),
                             start, end)
    # keep only what assembling needs
    for key in ("contacts", "ace", "ace_rec", "latent"):
        sim.pop(key)
    return dict(contacts=_compact(contacts), aces=aces, truth=truth, trigger_start=trig_start)
