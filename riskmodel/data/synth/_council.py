"""The synthetic council: children in families, contacts, ACEs and episodes with known truth.

The simulation is event based and vectorised over children. Each family and child gets fixed
traits (locality, ethnicity, deprivation, ACEs, an unrecorded latent need); contacts arrive as
Poisson events (household events reach every child of the family, child events one child);
each contact may lead, through the front door, to early help or social care. A child's
episodes then follow one another: the next episode starts from the first "converting" contact
after the child is free again, so the only Python loop runs over episode number, not children.

An early-help episode's closure follows competing cause-specific hazards fixed at its start and
computed only from what was recorded before the start (plus a small latent term), with a
shared Weibull time shape, so the probability of each outcome in any window has a closed form:
that is the truth written to ``truth.parquet``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.special import ndtr

import riskmodel.data.synth._params as P
from riskmodel._core.dates import parse_date
from riskmodel._core.errors import InputError
from riskmodel.data._contract import (
    ACE_FACTORS,
    CONTACT_OUTCOMES,
    CONTRACT_VERSION,
    DISABILITY,
    ETHNICITY,
    NEEDS,
    SEX,
    SOURCES,
    TOXIC_TRIO,
    TRIAGE_LEVELS,
)

_BIG = np.int64(1 << 20)  # > any day number we use; keys are child * _BIG + day
_INF = np.int64(1 << 19)
_EPOCH = np.datetime64("1970-01-01", "D")
_YEAR = 365.25
_ADULT = 6574 - 30  # no new contacts in the month before the 18th birthday
_PREBIRTH = 180     # household events reach an unborn child in the last 180 days
_SERVICES_EH = ("early_help_pathway", "targeted_support", "fsw_intervention")
_SERVICES_SC = ("cin", "cp", "lac")
_STREAM_POP, _STREAM_CONTACTS, _STREAM_EPISODES = 0, 1, 2
_STREAM_BIAS = 9
_BIAS_COLUMNS = {"ethnicity": ETHNICITY, "sex": SEX, "disability": DISABILITY}
_BIAS_SOURCES = ("police", "school")

TRUTH_COLUMNS = ("child_id", "as_of", "p_escalation_6m", "p_escalation_12m",
                 "p_disengagement_6m", "p_disengagement_12m")


# --------------------------------------------------------------------------- small helpers ----

def _day(value, name: str) -> int:
    return int((np.datetime64(parse_date(value, f"--{name}").date(), "D") - _EPOCH)
               .astype(np.int64))


def _dates(days: np.ndarray) -> np.ndarray:
    return _EPOCH + days.astype("timedelta64[D]")


def _is_first_of_month(days: np.ndarray) -> np.ndarray:
    d = _dates(days)
    return d == d.astype("datetime64[M]").astype("datetime64[D]")


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Add whole months to first-of-month days."""
    d = _dates(days).astype("datetime64[M]") + months
    return (d.astype("datetime64[D]") - _EPOCH).astype(np.int64)


def _months_before(days: np.ndarray, months: int) -> np.ndarray:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    d = _dates(days)
    month = d.astype("datetime64[M]")
    day = (d - month.astype("datetime64[D]")).astype(np.int64)
    earlier = month - months
    length = ((earlier + 1).astype("datetime64[D]") - earlier.astype("datetime64[D]")).astype(
        np.int64)
    out = earlier.astype("datetime64[D]") + np.minimum(day, length - 1)
    return (out - _EPOCH).astype(np.int64)


def _age_years(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Age in whole years at ``at`` (negative before birth)."""
    d, a = _dates(dob), _dates(at)
    dy, ay = d.astype("datetime64[Y]"), a.astype("datetime64[Y]")
    dm, am = d.astype("datetime64[M]"), a.astype("datetime64[M]")
    before = ((am - ay) < (dm - dy)) | (((am - ay) == (dm - dy)) & ((a - am) < (d - dm)))
    return (ay - dy).astype(np.int64) - before


def _age_band(dob: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index into ``AGE_BANDS`` (0 = unborn)."""
    age = _age_years(dob, at)
    band = np.searchsorted(np.asarray(P.AGE_BAND_START[1:]), age, side="right")
    return np.where(at < dob, 0, band)


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows x k) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def _weights(table: dict, names: tuple[str, ...]) -> np.ndarray:
    return np.array([table.get(k, 0.0) for k in names], dtype=float)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- referral bias ----

@dataclass(frozen=True)
class _Bias:
    column: str
    value: str
    factor: float


def parse_referral_bias(specs) -> tuple[_Bias, ...]:
    """Parse ``column=value:factor`` strings; raise InputError naming the option."""
    if specs is None:
        return ()
    if isinstance(specs, str):
        specs = [specs]
    out = []
    for spec in specs:
        text = str(spec).strip()
        head, sep, factor = text.rpartition(":")
        column, eq, value = head.partition("=")
        column, value = column.strip(), value.strip()
        try:
            f = float(factor) if sep else float("nan")
        except ValueError:
            f = float("nan")
        if not (sep and eq) or column not in _BIAS_COLUMNS:
            raise InputError(
                f"--referral-bias: '{text}' is not column=value:factor with column one of "
                f"{', '.join(_BIAS_COLUMNS)} (e.g. ethnicity=black:2.0)")
        if value not in _BIAS_COLUMNS[column]:
            raise InputError(f"--referral-bias: '{text}': {column} has no value '{value}' "
                             f"(one of {', '.join(_BIAS_COLUMNS[column])})")
        if not np.isfinite(f) or f < 1.0 or f > 20.0:
            raise InputError(f"--referral-bias: '{text}': factor must be a number from 1 to 20")
        out.append(_Bias(column, value, f))
    return tuple(out)


# --------------------------------------------------------------------------- the simulation ---

@dataclass
class SyntheticCouncil:
    """A simulated council held in memory.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The four contract tables, typed as :func:`riskmodel.data.coerce_tables` types them.
    truth : DataFrame
        ``child_id``, ``as_of`` and the true probabilities of each outcome within 6 and
        12 months, for every child with an early-help episode open at each quarterly date.
    manifest : dict
        Every parameter, the seed, the extract date, the calibration targets and the
        generated values, and the documented drivers of each outcome.
    detail : DataFrame
        One row per truth row: ``episode_id``, the probabilities with the latent term
        removed (``q_...``) and what the simulation then did (``y_...``, 0/1, known even
        past the extract date). For checks and documentation, not written to disk.
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    manifest: dict
    detail: pd.DataFrame = field(repr=False)
    _arrow: dict = field(default_factory=dict, repr=False)


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
    for k, f in enumerate(ACE_FACTORS):
        slope = P.ACE_LATENT_SLOPE * P.ACE_SLOPE_SCALE.get(f, 1.0)
        if f in P.HOUSEHOLD_ACES:
            p = _sigmoid(P.ACE_INTERCEPT[f] + slope * lat_f)
            ace[:, k] = (rp.random(nf) < p)[fam]
        else:
            p = _sigmoid(P.ACE_INTERCEPT[f] + slope * latent)
            ace[:, k] = rp.random(n) < p
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
    for j, need in enumerate(P.HOUSEHOLD_NEEDS):
        if need in P.NEED_ACE:
            has = fam_any[ev_fam, ACE_FACTORS.index(P.NEED_ACE[need])]
            need_w[:, j] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
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
    cb_child, cb_lo, cb_len, cb_band = [], [], [], []
    for b, (a0, a1) in enumerate(zip(bounds, bounds[1:] + [None], strict=True), start=1):
        b0 = dob + int(round(a0 * _YEAR))
        b1 = dob + (int(round(a1 * _YEAR)) if a1 is not None else _ADULT)
        lo_b, hi_b = np.maximum(b0, start), np.minimum(b1 - 1, end)
        ok = hi_b >= lo_b
        cb_child.append(np.flatnonzero(ok))
        cb_lo.append(lo_b[ok])
        cb_len.append((hi_b - lo_b + 1)[ok])
        cb_band.append(np.full(ok.sum(), b))
    cb_child, cb_lo = np.concatenate(cb_child), np.concatenate(cb_lo)
    cb_len, cb_band = np.concatenate(cb_len), np.concatenate(cb_band)
    dis_mult = _weights(P.DISABILITY_RATE, DISABILITY)[dis]
    rate_c = (P.CHILD_RATE / _YEAR * demand[fam] * dis_mult
              * np.exp(P.RATE_LATENT * latent + P.RATE_ACE * n_ace))
    n_cev = rc.poisson(rate_c[cb_child] * np.asarray(P.CHILD_RATE_AGE)[cb_band] * cb_len)
    seg = np.repeat(np.arange(len(cb_child)), n_cev)
    cc_child = cb_child[seg]
    cc_date = cb_lo[seg] + np.floor(rc.random(len(seg)) * cb_len[seg]).astype(np.int64)
    cc_age = _age_years(dob[cc_child], cc_date)
    need_w = np.tile(_weights(P.NEED_WEIGHT, P.CHILD_NEEDS), (len(seg), 1))
    for j, need in enumerate(P.CHILD_NEEDS):
        need_w[:, j] *= cc_age >= P.NEED_MIN_AGE[need]
        if need in P.NEED_ACE:
            has = ace[cc_child, ACE_FACTORS.index(P.NEED_ACE[need])]
            need_w[:, j] *= np.where(has, np.exp(P.NEED_ACE_LOGMULT), 1.0)
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
    k = rc.geometric(P.ACE_DISCLOSE_P, len(ci))
    ok = k <= ncont[ci]
    ace_rec = np.full((n, len(ACE_FACTORS)), _INF, dtype=np.int64)
    ace_rec[ci[ok], fi[ok]] = rdate[coff[ci[ok]] + k[ok] - 1]

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
        ok = j < m
        ok[ok] &= child[j[ok]] == act[ok]
        act, j = act[ok], j[ok]
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


_EH_KEYS = ("child", "start", "raw", "end", "duration", "cause", "service", "triage",
            "triage_end", "rate", "rate0", "scale", "pi", "pi0", "contact", "xe", "xd")
_SC_KEYS = ("child", "start", "end", "service", "reason", "contact")


def _stack(rows: list[dict], keys: tuple[str, ...]) -> dict:
    if not rows:
        width = {"pi": 5, "pi0": 5, "xe": len(P.ESCALATION_DRIVERS),
                 "xd": len(P.DISENGAGEMENT_DRIVERS)}
        return {k: (np.empty((0, width[k])) if k in width else np.empty(0, np.int64))
                for k in keys}
    return {k: np.concatenate([r[k] for r in rows]) for k in keys}


def _driver_values(c, s, cum, keyr, ace_rec, trio, prior_dis, dob, loc_c, imd_c, latent):
    """The value of every documented driver for episodes of children ``c`` starting on ``s``."""
    # contacts recorded in the 12 calendar months before the start: [s - 12 months, s)
    lo = np.searchsorted(keyr, c * _BIG + _months_before(s, 12), side="left")
    hi = np.searchsorted(keyr, c * _BIG + s, side="left")
    n12 = {k: v[hi] - v[lo] for k, v in cum.items()}
    before = ace_rec[c] < s[:, None]
    toxic = before[:, trio].sum(axis=1)
    total = before.sum(axis=1)
    age = _age_years(dob[c], s)
    imd = imd_c[c]
    return {
        "ace_toxictrio": toxic,
        "ace_other": total - toxic,
        "contacts_police_12m": n12["police"],
        "contacts_school_12m": n12["school"],
        "contacts_neglect_12m": n12["neglect"],
        "contacts_domestic_abuse_12m": n12["domestic_abuse"],
        "contacts_substance_misuse_12m": n12["substance_misuse"],
        "age_under_1": (age < 1).astype(np.int64),
        "age_12_plus": (age >= 12).astype(np.int64),
        "age_16_plus": (age >= 16).astype(np.int64),
        "prior_disengaged": prior_dis[c],
        "imd_deprived": np.where(imd > 0, (5.5 - imd) / 4.5, 0.0),
        "locality_demand": np.log(np.asarray(P.LOCALITY_DEMAND)[loc_c[c]]),
        "latent": latent[c],
    }


def _linear(drivers: tuple, x: dict, *, latent: bool = True) -> np.ndarray:
    out = 0.0
    for name, coef, cap, _what, _feature in drivers:
        if name == "latent" and not latent:
            continue
        v = np.minimum(x[name], cap) if cap is not None else x[name]
        out = out + coef * v
    return out


def _early_help(rng, c, s, cum, keyr, ace_rec, ace, trio, prior_dis, dob, loc_c, imd_c, latent):
    """Start early-help episodes: triage, service, hazards, closure time and cause."""
    x = _driver_values(c, s, cum, keyr, ace_rec, trio, prior_dis, dob, loc_c, imd_c, latent)
    k = len(c)
    sev = (0.45 * x["ace_toxictrio"] + 0.25 * np.minimum(x["contacts_police_12m"], 4)
           + 0.12 * x["ace_other"] + 0.3 * np.minimum(x["contacts_neglect_12m"], 3)
           + 0.15 * np.minimum(x["contacts_domestic_abuse_12m"], 3)
           + P.SEVERITY_NOISE * rng.standard_normal(k))
    triage = np.searchsorted(np.asarray(P.TRIAGE_CUTS), sev, side="right")
    svc_w = np.array([_weights(P.SERVICE_GIVEN_TRIAGE[t], _SERVICES_EH) for t in TRIAGE_LEVELS])
    service = _pick(rng, svc_w[triage])
    x["triage_orange"] = (triage == 3).astype(np.int64)
    base = np.array([P.CAUSE_INTERCEPT[v] for v in _SERVICES_EH])[service]  # (k, 5)
    eta = base.copy()
    eta[:, 1] += _linear(P.ESCALATION_DRIVERS, x)
    eta[:, 2] += _linear(P.DISENGAGEMENT_DRIVERS, x)
    eta0 = base.copy()
    eta0[:, 1] += _linear(P.ESCALATION_DRIVERS, x, latent=False)
    eta0[:, 2] += _linear(P.DISENGAGEMENT_DRIVERS, x, latent=False)
    pace = np.asarray(P.LOCALITY_PACE)[loc_c[c]]
    h, h0 = np.exp(eta), np.exp(eta0)
    rate, rate0 = pace * h.sum(axis=1), pace * h0.sum(axis=1)
    scale = np.array([P.DURATION_SCALE[v] for v in _SERVICES_EH])[service]
    t = scale * (rng.exponential(1.0, k) / rate) ** (1.0 / P.DURATION_SHAPE)
    cause = _pick(rng, h)
    raw = s + np.maximum(np.ceil(t).astype(np.int64), 1)
    end = raw + _is_first_of_month(raw)  # never close on the 1st: as-of dates are 1sts
    tri_end = np.where(cause == 0, np.maximum(triage - (rng.random(k) < 0.7), 0),
                       np.where(cause == 1, 3, triage))
    return dict(child=c, start=s, raw=raw, end=end, duration=t, cause=cause, service=service,
                triage=triage, triage_end=tri_end, rate=rate, rate0=rate0, scale=scale,
                pi=h / h.sum(axis=1, keepdims=True), pi0=h0 / h0.sum(axis=1, keepdims=True),
                xe=_capped(P.ESCALATION_DRIVERS, x), xd=_capped(P.DISENGAGEMENT_DRIVERS, x))


def _capped(drivers: tuple, x: dict) -> np.ndarray:
    cols = [np.minimum(x[name], cap) if cap is not None else x[name]
            for name, _coef, cap, _what, _feature in drivers]
    return np.column_stack(cols).astype(float)


def _social_care(rng, c, s, service, contact) -> dict:
    median = np.array([P.SC_MEDIAN_DAYS[v] for v in _SERVICES_SC])[service]
    dur = np.maximum(np.round(median * np.exp(P.SC_DURATION_SIGMA * rng.standard_normal(len(c)))),
                     7).astype(np.int64)
    reason = rng.choice(2, len(c), p=_weights(P.SC_CLOSURE, ("needs_met", "transferred")))
    return dict(child=c, start=s, end=s + dur, service=service, reason=reason, contact=contact)


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
    return dict(contacts=contacts, aces=aces, truth=truth)


def _group_mask(sim: dict, bias: _Bias) -> np.ndarray:
    if bias.column == "ethnicity":
        names = tuple(P.ETHNICITY_WEIGHT)
        return sim["eth"][sim["fam"]] == names.index(bias.value)
    codes = sim["sex"] if bias.column == "sex" else sim["dis"]
    return codes == _BIAS_COLUMNS[bias.column].index(bias.value)


def _add_bias(contacts: dict, sim: dict, bias: _Bias, rng, start: int, end: int) -> dict:
    group = _group_mask(sim, bias)
    src = np.array([SOURCES.index(x) for x in _BIAS_SOURCES])
    base = (~contacts["spurious"]) & group[contacts["child"]] & np.isin(contacts["source"], src)
    idx = np.flatnonzero(base)
    extra = rng.poisson(bias.factor - 1.0, len(idx))
    idx = np.repeat(idx, extra)
    k = len(idx)
    c = contacts["child"][idx]
    cdate = contacts["cdate"][idx] + rng.integers(-90, 91, k)
    rdate = cdate + rng.choice(np.array([0, 1, 2, 3]), k)
    dob = sim["dob"][c]
    ok = ((cdate >= np.maximum(start, dob - _PREBIRTH)) & (cdate < dob + _ADULT)
          & (rdate <= end) & (cdate <= sim["reloc"][c]))
    add = {
        "child": c, "cdate": cdate, "rdate": rdate, "need": contacts["need"][idx],
        "source": contacts["source"][idx], "conv": np.zeros(k, np.int64),
        "trigger": np.zeros(k, np.int8),
        "outcome": np.where(rng.random(k) < 0.7, CONTACT_OUTCOMES.index("nfa"),
                            CONTACT_OUTCOMES.index("signposted")),
        "rag": np.where(rng.random(k) < 0.8, 3, 2), "spurious": np.ones(k, dtype=bool),
    }
    return {key: np.concatenate([contacts[key], add[key][ok]]) for key in contacts}


# --------------------------------------------------------------------------- assembling ------

def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _names(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    codes = np.asarray(codes, dtype=np.int64)
    return pa.array(list(names), type=pa.string()).take(pa.array(codes, mask=codes < 0))


def _date_array(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32(), mask=missing)


def _quarters(start: int, end: int) -> np.ndarray:
    months = np.arange(_dates(np.array([start])).astype("datetime64[M]")[0],
                       _dates(np.array([end])).astype("datetime64[M]")[0] + 1)
    months = months[months.astype(np.int64) % 3 == 0]
    days = (months.astype("datetime64[D]") - _EPOCH).astype(np.int64)
    return days[(days > start) & (days <= end)]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> the package's in-memory types (as ``coerce_tables`` gives them)."""
    out = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_date32(col.type):
            out[name] = pd.to_datetime(col.to_numpy(zero_copy_only=False)).astype(
                "datetime64[ns]")
        elif pa.types.is_integer(col.type):
            out[name] = pd.array(col.to_pylist(), dtype="Int64") if col.null_count else \
                pd.array(col.to_numpy(), dtype="Int64")
        elif pa.types.is_string(col.type):
            out[name] = col.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out)


def simulate_council(n_children: int = 20_000, *, seed: int = 1, start="2019-01-01",
                     end="2025-12-31", referral_bias=None) -> SyntheticCouncil:
    """Simulate a synthetic council in memory, with known truth.

    Parameters
    ----------
    n_children : int
        Number of children (whole families; the last family is cut to fit).
    seed : int
        Random seed. The same seed and options always give the same council.
    start, end : str or date
        First simulated day and the extract date (nothing happens after ``end``).
    referral_bias : list of str, optional
        ``column=value:factor`` (e.g. ``"ethnicity=black:2.0"``): multiply that group's
        police and school contacts by ``factor`` with spurious contacts that never enter any
        hazard, so the truth is unchanged. Off by default.

    Returns
    -------
    SyntheticCouncil

    Examples
    --------
    >>> from riskmodel.data import simulate_council
    >>> council = simulate_council(500, seed=3)
    >>> sorted(council.tables)
    ['ace_factors', 'children', 'contacts', 'episodes']
    >>> list(council.truth.columns)[:2]
    ['child_id', 'as_of']
    """
    if isinstance(n_children, bool) or not isinstance(n_children, (int, np.integer)) \
            or n_children < 1:
        raise InputError(f"--children: must be a whole number of at least 1, got {n_children!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"--seed: must be a whole number of at least 0, got {seed!r}")
    s, e = _day(start, "start"), _day(end, "end")
    if e - s < 365:
        raise InputError(f"--end: {end} must be at least a year after --start {start}")
    biases = parse_referral_bias(referral_bias)
    n_children, seed = int(n_children), int(seed)
    sizes = _population(n_children, seed)
    quarters = _quarters(s, e)
    first = np.cumsum(sizes) - sizes
    chunk_of = first // P.CHUNK_CHILDREN

    parts = []
    child_off = fam_off = 0
    for k in np.unique(chunk_of):
        fs = sizes[chunk_of == k]
        sim = _simulate_chunk(fs, int(k), seed, s, e)
        fin = _finish_chunk(sim, int(k), seed, s, e, quarters, biases)
        parts.append((child_off, fam_off, sim, fin))
        child_off += sim["n"]
        fam_off += sim["nf"]
    return _assemble(parts, seed=seed, n_children=n_children, start=s, end=e, biases=biases,
                     specs=referral_bias)


def _cat(parts, get) -> np.ndarray:
    return np.concatenate([get(co, fo, sim, fin) for co, fo, sim, fin in parts])


def _assemble(parts, *, seed, n_children, start, end, biases, specs) -> SyntheticCouncil:
    eth_names = tuple(P.ETHNICITY_WEIGHT)
    # children
    fam = _cat(parts, lambda co, fo, sim, fin: fo + sim["fam"])
    imd = _cat(parts, lambda co, fo, sim, fin: sim["imd"][sim["fam"]])
    children = pa.table({
        "child_id": _ids("C", np.arange(1, n_children + 1), 7),
        "family_id": _ids("F", fam + 1, 7),
        "date_of_birth": _date_array(_cat(parts, lambda co, fo, sim, fin: sim["dob"])),
        "sex": _names(SEX, _cat(parts, lambda co, fo, sim, fin: sim["sex"])),
        "ethnicity": _names(eth_names, _cat(parts, lambda co, fo, sim, fin:
                                            sim["eth"][sim["fam"]])),
        "disability": _names(DISABILITY, _cat(parts, lambda co, fo, sim, fin: sim["dis"])),
        "locality": _names(P.LOCALITIES, _cat(parts, lambda co, fo, sim, fin:
                                              sim["loc"][sim["fam"]])),
        "imd_decile": pa.array(imd, type=pa.int64(), mask=imd == 0),
    })

    # contacts: genuine ones numbered first (same ids with or without referral bias)
    def ct(key):
        return _cat(parts, lambda co, fo, sim, fin: fin["contacts"][key] + np.int32(co)
                    if key == "child" else fin["contacts"][key])
    c_child, c_cdate, spurious = ct("child").astype(np.int64), ct("cdate"), ct("spurious")
    number = np.empty(len(c_child), dtype=np.int64)
    number[~spurious] = np.arange(1, (~spurious).sum() + 1)
    number[spurious] = np.arange((~spurious).sum() + 1, len(c_child) + 1)
    o = np.lexsort((number, c_cdate, c_child))
    rag = ct("rag")[o]
    contacts = pa.table({
        "contact_id": _ids("K", number[o], 9),
        "child_id": _ids("C", c_child[o] + 1, 7),
        "contact_date": _date_array(c_cdate[o]),
        "recorded_date": _date_array(ct("rdate")[o]),
        "source": _names(SOURCES, ct("source")[o]),
        "need": _names(NEEDS, ct("need")[o]),
        "mash_rag": _names(("red", "amber", "green"), np.where(rag == 3, -1, rag)),
        "outcome": _names(CONTACT_OUTCOMES, ct("outcome")[o]),
    })

    # ace factors
    a_child = _cat(parts, lambda co, fo, sim, fin: co + fin["aces"]["child"])
    a_factor = _cat(parts, lambda co, fo, sim, fin: fin["aces"]["factor"])
    a_date = _cat(parts, lambda co, fo, sim, fin: fin["aces"]["rdate"])
    o = np.lexsort((a_factor, a_date, a_child))
    aces = pa.table({
        "child_id": _ids("C", a_child[o] + 1, 7),
        "factor": _names(ACE_FACTORS, a_factor[o]),
        "recorded_date": _date_array(a_date[o]),
    })

    # episodes: early help, then social care (dropping those after the extract date)
    def eh(key):
        return _cat(parts, lambda co, fo, sim, fin: sim["eh"][key] + (co if key == "child"
                                                                      else 0))

    def sc(key):
        return _cat(parts, lambda co, fo, sim, fin: sim["sc"][key] + (co if key == "child"
                                                                      else 0))
    n_eh = len(eh("child"))
    cause, dur = eh("cause"), eh("duration")
    eh_reason = np.choose(cause, [0, 1, 2, 4, 5])  # CLOSURE_REASONS order
    eh_reason = np.where((cause == 2) & (dur < P.DECLINED_WITHIN_DAYS), 3, eh_reason)
    sc_keep = sc("start") <= end
    ep_child = np.concatenate([eh("child"), sc("child")[sc_keep]])
    ep_start = np.concatenate([eh("start"), sc("start")[sc_keep]])
    ep_end = np.concatenate([eh("end"), sc("end")[sc_keep]])
    ep_service = np.concatenate([np.asarray([0, 2, 1])[eh("service")],  # contract order
                                 3 + sc("service")[sc_keep]])
    ep_reason = np.concatenate([eh_reason, np.where(sc("reason")[sc_keep] == 0, 0, 4)])
    # The contract requires a triage level on every episode; social care sits above the
    # early-help levels, so its episodes carry the highest one (orange).
    ep_tri_s = np.concatenate([eh("triage"), np.full(sc_keep.sum(), 3)])
    ep_tri_e = np.concatenate([eh("triage_end"), np.full(sc_keep.sum(), 3)])
    is_open = ep_end > end
    o = np.lexsort((ep_service, ep_start, ep_child))
    ep_number = np.empty(len(o), dtype=np.int64)
    ep_number[o] = np.arange(1, len(o) + 1)
    from riskmodel.data._contract import CLOSURE_REASONS, SERVICES
    episodes = pa.table({
        "episode_id": _ids("E", ep_number[o], 8),
        "child_id": _ids("C", ep_child[o] + 1, 7),
        "service": _names(SERVICES, ep_service[o]),
        "start_date": _date_array(ep_start[o]),
        "end_date": _date_array(np.where(is_open, 0, ep_end)[o], is_open[o]),
        "closure_reason": _names(CLOSURE_REASONS, np.where(is_open, -1, ep_reason)[o]),
        "triage_start": _names(TRIAGE_LEVELS, ep_tri_s[o]),
        "triage_end": _names(TRIAGE_LEVELS, np.where(is_open, -1, ep_tri_e)[o]),
    })

    # truth (and detail for checks)
    def tr(key):
        return _cat(parts, lambda co, fo, sim, fin: fin["truth"][key] + (co if key == "child"
                                                                         else 0))
    eh_off = np.cumsum([0] + [len(sim["eh"]["child"]) for _co, _fo, sim, _fin in parts])
    t_episode = np.concatenate([eh_off[i] + fin["truth"]["episode"]
                                for i, (_co, _fo, _sim, fin) in enumerate(parts)])
    t_child, t_asof = tr("child"), tr("as_of")
    o = np.lexsort((t_child, t_asof))
    truth = pa.table({"child_id": _ids("C", t_child[o] + 1, 7),
                      "as_of": _date_array(t_asof[o]),
                      **{c: pa.array(tr(c)[o], type=pa.float64()) for c in TRUTH_COLUMNS[2:]}})
    detail = _to_pandas(truth.select(["child_id", "as_of"]))
    detail["episode_id"] = pd.array(_ids("E", ep_number[:n_eh][t_episode[o]], 8).to_pylist(),
                                    dtype="string")
    for key in sorted(parts[0][3]["truth"]):
        if key[:2] in ("p_", "q_", "y_"):
            detail[key] = tr(key)[o]

    arrow = {"children": children, "contacts": contacts, "ace_factors": aces,
             "episodes": episodes}
    tables = {k: _to_pandas(v) for k, v in arrow.items()}
    council = SyntheticCouncil(tables=tables, truth=_to_pandas(truth), manifest={},
                               detail=detail, _arrow=dict(arrow, truth=truth))
    xe = np.concatenate([sim["eh"]["xe"] for _co, _fo, sim, _fin in parts])
    xd = np.concatenate([sim["eh"]["xd"] for _co, _fo, sim, _fin in parts])
    council.manifest = _manifest(council, seed=seed, n_children=n_children,
                                 n_families=int(fam.max()) + 1, start=start, end=end,
                                 biases=biases, xe=xe, xd=xd)
    return council


# --------------------------------------------------------------------------- manifest --------

def _jsonable(value):
    if isinstance(value, (MappingProxyType, dict)):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _parameters() -> dict:
    skip = {"TARGET_", "TOLERANCE_PP", "ESCALATION_DRIVERS", "DISENGAGEMENT_DRIVERS"}
    return {name.lower(): _jsonable(getattr(P, name)) for name in dir(P)
            if name.isupper() and not any(name.startswith(s) for s in skip)}


def _targets() -> dict:
    return {
        "walsall_2016": {
            "children_per_family": P.TARGET_CHILDREN_PER_FAMILY,
            "ace_count_bands": P.TARGET_ACE_BANDS, "age_bands": P.TARGET_AGE_BANDS,
            "ace_prevalence": P.TARGET_ACE_PREVALENCE, "top_five_needs": P.TARGET_TOP_NEEDS,
        },
        "warwickshire_2020": {"closure_shares": P.TARGET_CLOSURE,
                              "fsw_mean_weeks": P.TARGET_FSW_WEEKS},
        "wolverhampton_2018": {"initiating_agency": P.TARGET_INITIATING,
                               "flow": P.TARGET_FLOW,
                               "busiest_localities": ["Wednesfield", "Whitmore Reans"]},
        "tolerance_pp": P.TOLERANCE_PP,
    }


def _drivers(xe: np.ndarray, xd: np.ndarray) -> dict:
    """Each outcome's drivers, strongest first (|coefficient| x spread over episodes)."""
    out = {}
    for outcome, drivers, x in (("escalation", P.ESCALATION_DRIVERS, xe),
                                ("disengagement", P.DISENGAGEMENT_DRIVERS, xd)):
        rows = []
        for j, (name, coef, cap, what, feature) in enumerate(drivers):
            sd = float(x[:, j].std()) if len(x) else 0.0
            rows.append({"driver": name, "coefficient": coef, "cap": cap,
                         "strength": round(abs(coef) * sd, 4), "observable": what,
                         "feature": feature[0] if feature else None,
                         "features": list(feature or ()), "observed": feature is not None})
        out[outcome] = sorted(rows, key=lambda r: -r["strength"])
    out["scale"] = ("coefficient = change in the log cause-specific hazard per unit, fixed at "
                    "the episode's start; strength = |coefficient| x standard deviation of "
                    "the (capped) driver over this council's early-help episodes")
    return out


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    ranks = pd.Series(p).rank(method="average").to_numpy()
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def truth_auc(detail: pd.DataFrame, *, extract_date) -> dict:
    """AUC of the true probabilities (and with the latent term removed) against outcomes.

    Only as-of dates whose window ends on or before the extract date are used.
    """
    extract = pd.Timestamp(extract_date)
    as_of = detail["as_of"].to_numpy().astype("datetime64[M]")
    out = {}
    for outcome in ("escalation", "disengagement"):
        for months in (6, 12):
            ok = (as_of + months).astype("datetime64[ns]") <= extract.to_datetime64()
            y = detail[f"y_{outcome}_{months}m"].to_numpy()[ok]
            if not len(y) or y.min() == y.max():
                continue
            p = _auc(y, detail[f"p_{outcome}_{months}m"].to_numpy()[ok])
            q = _auc(y, detail[f"q_{outcome}_{months}m"].to_numpy()[ok])
            out[f"{outcome}_{months}m"] = {"rows": int(ok.sum()), "rate": round(y.mean(), 4),
                                           "auc_truth": round(p, 4),
                                           "auc_without_latent": round(q, 4),
                                           "gap": round(p - q, 4)}
    return out


def _manifest(council: SyntheticCouncil, *, seed, n_children, n_families, start, end, biases,
              xe, xd) -> dict:
    from riskmodel._core.version import __version__
    from riskmodel.data.synth._calibration import calibration_table

    extract = str(_dates(np.array([end]))[0])
    cal = calibration_table(council.tables, extract_date=extract)
    return {
        "generator": "riskmodel.data.generate_council",
        "riskmodel_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "seed": seed,
        "n_children": n_children,
        "n_families": n_families,
        "start": str(_dates(np.array([start]))[0]),
        "end": extract,
        "extract_date": extract,
        "referral_bias": [{"column": b.column, "value": b.value, "factor": b.factor,
                           "sources": list(_BIAS_SOURCES)} for b in biases],
        "rows": {k: len(v) for k, v in council.tables.items()} | {"truth": len(council.truth)},
        "truth": {
            "as_of": "1 January, April, July and October after the start, up to the extract",
            "cohort": "children with an early-help episode open at the as-of date",
            "columns": list(TRUTH_COLUMNS),
            "auc": truth_auc(council.detail, extract_date=extract),
        },
        "drivers": _drivers(xe, xd),
        "targets": _jsonable(_targets()),
        "calibration": _jsonable(cal.to_dict(orient="records")),
        "parameters": _parameters(),
    }


# --------------------------------------------------------------------------- writing ---------

_FILES = ("children", "contacts", "ace_factors", "episodes", "truth")


def _write_folder(council: SyntheticCouncil, folder: Path) -> None:
    for name in _FILES:
        pq.write_table(council._arrow[name], folder / f"{name}.parquet", compression="zstd")
    text = json.dumps(council.manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def write_council(council: SyntheticCouncil, out: str | os.PathLike) -> Path:
    """Write a simulated council atomically: a killed run never leaves a half-written one.

    A new or empty folder is built beside ``out`` and renamed into place. Into a folder that
    already holds other files, the council is built in a hidden temporary folder inside it,
    the old ``manifest.json`` is removed first and the new one is moved in last, so a folder
    with a manifest always holds a complete council.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}.", dir=out.parent))
        try:
            _write_folder(council, tmp)
            if out.exists():
                out.rmdir()
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-synth.", dir=out))
    try:
        _write_folder(council, tmp)
        (out / "manifest.json").unlink(missing_ok=True)
        for name in _FILES:
            os.replace(tmp / f"{name}.parquet", out / f"{name}.parquet")
        os.replace(tmp / "manifest.json", out / "manifest.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def generate_council(n_children: int = 20_000, *, seed: int = 1, out, start="2019-01-01",
                     end="2025-12-31", referral_bias=None) -> Path:
    """Generate a synthetic council and write it to ``out``.

    Writes ``children``, ``contacts``, ``ace_factors``, ``episodes`` and ``truth`` as
    Parquet (dates as date32, ids as strings, empty values as nulls) and ``manifest.json``
    (every parameter, the seed, the extract date, the calibration targets with the generated
    values, the truth's AUC and the documented drivers). The same seed and options give the
    same bytes.

    Parameters
    ----------
    n_children : int
        Number of children.
    seed : int
        Random seed.
    out : path-like
        Folder to write into (created if needed).
    start, end : str or date
        First simulated day and the extract date.
    referral_bias : list of str, optional
        ``column=value:factor`` specs, see :func:`simulate_council`.

    Returns
    -------
    pathlib.Path
        The folder written.

    Examples
    --------
    >>> import tempfile
    >>> from riskmodel.data import generate_council
    >>> out = generate_council(n_children=300, seed=1, out=tempfile.mkdtemp())
    >>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['ace_factors.parquet', 'children.parquet', 'contacts.parquet', 'episodes.parquet',
     'manifest.json', 'truth.parquet']
    """
    council = simulate_council(n_children, seed=seed, start=start, end=end,
                               referral_bias=referral_bias)
    return write_council(council, out)
