"""Episodes of the synthetic council: the documented drivers, early help and social care.

An early-help episode's closure follows competing cause-specific hazards fixed at its start and
computed only from what was recorded before the start (plus a small latent term), with a
shared Weibull time shape, so the probability of each outcome in any window has a closed form:
that is the truth written to ``truth.parquet``. Social-care episodes have a log-normal length
and close as needs met or transferred.
"""

from __future__ import annotations

import numpy as np

import riskmodel.data.synth._params as P
from riskmodel.data._contract import TRIAGE_LEVELS
from riskmodel.data.synth._dates import _BIG, _age_years, _is_first_of_month, _months_before
from riskmodel.data.synth._draws import _pick, _weights

_SERVICES_EH = ("early_help_pathway", "targeted_support", "fsw_intervention")
_SERVICES_SC = ("cin", "cp", "lac")
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
    out: np.ndarray | float = 0.0
    for name, coef, cap, _what, _feature in drivers:
        if name == "latent" and not latent:
            continue
        v = np.minimum(x[name], cap) if cap is not None else x[name]
        out = out + coef * v
    return np.asarray(out)


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
