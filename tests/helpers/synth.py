"""What every synthetic council must satisfy, and its labels worked out from the raw tables.

Straight from shared/DESIGN.md, written independently of riskmodel's own label code.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from riskmodel.data import EARLY_HELP_SERVICES, SOCIAL_CARE_SERVICES, SyntheticCouncil
from riskmodel.data.synth import TRUTH_COLUMNS


def labels_from_tables(tables: dict[str, pd.DataFrame], rows: pd.DataFrame,
                       months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cohort size and labels at each (child_id, as_of) row, straight from DESIGN.md."""
    ep = tables["episodes"]
    rows = rows[["child_id", "as_of"]].reset_index(drop=True).copy()
    rows["until"] = rows["as_of"] + pd.DateOffset(months=months)
    rows["row"] = np.arange(len(rows))
    sc = rows.merge(ep.loc[ep["service"].isin(SOCIAL_CARE_SERVICES), ["child_id", "start_date"]],
                    on="child_id")
    sc_rows = sc.loc[(sc["start_date"] > sc["as_of"]) & (sc["start_date"] <= sc["until"]), "row"]
    eh = rows.merge(ep.loc[ep["service"].isin(EARLY_HELP_SERVICES)], on="child_id")
    is_open = (eh["start_date"] < eh["as_of"]) & (
        eh["end_date"].isna() | (eh["end_date"] >= eh["as_of"]))
    closes = is_open & (eh["end_date"] > eh["as_of"]) & (eh["end_date"] <= eh["until"])
    esc_rows = eh.loc[closes & (eh["closure_reason"] == "escalated"), "row"]
    dis_rows = eh.loc[closes & eh["closure_reason"].isin(["disengaged", "declined"]), "row"]
    n_open = is_open.groupby(eh["row"]).sum().reindex(rows["row"], fill_value=0).to_numpy()
    esc = np.zeros(len(rows), dtype=np.int8)
    esc[np.union1d(sc_rows, esc_rows).astype(int)] = 1
    dis = np.zeros(len(rows), dtype=np.int8)
    dis[dis_rows.to_numpy()] = 1
    return n_open, esc, dis


def cohort_from_tables(tables: dict[str, pd.DataFrame], dates: Iterable) -> set:
    eh = tables["episodes"]
    eh = eh[eh["service"].isin(EARLY_HELP_SERVICES)]
    out = set()
    for t in dates:
        t = pd.Timestamp(t)
        open_ = eh[(eh["start_date"] < t) & (eh["end_date"].isna() | (eh["end_date"] >= t))]
        out |= {(c, t) for c in open_["child_id"]}
    return out


def check_invariants(council: SyntheticCouncil, extract: str | pd.Timestamp) -> None:
    """What every synthetic council must satisfy, whatever the seed, size and dates."""
    t = council.tables
    ch, ct, ace, ep = t["children"], t["contacts"], t["ace_factors"], t["episodes"]
    extract = pd.Timestamp(extract)
    assert ch["child_id"].is_unique and ct["contact_id"].is_unique
    assert ep["episode_id"].is_unique
    assert set(ct["child_id"]) <= set(ch["child_id"]) and set(ep["child_id"]) <= set(ch["child_id"])
    # nothing happens after the extract date; recording never precedes the event
    for df, cols in ((ct, ["contact_date", "recorded_date"]), (ace, ["recorded_date"]),
                     (ep, ["start_date", "end_date"])):
        for c in cols:
            assert (df[c].dropna() <= extract).all(), c
    assert (ch["date_of_birth"] <= extract).all()
    assert (ct["recorded_date"] >= ct["contact_date"]).all()
    closed = ep[ep["end_date"].notna()]
    assert (closed["end_date"] > closed["start_date"]).all()
    assert ep["closure_reason"].isna().equals(ep["end_date"].isna())
    # early help never closes on the 1st of a month (as-of dates are 1sts: no ties)
    eh = ep[ep["service"].isin(EARLY_HELP_SERVICES)]
    assert (eh["end_date"].dropna().dt.day != 1).all()
    # at most one early-help episode open per child at a time; never with social care open
    ordered = ep.sort_values(["child_id", "start_date"])
    same = ordered["child_id"].eq(ordered["child_id"].shift())
    prev_end = ordered["end_date"].shift()
    prev_is_eh = ordered["service"].shift().isin(EARLY_HELP_SERVICES)
    overlap = same & (prev_end.isna() | (prev_end > ordered["start_date"]))
    assert not overlap.any()
    # every escalated closure starts social care on the same or the next day
    has_next = ordered["child_id"].eq(ordered["child_id"].shift(-1))
    is_esc = ordered["closure_reason"].eq("escalated")
    gap = (ordered["start_date"].shift(-1) - ordered["end_date"]).dt.days
    assert ordered["service"].shift(-1)[is_esc & has_next].isin(SOCIAL_CARE_SERVICES).all()
    assert gap[is_esc & has_next].between(0, 1).all()
    # (only an escalation on the extract date can have its social care start after it)
    assert (ordered.loc[is_esc & ~has_next, "end_date"] == extract).all()
    # a non-escalated early-help closure is followed by nothing for a year (no other path to
    # social care inside any 12-month label window)
    after_eh = prev_is_eh & same & (ordered["closure_reason"].shift() != "escalated")
    wait = (ordered["start_date"] - prev_end)[after_eh].dt.days
    assert (wait > 366).all()
    # the truth covers exactly the cohort at each quarterly date, with probabilities
    truth = council.truth
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    p = truth[list(TRUTH_COLUMNS[2:])].to_numpy()
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert (truth["p_escalation_12m"] >= truth["p_escalation_6m"]).all()
    assert (truth["as_of"].dt.day == 1).all() and truth["as_of"].dt.month.isin([1, 4, 7, 10]).all()
    dates = sorted(truth["as_of"].unique())
    assert set(zip(truth["child_id"], truth["as_of"], strict=True)) == \
        cohort_from_tables(t, dates)
    if "children_history" in t:
        check_knowledge(council, extract)


def check_knowledge(council: SyntheticCouncil, extract: str | pd.Timestamp) -> None:
    """Knowledge dates never precede what they date nor follow the extract; the history starts
    at each child's first record with the first values and ends with the children table; a
    family moves only after all its early-help episodes closed (the truth's guarantee)."""
    t = council.tables
    ch, ct, ep, hist = t["children"], t["contacts"], t["episodes"], t["children_history"]
    extract = pd.Timestamp(extract)
    # contacts: a rating's date exactly where there is a rating; an outcome's on every contact
    assert ct["mash_rag_recorded_date"].isna().equals(ct["mash_rag"].isna())
    assert ct["outcome_recorded_date"].notna().equals(ct["outcome"].notna())
    for col in ("mash_rag_recorded_date", "outcome_recorded_date"):
        known = ct[col].dropna()
        assert (known >= ct.loc[known.index, "recorded_date"]).all(), col
        assert (known <= extract).all(), col
    rated = ct["mash_rag_recorded_date"].notna()
    assert (ct.loc[rated, "outcome_recorded_date"] >= ct.loc[rated, "mash_rag_recorded_date"]).all()
    # episodes: entered on or after the start, by the end and the extract; triage after that
    assert ep[["start_recorded_date", "triage_start_recorded_date"]].notna().all().all()
    assert (ep["start_recorded_date"] >= ep["start_date"]).all()
    assert (ep["triage_start_recorded_date"] >= ep["start_recorded_date"]).all()
    for col in ("start_recorded_date", "triage_start_recorded_date"):
        assert (ep[col] <= extract).all(), col
        closed = ep["end_date"].notna()
        assert (ep.loc[closed, col] <= ep.loc[closed, "end_date"]).all(), col
    # the history: one or two rows per child, in order, none after the extract
    assert set(hist["child_id"]) == set(ch["child_id"])
    assert (hist["valid_from"] <= extract).all()
    assert not hist.duplicated(["child_id", "valid_from"]).any()
    assert hist.equals(hist.sort_values(["child_id", "valid_from"], kind="stable"))
    rows = hist.groupby("child_id").size()
    assert rows.isin([1, 2]).all()
    # the first row is dated the child's first record (a child with no record: later)
    first = hist.groupby("child_id").head(1).set_index("child_id")
    recorded = pd.concat([ct[["child_id", "recorded_date"]],
                          t["ace_factors"][["child_id", "recorded_date"]],
                          ep[["child_id", "start_recorded_date"]].rename(
                              columns={"start_recorded_date": "recorded_date"})])
    earliest = recorded.groupby("child_id")["recorded_date"].min()
    assert (first.loc[earliest.index, "valid_from"] == earliest).all()
    # the last row is the children table (as at the extract); families never split
    last = hist.groupby("child_id").tail(1).set_index("child_id").loc[ch["child_id"]]
    by_child = ch.set_index("child_id")
    for col in ("family_id", "locality", "imd_decile"):
        np.testing.assert_array_equal(last[col].astype(object).fillna(-1).to_numpy(),
                                      by_child[col].astype(object).fillna(-1).to_numpy(), col)
    assert (hist["family_id"].to_numpy() == by_child.loc[hist["child_id"], "family_id"]).all()
    # a move: to another locality, the whole family on one day, recorded for every child
    moves = hist[hist["child_id"].duplicated()].set_index("child_id")
    assert (moves["locality"] != first.loc[moves.index, "locality"]).all()
    assert moves["imd_decile"].notna().all()
    fam_of = by_child["family_id"]
    day = moves.groupby(fam_of.loc[moves.index].to_numpy())["valid_from"]
    assert (day.nunique() == 1).all()
    moved_fams = set(fam_of.loc[moves.index])
    assert set(moves.index) == set(ch.loc[ch["family_id"].isin(moved_fams), "child_id"])
    # ... only after every early-help episode of the family closed, and after every truth row
    move_day = day.first()
    eh = ep[ep["service"].isin(EARLY_HELP_SERVICES)]
    eh = eh.assign(family=fam_of.loc[eh["child_id"]].to_numpy())
    eh = eh[eh["family"].isin(moved_fams)]
    assert eh["end_date"].notna().all()
    assert (eh["end_date"].to_numpy() < move_day.loc[eh["family"]].to_numpy()).all()
    truth = council.truth
    truth = truth.assign(family=fam_of.loc[truth["child_id"]].to_numpy())
    truth = truth[truth["family"].isin(moved_fams)]
    assert (truth["as_of"].to_numpy() < move_day.loc[truth["family"]].to_numpy()).all()
