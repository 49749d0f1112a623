"""An attacker with integer programming against the published fairness reports.

The attacker reads only what the reports publish (``fairness.json``: every table, the settings)
and knows how they are made (Kerckhoffs): every count is a multiple of the rounding base and lies
within ``base - 1`` of the truth, a rate is a ratio of two published counts (so turning it back
into a fraction gives the rounded numerator), groups are defined by the characteristics' values,
and a higher threshold flags a subset of a lower one. The unknowns are the true counts of every
*cell*: each combination of characteristics, crossed with the outcome and with who each report
flagged (two thresholds, and before and after mitigation). For every true count from 1 to
``base - 1`` (a cell's, or a published row's, or the cells that two reports difference out), it
solves two integer programmes (scipy's ``milp``: non-negative integers) for the smallest and
largest value consistent with everything published. A count pinned to one value is recovered;
the test asserts none is, and that every such range spans at least the policy's protection
interval.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from riskmodel.evaluation import (
    AuditOptions,
    fairness_audit,
    load_fairness_policy,
    write_fairness_report,
)

from helpers.shared import COMPAS

TIMES = " \u00d7 "
BASE = 5
# The policy's protection interval: every small count's feasible range must span at least this
# many units (so the attacker cannot tell it from at least PROTECTION + 1 values).
PROTECTION = load_fairness_policy().protection


class Attacker:
    """Integer programming over cells: characteristics x outcome x each report's flags."""

    def __init__(self, frame: pd.DataFrame, columns: list[str], flag_sets: list[np.ndarray],
                 nested: list[tuple[int, int]], label: str, base: int = BASE):
        self.cols = columns
        self.base = base
        keys = frame[columns].astype(object).where(frame[columns].notna(), "not recorded")
        atoms = sorted(set(map(tuple, keys.astype(str).to_numpy())))
        self.atoms = atoms
        index = {a: i for i, a in enumerate(atoms)}
        atom_of = np.array([index[tuple(r)] for r in keys.astype(str).to_numpy()])
        y = frame[label].to_numpy().astype(int)
        # states: (y, f_1, ..., f_k), keeping those a nested pair of flag sets allows
        k = len(flag_sets)
        states = [s for s in itertools.product((0, 1), repeat=k + 1)
                  if all(not (s[1 + hi] and not s[1 + lo]) for lo, hi in nested)]
        self.states = states
        sidx = {s: i for i, s in enumerate(states)}
        state_of = np.array([sidx[(yy, *[int(f[i]) for f in flag_sets])]
                             for i, yy in enumerate(y)])
        self.truth = np.zeros((len(atoms), len(states)))
        np.add.at(self.truth, (atom_of, state_of), 1)
        self.rows, self.lo, self.hi = [], [], []
        self.minus: np.ndarray | None = None
        self.atom_of, self.state_of = atom_of, state_of

    def without(self, positions: list[int] | np.ndarray) -> np.ndarray:
        """The cells x states counts of the children at ``positions`` (to subtract)."""
        out = np.zeros_like(self.truth)
        np.add.at(out, (self.atom_of[positions], self.state_of[positions]), 1)
        return out

    # -- what a published figure says -----------------------------------------------------
    def members(self, characteristic: str, group: str) -> np.ndarray:
        if characteristic == "all":
            return np.ones(len(self.atoms), bool)
        parts, values = characteristic.split(TIMES), group.split(TIMES)
        ok = np.ones(len(self.atoms), bool)
        for col, val in zip(parts, values, strict=True):
            ok &= np.array([a[self.cols.index(col)] == val for a in self.atoms])
        return ok

    def selector(self, y=None, report=None, flagged=None) -> np.ndarray:
        return np.array([(y is None or s[0] == y)
                         and (report is None or s[1 + report] == flagged) for s in self.states])

    def published(self, mask: np.ndarray, sel: np.ndarray, value) -> None:
        """The true count of (atoms in ``mask``) x (states in ``sel``) was published as
        ``value`` (rounded): it lies within base - 1 of it, and is not negative."""
        v = float(value)
        row = np.kron(mask.astype(float), sel.astype(float))
        # a report of the cohort less some children the attacker knows (self.minus): its
        # true count is the full cohort's less theirs
        known = float(row @ self.minus.ravel()) if self.minus is not None else 0.0
        self.rows.append(row)
        self.lo.append(max(known, v - (self.base - 1) + known))
        self.hi.append(v + (self.base - 1) + known)

    def read_report(self, doc: dict, report: int, after: int | None = None) -> None:
        """Everything one report publishes; ``after`` is the index of its mitigation flags."""
        tables = doc["tables"]
        everyone = self.selector()
        for rec in tables["groups"]:
            m = self.members(rec["characteristic"], rec["group"])
            self.published(m, everyone, rec["n"])
            self.published(m, self.selector(y=1), rec["n_positive"])
            self.published(m, self.selector(report=report, flagged=1), rec["n_flagged"])
            # rates back into fractions: recall = found / needed, so found = recall x needed
            if rec["n_positive"] and _number(rec["true_positive_rate"]):
                tp = rec["true_positive_rate"] * rec["n_positive"]
                assert abs(tp - round(tp)) < 1e-6, "a rate is not a ratio of published counts"
                assert round(tp) == rec["n_found"]
            flagged = self.selector(report=report, flagged=1)
            self.published(m, self.selector(y=1) & flagged, rec["n_found"])
            self.published(m, self.selector(y=1) & ~flagged, rec["n_missed"])
            self.published(m, self.selector(y=0) & flagged, rec["n_false_positive"])
        for rec in tables["profile"]:
            section = rec["section"].lower().split(" (")[0]
            col = next((c for c in self.cols if c.replace("_", " ").lower() == section), None)
            if col is not None:
                self.published(self.members(col, rec["category"]), everyone, rec["children"])
            else:
                assert rec["section"] == "Children", f"unknown profile section {rec['section']}"
        st = doc["settings"]
        allm = np.ones(len(self.atoms), bool)
        self.published(allm, everyone, st["n"])
        self.published(allm, self.selector(y=1), st["n_positive"])
        self.published(allm, self.selector(report=report, flagged=1), st["n_flagged"])
        if after is not None and "mitigation" in tables:
            groups = {(r["characteristic"], r["group"]): r for r in tables["groups"]}
            for rec in tables["mitigation"]:
                key = ("all", "all") if rec["group"] == "all" else (rec["characteristic"],
                                                                      rec["group"])
                m = self.members(*key)
                self.published(m, self.selector(report=after, flagged=1), rec["n_flagged_after"])
                pos = groups[key]["n_positive"]
                if pos and _number(rec["false_negative_rate_after"]):
                    missed = rec["false_negative_rate_after"] * pos
                    assert abs(missed - round(missed)) < 1e-6
                    sel = self.selector(y=1) & self.selector(report=after, flagged=0)
                    self.published(m, sel, round(missed))

    # -- the attack -------------------------------------------------------------------------
    def targets(self):
        """Small true counts: every cell, every published row by outcome x flags, and every
        cell two reports difference out (one report flags, the other does not)."""
        k = len(self.states[0]) - 1
        sels = {"cell": None}
        for y in (0, 1):
            for r in range(k):
                for fl in (0, 1):
                    sels[f"y={y},f{r}={fl}"] = self.selector(y=y, report=r, flagged=fl)
            for a, b in itertools.permutations(range(k), 2):
                sels[f"y={y},f{a}=1,f{b}=0"] = (self.selector(y=y, report=a, flagged=1)
                                                & self.selector(report=b, flagged=0))
        masks = {("atom", i): np.eye(len(self.atoms), dtype=bool)[i]
                 for i in range(len(self.atoms))}
        for col in self.cols:
            for v in sorted({a[self.cols.index(col)] for a in self.atoms}):
                masks[(col, v)] = self.members(col, v)
        for name, sel in sels.items():
            for key, m in masks.items():
                if name == "cell":
                    if key[0] != "atom":
                        continue
                    for s in range(len(self.states)):
                        one = np.zeros(len(self.states), bool)
                        one[s] = True
                        yield (key, self.states[s]), np.kron(m, one).astype(float)
                else:
                    yield (key, name), np.kron(m, sel).astype(float)

    def attack(self, limit: int | None = None, cells: int | None = None, seed: int = 0):
        """(what, truth, low, high) for every small true count, from two milp solves each;
        ``cells`` keeps a random sample of that many single-cell targets (all row-level
        targets are kept)."""
        a = np.array(self.rows)
        cons = LinearConstraint(a, np.array(self.lo), np.array(self.hi))
        truth = self.truth.ravel()
        assert np.all(a @ truth >= np.array(self.lo) - 1e-9)
        assert np.all(a @ truth <= np.array(self.hi) + 1e-9), "the truth must be feasible"
        ub = np.full(len(truth), a.shape[0] and max(self.hi))
        out, seen, todo = [], set(), []
        for what, c in self.targets():
            t = int(round(c @ truth))
            sig = c.tobytes()
            if 1 <= t < self.base and sig not in seen:
                seen.add(sig)
                todo.append((what, c, t))
        if cells is not None:
            single = [i for i, (w, _, _) in enumerate(todo) if w[0][0] == "atom"
                      and isinstance(w[1], tuple)]
            rng = np.random.default_rng(seed)
            drop = set(single) - set(rng.choice(single, min(cells, len(single)), replace=False)
                                     .tolist())
            todo = [x for i, x in enumerate(todo) if i not in drop]
        for what, c, t in todo:
            ends = []
            for sign in (1, -1):
                res = milp(sign * c, integrality=np.ones(len(c)), bounds=Bounds(0, ub),
                           constraints=cons, options={"time_limit": 30})
                assert res.status == 0, res.message
                ends.append(sign * res.fun)
            out.append((what, t, round(ends[0]), round(ends[1])))
            if limit and len(out) >= limit:
                break
        return out


def _number(v) -> bool:
    return isinstance(v, int | float) and np.isfinite(v)


def _report(frame, tmp, **options):
    audit = fairness_audit(frame, AuditOptions(**options))
    paths = write_fairness_report(audit, tmp, charts=False)
    return audit, json.loads(paths["json"].read_text())


def _check(results):
    assert results, "the attack found no small counts to try: the test would prove nothing"
    pinned = [r for r in results if r[2] == r[3]]
    assert not pinned, pinned[:5]
    narrow = [r for r in results if r[3] - r[2] < PROTECTION]
    assert not narrow, narrow[:5]


@pytest.fixture(scope="module")
def compas():
    assert COMPAS.is_file(), f"the COMPAS sample is missing: expected {COMPAS}"
    return pd.read_csv(COMPAS)


def test_attacker_recovers_nothing_from_one_compas_report_with_mitigation(compas, tmp_path):
    cols = ["race", "sex"]
    policy = {"characteristics": {c: None for c in cols}, "intersections": [],
              "bootstrap": {"n": 20}, "mitigation": {"characteristic": "race"}}
    a5, doc5 = _report(compas, tmp_path / "t5", threshold=5, mitigate=True, policy=policy,
                       label="two_year_recid", score="decile_score", sensitive="race,sex,race*sex")
    att = Attacker(compas, cols, [(compas.decile_score >= 5).to_numpy(), a5.flags_after],
                   nested=[], label="two_year_recid")
    att.read_report(doc5, report=0, after=1)
    _check(att.attack())


@pytest.mark.slow
def test_attacker_recovers_nothing_from_compas_two_thresholds_and_mitigation(compas,
                                                                             tmp_path):
    cols = ["race", "sex", "age_cat"]
    policy = {"characteristics": {c: None for c in cols}, "intersections": [],
              "bootstrap": {"n": 20}, "mitigation": {"characteristic": "race"}}
    common = dict(label="two_year_recid", score="decile_score",
                  sensitive="race,sex,age_cat,race*sex,race*age_cat,sex*age_cat", policy=policy)
    a5, doc5 = _report(compas, tmp_path / "t5", threshold=5, mitigate=True, **common)
    _, doc6 = _report(compas, tmp_path / "t6", threshold=6, **common)
    f5 = (compas.decile_score >= 5).to_numpy()
    f6 = (compas.decile_score >= 6).to_numpy()
    att = Attacker(compas, cols, [f5, a5.flags_after, f6], nested=[(0, 2)],
                   label="two_year_recid")
    att.read_report(doc5, report=0, after=1)
    att.read_report(doc6, report=2)
    results = att.attack()
    _check(results)
    # the cell: Other x Greater than 45, false positives (2) and true positives (3)
    other_old = [r for r in results if r[0][0] == ("atom", att.atoms.index(
        next(a for a in att.atoms if a[0] == "Other" and a[2] == "Greater than 45"
             and a[1] == "Male")))]
    assert other_old, "the issue's example cells were attacked"


@pytest.mark.slow
def test_attacker_recovers_nothing_from_a_synthetic_council(tmp_path):
    from riskmodel.data import generate_council
    from riskmodel.jobs._extract import open_extract

    data = generate_council(n_children=3000, seed=5, out=tmp_path / "council")
    kids = open_extract(data).tables["children"]
    rng = np.random.default_rng(0)
    cols = ["ethnicity", "sex", "disability"]
    frame = kids[["child_id", *cols]].astype(str).reset_index(drop=True)
    frame["score"] = rng.uniform(size=len(frame))
    frame["label"] = (rng.uniform(size=len(frame)) < 0.3 * frame["score"] + 0.05).astype(int)
    policy = {"characteristics": {c: None for c in cols}, "intersections": [],
              "bootstrap": {"n": 20}, "mitigation": {"characteristic": "ethnicity"}}
    common = dict(label="label", score="score", policy=policy,
                  sensitive="ethnicity,sex,disability,ethnicity*sex")
    a10, doc10 = _report(frame, tmp_path / "top10", top="10%", mitigate=True, **common)
    _, doc12 = _report(frame, tmp_path / "top12", top="12%", **common)
    att = Attacker(frame, cols, [_flags(frame, 0.10), a10.flags_after, _flags(frame, 0.12)],
                   nested=[(2, 0)], label="label")
    att.read_report(doc10, report=0, after=1)
    att.read_report(doc12, report=2)
    _check(att.attack(cells=150))


def _flags(frame, share):
    k = int(np.ceil(len(frame) * share))
    order = np.lexsort((np.arange(len(frame)), -frame["score"].to_numpy()))
    f = np.zeros(len(frame), bool)
    f[order[:k]] = True
    return f


# -- re-runs: the same list, each report with a different unflagged child removed ----------

RERUN_COLS = ["ethnicity", "sex", "disability"]


def _council_frame(n: int, seed: int) -> pd.DataFrame:
    """Children with small ethnic groups, a score and an outcome that follows it."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "child_id": [f"C{i:06d}" for i in range(n)],
        "ethnicity": rng.choice(["white", "asian", "black", "mixed", "other"], n,
                                p=[0.8, 0.08, 0.06, 0.04, 0.02]),
        "sex": rng.choice(["female", "male"], n),
        "disability": rng.choice(["no", "yes"], n, p=[0.9, 0.1]),
        "score": rng.uniform(size=n)})
    frame["label"] = (rng.uniform(size=n) < 0.3 * frame["score"] + 0.05).astype(int)
    return frame


def _rerun_attack(frame: pd.DataFrame, tmp: Path, reruns: int = 6):
    policy = {"characteristics": {c: None for c in RERUN_COLS}, "intersections": [],
              "bootstrap": {"n": 20}}
    common = dict(label="label", score="score", policy=policy, threshold=0.8,
                  sensitive="ethnicity,sex,disability,ethnicity*sex")
    att = Attacker(frame, RERUN_COLS, [(frame.score >= 0.8).to_numpy()], nested=[],
                   label="label")
    att.read_report(_report(frame, tmp / "full", **common)[1], report=0)
    # the worst case: unflagged children from the smallest cells, whom the attacker knows
    unflagged = frame[frame.score < 0.8]
    size = unflagged.groupby(RERUN_COLS)["child_id"].transform("size")
    removed = unflagged.assign(size=size).sort_values(["size", "child_id"]).index[:reruns]
    for k, i in enumerate(removed):
        doc = _report(frame.drop(index=i).reset_index(drop=True), tmp / f"less{k}",
                      **common)[1]
        att.minus = att.without([i])
        att.read_report(doc, report=0)
        att.minus = None
    return att.attack()


COUNTS = ["n", "n_positive", "n_flagged", "n_found", "n_missed", "n_false_positive"]


def test_a_rerun_without_one_child_changes_only_the_cells_that_hold_it(tmp_path,
                                                                       monkeypatch):
    """Permanent record keys: every published count of a group the removed child is not in
    is the same in both reports (with keys salted by the cohort, every cell re-rounds)."""
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    frame = _council_frame(500, 5)
    policy = {"characteristics": {c: None for c in RERUN_COLS}, "intersections": [],
              "bootstrap": {"n": 20}}
    common = dict(label="label", score="score", policy=policy, threshold=0.8, bootstrap=False,
                  sensitive="ethnicity,sex,disability,ethnicity*sex")
    full = pd.DataFrame(_report(frame, tmp_path / "full", **common)[1]["tables"]["groups"])
    changed = 0
    for k, i in enumerate(frame.index[frame.score < 0.8][:6]):
        less = frame.drop(index=i).reset_index(drop=True)
        doc = _report(less, tmp_path / f"less{k}", **common)[1]
        rerun = pd.DataFrame(doc["tables"]["groups"])
        child = frame.loc[i]
        holds = np.array([c == "all" or all(child[col] == v for col, v in zip(
            c.split(TIMES), g.split(TIMES), strict=True))
            for c, g in zip(full.characteristic, full.group, strict=True)])
        assert (full.loc[~holds, COUNTS] == rerun.loc[~holds, COUNTS]).all().all()
        changed += int((full.loc[holds, COUNTS] != rerun.loc[holds, COUNTS]).any().any())
    assert changed, "no cell holding a removed child changed: the test proves nothing"


@pytest.mark.slow
def test_six_reruns_each_without_one_unflagged_child_pin_no_small_count(tmp_path,
                                                                         monkeypatch):
    """Permanent record keys: a re-run re-rounds only the cells that hold the child removed,
    so six such reports (the attacker knowing who left) pin no small count (issue 27)."""
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    _check(_rerun_attack(_council_frame(1500, 3), tmp_path))


@pytest.mark.slow
def test_six_reruns_of_a_15000_child_council_pin_no_small_count(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    _check(_rerun_attack(_council_frame(15000, 4), tmp_path))


# -- the front door: ratios, intervals and p-values give back no exact contact count --------

def _front_door_data(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Children in families, with contacts from three sources, more for small groups."""
    rng = np.random.default_rng(seed)
    kids = pd.DataFrame({
        "child_id": [f"K{i:06d}" for i in range(n)],
        "family_id": [f"F{i // 2:06d}" for i in range(n)],
        "date_of_birth": pd.Timestamp("2008-01-01")
        + pd.to_timedelta(rng.integers(0, 15 * 365, n), unit="D"),
        "ethnicity": rng.choice(["white", "asian", "black", "mixed", "other"], n,
                                p=[0.85, 0.06, 0.05, 0.03, 0.01]),
        "sex": rng.choice(["female", "male", "unknown"], n, p=[0.495, 0.495, 0.01])})
    per = rng.poisson(np.where(kids.ethnicity == "black", 0.8, 0.4))
    child = np.repeat(np.arange(n), per)
    contacts = pd.DataFrame({
        "contact_id": [f"X{i:07d}" for i in range(len(child))],
        "child_id": kids.child_id.to_numpy()[child],
        "contact_date": pd.Timestamp("2023-01-01")
        + pd.to_timedelta(rng.integers(0, 730, len(child)), unit="D"),
        "source": rng.choice(["police", "school", "health"], len(child), p=[0.5, 0.3, 0.2]),
        "outcome": rng.choice(["nfa", "early_help", "social_care"], len(child),
                              p=[0.6, 0.3, 0.1])})
    return kids, contacts


def _front_door_attack(kids: pd.DataFrame, contacts: pd.DataFrame) -> tuple[int, list]:
    """Solve each contact-rate finding for the group's contact count, given the published
    counts and, to make the attacker stronger, every group's exact person-years: a ratio
    from exact counts fixes c / c0 exactly, so (c, c0) within the rounding is found."""
    from riskmodel.evaluation import referral_disproportionality
    from riskmodel.evaluation.fairness._referrals import _exposure_years

    pol = {"characteristics": {"ethnicity": None, "sex": None}, "intersections": []}
    audit = referral_disproportionality(kids, contacts, policy=pol)
    st = audit.settings
    years = _exposure_years(kids.date_of_birth, pd.Timestamp(st["start"]),
                            pd.Timestamp(st["end"]))
    rates = audit.rates.set_index(["characteristic", "group", "source"])
    on = contacts.merge(kids, on="child_id")
    recovered, differs = [], 0
    for f in audit.findings.query("measure == 'contact_rate'").itertuples():
        if not np.isfinite(f.ratio):
            continue
        col = kids[f.characteristic].astype(str) == str(f.group)
        sel = on[on[f.characteristic].astype(str) == str(f.group)]
        truth = int(len(sel) if f.source == "all sources" else (sel.source == f.source).sum())
        c_pub = int(rates.loc[(f.characteristic, f.group, f.source), "contacts"])
        c0_pub = int(rates.loc[("all", "all", f.source), "contacts"])
        differs += truth != c_pub
        q = f.ratio * years[col.to_numpy()].sum() / years.sum()  # = c / c0
        found = {c for c0 in range(max(1, c0_pub - 4), c0_pub + 5)
                 for c in range(max(0, c_pub - 4), c_pub + 5) if abs(c / c0 - q) < 1e-9}
        if found == {truth} and truth != c_pub:
            recovered.append((f.group, f.source, truth, c_pub))
    for f in audit.findings.query("measure == 'stepped_up'").itertuples():
        got = _stepped_up_attack(f, on, rates)
        differs += got[0]
        recovered += got[1]
    return differs, recovered


def _stepped_up_attack(f, on: pd.DataFrame, rates: pd.DataFrame) -> tuple[int, list]:
    """Solve a stepped-up finding, (h / c) / (h0 / c0) against the rest of the cohort, for
    the group's contacts that led to help (h), over every count the rounding allows."""
    from riskmodel.evaluation.fairness._referrals import HELPED

    if not np.isfinite(f.ratio):
        return 0, []
    sel = on[on[f.characteristic].astype(str) == str(f.group)]
    truth = int(sel.outcome.isin(HELPED).sum())
    row, whole = rates.loc[(f.characteristic, f.group, "all sources")], \
        rates.loc[("all", "all", "all sources")]
    c, call = int(row.contacts), int(whole.contacts)
    h, hall = (round(r.stepped_up * r.contacts) if r.contacts else 0 for r in (row, whole))
    span = np.arange(-BASE + 1, BASE)
    hs, cs, has, cas = np.meshgrid(h + span, c + span, hall + span, call + span)
    ok = (hs >= 0) & (cs > 0) & (has - hs > 0) & (cas - cs > 0) & (hs <= cs)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (hs / cs) / ((has - hs) / (cas - cs))
    found = set(hs[ok & (np.abs(q - f.ratio) < 1e-9)].tolist())
    return int(truth != h), ([(f.group, "helped", truth, h)] if found == {truth} and truth != h
                             else [])


def test_front_door_ratios_give_back_no_exact_contact_count():
    differs, recovered = _front_door_attack(*_front_door_data(3000, 1))
    assert differs >= 5, "no rounded count differs from the truth: the test proves nothing"
    assert not recovered, recovered[:5]


@pytest.mark.slow
def test_front_door_of_a_15000_child_council_gives_back_no_contact_count():
    differs, recovered = _front_door_attack(*_front_door_data(15000, 2))
    assert differs >= 20
    assert not recovered, recovered[:5]


# -- capacity N and N + 1 -------------------------------------------------------------------

def test_capacity_n_and_n_plus_1_give_away_the_child_at_the_margin(tmp_path, monkeypatch):
    """Why capacity-based tables are published only for the list actually used (see
    docs/fairness.md, "Capacity N and N + 1"): two reports one child apart differ only in
    the cells that hold the child at the margin (permanent keys keep every other cell), so
    every group whose flagged count moves is one of the child's. The flagged cells are not
    re-salted per list instead: that would turn every pair of lists into fresh roundings of
    near-identical counts, which averaging undoes (the re-run attack of issue 27)."""
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    frame = _council_frame(500, 6)
    policy = {"characteristics": {c: None for c in RERUN_COLS}, "intersections": [],
              "bootstrap": {"n": 20}}
    common = dict(label="label", score="score", policy=policy, bootstrap=False,
                  sensitive="ethnicity,sex,disability,ethnicity*sex")
    order = np.lexsort((np.arange(len(frame)), -frame.score.to_numpy()))
    groups = {n: pd.DataFrame(_report(frame, tmp_path / f"top{n}", top=n, **common)[1]
                              ["tables"]["groups"]) for n in range(40, 45)}
    moved_any = 0
    for n in (40, 41, 42, 43):
        a, b = groups[n], groups[n + 1]
        child = frame.iloc[order[n]]  # the child at the margin
        moved = a.n_flagged != b.n_flagged
        for c, g in zip(a.characteristic[moved], a.group[moved], strict=True):
            assert c == "all" or all(child[col] == v for col, v in zip(
                c.split(TIMES), g.split(TIMES), strict=True))
        moved_any += int(moved.sum())
    assert moved_any, "no flagged count moved: the test shows nothing"


# -- monitoring: the month's summary alone, and with the same month's fairness report -------

MONITOR_COLS = ["ethnicity", "sex", "disability"]
#: monitoring's published cells -> (needed help, flagged) of the children they count
MONITOR_CELLS = {"children": (None, None), "needed_help": (1, None),
                 "did_not_need_help": (0, None), "flagged": (None, 1), "hits": (1, 1),
                 "missed": (1, 0), "false_positives": (0, 1)}
#: monitoring's measures that are rates of counts: measure -> (numerator, denominator) cells
MONITOR_RATES = {"base_rate": ("needed_help", "children"),
                 "precision_at_capacity": ("hits", "flagged"),
                 "recall_at_capacity": ("hits", "needed_help")}


def _month(n: int, seed: int) -> pd.DataFrame:
    """One month's list with its outcomes: the rows ``riskmodel monitor`` judges."""
    frame = _council_frame(n, seed)
    rng = np.random.default_rng(seed)
    rare = rng.choice(n, n // 250, replace=False)  # two small groups, as in a real council
    frame.loc[rare, "ethnicity"] = np.where(np.arange(len(rare)) % 3, "traveller", "roma")
    frame["as_of"] = "2025-01-01"
    frame["p"] = 0.3 * frame["score"] + 0.05
    frame["y"] = frame["label"]
    frame["flag"] = _flags(frame, 0.10)
    frame["family_id"] = np.arange(n) // 2
    frame["record_id"] = frame["child_id"] + "|" + frame["as_of"]
    return frame


def _monitoring_summary(frame: pd.DataFrame) -> dict:
    """The realised section of the month's ``summary.json``, as ``riskmodel monitor`` makes it
    (jobs.monitor: the overall figures and the by-group table), written and read as JSON."""
    from riskmodel.evaluation.fairness import REST
    from riskmodel.evaluation.monitoring import by_group, realised

    out = {"overall": realised(frame.y, frame.p, frame.flag, frame.family_id, n_boot=30,
                               ids=frame.record_id.to_numpy()),
           "groups": by_group(frame, {c: "everyone" for c in MONITOR_COLS}, rest=REST,
                              n_boot=30)}
    return json.loads(json.dumps(out, default=float))


class MonitoringAttacker(Attacker):
    """The attacker, also reading monitoring's summary: its counts (within base - 1 of the
    truth) and its rates; a rate that is not the ratio of the published counts came from exact
    counts, so every exact fraction near the published counts is a candidate for them."""

    def bound(self, row: np.ndarray, lo: float, hi: float) -> None:
        self.rows.append(row)
        self.lo.append(lo)
        self.hi.append(hi)

    def rate(self, mask, cells: dict, measure: str, value) -> bool:
        """Read one rate; True when it narrowed its counts."""
        num, den = MONITOR_RATES[measure]
        k, d = cells[num], cells[den]
        if not _number(value) or (d and abs(value - k / d) < 1e-12):
            return False  # hidden, or the ratio of two published counts: nothing new
        fits = [(a, b) for b in range(max(1, d - BASE + 1), d + BASE)
                for a in range(max(0, k - BASE + 1), min(b, k + BASE - 1) + 1)
                if abs(a / b - value) < 1e-12]
        if not fits:
            return False
        for name, got in ((num, [a for a, _ in fits]), (den, [b for _, b in fits])):
            self.bound(np.kron(mask, self._cell(name)).astype(float), min(got), max(got))
        return True

    def _cell(self, name: str) -> np.ndarray:
        y, f = MONITOR_CELLS[name]
        return self.selector(y=y) & (self.selector(report=0, flagged=f) if f is not None
                                     else self.selector())

    def read_monitoring(self, summary: dict) -> int:
        """Everything the realised section publishes; the number of rates that narrowed."""
        narrowed = 0
        everyone = np.ones(len(self.atoms), bool)
        overall = summary["overall"]
        cells = {"children": overall["n"], "needed_help": overall["positives"],
                 "flagged": overall["flagged"]}
        for name, v in cells.items():
            self.published(everyone, self._cell(name), v)
        cells["hits"] = round((overall["metrics"]["precision_at_capacity"]["value"] or 0)
                              * cells["flagged"])
        for m in MONITOR_RATES:
            narrowed += self.rate(everyone, cells, m, overall["metrics"][m]["value"])
        for ch in summary["groups"]:
            for g in ch["groups"]:
                mask = self.members(ch["characteristic"], g["group"])
                for name in MONITOR_CELLS:
                    self.published(mask, self._cell(name), g[name])
                for m in MONITOR_RATES:
                    narrowed += self.rate(mask, g, m, (g.get("metrics") or {}).get(
                        m, {}).get("value"))
        return narrowed


def _monitoring_attack(n: int, seed: int, tmp: Path, with_fairness: bool):
    frame = _month(n, seed)
    att = MonitoringAttacker(frame, MONITOR_COLS, [frame.flag.to_numpy()], nested=[],
                             label="y")
    narrowed = att.read_monitoring(_monitoring_summary(frame))
    if with_fairness:  # the fairness report of the same month's list (same record keys)
        policy = {"characteristics": {c: None for c in MONITOR_COLS}, "intersections": [],
                  "bootstrap": {"n": 20}}
        doc = _report(frame.assign(flagged=frame.flag.astype(float)), tmp, label="y",
                      score="flagged", threshold=0.5, policy=policy, bootstrap=False,
                      sensitive="ethnicity,sex,disability,ethnicity*sex")[1]
        att.read_report(doc, report=0)
    return narrowed, att.attack(cells=150)


def test_monitoring_summary_publishes_no_figure_of_exact_counts(monkeypatch):
    """Every rate in the month's realised section is a ratio of its published counts, and
    AUC and calibration error are two decimals, shown only for 20 or more each side."""
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    frame = _month(3000, 8)
    summary = _monitoring_summary(frame)
    att = MonitoringAttacker(frame, MONITOR_COLS, [frame.flag.to_numpy()], nested=[],
                             label="y")
    assert att.read_monitoring(summary) == 0, "a rate gave back exact counts"
    groups = [g for ch in summary["groups"] for g in ch["groups"]]
    assert any(g["needed_help"] < 20 for g in groups), "no small group: the test shows little"
    for g in [summary["overall"], *groups]:
        for m in ("auc", "calibration_error"):
            got = (g.get("metrics") or {}).get(m)
            if got is None or got.get("hidden"):
                continue
            assert g.get("needed_help", g.get("positives")) >= 20
            for part in ("value", "low", "high"):
                v = got[part]
                assert not _number(v) or v == round(v, 2), (m, part, v)
    for g in groups:
        for key in ("missed_ratio", "oe_ratio"):
            r = g.get(key)
            if r and r["low"] is not None:
                assert g["needed_help"] >= 20 and r["low"] == round(r["low"], 2)


def test_a_two_decimal_auc_gives_back_no_count():
    """docs/fairness.md's claim: with 20 or more children each side, every pair of counts
    the published (rounded) counts allow admits every two-decimal AUC (some number of
    correctly ordered pairs gives it), so the AUC narrows no count."""
    for n1 in range(20 - BASE + 1, 60):
        for n0 in (n1, 3 * n1, 40 * n1):
            pairs = n1 * n0
            for v in np.round(np.arange(0, 1.001, 0.01), 2):
                u = np.arange(np.floor((v - 0.005) * pairs) - 1, np.ceil((v + 0.005) * pairs)
                              + 2)
                u = u[(u >= 0) & (u <= pairs)]
                assert np.any(np.round(u / pairs, 2) == v), (n1, n0, v)


def test_monitoring_summary_of_a_15000_child_month_pins_no_small_count(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    narrowed, results = _monitoring_attack(15000, 9, tmp_path, with_fairness=False)
    assert narrowed == 0
    _check(results)


@pytest.mark.slow
def test_monitoring_summary_with_the_months_fairness_report_pins_no_small_count(
        tmp_path, monkeypatch):
    monkeypatch.setenv("RISKMODEL_DISCLOSURE_KEY", "a council secret for the test")
    narrowed, results = _monitoring_attack(15000, 9, tmp_path, with_fairness=True)
    assert narrowed == 0
    _check(results)
