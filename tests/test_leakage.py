"""The rules of time, as properties over random small councils.

Features at an as-of date t must not change when anything recorded on or after t changes
(rows are added, edited or deleted, episodes open at t get another future end or closure,
ratings, outcomes and triage levels filled in on or after t change, backdated episodes
entered on or after t change, a child's history from t on changes). Labels at t must not
change when anything outside (t, t + horizon] changes. With no knowledge dates at all, the
default spec keeps today's locality and IMD decile and last week's ratings out of features.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel._core.errors import InputWarning
from riskmodel.data._contract import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    CONTACT_OUTCOMES,
    DISABILITY,
    ETHNICITY,
    MASH_RAG,
    NEEDS,
    SERVICES,
    SEX,
    SOURCES,
    TRIAGE_LEVELS,
)
from riskmodel.features import build_labels, build_matrix, feature_columns, load_feature_spec

from helpers.day_tables import EXTRACT, HORIZON, LAST_DAY, day, days_of, to_tables

LAG = load_feature_spec().knowledge.lag_days  # the packaged spec's lags, in days
LOCALITIES = ["north", "south", "east"]
# Each example builds two matrices (about 0.2 s each): modest counts keep the file quick.
SETTINGS = settings(max_examples=30, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------ random councils ------

def child_row(draw, cid: str, families: list[str]) -> dict:
    return {
        "child_id": cid,
        "family_id": draw(st.sampled_from(families + [f"f_{cid}"])),
        "date_of_birth": draw(st.integers(-6500, 1800)),
        "sex": draw(st.sampled_from(SEX)), "ethnicity": draw(st.sampled_from(ETHNICITY)),
        "disability": draw(st.sampled_from(DISABILITY)),
        "locality": draw(st.sampled_from(LOCALITIES)),
        "imd_decile": draw(st.one_of(st.none(), st.integers(1, 10))),
    }


def late(draw, base: int, dated: bool) -> int | None:
    """A knowledge date on or after ``base`` (a value filled in later), or none recorded."""
    return base + draw(st.integers(0, 60)) if dated and draw(st.booleans()) else None


def contact_row(draw, cid: str, recorded: st.SearchStrategy, kid: str, dated=False) -> dict:
    rec = draw(recorded)
    rag = draw(st.sampled_from((*MASH_RAG, None)))
    return {
        "contact_id": kid, "child_id": cid,
        # the event may come well before it was recorded (so before t, recorded after t)
        "contact_date": max(rec - draw(st.integers(0, 90)), 0), "recorded_date": rec,
        "source": draw(st.sampled_from(SOURCES)), "need": draw(st.sampled_from(NEEDS)),
        "mash_rag": rag, "outcome": draw(st.sampled_from(CONTACT_OUTCOMES)),
        "mash_rag_recorded_date": late(draw, rec, dated) if rag else None,
        "outcome_recorded_date": late(draw, rec, dated),
    }


def ace_row(draw, cid: str, recorded: st.SearchStrategy) -> dict:
    return {"child_id": cid, "factor": draw(st.sampled_from(ACE_FACTORS)),
            "recorded_date": draw(recorded)}


def episode_row(draw, cid: str, eid: str, start: int, end: int | None, *,
                service=None, dated=False) -> dict:
    closed = end is not None
    entered = late(draw, start, dated)
    if entered is not None and draw(st.booleans()):
        entered = max(start - draw(st.integers(0, 30)), 0)  # entered ahead of its start
    return {
        "episode_id": eid, "child_id": cid,
        "service": service or draw(st.sampled_from(SERVICES)),
        "start_date": start, "end_date": end,
        "closure_reason": draw(st.sampled_from(CLOSURE_REASONS)) if closed else None,
        "triage_start": draw(st.sampled_from(TRIAGE_LEVELS)),
        "triage_end": draw(st.sampled_from(TRIAGE_LEVELS)) if closed else None,
        "start_recorded_date": entered,
        "triage_start_recorded_date": late(draw, start, dated),
    }


def any_episode(draw, cid: str, eid: str, lo: int, hi: int, dated=False) -> dict:
    start = draw(st.integers(lo, hi))
    end = draw(st.one_of(st.none(), st.integers(start, min(start + 500, LAST_DAY))))
    return episode_row(draw, cid, eid, start, end, dated=dated)


def history_row(draw, cid: str, valid_from: st.SearchStrategy, families: list[str]) -> dict:
    """A change of family, locality or IMD decile (each cell may be left empty)."""
    def maybe(strategy):
        return draw(st.one_of(st.none(), strategy))
    return {"child_id": cid, "valid_from": draw(valid_from),
            "family_id": maybe(st.sampled_from(families)),
            "locality": maybe(st.sampled_from(LOCALITIES)),
            "imd_decile": maybe(st.integers(1, 10))}


# When each value is known (the rules written out again here, not read from the package).
def _lagged(own, base: int, lag: int) -> int:
    return base + lag if own is None else own


def rating_known(r: dict, col: str) -> int:
    lag = LAG.mash_rag if col == "mash_rag" else LAG.outcome
    return max(r["recorded_date"], _lagged(r[f"{col}_recorded_date"], r["recorded_date"], lag))


def start_known(r: dict) -> int:
    return max(r["start_date"],
               _lagged(r["start_recorded_date"], r["start_date"], LAG.episode_start))


def triage_known(r: dict) -> int:
    return max(start_known(r), _lagged(r["triage_start_recorded_date"], r["start_date"],
                                       LAG.triage_start))


@st.composite
def councils(draw, dated=None, history=None):
    """A small council and two as-of day numbers t0 < t, with child c0 open at both.

    ``dated``: the council records when ratings, outcomes, episode starts and triage levels
    were filled in; ``history``: it keeps a history of family, locality and IMD decile (each
    drawn when None).
    """
    dated = draw(st.booleans()) if dated is None else dated
    history = draw(st.booleans()) if history is None else history
    t = draw(st.integers(500, 1200))
    t0 = t - draw(st.integers(1, 400))
    n = draw(st.integers(2, 6))
    ids = [f"c{i}" for i in range(n)]
    families = ["f1", "f2"]
    children = [child_row(draw, cid, families) for cid in ids]
    anyday = st.integers(0, LAST_DAY)
    child = st.sampled_from(ids)
    contacts = [contact_row(draw, draw(child), anyday, f"k{i}", dated)
                for i in range(draw(st.integers(0, 14)))]
    aces = [ace_row(draw, draw(child), anyday) for _ in range(draw(st.integers(0, 8)))]
    episodes = [any_episode(draw, draw(child), f"e{i}", 0, LAST_DAY, dated)
                for i in range(draw(st.integers(0, 8)))]
    # c0 has an early-help episode open at t0 and t, and known at both
    start = draw(st.integers(0, t0 - 1 - LAG.episode_start))
    end = draw(st.one_of(st.none(), st.integers(t, LAST_DAY)))
    opened = episode_row(draw, "c0", "e_open", start, end,
                         service=draw(st.sampled_from(SERVICES[:3])), dated=dated)
    opened["start_recorded_date"] = start if dated else None
    episodes.append(opened)
    rows = [history_row(draw, draw(child), anyday, families)
            for _ in range(draw(st.integers(1, 10)))] if history else []
    rows = list({(r["child_id"], r["valid_from"]): r for r in rows}.values())  # unique dates
    return {"children": children, "contacts": contacts, "ace_factors": aces,
            "episodes": episodes, "children_history": rows, "t": t, "t0": t0,
            "dated": dated, "history": history}


def copy(c: dict) -> dict:
    return {k: [dict(r) for r in v] if isinstance(v, list) else v for k, v in c.items()}


def new_child(draw, c: dict) -> str:
    """An existing child, or a new one (in any family) whose rows all come later."""
    ids = [r["child_id"] for r in c["children"]]
    pick = draw(st.sampled_from([*ids, "new"]))
    if pick != "new":
        return pick
    cid = f"n{len(ids)}"
    families = sorted({r["family_id"] for r in c["children"]})
    c["children"].append(child_row(draw, cid, families))
    return cid


# ------------------------------------------------------------------ mutations -------------

def mutate_after(draw, c: dict) -> dict:
    """Change everything first known on or after t.

    Rows recorded on or after t are added, edited or deleted; episodes open at t are
    re-closed; ratings, outcomes and triage levels filled in on or after t change; episodes
    entered on or after t (backdated ones too) change; history from t on changes.
    """
    c = copy(c)
    t = c["t"]
    dated = c["dated"]
    later = st.integers(t, LAST_DAY)
    families = ["f1", "f2", "f3"]
    ops = draw(st.lists(st.sampled_from(
        ["contact", "ace", "episode", "reclose", "child", "rating", "triage", "history"]),
        min_size=1, max_size=8))
    for i, op in enumerate(ops):
        action = draw(st.sampled_from(["add", "edit", "delete"]))
        if op == "child":
            new_child(draw, c)
        elif op == "reclose":
            open_at_t = [r for r in c["episodes"] if start_known(r) < t
                         and (r["end_date"] is None or r["end_date"] >= t)]
            r = draw(st.sampled_from(open_at_t))
            end = draw(st.one_of(st.none(), st.integers(max(t, r["start_date"]), LAST_DAY)))
            new = episode_row(draw, r["child_id"], r["episode_id"], r["start_date"], end,
                              service=r["service"])
            for key in ("triage_start", "start_recorded_date", "triage_start_recorded_date"):
                new[key] = r[key]  # known since the start
            r.update(new)
        elif op == "rating":
            # a rating or outcome not yet filled in at t: any value, filled in any day from t
            col = draw(st.sampled_from(["mash_rag", "outcome"]))
            values = (*MASH_RAG, None) if col == "mash_rag" else CONTACT_OUTCOMES
            unknown = [r for r in c["contacts"] if rating_known(r, col) >= t]
            if unknown:
                r = draw(st.sampled_from(unknown))
                r[col] = draw(st.sampled_from(values))
                if dated:
                    r[f"{col}_recorded_date"] = draw(st.integers(max(t, r["recorded_date"]),
                                                                 LAST_DAY))
        elif op == "triage":
            unknown = [r for r in c["episodes"] if triage_known(r) >= t]
            if unknown:
                r = draw(st.sampled_from(unknown))
                r["triage_start"] = draw(st.sampled_from(TRIAGE_LEVELS))
                if dated:
                    r["triage_start_recorded_date"] = draw(later)
        elif op == "history":
            rows = c["children_history"]
            after = [j for j, r in enumerate(rows) if r["valid_from"] >= t]
            if action == "delete" and after:
                del rows[draw(st.sampled_from(after))]
                continue
            row = history_row(draw, new_child(draw, c), later, families)
            if action == "edit" and after:
                rows[draw(st.sampled_from(after))] = row
            else:
                rows.append(row)
            c["children_history"] = list({(r["child_id"], r["valid_from"]): r
                                          for r in rows}.values())
        else:
            table, known = {"contact": ("contacts", lambda r: r["recorded_date"]),
                            "ace": ("ace_factors", lambda r: r["recorded_date"]),
                            "episode": ("episodes", start_known)}[op]
            rows = c[table]
            # an episode entered on or after t may carry any start date (backdated)
            after = [j for j, r in enumerate(rows) if known(r) >= t]
            if action == "delete" and after:
                del rows[draw(st.sampled_from(after))]
                continue
            cid = new_child(draw, c)
            if op == "contact":
                row = contact_row(draw, cid, later, f"m{i}", dated)
            elif op == "ace":
                row = ace_row(draw, cid, later)
            else:
                row = any_episode(draw, cid, f"m{i}", 0, LAST_DAY, dated)
                if dated:  # backdated: entered on or after t, whatever its start
                    row["start_recorded_date"] = draw(st.integers(max(t, row["start_date"]),
                                                                  LAST_DAY))
                elif start_known(row) < t:
                    row = any_episode(draw, cid, f"m{i}", t, LAST_DAY, dated)
            if action == "edit" and after:
                j = draw(st.sampled_from(after))
                if "contact_id" in row:
                    row["contact_id"] = rows[j]["contact_id"]
                if "episode_id" in row:
                    row["episode_id"] = rows[j]["episode_id"]
                rows[j] = row
            else:
                rows.append(row)
    return c


def mutate_outside(draw, c: dict) -> dict:
    """Add, edit or delete rows with no date in (t, t + horizon]."""
    c = copy(c)
    t = c["t"]
    h_end = days_of(day(t) + pd.DateOffset(months=HORIZON))
    outside = st.one_of(st.integers(0, t), st.integers(h_end + 1, LAST_DAY))

    def is_outside(r):
        return all(d is None or not t < d <= h_end for d in (r["start_date"], r["end_date"]))

    def episode_outside(cid, eid):
        start = draw(outside)
        ends = [st.none(), st.integers(max(start, h_end + 1), LAST_DAY)]
        if start <= t:
            ends.append(st.integers(start, t))
        return episode_row(draw, cid, eid, start, draw(st.one_of(ends)))

    ops = draw(st.lists(st.sampled_from(["contact", "ace", "episode"]), min_size=1,
                        max_size=8))
    anyday = st.integers(0, LAST_DAY)
    for i, op in enumerate(ops):
        action = draw(st.sampled_from(["add", "edit", "delete"]))
        table = {"contact": "contacts", "ace": "ace_factors", "episode": "episodes"}[op]
        rows = c[table]
        # contacts and ACEs never enter a label, whatever their dates
        targets = [j for j, r in enumerate(rows) if op != "episode" or is_outside(r)]
        if action == "delete" and targets:
            del rows[draw(st.sampled_from(targets))]
            continue
        cid = new_child(draw, c)
        if op == "contact":
            row = contact_row(draw, cid, anyday, f"m{i}")
        elif op == "ace":
            row = ace_row(draw, cid, anyday)
        else:
            row = episode_outside(cid, f"m{i}")
        if action == "edit" and targets:
            j = draw(st.sampled_from(targets))
            for key in ("contact_id", "episode_id"):
                if key in row:
                    row[key] = rows[j][key]
            rows[j] = row
        else:
            rows.append(row)
    return c


# ------------------------------------------------------------------ properties ------------

def features_at(c: dict) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)  # features switched off: said, not tested
        m = build_matrix(to_tables(c), [day(c["t0"]), day(c["t"])], outcome="escalation",
                         horizon_months=HORIZON, extract_date=EXTRACT)
    return m.drop(columns="label")


@pytest.mark.slow  # about 24 s of CPU (30 random councils, two matrices each)
@SETTINGS
@given(council=councils(), data=st.data())
def test_rows_recorded_on_or_after_t_never_change_features_at_t(council, data):
    before = features_at(council)
    after = features_at(mutate_after(data.draw, council))
    pd.testing.assert_frame_equal(before, after)


def mutate_today(draw, c: dict) -> dict:
    """Every child's locality and IMD decile today, and last week's ratings and outcomes."""
    c = copy(c)
    t = c["t"]
    for r in c["children"]:
        r["locality"] = draw(st.sampled_from(["west", *LOCALITIES]))
        r["imd_decile"] = draw(st.one_of(st.none(), st.integers(1, 10)))
    for r in c["contacts"]:
        if t - 7 <= r["recorded_date"] < t:
            r["mash_rag"] = draw(st.sampled_from((*MASH_RAG, None)))
            r["outcome"] = draw(st.sampled_from(CONTACT_OUTCOMES))
    return c


@pytest.mark.slow  # about 24 s of CPU (30 random councils, two matrices each)
@settings(SETTINGS, max_examples=30)
@given(council=councils(dated=False, history=False), data=st.data())
def test_without_knowledge_dates_todays_values_and_last_weeks_ratings_change_nothing(
        council, data):
    # Plenty of contacts in the week before t, so the property is not vacuous.
    rows = council["contacts"]
    for i in range(data.draw(st.integers(1, 4))):
        rows.append(contact_row(data.draw, "c0", st.integers(council["t"] - 7,
                                                             council["t"] - 1), f"w{i}"))

    def at_t(c):
        m = features_at(c)
        return m.loc[m["as_of"] == day(c["t"]), ["child_id", *feature_columns(m)]]

    pd.testing.assert_frame_equal(at_t(council), at_t(mutate_today(data.draw, council)))


@settings(SETTINGS, max_examples=40)
@given(council=councils(), data=st.data())
@pytest.mark.slow  # about 9 s of CPU (quick lane kept under 3 min)
def test_rows_outside_the_horizon_never_change_labels_at_t(council, data):
    def labels(c):
        got = build_labels(to_tables(c), [day(c["t"])], horizon_months=HORIZON,
                           extract_date=EXTRACT)
        return got.set_index("child_id")[["escalation", "disengagement"]]

    before = labels(council)
    after = labels(mutate_outside(data.draw, council))
    common = before.index.intersection(after.index)
    assert "c0" in before.index
    pd.testing.assert_frame_equal(before.loc[common], after.loc[common])


def test_the_day_before_t_is_known_and_t_itself_is_not():
    """The properties above are not vacuous: a row recorded one day earlier does count."""
    t = 800
    base = {
        "children": [{"child_id": "c0", "family_id": "f1", "date_of_birth": 0, "sex": "male",
                      "ethnicity": "white", "disability": "none", "locality": "north",
                      "imd_decile": 3}],
        "contacts": [{"contact_id": "k1", "child_id": "c0", "contact_date": t - 5,
                      "recorded_date": t, "source": "police", "need": "neglect",
                      "mash_rag": "red", "outcome": "early_help"}],
        "ace_factors": [{"child_id": "c0", "factor": "domestic_abuse", "recorded_date": t}],
        "episodes": [{"episode_id": "e1", "child_id": "c0", "service": "early_help_pathway",
                      "start_date": 100, "end_date": t, "closure_reason": "escalated",
                      "triage_start": "green", "triage_end": "orange"},
                     {"episode_id": "e0", "child_id": "c0", "service": "targeted_support",
                      "start_date": 10, "end_date": 50, "closure_reason": "needs_met",
                      "triage_start": "green", "triage_end": "green"}],
        "t": t, "t0": t - 1,
    }
    on_t = features_at(base).set_index("as_of").loc[day(t)]
    # No ACE is known before t, so the extract holds none yet: the ACE features are off.
    assert on_t["contacts_total_all_count"] == 0 and on_t.get("ace_total_all_count", 0) == 0
    assert on_t["episodes_open_all_count"] == 1 and on_t["episodes_prior_all_count"] == 1
    earlier = copy(base)
    earlier["contacts"][0]["recorded_date"] = t - 1
    earlier["ace_factors"][0]["recorded_date"] = t - 1
    m = features_at(earlier).set_index("as_of").loc[day(t)]
    assert m["contacts_total_all_count"] == 1 and m["ace_total_all_count"] == 1
    # a closure the day before t is known at t: c0 leaves the cohort
    closed = copy(base)
    closed["episodes"][0]["end_date"] = t - 1
    assert day(t) not in set(features_at(closed)["as_of"])
