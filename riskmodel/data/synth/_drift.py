"""Planted changes from a date (``--drift``), so that monitoring can be tested on known truth.

Three kinds, each from its own random stream, applied to every chunk after it is simulated:

- ``recording:DATE[:FACTOR[:SOURCE]]``: from DATE every contact from SOURCE (default
  ``police``) is recorded FACTOR times (default 2: "one agency's contacts double", as a new
  referral form might do). The copies never reach the front door or any hazard (like the
  referral-bias copies), so episodes, outcomes and the truth are unchanged: only the
  recording moved.
- ``population:DATE[:FACTOR]``: on DATE the council takes over the cases of children like
  the adolescents (12 to 17) open to early help on that date (say a youth service merged into
  early help): FACTOR - 1 new children for each (default 2: the adolescents on the list
  double). Each arrives with the contacts and ACEs recorded about the child it copies (new
  child and family ids) and starts an early-help episode on DATE whose hazards are that
  child's; its closure is drawn afresh from DATE and the truth follows it. The mix of
  children changes; what a given child's record means does not.
- ``risk:DATE[:FACTOR]``: from DATE the escalation hazard of every open early-help episode is
  FACTOR times what its recorded history gives (default 2): the same inputs now lead to
  escalation more often. An extra competing escalation hazard from DATE (exact, by the
  memoryless competing-risks construction) closes some episodes earlier as escalated, with
  social care after; the child's later episodes are dropped; the truth of every window that
  reaches past DATE is recomputed piecewise with the new hazard.

- ``season:MONTH[:SHARE[:SOURCE]]``: every year, from the start (so the training years hold
  it too), SHARE (default 0.7) of the contacts from SOURCE (default ``school``) made in MONTH
  are not recorded, drawn from those that led to no episode: no episode, hazard or truth
  changes, only what the front door recorded (schools closed in August).
- ``decay:DATE[:SHARE]``: from DATE each escalation, with chance SHARE (default 0.5), is moved
  to another child chosen at random among those open to early help at that moment: that
  child's episode closes as escalated then (the social care moves with it), the first closes
  without escalating at the same time, and both children's later episodes are dropped. No
  contact or ACE changes: a loss of signal in the outcomes alone. The truth's outcomes
  (``y_``) follow exactly; its probabilities stay what the records give, so after DATE they
  no longer describe the outcomes (that is the point).

Nothing before DATE changes for any child already in the council (the copies of
``population`` bring their earlier contacts, so locality-wide rates before DATE include
them). The manifest's ``drift`` lists what was planted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import riskmodel.data.synth._params as P
from riskmodel._core.errors import InputError
from riskmodel.data._contract import CONTACT_OUTCOMES, SOURCES
from riskmodel.data.synth._dates import (
    _ADULT,
    _INF,
    _add_months,
    _age_years,
    _dates,
    _day,
    _is_first_of_month,
)
from riskmodel.data.synth._draws import _pick, _rng, _weights
from riskmodel.data.synth._episodes import _SERVICES_SC, _social_care

KINDS = ("recording", "population", "risk", "season", "decay")
_STREAM_DRIFT = 11
_ADOLESCENT = (12, 17)


@dataclass(frozen=True)
class Drift:
    """One planted change: ``kind``, the day it starts, its factor and (recording) source."""

    kind: str
    day: int
    factor: float = 2.0
    source: str = "police"
    month: int = 0

    @property
    def date(self) -> str:
        return str(_dates(np.array([self.day]))[0])

    def describe(self) -> dict:
        """The manifest's record of the change, in words and numbers."""
        words = {
            "recording": f"from {self.date} every contact from {self.source} is recorded "
                         f"{self.factor:g} times (extra records only; no hazard changes)",
            "population": f"on {self.date} children like each adolescent "
                          f"({_ADOLESCENT[0]} to {_ADOLESCENT[1]}) open to early help arrive, "
                          f"{self.factor - 1:g} for each, and start early help that day",
            "risk": f"from {self.date} the escalation hazard of every open early-help episode "
                    f"is {self.factor:g} times what its record gives",
            "season": f"every year (from the start) {self.factor:.0%} of the contacts from "
                      f"{self.source} made in month {self.month} are not recorded (those that "
                      "led to no episode); no hazard changes",
            "decay": f"from {self.date} {self.factor:.0%} of the escalations are moved, each to "
                     "another child open to early help at that moment; inputs unchanged, the "
                     "truth's probabilities no longer describe the outcomes after the date",
        }[self.kind]
        out = {"kind": self.kind, "from": self.date, "factor": self.factor, "what": words}
        if self.kind in ("recording", "season"):
            out["source"] = self.source
        if self.kind == "season":
            out.update({"from": None, "month": self.month, "share": self.factor})
        if self.kind == "decay":
            out["share"] = self.factor
        return out


def _share(text: str, value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = float("nan")
    if not np.isfinite(share) or not 0.0 < share <= 1.0:
        raise InputError(f"--drift: '{text}': the share must be a number above 0, at most 1")
    return share


def _source(text: str, source: str) -> str:
    if source not in SOURCES:
        raise InputError(f"--drift: '{text}': no contact source '{source}' (one of "
                         f"{', '.join(SOURCES)})")
    return source


def _parse_season(text: str, parts: list[str]) -> Drift:
    """``season:MONTH[:SHARE[:SOURCE]]``: every year, SHARE of SOURCE's contacts of MONTH go
    unrecorded (default 0.7 of school contacts)."""
    try:
        month = int(parts[1])
    except ValueError:
        month = 0
    if not 1 <= month <= 12:
        raise InputError(f"--drift: '{text}': season needs a month from 1 to 12, e.g. "
                         "season:8:0.7:school")
    share = _share(text, parts[2]) if len(parts) > 2 and parts[2] else 0.7
    source = _source(text, parts[3] if len(parts) > 3 else "school")
    return Drift("season", 0, share, source, month)


def parse_drift(specs, *, start: int, end: int) -> tuple[Drift, ...]:
    """Parse ``kind:DATE[:FACTOR[:SOURCE]]`` strings; raise InputError naming the option.

    ``season:MONTH[:SHARE[:SOURCE]]`` (every year) and ``decay:DATE[:SHARE]`` take a share
    from 0 to 1 (defaults 0.7 of school contacts, and 0.5) rather than a factor.

    Examples
    --------
    >>> from riskmodel.data.synth._dates import _day
    >>> s, e = _day("2019-01-01", "start"), _day("2025-12-31", "end")
    >>> [d.describe()["what"] for d in parse_drift(["risk:2025-06-01:3"], start=s, end=e)]
    ['from 2025-06-01 the escalation hazard of every open early-help episode is 3 times what \
its record gives']
    >>> parse_drift("recording:2025-06-01:2:school", start=s, end=e)[0].source
    'school'
    >>> [(d.kind, d.month, d.factor) for d in parse_drift(["season:8:0.7", "decay:2025-01-01:0.6"],
    ...                                                   start=s, end=e)]
    [('season', 8, 0.7), ('decay', 0, 0.6)]
    """
    if specs is None:
        return ()
    if isinstance(specs, str):
        specs = [specs]
    out = []
    most = {"recording": 4, "season": 4}
    for spec in specs:
        text = str(spec).strip()
        parts = [p.strip() for p in text.split(":")]
        if len(parts) < 2 or parts[0] not in KINDS or len(parts) > most.get(parts[0], 3):
            raise InputError(
                f"--drift: '{text}' is not KIND:DATE[:FACTOR] with KIND one of "
                f"{', '.join(KINDS)} (recording may add :SOURCE; season is "
                "season:MONTH[:SHARE[:SOURCE]]), e.g. risk:2025-06-01:2")
        if parts[0] == "season":
            out.append(_parse_season(text, parts))
            continue
        day = _day(parts[1], "drift")
        if not start < day <= end:
            raise InputError(f"--drift: '{text}': the date must fall after the start and on or "
                             "before the extract date")
        if parts[0] == "decay":
            out.append(Drift("decay", day, _share(text, parts[2]) if len(parts) > 2
                             and parts[2] else 0.5))
            continue
        try:
            factor = float(parts[2]) if len(parts) > 2 and parts[2] else 2.0
        except ValueError:
            factor = float("nan")
        if not np.isfinite(factor) or factor < 1.0 or factor > 20.0:
            raise InputError(f"--drift: '{text}': factor must be a number from 1 to 20")
        source = _source(text, parts[3] if len(parts) > 3 else "police")
        out.append(Drift(parts[0], day, factor, source))
    return tuple(out)


def apply_drift(sim: dict, fin: dict, drifts: tuple[Drift, ...], *, chunk: int, seed: int,
                end: int, quarters: np.ndarray) -> None:
    """Plant every change in one simulated chunk (in place): population, then risk, decay,
    recording and season, so that a later change also reaches what an earlier one added."""
    order = {"population": 0, "risk": 1, "decay": 2, "recording": 3, "season": 4}
    for i, d in sorted(enumerate(drifts), key=lambda x: order[x[1].kind]):
        rng = _rng(seed, 1, chunk, _STREAM_DRIFT, i)
        if d.kind == "population":
            _population(sim, fin, d, rng, end, quarters)
        elif d.kind == "risk":
            _risk(sim, fin, d, rng, end, quarters)
        elif d.kind == "decay":
            _decay(sim, fin, d, rng, end)
        elif d.kind == "season":
            _season(fin, d, rng)
        else:
            _recording(sim, fin, d, rng, end)


# --------------------------------------------------------------------------- helpers -------

def _g(x, scale):
    """The Weibull time scale: cumulative hazard per unit of rate at ``x`` days."""
    return (np.maximum(x, 0.0) / scale) ** P.DURATION_SHAPE


def _copies(rng, n: int, factor: float) -> np.ndarray:
    """FACTOR - 1 copies each on average: the whole part always, the rest by chance."""
    whole, frac = divmod(factor - 1.0, 1.0)
    return (int(whole) + (rng.random(n) < frac)).astype(np.int64)


def _rows_of(owner: np.ndarray, wanted: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose ``owner`` is each of ``wanted`` in turn (with repeats), and which turn."""
    order = np.argsort(owner, kind="stable")
    count = np.bincount(owner, minlength=size)
    first = np.concatenate([[0], np.cumsum(count)])
    k = count[wanted]
    pos = np.repeat(first[wanted], k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
    return order[pos], np.repeat(np.arange(len(wanted)), k)


def _append(table: dict, add: dict) -> None:
    """Append rows; a key ``add`` lacks (an episode's recording delays, drawn later) is -1."""
    k = len(next(iter(add.values())))
    for key in table:
        extra = add[key] if key in add else np.full(k, -1)
        table[key] = np.concatenate([table[key], np.asarray(extra).astype(table[key].dtype)])


def _window(truth: dict, eh: dict, rows: np.ndarray, months: int, *, drift: Drift | None):
    """Probabilities of each cause over (t, t + months] for truth ``rows`` (piecewise around
    a risk change when ``drift`` is given) and whether the episode closed inside it."""
    ep = truth["episode"][rows]
    t = truth["as_of"][rows]
    d = _add_months(t, months) - t
    a = t - eh["start"][ep]
    scale = eh["scale"][ep]
    lo, hi = a - 1.0, a + d - 1.0
    within = eh["raw"][ep] <= t + d - 1
    out = {}
    for suffix, rate, pi in (("p", eh["rate"][ep], eh["pi"][ep]),
                             ("q", eh["rate0"][ep], eh["pi0"][ep])):
        if drift is None:
            probs = pi * (-np.expm1(-rate * (_g(hi, scale) - _g(lo, scale))))[:, None]
        else:
            a0 = np.maximum(drift.day - eh["start"][ep], 0).astype(float)
            mid = np.clip(a0, lo, hi)
            boost = 1.0 + (drift.factor - 1.0) * pi[:, 1]
            new_pi = pi.copy()
            new_pi[:, 1] *= drift.factor
            new_pi /= boost[:, None]
            before = -np.expm1(-rate * (_g(mid, scale) - _g(lo, scale)))
            after = -np.expm1(-rate * boost * (_g(hi, scale) - _g(mid, scale)))
            probs = pi * before[:, None] + ((1.0 - before) * after)[:, None] * new_pi
        out[suffix] = probs
    return out, within


def _set_truth(truth: dict, eh: dict, rows: np.ndarray, *, drift: Drift | None = None) -> None:
    """(Re)compute the truth columns of ``rows`` from the episodes' hazards and closures."""
    cause = eh["cause"][truth["episode"][rows]]
    for months in (6, 12):
        probs, within = _window(truth, eh, rows, months, drift=drift)
        for name, k in (("escalation", 1), ("disengagement", 2)):
            truth[f"p_{name}_{months}m"][rows] = probs["p"][:, k]
            truth[f"q_{name}_{months}m"][rows] = probs["q"][:, k]
            truth[f"y_{name}_{months}m"][rows] = (within & (cause == k)).astype(np.int8)


def _close(rng, eh_rows: dict, start: np.ndarray) -> None:
    """Draw the closure of new early-help episodes starting on ``start`` (as ``_early_help``)."""
    k = len(start)
    rate, scale = eh_rows["rate"], eh_rows["scale"]
    t = scale * (rng.exponential(1.0, k) / rate) ** (1.0 / P.DURATION_SHAPE)
    cause = _pick(rng, eh_rows["pi"])
    raw = start + np.maximum(np.ceil(t).astype(np.int64), 1)
    triage = eh_rows["triage"]
    eh_rows.update(start=start, raw=raw, end=raw + _is_first_of_month(raw), duration=t,
                   cause=cause,
                   triage_end=np.where(cause == 0, np.maximum(triage - (rng.random(k) < 0.7), 0),
                                       np.where(cause == 1, 3, triage)))


def _escalate_to_social_care(rng, sim: dict, child: np.ndarray, end: np.ndarray) -> None:
    if not len(child):
        return
    start = end + rng.integers(0, 2, len(child))
    svc = rng.choice(3, len(child), p=_weights(P.SC_SERVICE_ON_ESCALATION, _SERVICES_SC))
    _append(sim["sc"], _social_care(rng, child, start, svc, np.full(len(child), -1)))


# --------------------------------------------------------------------------- the changes ---

def _recording(sim: dict, fin: dict, d: Drift, rng, end: int) -> None:
    ct = fin["contacts"]
    base = np.flatnonzero((ct["source"] == SOURCES.index(d.source)) & (ct["cdate"] >= d.day))
    idx = np.repeat(base, _copies(rng, len(base), d.factor))
    k = len(idx)
    c = ct["child"][idx].astype(np.int64)
    cdate = ct["cdate"][idx].astype(np.int64) + rng.integers(0, 8, k)
    rdate = cdate + rng.choice(np.array([0, 1, 2, 3]), k)
    ok = (rdate <= end) & (cdate < sim["dob"][c] + _ADULT) & (cdate <= sim["reloc"][c])
    add = {
        "child": c, "cdate": cdate, "rdate": rdate, "need": ct["need"][idx],
        "source": ct["source"][idx],
        "outcome": np.where(rng.random(k) < 0.7, CONTACT_OUTCOMES.index("nfa"),
                            CONTACT_OUTCOMES.index("signposted")),
        "rag": np.where(rng.random(k) < 0.8, 3, 2), "spurious": np.ones(k, dtype=bool),
    }
    _append(ct, {key: v[ok] for key, v in add.items()})


def _population(sim: dict, fin: dict, d: Drift, rng, end: int, quarters: np.ndarray) -> None:
    eh = sim["eh"]
    age = _age_years(sim["dob"][eh["child"]], np.full(len(eh["child"]), d.day))
    open_at = (eh["start"] < d.day) & (eh["end"] >= d.day)
    pick = np.flatnonzero(open_at & (age >= _ADOLESCENT[0]) & (age <= _ADOLESCENT[1]))
    src = np.repeat(pick, _copies(rng, len(pick), d.factor))
    k = len(src)
    if not k:
        return
    n, nf = sim["n"], sim["nf"]
    orig = eh["child"][src]
    new = n + np.arange(k)
    fam = sim["fam"]
    for key in ("loc", "eth", "imd"):  # family-level traits: each arrival is a family of one
        sim[key] = np.concatenate([sim[key], sim[key][fam[orig]]])
    for key in ("dob", "sex", "dis", "reloc"):
        sim[key] = np.concatenate([sim[key], sim[key][orig]])
    sim["fam"] = np.concatenate([fam, nf + np.arange(k)])
    sim["n"], sim["nf"] = n + k, nf + k
    # their records: every contact and ACE recorded about the child each one copies
    ct = fin["contacts"]
    rows, which = _rows_of(ct["child"].astype(np.int64), orig, n)
    # numbered after the genuine contacts (as bias copies are), so no earlier id moves
    _append(ct, {key: (new[which] if key == "child" else np.ones(len(rows), bool)
                       if key == "spurious" else ct[key][rows]) for key in ct})
    aces = fin["aces"]
    rows, which = _rows_of(aces["child"].astype(np.int64), orig, n)
    _append(aces, {key: new[which] if key == "child" else aces[key][rows] for key in aces})
    # an early-help episode from the date, with the copied child's hazards, closing afresh
    add = {key: eh[key][src].copy() for key in eh}
    add["child"], add["contact"] = new, np.full(k, -1)
    _close(rng, add, np.full(k, d.day, dtype=np.int64))
    first = len(eh["child"])
    _append(eh, add)
    esc = add["cause"] == 1
    _escalate_to_social_care(rng, sim, new[esc], add["end"][esc])
    # the truth at every quarterly date each new episode is open
    top = np.minimum(add["raw"], end)
    lo = np.searchsorted(quarters, add["start"], side="right")
    hi = np.searchsorted(quarters, top, side="right")
    cnt = np.maximum(hi - lo, 0)
    rep = np.repeat(np.arange(k), cnt)
    t = quarters[lo[rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt))]
    truth = fin["truth"]
    start_row = len(truth["episode"])
    _append(truth, {key: (first + rep if key == "episode" else new[rep] if key == "child"
                          else t if key == "as_of" else np.zeros(len(rep))) for key in truth})
    _set_truth(truth, eh, np.arange(start_row, len(truth["episode"])))


def _risk(sim: dict, fin: dict, d: Drift, rng, end: int, quarters: np.ndarray) -> None:
    eh, sc, truth = sim["eh"], sim["sc"], fin["truth"]
    if d.factor == 1.0 or not len(eh["child"]):
        return
    # an extra competing escalation hazard (factor - 1) x the episode's own, from the date
    s, scale = eh["start"], eh["scale"]
    a0 = np.maximum(d.day - s, 0).astype(float)
    extra = (d.factor - 1.0) * eh["pi"][:, 1] * eh["rate"]
    g = _g(a0, scale) + rng.exponential(1.0, len(s)) / np.maximum(extra, 1e-300)
    t_x = scale * g ** (1.0 / P.DURATION_SHAPE)
    raw_x = s + np.maximum(np.ceil(t_x).astype(np.int64), 1)
    fire = (eh["raw"] > d.day) & (extra > 0) & (raw_x < eh["raw"])
    idx = np.flatnonzero(fire)
    eh["raw"][idx] = raw_x[idx]
    eh["end"][idx] = raw_x[idx] + _is_first_of_month(raw_x[idx])
    eh["duration"][idx] = t_x[idx]
    eh["cause"][idx] = 1
    eh["triage_end"][idx] = 3
    # a child escalated earlier than before has none of its later episodes
    cutoff = np.full(sim["n"], _INF, dtype=np.int64)
    np.minimum.at(cutoff, eh["child"][idx], eh["end"][idx])
    keep_eh = eh["start"] <= cutoff[eh["child"]]
    keep_sc = sc["start"] <= cutoff[sc["child"]]
    for key in sc:
        sc[key] = sc[key][keep_sc]
    new_index = np.cumsum(keep_eh) - 1
    rows = keep_eh[truth["episode"]]
    for key in truth:
        truth[key] = truth[key][rows]
    truth["episode"] = new_index[truth["episode"]]
    fired = fire[keep_eh]
    for key in eh:
        eh[key] = eh[key][keep_eh]
    # truth rows only while the episode is open, then every window reaching past the date
    rows = truth["as_of"] <= eh["raw"][truth["episode"]]
    for key in truth:
        truth[key] = truth[key][rows]
    _escalate_to_social_care(rng, sim, eh["child"][fired], eh["end"][fired])
    redo = np.flatnonzero((_add_months(truth["as_of"], 12) > d.day)
                          | fired[truth["episode"]])
    _set_truth(truth, eh, redo, drift=d)


def _season(fin: dict, d: Drift, rng) -> None:
    """Every year, ``d.factor`` of the month's contacts from ``d.source`` go unrecorded (drawn
    from those that led to no episode, so no episode, hazard or truth changes)."""
    ct, trig = fin["contacts"], fin["trigger_start"]
    n = len(ct["child"])
    led = np.zeros(n, dtype=bool)
    led[:len(trig)] = trig < _INF
    month = _dates(ct["cdate"].astype(np.int64)).astype("datetime64[M]").astype(np.int64) % 12
    theirs = (ct["source"] == SOURCES.index(d.source)) & (month + 1 == d.month)
    free = theirs & ~led
    share = min(1.0, d.factor * theirs.sum() / max(int(free.sum()), 1))
    keep = ~(free & (rng.random(n) < share))
    for key in ct:
        ct[key] = ct[key][keep]
    fin["trigger_start"] = trig[keep[:len(trig)]]


def _decay_pairs(eh: dict, sc: dict, d: Drift, rng, end: int) -> list[tuple[int, int, int]]:
    """(escalated episode, episode that takes its escalation, the social-care row to move):
    each escalation from the date, with chance ``d.factor``, goes to a child chosen at random
    among those open to early help at that moment (no child twice)."""
    esc = np.flatnonzero((eh["cause"] == 1) & (eh["raw"] >= d.day) & (eh["raw"] < end))
    esc = esc[np.argsort(eh["raw"][esc], kind="stable")]
    moved = esc[rng.random(len(esc)) < d.factor]
    touched: set[int] = set()
    pairs = []
    for a in moved:
        t, ca = int(eh["raw"][a]), int(eh["child"][a])
        after = np.flatnonzero((sc["child"] == ca) & (sc["start"] >= eh["end"][a])
                               & (sc["start"] <= eh["end"][a] + 1))
        if ca in touched or not len(after):
            continue
        open_ = np.flatnonzero((eh["start"] < t) & (eh["raw"] > t) & (eh["cause"] != 1))
        open_ = open_[~np.isin(eh["child"][open_], list(touched | {ca}))]
        if not len(open_):
            continue
        b = int(open_[rng.integers(len(open_))])
        touched |= {ca, int(eh["child"][b])}
        pairs.append((int(a), b, int(after[0])))
    return pairs


def _decay(sim: dict, fin: dict, d: Drift, rng, end: int) -> None:
    """Move escalations to other children open at the moment (see :func:`_decay_pairs`); the
    two children's later episodes are dropped and the truth's outcomes (``y_``) follow."""
    eh, sc, truth = sim["eh"], sim["sc"], fin["truth"]
    pairs = _decay_pairs(eh, sc, d, rng, end)
    if not pairs:
        return
    cutoff = np.full(sim["n"], _INF, dtype=np.int64)
    moved = np.zeros(len(eh["child"]), dtype=bool)
    for a, b, r in pairs:
        sc["child"][r] = eh["child"][b]
        eh["raw"][b], eh["end"][b] = eh["raw"][a], eh["end"][a]
        eh["duration"][b] = float(eh["raw"][a] - eh["start"][b])
        eh["cause"][b], eh["triage_end"][b] = 1, 3
        eh["cause"][a] = 0
        eh["triage_end"][a] = max(int(eh["triage"][a]) - int(rng.random() < 0.7), 0)
        cutoff[eh["child"][a]] = cutoff[eh["child"][b]] = eh["end"][a]
        moved[[a, b]] = True
    keep_sc = sc["start"] <= cutoff[sc["child"]] + 1
    for key in sc:
        sc[key] = sc[key][keep_sc]
    keep_eh = eh["start"] <= cutoff[eh["child"]]
    new_index = np.cumsum(keep_eh) - 1
    rows = keep_eh[truth["episode"]]
    for key in truth:
        truth[key] = truth[key][rows]
    truth["episode"] = new_index[truth["episode"]]
    moved = moved[keep_eh]
    for key in eh:
        eh[key] = eh[key][keep_eh]
    rows = truth["as_of"] <= eh["raw"][truth["episode"]]  # rows only while open
    for key in truth:
        truth[key] = truth[key][rows]
    redo = np.flatnonzero(moved[truth["episode"]])
    ep, t = truth["episode"][redo], truth["as_of"][redo]
    for months in (6, 12):
        within = eh["raw"][ep] <= _add_months(t, months) - 1
        for name, k in (("escalation", 1), ("disengagement", 2)):
            truth[f"y_{name}_{months}m"][redo] = (within & (eh["cause"][ep] == k)).astype(np.int8)
