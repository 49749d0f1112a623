"""Cohorts and labels at as-of dates: who is in, what counts, and the edges of (t, t+h]."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from riskmodel import InputError
from riskmodel.data import load_tables
from riskmodel.features import build_labels, build_matrix

T = pd.Timestamp("2024-04-01")  # with a 6-month horizon the window is (T, 2024-10-01]


def tables(episodes: list[list]) -> dict[str, pd.DataFrame]:
    """Contract tables with one child per distinct child id in ``episodes``."""
    eps = pd.DataFrame(episodes, columns=["episode_id", "child_id", "service", "start_date",
                                          "end_date", "closure_reason"])
    eps["triage_start"] = "green"
    eps["triage_end"] = eps["closure_reason"].where(eps["closure_reason"].isna(), "green")
    for c in ("start_date", "end_date"):
        eps[c] = pd.to_datetime(eps[c]).astype("datetime64[ns]")
    # Each episode entered on its start date, so the edges are the definition's own
    # (a backdated episode is tests/test_knowledge.py's).
    eps["start_recorded_date"] = eps["start_date"]
    ids = sorted(eps["child_id"].unique())
    children = pd.DataFrame({
        "child_id": ids, "family_id": [f"f{i}" for i in range(len(ids))],
        "date_of_birth": pd.to_datetime(["2015-01-01"] * len(ids)).astype("datetime64[ns]"),
        "sex": "female", "ethnicity": "white", "disability": "none", "locality": "north",
        "imd_decile": pd.array([5] * len(ids), dtype="Int64"),
    })
    contacts = pd.DataFrame({
        "contact_id": ["k1"], "child_id": [ids[0]],
        "contact_date": pd.to_datetime(["2020-01-01"]).astype("datetime64[ns]"),
        "recorded_date": pd.to_datetime(["2020-01-02"]).astype("datetime64[ns]"),
        "source": ["school"], "need": ["behaviour"], "mash_rag": ["green"],
        "outcome": ["early_help"],
    })
    aces = pd.DataFrame({"child_id": pd.Series([], dtype="string"),
                         "factor": pd.Series([], dtype="string"),
                         "recorded_date": pd.Series([], dtype="datetime64[ns]")})
    out = {"children": children, "contacts": contacts, "ace_factors": aces, "episodes": eps}
    return {k: v.astype({c: "string" for c in v.columns if v[c].dtype == object})
            for k, v in out.items()}


EDGES = tables([
    # child, service, start, end, closure      -> in the cohort at T?  escalation, disengagement
    ["a1", "x1", "early_help_pathway", "2024-04-01", None, None],         # starts on T: out
    ["a2", "x2", "early_help_pathway", "2024-03-31", "2024-04-01", "declined"],  # in; 0, 0
    ["a3", "x3", "targeted_support", "2024-01-01", "2024-10-01", "disengaged"],  # in; 0, 1
    ["a4", "x4", "fsw_intervention", "2024-01-01", "2024-10-02", "escalated"],   # in; 0, 0
    ["a5", "x5", "early_help_pathway", "2024-01-01", None, None],         # in; CIN 2024-10-01
    ["a5s", "x5", "cin", "2024-10-01", None, None],                       #   -> 1, 0
    ["a6", "x6", "early_help_pathway", "2024-01-01", None, None],         # in; CP on T -> 0, 0
    ["a6s", "x6", "cp", "2024-04-01", "2024-09-01", "needs_met"],
    ["a7", "x7", "early_help_pathway", "2023-01-01", "2024-03-31", "escalated"],  # closed: out
    ["a8", "x8", "early_help_pathway", "2024-01-01", None, None],         # in; a later
    ["a8b", "x8", "targeted_support", "2024-05-01", "2024-06-01", "escalated"],  # episode -> 0
    ["a9", "x9", "early_help_pathway", "2024-02-01", "2024-06-15", "escalated"],  # in; 1, 0
    ["a9s", "x9", "cin", "2024-06-15", None, None],
    ["a10", "x10", "lac", "2023-01-01", None, None],                      # social care only: out
    ["a11", "x11", "fsw_intervention", "2023-06-01", "2024-08-01", "declined"],  # in; 0, 1
    ["a12", "x12", "early_help_pathway", "2023-06-01", "2024-05-01", "needs_met"],  # in; 0, 0
    ["a12b", "x12", "early_help_pathway", "2024-03-01", "2024-07-01", "escalated"],  # -> 1, 0
])


def test_cohort_and_labels_at_the_edges_of_the_window():
    got = build_labels(EDGES, [T], extract_date="2025-06-30").set_index("child_id")
    assert list(got.columns) == ["family_id", "as_of", "escalation", "disengagement"]
    assert got["escalation"].dtype == "Int64" and got["disengagement"].dtype == "Int64"
    expected = {
        "x2": (0, 0), "x3": (0, 1), "x4": (0, 0), "x5": (1, 0), "x6": (0, 0), "x8": (0, 0),
        "x9": (1, 0), "x11": (0, 1), "x12": (1, 0),
    }
    assert got.index.tolist() == sorted(expected)
    assert {c: (r.escalation, r.disengagement) for c, r in got.iterrows()} == expected
    assert (got["as_of"] == T).all()


def test_horizon_and_extract_date():
    # 12-month horizon: x4's escalation on 2024-10-02 now counts
    got = build_labels(EDGES, [T], horizon_months=12, extract_date="2025-06-30")
    assert got.set_index("child_id").loc["x4", "escalation"] == 1
    # (T, T+6m] runs past an extract date of 2024-09-30: no label yet, cohort unchanged
    late = build_labels(EDGES, [T], extract_date="2024-09-30")
    assert late["escalation"].isna().all() and late["disengagement"].isna().all()
    assert late["child_id"].tolist() == got["child_id"].tolist()
    # the default extract date is the latest date in the data (2024-10-02): labels known
    assert build_labels(EDGES, [T])["escalation"].notna().all()
    assert build_labels(EDGES, ["2024-05-01"])["escalation"].isna().all()


def test_several_as_of_dates_give_one_row_per_child_and_date():
    dates = ["2024-01-15", T, "2024-06-30"]
    got = build_labels(EDGES, dates, extract_date="2025-06-30")
    assert not got.duplicated(["child_id", "as_of"]).any()
    per_date = got.groupby("as_of")["child_id"].apply(list).to_dict()
    # on 2024-06-30: x1 (started on T), x3, x4, x5, x6, x8, x11 and x12 (a12b) still open
    assert per_date[pd.Timestamp("2024-06-30")] == ["x1", "x11", "x12", "x3", "x4", "x5",
                                                    "x6", "x8"]
    # on 2024-01-15: x3-x6, x8 start on 2024-01-01; x7, x10(social care), x11, x12 open
    assert per_date[pd.Timestamp("2024-01-15")] == ["x11", "x12", "x3", "x4", "x5", "x6",
                                                    "x7", "x8"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome": "stepup"}, "outcome: unknown outcome 'stepup'"),
    ({"as_of": ["2026-01-01"]}, "as_of: 2026-01-01 is after the extract date 2024-10-02"),
    ({"as_of": ["2019-06-01"]}, "as_of: 2019-06-01 is not after the first record"),
    ({"as_of": ["2020-01-02"]}, "as_of: 2020-01-02 is not after the first record"),
    ({"as_of": ["first of April"]}, "as_of: 'first of April' is not a date"),
    ({"as_of": []}, "as_of: no as-of date given"),
    ({"horizon_months": 0}, "horizon_months: expected a whole number of months"),
    ({"extract_date": "2024-05-01", "as_of": ["2024-06-01"]},
     "as_of: 2024-06-01 is after the extract date 2024-05-01"),
])
def test_bad_requests_raise_one_line_input_errors(kwargs, message):
    args = {"as_of": [T], "outcome": "escalation", **kwargs}
    with pytest.raises(InputError) as err:
        build_matrix(EDGES, args.pop("as_of"), **args)
    assert str(err.value).startswith(message), str(err.value)


def test_cohort_and_outcome_rates_agree_with_the_synthetic_councils_truth(council):
    """The synthetic council's own simulation writes its truth for the same cohort."""
    tables = load_tables(council)
    extract = json.loads((council / "manifest.json").read_text())["extract_date"]
    truth = pd.read_parquet(council / "truth.parquet")
    truth["as_of"] = pd.to_datetime(truth["as_of"]).astype("datetime64[ns]")
    truth["child_id"] = truth["child_id"].astype(str)
    # two as-of dates six months apart whose windows close before the extract date
    last = pd.Timestamp(extract) - pd.DateOffset(months=6)
    dates = [d for d in sorted(truth["as_of"].unique()) if d <= last][-3::2]
    truth = truth[truth["as_of"].isin(dates)]
    got = build_labels(tables, dates, extract_date=extract)
    keys = ["child_id", "as_of"]
    # The truth is every child open at t; the cohort, those whose episode was on the system
    # by t (the council's start_recorded_date): backdated episodes join later.
    ep = tables["episodes"]
    ep = ep[ep["service"].isin(["early_help_pathway", "fsw_intervention", "targeted_support"])]
    entered = ep["start_date"].where(ep["start_recorded_date"].isna() |
                                     (ep["start_recorded_date"] < ep["start_date"]),
                                     ep["start_recorded_date"])
    known = set()
    for d in dates:
        open_known = ((ep["start_date"] < d) & (ep["end_date"].isna() | (ep["end_date"] >= d))
                      & (entered < d))
        known |= {(c, d) for c in ep.loc[open_known, "child_id"].astype(str)}
    want = set(truth[keys].itertuples(index=False))
    assert set(got[keys].itertuples(index=False)) == want & known
    assert len(want - known) > 0  # the council backdates some episodes
    both = got.merge(truth, on=["child_id", "as_of"])
    for outcome in ("escalation", "disengagement"):
        p = both[f"p_{outcome}_6m"]
        se = math.sqrt((p * (1 - p)).sum()) / len(p)
        assert abs(both[outcome].astype(float).mean() - p.mean()) < 4 * se, outcome
