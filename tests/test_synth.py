"""The synthetic council: calibration, known truth, determinism, referral bias, the contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.data import (
    calibration_table,
    generate_council,
    read_tables,
    simulate_council,
    validate_tables,
)
from riskmodel.data._contract import EARLY_HELP_SERVICES, SOCIAL_CARE_SERVICES
from riskmodel.data.synth._dates import _age_years, _months_before

from helpers.synth import check_invariants, labels_from_tables

EXTRACT = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def big():
    """A 20,000-child council (the size the calibration is checked at)."""
    return simulate_council(20_000, seed=1)


# ------------------------------------------------------------------ calibration -------------

def test_calibration_within_tolerance_at_20000_children(big):
    table = calibration_table(big.tables)
    bad = table[~table["ok"]]
    assert bad.empty, bad.to_string()
    assert len(table) >= 40
    # the manifest records the same table (what the docs show)
    recorded = pd.DataFrame(big.manifest["calibration"])
    assert np.allclose(recorded["generated"], table["generated"], atol=1e-6, equal_nan=True)
    # the population the issue asks for: unborn children, and a black group large enough
    ch = big.tables["children"]
    assert (ch["ethnicity"] == "black").sum() >= 500
    assert table.set_index(["measure", "category"]).loc[("age_at_start", "unborn"),
                                                         "generated"] > 0


def test_calibration_table_reads_raw_tables_and_flags_misses(tmp_path):
    council = simulate_council(3_000, seed=2)
    typed = calibration_table(council.tables)
    generate_council(3_000, seed=2, out=tmp_path / "c")
    raw = calibration_table(read_tables(tmp_path / "c"))
    pd.testing.assert_frame_equal(typed, raw)
    # a measure that misses its target is flagged
    tables = dict(council.tables)
    ep = tables["episodes"].copy()
    ep.loc[ep["closure_reason"].notna() & (ep["service"] == "early_help_pathway"),
           "closure_reason"] = "escalated"
    tables["episodes"] = ep
    row = calibration_table(tables).set_index(["measure", "category"]).loc[
        ("closure_early_help_pathway", "escalated")]
    assert row["generated"] == 1.0 and not row["ok"]


# ------------------------------------------------------------------ the truth ---------------

def test_truth_is_exactly_the_simulation_and_the_cohort(big):
    check_invariants(big, EXTRACT)
    detail = big.detail
    for months in (6, 12):
        ok = (detail["as_of"] + pd.DateOffset(months=months)) <= EXTRACT
        n_open, esc, dis = labels_from_tables(big.tables, detail[ok], months)
        assert (n_open == 1).all()
        # labels read from the tables are exactly what the simulation did
        np.testing.assert_array_equal(esc, detail.loc[ok, f"y_escalation_{months}m"])
        np.testing.assert_array_equal(dis, detail.loc[ok, f"y_disengagement_{months}m"])


@pytest.mark.parametrize("outcome", ["escalation", "disengagement"])
@pytest.mark.parametrize("months", [6, 12])
def test_truth_is_calibrated_against_simulated_outcomes(big, outcome, months):
    d = big.detail.sort_values(["episode_id", "as_of"])
    # One as-of date per episode, so that rows are independent Bernoulli draws. The k-th
    # quarterly date after the start is picked with k drawn independently of what happens
    # next (picking among an episode's rows would favour episodes that close early).
    rank = d.groupby("episode_id").cumcount().to_numpy()
    episodes = d["episode_id"].unique()
    k = pd.Series(np.random.default_rng(0).integers(0, 6, len(episodes)), index=episodes)
    d = d[(rank == k.loc[d["episode_id"]].to_numpy())
          & ((d["as_of"] + pd.DateOffset(months=months)) <= EXTRACT).to_numpy()]
    n_open, esc, dis = labels_from_tables(big.tables, d, months)
    y = esc if outcome == "escalation" else dis
    p = d[f"p_{outcome}_{months}m"].to_numpy()
    bins = pd.qcut(p, 10, labels=False, duplicates="drop")
    for b in np.unique(bins):
        pb, yb = p[bins == b], y[bins == b]
        sd = np.sqrt((pb * (1 - pb)).sum()) / len(pb)
        # binomial interval (z = 4: 40 bins are tested in all)
        assert abs(yb.mean() - pb.mean()) <= 4 * sd + 1e-3, (b, yb.mean(), pb.mean(), len(pb))
    assert abs(y.mean() - p.mean()) <= 4 * np.sqrt((p * (1 - p)).sum()) / len(p)


def test_truth_auc_and_small_latent_effect(big):
    auc = big.manifest["truth"]["auc"]
    assert 0.75 <= auc["escalation_6m"]["auc_truth"] <= 0.85
    for name, a in auc.items():
        assert a["gap"] <= 0.005, name
        assert a["auc_truth"] > 0.6, name


def test_manifest_documents_everything(big):
    m = big.manifest
    assert m["seed"] == 1 and m["extract_date"] == "2025-12-31" and m["n_children"] == 20_000
    assert {"walsall_2016", "warwickshire_2020", "wolverhampton_2018"} <= set(m["targets"])
    assert m["parameters"]["lockout_days"] >= 367
    for outcome in ("escalation", "disengagement"):
        drivers = m["drivers"][outcome]
        strength = [d["strength"] for d in drivers]
        assert strength == sorted(strength, reverse=True)
        assert all(d["observable"] and "coefficient" in d for d in drivers)
        assert [d["driver"] for d in drivers if not d["observed"]] == ["latent"]
    esc = {d["feature"] for d in m["drivers"]["escalation"][:4]}
    assert "ace_toxictrio_all_count" in esc


# ------------------------------------------------------------------ determinism and files ---

def test_same_seed_same_bytes_and_contract(tmp_path):
    a = generate_council(n_children=3_000, seed=11, out=tmp_path / "a")
    b = generate_council(n_children=3_000, seed=11, out=tmp_path / "b")
    c = generate_council(n_children=3_000, seed=12, out=tmp_path / "c")
    names = sorted(p.name for p in a.iterdir())
    assert names == ["ace_factors.parquet", "children.parquet", "children_history.parquet",
                     "contacts.parquet", "episodes.parquet", "manifest.json", "truth.parquet"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "contacts.parquet").read_bytes() != (c / "contacts.parquet").read_bytes()
    manifest = json.loads((a / "manifest.json").read_text())
    tables = read_tables(a)
    assert validate_tables(tables, extract_date=manifest["extract_date"]) == []
    # storage types: dates as date32, ids as strings, imd_decile a nullable integer
    schema = pq.read_schema(a / "contacts.parquet")
    assert str(schema.field("contact_date").type) == "date32[day]"
    assert str(schema.field("contact_id").type) == "string"
    children = pq.read_table(a / "children.parquet")
    assert str(children.schema.field("imd_decile").type) == "int64"
    assert 0 < children["imd_decile"].null_count < 0.1 * len(children)
    assert tables["children"]["child_id"].iloc[0] == "C0000001"
    assert tables["episodes"]["episode_id"].str.match(r"^E\d{8}$").all()
    # what is written is what simulate_council holds in memory
    council = simulate_council(3_000, seed=11)
    for name, df in council.tables.items():
        from riskmodel.data import coerce_tables
        pd.testing.assert_frame_equal(coerce_tables(tables)[name], df, check_dtype=False)


def test_written_atomically(tmp_path, monkeypatch):
    import riskmodel.data.synth._council as synth

    out = tmp_path / "council"
    calls = []
    real = synth.pq.write_table

    def failing(table, path, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(table, path, **kw)

    monkeypatch.setattr(synth.pq, "write_table", failing)
    with pytest.raises(OSError):
        generate_council(n_children=300, seed=1, out=out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # into a folder that holds other files: a failure leaves the old council whole
    monkeypatch.setattr(synth.pq, "write_table", real)
    generate_council(n_children=300, seed=1, out=out)
    (out / "notes.txt").write_text("keep me")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls.clear()
    monkeypatch.setattr(synth.pq, "write_table", failing)
    with pytest.raises(OSError):
        generate_council(n_children=300, seed=2, out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.setattr(synth.pq, "write_table", real)
    generate_council(n_children=300, seed=2, out=out)
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert (out / "notes.txt").read_text() == "keep me"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(1, 400),
       start=st.dates(dt.date(2015, 1, 1), dt.date(2022, 12, 31)),
       years=st.integers(2, 6))
def test_invariants_hold_for_any_seed_size_and_dates(seed, n, start, years):
    end = start + dt.timedelta(days=365 * years + 17)
    council = simulate_council(n, seed=seed, start=start.isoformat(), end=end.isoformat())
    assert len(council.tables["children"]) == n
    check_invariants(council, end.isoformat())


@given(dob=st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)),
       at=st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))
def test_date_arithmetic(dob, at):
    expected = at.year - dob.year - ((at.month, at.day) < (dob.month, dob.day))
    days = [(x - dt.date(1970, 1, 1)).days for x in (dob, at)]
    got = _age_years(np.array([days[0]]), np.array([days[1]]))[0]
    assert got == expected
    # "the 12 months before" a start, as the features' window counts it
    earlier = (pd.Timestamp(at) - pd.DateOffset(months=12)).date()
    assert _months_before(np.array([days[1]]), 12)[0] == (earlier - dt.date(1970, 1, 1)).days


# ------------------------------------------------------------------ referral bias -----------

def test_referral_bias_leaves_the_truth_alone():
    plain = simulate_council(8_000, seed=3)
    biased = simulate_council(8_000, seed=3, referral_bias=["ethnicity=black:2.0"])
    pd.testing.assert_frame_equal(plain.truth, biased.truth)
    pd.testing.assert_frame_equal(plain.detail, biased.detail)
    for name in ("children", "episodes", "ace_factors"):
        pd.testing.assert_frame_equal(plain.tables[name], biased.tables[name])
    ch = plain.tables["children"]
    black = set(ch.loc[ch["ethnicity"] == "black", "child_id"])

    def counts(council):
        ct = council.tables["contacts"]
        ps = ct[ct["source"].isin(["police", "school"])]
        in_group = ps["child_id"].isin(black)
        return in_group.sum(), (~in_group).sum()

    (g0, o0), (g1, o1) = counts(plain), counts(biased)
    assert o1 == o0  # other groups unchanged
    assert 1.8 <= g1 / g0 <= 2.2
    # every genuine contact is still there, unchanged; only the group gets new ones
    a, b = plain.tables["contacts"], biased.tables["contacts"]
    kept = b[b["contact_id"].isin(a["contact_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), kept)
    extra = b[~b["contact_id"].isin(a["contact_id"])]
    assert extra["child_id"].isin(black).all()
    assert extra["outcome"].isin(["nfa", "signposted"]).all()
    assert biased.manifest["referral_bias"][0]["factor"] == 2.0


@pytest.mark.parametrize("spec", ["ethnicity:2", "ethnicity=black", "colour=black:2",
                                  "ethnicity=purple:2", "ethnicity=black:x",
                                  "ethnicity=black:0.5"])
def test_malformed_referral_bias_names_the_option(spec, tmp_path, capsys):
    with pytest.raises(InputError, match="--referral-bias"):
        simulate_council(50, seed=1, referral_bias=[spec])
    from riskmodel.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["synth", "--children", "50", "--out", str(tmp_path / "x"),
              "--referral-bias", spec])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--referral-bias" in err and "Traceback" not in err
    assert not Path(tmp_path / "x").exists()


def test_cli_writes_a_council(tmp_path):
    from riskmodel.cli import main

    main(["synth", "--children", "200", "--seed", "4", "--out", str(tmp_path / "c"),
          "--referral-bias", "sex=male:1.5"])
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["referral_bias"][0]["value"] == "male"


# ------------------------------------------------------------------ knowledge dates and moves

KNOWLEDGE_COLUMNS = {"contacts": ["mash_rag_recorded_date", "outcome_recorded_date"],
                     "episodes": ["start_recorded_date", "triage_start_recorded_date"]}


@pytest.fixture(scope="module")
def known():
    """A small council with knowledge dates, and the same council without them."""
    return (simulate_council(4_000, seed=7),
            simulate_council(4_000, seed=7, knowledge_dates=False))


def _no_moves(sim, fin, **_kw):
    """Moves as if none were planted: what the council was before knowledge dates."""
    from riskmodel.data.synth._dates import _INF

    nf = sim["nf"]
    none = np.zeros(nf, bool)
    return dict(day=np.full(nf, _INF), loc=sim["loc"], imd=sim["imd"], moved=none,
                step_up=none, rehoused=none, eligible=none)


def test_knowledge_dates_change_no_other_value(known, monkeypatch):
    council, plain = known
    # the council as simulated before knowledge dates and moves existed
    import riskmodel.data.synth._knowledge as knowledge

    monkeypatch.setattr(knowledge, "plan_moves", _no_moves)
    before = simulate_council(4_000, seed=7, knowledge_dates=False)
    monkeypatch.undo()
    assert sorted(before.tables) == ["ace_factors", "children", "contacts", "episodes"]
    for c in (council, plain):
        pd.testing.assert_frame_equal(c.truth, before.truth)
        pd.testing.assert_frame_equal(c.detail, before.detail)
        for name in ("contacts", "episodes", "ace_factors"):
            got = c.tables[name].drop(columns=[k for k in KNOWLEDGE_COLUMNS.get(name, [])
                                               if k in c.tables[name]])
            pd.testing.assert_frame_equal(got, before.tables[name])
        # children: the same but for movers' locality and IMD decile (as at the extract)
        pd.testing.assert_frame_equal(c.tables["children"], council.tables["children"])
    ch, old = council.tables["children"], before.tables["children"]
    pd.testing.assert_frame_equal(ch.drop(columns=["locality", "imd_decile"]),
                                  old.drop(columns=["locality", "imd_decile"]))
    hist = council.tables["children_history"]
    movers = set(hist.loc[hist["child_id"].duplicated(), "child_id"])
    changed = (ch["locality"] != old["locality"]) | (ch["imd_decile"].astype(object).fillna(0)
                                                     != old["imd_decile"].astype(object).fillna(0))
    assert set(ch.loc[changed, "child_id"]) <= movers
    assert (ch.loc[ch["child_id"].isin(movers), "locality"]
            != old.loc[ch["child_id"].isin(movers), "locality"]).all()
    # movers' first history row holds the values they had before
    first = hist.groupby("child_id").head(1).set_index("child_id").loc[old["child_id"]]
    for col in ("family_id", "locality", "imd_decile"):
        np.testing.assert_array_equal(first[col].astype(object).fillna(-1).to_numpy(),
                                      old[col].astype(object).fillna(-1).to_numpy(), col)


def test_knowledge_dates_off_records_none(known, tmp_path):
    council, plain = known
    assert "children_history" not in plain.tables
    for name, cols in KNOWLEDGE_COLUMNS.items():
        assert not set(cols) & set(plain.tables[name].columns)
        assert set(cols) <= set(council.tables[name].columns)
    assert plain.manifest["knowledge_dates"] is False and council.manifest["knowledge_dates"]
    assert set(plain.manifest["plants"]) == {"moves"}
    assert plain.manifest["plants"]["moves"] == council.manifest["plants"]["moves"]
    # written: no children_history, and none left over from an earlier council in the folder
    out = tmp_path / "c"
    generate_council(1_000, seed=3, out=out)
    (out / "notes.txt").write_text("keep me")
    assert (out / "children_history.parquet").exists()
    from riskmodel.cli import main

    main(["synth", "--children", "1000", "--seed", "3", "--out", str(out),
          "--no-knowledge-dates"])
    assert sorted(p.name for p in out.iterdir()) == [
        "ace_factors.parquet", "children.parquet", "contacts.parquet", "episodes.parquet",
        "manifest.json", "notes.txt", "truth.parquet"]
    assert json.loads((out / "manifest.json").read_text())["knowledge_dates"] is False
    assert "start_recorded_date" not in pq.read_schema(out / "episodes.parquet").names


def test_annex_a_carries_no_knowledge_dates(tmp_path):
    out = generate_council(600, seed=2, out=tmp_path / "a", fmt="annex-a")
    assert sorted(p.name for p in out.iterdir()) == [
        "annex_a.xlsx", "assessment_factors.csv", "manifest.json", "truth.parquet"]
    import openpyxl

    wb = openpyxl.load_workbook(out / "annex_a.xlsx", read_only=True)
    headers = [str(c) for ws in wb.worksheets for row in ws.iter_rows(min_row=2, max_row=2,
                                                                       values_only=True)
               for c in row]
    assert not [h for h in headers if "recorded" in h.lower()]


def test_late_values_and_backdated_episodes_as_stated(known):
    from riskmodel.data.synth import _params as P

    council, _ = known
    ct, ep = council.tables["contacts"], council.tables["episodes"]
    rated = ct[ct["mash_rag"].notna()]
    lag = (rated["mash_rag_recorded_date"] - rated["recorded_date"]).dt.days
    # the stated bands (delays cut at an episode's start or the extract only shorten a few)
    for share, lo, hi in P.RATING_DELAY:
        assert abs(lag.between(lo, hi).mean() - share) < 0.03, (lo, hi)
    out_lag = (ct["outcome_recorded_date"] - ct["recorded_date"]).dt.days
    assert out_lag.max() <= 60 and (out_lag > 0).mean() > (lag > 0).mean()
    # a referral's rating and decision are known before the episode it led to starts
    eh = ep[ep["service"].isin(EARLY_HELP_SERVICES)]
    refs = ct[ct["outcome"] == "early_help"].merge(eh[["child_id", "start_date"]],
                                                   on="child_id")
    refs = refs[(refs["start_date"] - refs["recorded_date"]).dt.days.between(1, 21)]
    assert len(refs) >= 0.9 * len(eh)
    assert (refs["outcome_recorded_date"] < refs["start_date"]).all()
    # early help mostly entered on its start date, social care more often backdated
    back = (ep["start_recorded_date"] > ep["start_date"]).groupby(
        ep["service"].isin(SOCIAL_CARE_SERVICES)).mean()
    assert 0.15 < back[False] < 0.35 and back[True] > 0.5
    assert (ep["triage_start_recorded_date"] == ep["start_recorded_date"]).mean() > 0.8
    # a child with no record at all is in the history from birth (or the first day simulated)
    ch, hist = council.tables["children"], council.tables["children_history"]
    silent = ch[~ch["child_id"].isin(set(ct["child_id"]) | set(ep["child_id"]))]
    assert len(silent) > 0
    first = hist.groupby("child_id").head(1).set_index("child_id").loc[silent["child_id"]]
    np.testing.assert_array_equal(first["valid_from"].to_numpy(), np.maximum(
        silent["date_of_birth"].to_numpy(), np.datetime64("2019-01-01")))


def test_moves_follow_a_step_up_and_the_manifest_counts_them(big):
    t = big.tables
    ch, ep, hist = t["children"], t["episodes"], t["children_history"]
    family = ch.set_index("child_id")["family_id"]
    movers = hist.loc[hist["child_id"].duplicated(), "child_id"]
    moved = set(family.loc[movers])
    esc = ep[ep["service"].isin(EARLY_HELP_SERVICES) & (ep["closure_reason"] == "escalated")]
    step_up = set(family.loc[esc["child_id"]])
    families = set(family)
    share_up = len(moved & step_up) / len(step_up)
    share_other = len(moved - step_up) / len(families - step_up)
    assert share_up > 4 * share_other and 0.005 < share_other < 0.1
    # moves after a step-up go to more deprived places than the family came from
    first = hist.groupby("child_id").head(1).set_index("child_id")
    up_movers = [c for c in movers if family[c] in step_up]
    new = ch.set_index("child_id").loc[up_movers, "imd_decile"].astype(float)
    old = first.loc[up_movers, "imd_decile"].astype(float)
    assert (new - old).mean() < 0
    m = big.manifest["plants"]["moves"]
    assert m["families_moved"] == len(moved) and m["children_moved"] == len(movers)
    assert m["moved_after_step_up"]["count"] == len(moved & step_up)
    assert m["moved_after_step_up"]["of"] == len(step_up)
    assert m["moved_without_step_up"]["of"] == len(families - step_up)
    ct = t["contacts"]
    rated = ct["mash_rag"].notna()
    late = (ct["mash_rag_recorded_date"] > ct["recorded_date"])[rated]
    assert big.manifest["plants"]["contacts"]["rating_after_recorded_date"] == {
        "count": int(late.sum()), "of": int(rated.sum()), "share": round(late.mean(), 4)}
    back = ep.loc[ep["service"].isin(EARLY_HELP_SERVICES)]
    assert big.manifest["plants"]["episodes"]["early_help_backdated"]["count"] == int(
        (back["start_recorded_date"] > back["start_date"]).sum())
