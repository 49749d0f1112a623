"""Disclosure control: no published table lets anyone learn a count from 1 to 4.

The property test builds random small cohorts, writes the whole fairness report (CSV, JSON,
HTML, profile) and then attacks it from the outside: every published figure is turned into the
counts it reveals (a rate reveals its numerator and denominator; a ratio reveals the rates it
divides), and linear algebra over the finest cells of the cohort decides which true counts can
be worked out. None that lies from 1 to 4 may be.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.evaluation import (
    AuditOptions,
    cohort_profile,
    fairness_audit,
    suppress,
    write_fairness_report,
)
from riskmodel.evaluation._disclosure import plan_suppression

MIN = 5
A_VALUES = ["a1", "a2", "a3", "a4"]
B_VALUES = ["b1", "b2", "b3"]
AGES = ["0-4", "5-7", "8-11"]
TIMES = " \u00d7 "

# The counts each published figure reveals, as cell selectors over (TN, FP, FN, TP).
N = [(1, 1, 1, 1)]
Y = [(0, 0, 1, 1), (1, 1, 0, 0)]
F = [(0, 1, 0, 1), (1, 0, 1, 0)]
REVEALS = {
    "n": N, "n_positive": Y, "n_flagged": F, "base_rate": Y, "selection_rate": F,
    "auc": Y, "calibration": Y, "calibration_error": Y,
    "true_positive_rate": [(0, 0, 0, 1), (0, 0, 1, 0)],
    "false_negative_rate": [(0, 0, 0, 1), (0, 0, 1, 0)],
    "false_positive_rate": [(0, 1, 0, 0), (1, 0, 0, 0)],
    "precision": [(0, 0, 0, 1), (0, 1, 0, 0)],
    "population_share": N, "positive_rate": Y, "flagged_rate": F, "flagged_share": F,
    "rri_positive": Y, "rri_flagged": F,
}
TARGETS = {
    "n": (1, 1, 1, 1), "positive": (0, 0, 1, 1), "negative": (1, 1, 0, 0),
    "flagged": (0, 1, 0, 1), "unflagged": (1, 0, 1, 0), "TN": (1, 0, 0, 0),
    "FP": (0, 1, 0, 0), "FN": (0, 0, 1, 0), "TP": (0, 0, 0, 1),
}


def _published(v) -> bool:
    if isinstance(v, str):
        return v.strip() not in ("", "suppressed") and not v.strip().startswith("<")
    return v is not None and not (isinstance(v, float) and np.isnan(v))


class _Cells(HTMLParser):
    """Text of every <td class="count"> in a page."""

    def __init__(self):
        super().__init__()
        self.inside, self.cells = False, []

    def handle_starttag(self, tag, attrs):
        if tag == "td" and "count" in (dict(attrs).get("class") or "").split():
            self.inside = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.cells[-1] += data


def _small_int(text) -> bool:
    t = str(text).strip().replace(",", "")
    return bool(re.fullmatch(r"\d+(\.0+)?", t)) and 1 <= float(t) < MIN


def attack(frame: pd.DataFrame, flags: np.ndarray, tables: dict[str, pd.DataFrame]) -> list:
    """Every true count from 1 to MIN-1 that the published tables let one work out."""
    cols = ["A", "B", "age_band"]
    keys = frame[cols].astype(object).where(frame[cols].notna(), "not recorded")
    combos = keys.apply(tuple, axis=1)
    atoms = sorted(set(combos))
    atom_of = np.array([atoms.index(c) for c in combos])
    k = len(atoms)
    cell = 2 * frame["label"].to_numpy() + flags.astype(int)

    def members(characteristic, group):
        if characteristic == "all":
            return np.ones(k, bool)
        parts = characteristic.split(TIMES)
        values = group.split(TIMES)
        ok = np.ones(k, bool)
        for col, val in zip(parts, values, strict=True):
            ok &= np.array([a[cols.index(col)] == val for a in atoms])
        return ok

    def profile_members(category):
        for i, vocab in enumerate((A_VALUES, B_VALUES, AGES)):
            if category in vocab:
                return np.array([a[i] == category for a in atoms])
        return None  # "all" or "not recorded" (ambiguous: treat as the whole section total)

    equations = []

    def reveal(mask, selectors):
        for sel in selectors:
            equations.append(np.kron(mask.astype(float), np.array(sel, float)))

    rows = {}
    g = tables["groups"]
    for rec in g.to_dict("records"):
        mask = members(rec["characteristic"], rec["group"])
        rows[(rec["characteristic"], rec["group"])] = mask
        for col, sel in REVEALS.items():
            if col in rec and _published(rec[col]):
                reveal(mask, sel)
    ref_of = {}
    for rec in tables["ratios"].to_dict("records"):
        if _published(rec["ratio"]) and rec["status"] != "reference":
            mask = members(rec["characteristic"], rec["group"])
            reveal(mask, REVEALS[rec["metric"]])
            if rec["metric"] != "calibration":
                ref_of[rec["characteristic"]] = rec["reference"]
                reveal(members(rec["characteristic"], rec["reference"]),
                       REVEALS[rec["metric"]])
    for rec in tables["rri"].to_dict("records"):
        mask = members(rec["characteristic"], rec["group"])
        for col in ("population_share", "positive_rate", "flagged_rate", "flagged_share",
                    "rri_positive", "rri_flagged"):
            if _published(rec[col]):
                reveal(mask, REVEALS[col])
                if col.startswith("rri"):
                    reveal(members(rec["characteristic"], rec["reference"]), REVEALS[col])
    for rec in tables["profile"].to_dict("records"):
        mask = profile_members(rec["category"])
        if mask is not None:
            rows[("profile", rec["category"])] = mask
            if _published(rec["children"]) or _published(rec["share"]):
                reveal(mask, N)
    e = np.unique(np.array(equations), axis=0) if equations else np.zeros((0, 4 * k))
    # An orthonormal basis of what the published figures pin down: a count can be worked out
    # exactly when its selector lies in that span.
    if len(e):
        u, sv, vt = np.linalg.svd(e, full_matrices=False)
        basis = vt[sv > 1e-9 * sv.max()]
    else:
        basis = np.zeros((0, 4 * k))

    truth = np.zeros((k, 4))
    np.add.at(truth, (atom_of, cell), 1)
    # Everyone minus a published row is as good as published when everyone is.
    rows.update({("everyone but", *key): ~mask for key, mask in list(rows.items())
                 if not mask.all()})
    leaks = []
    for key, mask in rows.items():
        for name, sel in TARGETS.items():
            target = np.kron(mask.astype(float), np.array(sel, float))
            value = int(round(target @ truth.ravel()))
            if 1 <= value < MIN:
                residual = target - basis.T @ (basis @ target)
                if np.abs(residual).max() < 1e-6:
                    leaks.append((key, name, value))
    return leaks


cohorts = st.lists(
    st.tuples(
        st.sampled_from(A_VALUES + [None]), st.sampled_from(B_VALUES),
        st.sampled_from(AGES), st.booleans(),
        st.floats(0, 1, allow_nan=False, width=32),
    ),
    min_size=6, max_size=70,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=cohorts, mitigate=st.booleans())
def test_no_published_output_reveals_a_small_count(rows, mitigate, tmp_path_factory):
    frame = pd.DataFrame(rows, columns=["A", "B", "age_band", "label", "score"])
    frame["label"] = frame["label"].astype(int)
    policy = {"characteristics": {"A": None, "B": None}, "intersections": [],
              "bootstrap": {"n": 20}, "min_count": MIN}
    audit = fairness_audit(frame, AuditOptions(
        label="label", score="score", threshold=0.5, sensitive=["A", "B", "A*B"],
        policy=policy, mitigate=mitigate, profile_columns=["age_band"]))
    out = tmp_path_factory.mktemp("report")
    paths = write_fairness_report(audit, out, charts=False)

    # Read the files back, as a reader of the published report would.
    tables = {name: pd.read_csv(paths[name], keep_default_na=False, na_values=[""])
              for name in ("groups", "ratios", "rri", "profile", "between_groups")}
    for name, df in tables.items():
        for col in ("n", "n_positive", "n_flagged", "children", "n_flagged_after"):
            if col in df.columns:
                assert not any(_small_int(v) for v in df[col]), (name, col)
    doc = json.loads(paths["json"].read_text())
    for name, recs in doc["tables"].items():
        for rec in recs:
            for col in ("n", "n_positive", "n_flagged", "children", "n_flagged_after"):
                if col in rec:
                    assert not _small_int(rec[col]), (name, col, rec)
    for key in ("n", "n_flagged", "n_positive", "n_unlabelled"):
        assert not _small_int(doc["settings"][key]), key
    parser = _Cells()
    parser.feed(paths["html"].read_text())
    assert parser.cells, "the HTML report has count cells"
    assert not [c for c in parser.cells if _small_int(c)]

    leaks = attack(frame, frame["score"].to_numpy() >= 0.5, tables)
    assert not leaks, leaks

    if mitigate:
        # The after-mitigation figures reveal new flag counts: none may be small.
        mit = pd.read_csv(paths["mitigation"], keep_default_na=False, na_values=[""])
        g = tables["groups"].set_index(["characteristic", "group"])
        for rec in mit.to_dict("records"):
            key = ("all", "all") if rec["group"] == "all" else (rec["characteristic"],
                                                                  rec["group"])
            if _published(rec["selection_rate_after"]):
                n = float(g.loc[key, "n"])
                k = round(float(rec["selection_rate_after"]) * n)
                assert k == 0 or k >= MIN and (n - k == 0 or n - k >= MIN), rec


def test_secondary_suppression_covers_complements():
    # Hiding the group of 3 alone would leave it as the total minus the others.
    t = pd.DataFrame({"group": ["a", "b", "c", "d"], "children": [3, 40, 12, 9],
                      "percent": [4.7, 62.5, 18.8, 14.1]})
    out = suppress(t, total=64)
    assert out["children"].tolist() == ["<5", 40, 12, "suppressed"]
    assert out["percent"].tolist()[0] == "suppressed" and out["percent"].tolist()[3] == \
        "suppressed"
    # A category that is not a partition: 62 of 64 have the need, so 2 do not.
    need = pd.DataFrame({"need": ["parenting"], "children": [62]})
    assert suppress(need, total=64)["children"].tolist() == ["suppressed"]
    # Sections are handled separately, each against its own total.
    two = pd.DataFrame({"section": ["x", "x", "y", "y"], "children": [10, 10, 2, 18]})
    assert suppress(two, by="section")["children"].tolist() == [10, 10, "<5", "suppressed"]


def test_plan_protects_intersections_through_their_margins():
    # Groups a (40) and b (30); a splits into a-x (37) and a-y (3). Hiding a-y alone would let
    # it be worked out as a minus a-x, so a-x must go too (not the larger total rows).
    masks = np.array([
        [1, 1, 1, 1],   # everyone
        [1, 1, 0, 0],   # a
        [0, 0, 1, 1],   # b
        [1, 0, 0, 0],   # a-x
        [0, 1, 0, 0],   # a-y
        [0, 0, 1, 0],   # b-x
        [0, 0, 0, 1],   # b-y
    ])
    counts = np.array([70, 40, 30, 37, 3, 15, 15])
    hidden, sensitive = plan_suppression(masks, counts)
    assert sensitive.tolist() == [False, False, False, False, True, False, False]
    assert hidden[4] and hidden[3] and not hidden[0] and not hidden[1]


def test_cohort_profile_bands_needs_and_suppression():
    n = 40
    m = pd.DataFrame({
        "age_band": ["0-4"] * 20 + ["5-7"] * 17 + ["unborn"] * 3,
        "ace_total_all_count": [0] * 10 + [1] * 10 + [2] * 8 + [3] * 4 + [5] * 8,
        "contacts_need_parenting_all_count": [1] * 30 + [0] * 10,
        "contacts_need_housing_all_count": [2] * 38 + [0] * 2,
        "contacts_need_neglect_all_count": [0] * 40,
    })
    p = cohort_profile(m)
    ages = p[p.section == "Age band"]
    assert ages.category.tolist() == ["unborn", "0-4", "5-7"]
    assert ages.children.tolist() == ["<5", 20, "suppressed"]
    aces = p[p.section.str.startswith("Adverse")].set_index("category").children
    assert aces.to_dict() == {"0": 10, "1": 10, "2\u20133": 12, "4+": 8}
    needs = p[p.section == "Top needs"].set_index("category").children.to_dict()
    # 38 of 40 had housing: its complement (2) is small, so it is hidden.
    assert needs["parenting"] == 30 and needs["housing"] == "suppressed"
    assert p.iloc[0].children == n


def test_a_tiny_intersection_cell_does_not_hide_a_whole_group():
    # One child of unknown sex in a group of 400: protecting that "<5" cell must cost a few
    # other intersection cells, not the group's size, any other characteristic's group or
    # the cohort total, which an equality lead needs to read the report.
    rng = np.random.default_rng(3)
    n = 3000
    data = pd.DataFrame({
        "ethnicity": rng.choice(["white", "asian", "black", "mixed"], n, p=[.6, .2, .13, .07]),
        "sex": rng.choice(["female", "male"], n),
        "disability": rng.choice(["none", "sen_support", "ehcp"], n, p=[.8, .15, .05]),
        "age_band": rng.choice(["0-4", "5-7", "8-11", "12-15"], n),
        "locality": rng.choice(["north", "south", "east", "west"], n),
        "imd_quintile": rng.choice(["1", "2", "3", "4", "5"], n),
        "family_id": np.arange(n) // 2,
    })
    unknown = np.r_[np.flatnonzero(data.ethnicity == "black")[:1],
                    np.flatnonzero(data.ethnicity == "white")[:40],
                    np.flatnonzero(data.ethnicity == "asian")[:30],
                    np.flatnonzero(data.ethnicity == "mixed")[:20]]
    data.loc[unknown, "sex"] = "unknown"
    data["score"] = rng.uniform(size=n)
    data["label"] = (rng.uniform(size=n) < data["score"] * 0.3).astype(int)
    groups = fairness_audit(data, AuditOptions(label="label", score="score",
                                               cluster="family_id", top="10%")).groups
    n_shown = groups.set_index(["kind", "group"])["n"]
    assert n_shown.loc[("intersection", f"black{TIMES}unknown")] == "<5"
    plain = n_shown.drop(index="intersection", level="kind")
    assert all(isinstance(v, (int, np.integer)) for v in plain), plain[plain.map(
        lambda v: isinstance(v, str))]
