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


def _simulate_chunk(sizes: np.ndarray, chunk: int, seed: int, start: int, end: int) -> dict:
    """Simulate one chunk of whole families; indices are local to the chunk."""
    rp = _rng(seed, 1, chunk, _STREAM_POP)
    rc = _rng(seed, 1, chunk, _STREAM_CONTACTS)
    rng_ep = _rng(seed, 1, chunk, _STREAM_EPISODES)
    nf, n = len(sizes), int(sizes.sum())
    fam = np.repeat(np.arange(nf), sizes)
    fam_first = np.cumsum(sizes) - sizes
    rank = np.arange(n) - fam_first[fam]

    # ---- families: locality, ethnicity, latent need, deprivation, household ACEs, birth dates
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

    # ---- children: sex, disability, latent need, ACEs
    sex = rp.choice(len(SEX), n, p=_weights(P.SEX_WEIGHT, SEX))
    dis = rp.choice(len(DISABILITY), n, p=_weights(P.DISABILITY_WEIGHT, DISABILITY))
    latent = 0.75 * lat_f[fam] + np.sqrt(1 - 0.75**2) * rp.standard_normal(n)
    ace = np.zeros((n, len(ACE_FACTORS)), dtype=bool)
    for kf, f in enumerate(ACE_FACTORS):
        slope = P.ACE_LATENT_SLOPE * P.ACE_SLOPE_SCALE.get(f, 1.0)
        if f in P.HOUSEHOLD_ACES:
            p = _sigmoid(P.ACE_INTERCEPT[f] + slope * lat_f)
            ace[:, kf] = (rp.random(nf) < p)[fam]
        else:
            p = _sigmoid(P.ACE_INTERCEPT[f] + slope * latent)
            ace[:, kf] = rp.random(n) < p
    n_ace = ace.sum(axis=1)
    hh_cols = [ACE_FACTORS.index(f) for f in P.HOUSEHOLD_ACES]
    n_ace_f = ace[fam_first][:, hh_cols].sum(axis=1)
    fam_any = np.maximum.reduceat(ace, fam_first, axis=0)  # any child of the family
    demand = np.asarray(P.LOCALITY_DEMAND)[loc]

    # ---- household events
    first_dob = dob[fam_first]
    last_dob = dob[fam_first + sizes - 1]
    w0 = np.maximum(start, first_dob - _PREBIRTH)
    w1 = np.minimum(end, last_dob + _ADULT - 1)
    rate = (P.HOUSEHOLD_RATE / _YEAR * demand
            * np.exp(P.RATE_LATENT * lat_f + P.RATE_ACE * n_ace_f))
    n_ev = rc.poisson(rate * np.maximum(w1 - w0 + 1, 0))
    ev_fam = np.repeat(np.arange(nf), n_ev)
    ev_date = w0[ev_fam] + np.floor(rc.random(len(ev_fam)) * (w1 - w0 + 1)[ev_fam]).astype(np.int64)
    need_w = np.tile(_weights(P.NEED_WEIGHT, P.HOUSEHOLD_NEEDS), (len(ev_fam), 1))
    for col, hh_need in enumerate(P.HOUSEHOLD_NEEDS):
        if hh_need in P.NEED_ACE:
            has = fam_any[ev_fam, ACE_FACTORS.index(P.NEED_ACE[hh_need])]
            need_w[:, col] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
    ev_need = np.asarray([NEEDS.index(x) for x in P.HOUSEHOLD_NEEDS])[_pick(rc, need_w)]
    src_w = np.array([_weights(P.SOURCE_GIVEN_NEED.get(x, {"other": 1.0}), SOURCES)
                      for x in NEEDS])
    ev_src = _pick(rc, src_w[ev_need])  # one event, one referrer, for every child it reaches
    ev_u = rc.random(len(ev_fam))
    # reach every child of the family present at the event
    reach = sizes[ev_fam]
    rep = np.repeat(np.arange(len(ev_fam)), reach)
    hc_child = fam_first[ev_fam][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(reach) - reach,
                                                                         reach))
    hc_date = ev_date[rep]
    present = (hc_date >= dob[hc_child] - _PREBIRTH) & (hc_date < dob[hc_child] + _ADULT)
    hc_child, hc_date, rep = hc_child[present], hc_date[present], rep[present]
    hc_need, hc_src, hc_u = ev_need[rep], ev_src[rep], ev_u[rep]

    # ---- child events, by age band
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
    dis_mult = _weights(P.DISABILITY_RATE, DISABILITY)[dis]
    rate_c = (P.CHILD_RATE / _YEAR * demand[fam] * dis_mult
              * np.exp(P.RATE_LATENT * latent + P.RATE_ACE * n_ace))
    n_cev = rc.poisson(rate_c[cb_child] * np.asarray(P.CHILD_RATE_AGE)[cb_band] * cb_len)
    seg = np.repeat(np.arange(len(cb_child)), n_cev)
    cc_child = cb_child[seg]
    cc_date = cb_lo[seg] + np.floor(rc.random(len(seg)) * cb_len[seg]).astype(np.int64)
    cc_age = _age_years(dob[cc_child], cc_date)
    need_w = np.tile(_weights(P.NEED_WEIGHT, P.CHILD_NEEDS), (len(seg), 1))
    for col, c_need in enumerate(P.CHILD_NEEDS):
        need_w[:, col] *= cc_age >= P.NEED_MIN_AGE[c_need]
        if c_need in P.NEED_ACE:
            has = ace[cc_child, ACE_FACTORS.index(P.NEED_ACE[c_need])]
            need_w[:, col] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
    cc_need = np.asarray([NEEDS.index(x) for x in P.CHILD_NEEDS])[_pick(rc, need_w)]
    cc_src = _pick(rc, src_w[cc_need])
    cc_u = rc.random(len(seg))

    # ---- all contacts: source, recording lag, front-door decision
    child = np.concatenate([hc_child, cc_child])
    cdate = np.concatenate([hc_date, cc_date])
    need = np.concatenate([hc_need, cc_need])
    source = np.concatenate([hc_src, cc_src])
    u = np.concatenate([hc_u, cc_u])
    m = len(child)
    lag = rc.choice(np.array([0, 1, 2, 3, 5, 8]), m, p=[0.4, 0.25, 0.12, 0.08, 0.1, 0.05])
    long = rc.random(m) < P.LONG_LAG_SHARE
    lag = np.where(long, rc.integers(14, 91, m), lag)
    rdate = cdate + lag
    eh_delay = rc.integers(P.EH_START_DELAY[0], P.EH_START_DELAY[1] + 1, m)
    sc_delay = rc.integers(P.SC_START_DELAY[0], P.SC_START_DELAY[1] + 1, m)
    band = _age_band(dob[child], cdate)
    p_eh = (_weights(P.EH_SOURCE, SOURCES)[source]
            * np.array([P.EH_NEED.get(x, 1.0) for x in NEEDS])[need]
            * np.asarray(P.EH_AGE)[band])
    p_sc = (_weights(P.SC_SOURCE, SOURCES)[source]
            * np.array([P.SC_NEED.get(x, P.SC_NEED_DEFAULT) for x in NEEDS])[need])
    conv = np.where(u < p_eh, 1, np.where(u < p_eh + p_sc, 2, 0))
    keep = rdate <= end  # not yet recorded at the extract date: not in the extract
    order = np.lexsort((np.arange(m), cdate, child))
    order = order[keep[order]]
    child, cdate, rdate, need, source = child[order], cdate[order], rdate[order], need[order], \
        source[order]
    conv, eh_delay, sc_delay = conv[order], eh_delay[order], sc_delay[order]
    m = len(child)
    ncont = np.bincount(child, minlength=n)
    coff = np.concatenate([[0], np.cumsum(ncont)])

    # ---- ACE disclosure at the k-th contact (k geometric), else at an early-help assessment
    ci, fi = np.nonzero(ace)
    k_th = rc.geometric(P.ACE_DISCLOSE_P, len(ci))
    told = k_th <= ncont[ci]
    ace_rec = np.full((n, len(ACE_FACTORS)), _INF, dtype=np.int64)
    ace_rec[ci[told], fi[told]] = rdate[coff[ci[told]] + k_th[told] - 1]

    # ---- the chain of episodes
    keyc = child.astype(np.int64) * _BIG + cdate
    idx = np.where(conv > 0, np.arange(m), m)
    next_conv = np.append(np.minimum.accumulate(idx[::-1])[::-1], m)
    ordr = np.lexsort((rdate, child))
    keyr = child[ordr].astype(np.int64) * _BIG + rdate[ordr]
    counts = {
        "police": source == SOURCES.index("police"),
        "school": source == SOURCES.index("school"),
        "neglect": need == NEEDS.index("neglect"),
        "domestic_abuse": need == NEEDS.index("domestic_abuse"),
        "substance_misuse": need == NEEDS.index("substance_misuse"),
    }
    cum = {k: np.concatenate([[0], np.cumsum(v[ordr])]) for k, v in counts.items()}
    trio = [ACE_FACTORS.index(f) for f in TOXIC_TRIO]
    loc_c = loc[fam]
    imd_c = imd[fam]

    free = np.full(n, start, dtype=np.int64)
    prior_dis = np.zeros(n, dtype=np.int64)
    reloc = np.full(n, _INF, dtype=np.int64)
    trigger = np.zeros(m, dtype=np.int8)
    eh_rows: list[dict] = []
    sc_rows: list[dict] = []
    act = np.arange(n)
    while act.size:
        j0 = np.searchsorted(keyc, act * _BIG + free[act])
        j = next_conv[j0]
        live = j < m
        live[live] &= child[j[live]] == act[live]
        act, j = act[live], j[live]
        kind = conv[j]
        st = np.where(kind == 1, rdate[j] + eh_delay[j], rdate[j] + sc_delay[j])
        ok = st <= end
        act, j, kind, st = act[ok], j[ok], kind[ok], st[ok]
        if not act.size:
            break
        trigger[j] = kind
        e = kind == 1
        if e.any():
            c, s = act[e], st[e]
            row = _early_help(rng_ep, c, s, cum, keyr, ace_rec, ace, trio, prior_dis, dob, loc_c,
                              imd_c, latent)
            row["contact"] = j[e]
            eh_rows.append(row)
            cause, end_d = row["cause"], row["end"]
            prior_dis[c] += cause == 2
            lag = rng_ep.integers(14, 43, len(c))
            rec = np.where(ace[c] & (ace_rec[c] > (s + lag)[:, None]), (s + lag)[:, None],
                           ace_rec[c])
            ace_rec[c] = rec
            free[c] = end_d + P.LOCKOUT_DAYS
            gone = cause == 4
            reloc[c[gone]] = end_d[gone]
            free[c[gone]] = _INF
            esc = cause == 1
            if esc.any():
                ce = c[esc]
                sc_start = end_d[esc] + rng_ep.integers(0, 2, len(ce))
                svc = rng_ep.choice(3, len(ce),
                                    p=_weights(P.SC_SERVICE_ON_ESCALATION, _SERVICES_SC))
                sc_rows.append(_social_care(rng_ep, ce, sc_start, svc, np.full(len(ce), -1)))
                free[ce] = sc_rows[-1]["end"] + 1
        s_ = kind == 2
        if s_.any():
            c, s = act[s_], st[s_]
            svc = rng_ep.choice(3, len(c), p=_weights(P.SC_SERVICE_DIRECT, _SERVICES_SC))
            sc_rows.append(_social_care(rng_ep, c, s, svc, j[s_]))
            free[c] = sc_rows[-1]["end"] + 1
        act = act[free[act] <= end]

    eh = _stack(eh_rows, _EH_KEYS)
    sc = _stack(sc_rows, _SC_KEYS)
    return dict(
        n=n, nf=nf, fam=fam, dob=dob, sex=sex, dis=dis, loc=loc, eth=eth, imd=imd,
        latent=latent, ace=ace, ace_rec=ace_rec, reloc=reloc,
        contacts=dict(child=child, cdate=cdate, rdate=rdate, need=need, source=source,
                      conv=conv, trigger=trigger),
        eh=eh, sc=sc,
    )


# --------------------------------------------------------------------------- finishing -------

def _finish_chunk(sim: dict, chunk: int, seed: int, start: int, end: int,
                  quarters: np.ndarray, biases: tuple[_Bias, ...]) -> dict:
    """Contact outcomes and MASH ratings, relocation, the extract cut, truth rows, bias."""
    ro = _rng(seed, 1, chunk, 3)
    ct, eh, sc = sim["contacts"], sim["eh"], sim["sc"]
    reloc = sim["reloc"]

    # which episode (if any) a contact falls inside
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

    m = len(ct["child"])
    trig = ct["trigger"]
    nfa, sign, to_eh, to_sc = (CONTACT_OUTCOMES.index(x) for x in
                               ("nfa", "signposted", "early_help", "social_care"))
    outcome = np.where(ro.random(m) < 0.55, nfa, sign)
    outcome = np.where(inside_kind == 1, sign, np.where(inside_kind == 2, to_sc, outcome))
    outcome = np.where(trig == 1, to_eh, np.where(trig == 2, to_sc, outcome))
    # MASH RAG: 0 red, 1 amber, 2 green, 3 empty
    r = ro.random(m)
    rag = np.where(outcome == nfa, np.where(r < 0.25, 2, 3), np.where(r < 0.55, 2, 3))
    rag = np.where(inside_kind == 2, np.where(r < 0.5, 1, 3), rag)
    rag = np.where(ct["conv"] == 2, np.where(r < 0.4, 0, 1), rag)
    rag = np.where(trig == 1, np.where(r < 0.88, 2, 1), rag)
    sc_direct = sc["contact"] >= 0
    sc_rag = np.where(sc["service"][sc_direct] == 0, 1, 0)  # cin: amber; cp/lac: red
    rag[sc["contact"][sc_direct]] = sc_rag

    keep = ct["cdate"] <= reloc[ct["child"]]
    trig_start = trigger_starts(ct, eh, sc)[keep]  # for the knowledge dates (no draw)
    contacts = {k: v[keep] for k, v in ct.items()}
    contacts["outcome"], contacts["rag"] = outcome[keep], rag[keep]
    contacts["spurious"] = np.zeros(keep.sum(), dtype=bool)

    # ACE records known at the extract date
    ci, fi = np.nonzero(sim["ace_rec"] <= np.minimum(end, reloc)[:, None])
    aces = dict(child=ci, factor=fi, rdate=sim["ace_rec"][ci, fi])

    # truth rows: every quarterly date t with the episode open at t (start < t <= raw end)
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

    # planted referral bias: spurious police and school contacts from their own stream
    for b, bias in enumerate(biases):
        contacts = _add_bias(contacts, sim, bias, _rng(seed, 1, chunk, _STREAM_BIAS, b),
                             start, end)
    # keep only what assembling needs, compactly (a million children hold 16M contacts)
    for key in ("contacts", "ace", "ace_rec", "latent"):
        sim.pop(key)
    small = {"child": np.int32, "cdate": np.int32, "rdate": np.int32, "need": np.int8,
             "source": np.int8, "outcome": np.int8, "rag": np.int8}
    contacts = {k: contacts[k].astype(t) for k, t in small.items()} | {
        "spurious": contacts["spurious"]}
    truth = {k: (v.astype(np.int8) if k.startswith("y_") else v) for k, v in truth.items()}
    return dict(contacts=contacts, aces=aces, truth=truth, trigger_start=trig_start)
