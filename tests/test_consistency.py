"""One vocabulary: the same figure is the same in every output of one demo run (#26 item 5).

One ``riskmodel demo`` on a small council, then the panels' decisions on its list (the
session's ``demo_run``), and every output read back: the printed leaderboard, the model card
(JSON), the fairness report (JSON), each month's monitoring summary, the scores, their
rejected file and audit line, and the decisions report. Figures that name the same thing
must agree: the final period's test dates and its child-date rows, the cohort of a month, the
champion's AUC and result, the capacity, the groups a verdict names, the verdict words.
Published counts are rounded to a multiple of 5 (cell-key rounding), so a published count
and the exact count it protects differ by less than 5.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
BASE = 5  # the disclosure's rounding base: a published count is within BASE - 1 of the truth


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _about(text: str) -> int:
    """The count in 'about 1,585 child-date rows' (the first 'about N')."""
    found = re.search(r"about ([\d,]+)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def _published(frame: pd.DataFrame, summary: dict) -> int:
    """The children of ``frame`` as published through the disclosure path (within 4)."""
    from riskmodel.evaluation.fairness import record_identity
    from riskmodel.evaluation.monitoring import published_cohort

    n = published_cohort(record_identity(frame).to_numpy(),
                         min_count=summary["reference"]["min_count"])
    assert abs(n - len(frame)) < max(summary["reference"]["min_count"], 1)
    return n


def _card(demo_run) -> dict:
    sections = _json(demo_run.out / "card" / "model_card.json")["sections"]
    return {k: v["fields"] for k, v in sections.items()}


def _printed_periods(stdout: str) -> tuple[list[str], list[str]]:
    """The final period's dates and the selection dates, as the printed leaderboard names them."""
    flat = " ".join(stdout.split())
    final = re.search(r"final out-of-time period ((?:\d{4}-\d\d-\d\d,? ?)+)\(never used", flat)
    chosen = re.search(r"chosen on (\d+) earlier dates (\S+) to (\S+)", flat)
    assert final and chosen, flat[:3000]
    return re.findall(r"\d{4}-\d\d-\d\d", final.group(1)), [chosen.group(2), chosen.group(3)]


def _per_date(demo_run) -> pd.DataFrame:
    """The training run's per-date table (its MLflow artefact, read from the store's folder)."""
    found = sorted(demo_run.store.rglob("per_date.csv"))
    assert len(found) == 1, found
    return pd.read_csv(found[0])


def _champion(demo_run) -> str:
    return _json(demo_run.out / "monitoring" / sorted(
        p.name for p in (demo_run.out / "monitoring").iterdir())[-1] / "summary.json"
    )["model"]["run_id"]


def test_the_test_dates_are_the_final_period_everywhere(demo_run):
    """The card's test dates, its method, the per-date table and the leaderboard agree."""
    final, chosen = _printed_periods(demo_run.stdout)
    card = _card(demo_run)
    per_date = _per_date(demo_run)
    assert sorted(per_date.loc[per_date["period"] == "final", "as_of"].unique()) == final
    n_sel = len(per_date.loc[per_date["period"] == "selection", "as_of"].unique())
    dates = card["evaluation_data"]["dates"]
    assert re.findall(r"\d{4}-\d\d-\d\d", dates.split("(")[0]) == final, dates
    assert f"chosen on {n_sel} earlier dates {chosen[0]} to {chosen[1]}" in dates, dates
    method = card["evaluation_data"]["method"]
    assert f"over {len(final) + n_sel} as-of dates" in method, method
    assert f"measured on the last {len(final)}" in method, method
    # the overall table says the same dates
    assert dates in card["quantitative_analyses"]["overall"]["note"]
    # monitoring's reference year ends at the last date of that period
    month = _json(demo_run.out / "monitoring-planted" / "summary.json")
    assert month["reference"]["as_of"][-1] == final[-1], month["reference"]
    assert "None" not in card["training_data"]["schedule"], card["training_data"]["schedule"]


def test_the_final_period_has_one_size(demo_run):
    """Child-date rows of the final period: the per-date table (exact), the card, the ATRS
    record, the fairness audit and monitoring's promise name the same number."""
    per_date = _per_date(demo_run)
    final = per_date[(per_date["period"] == "final")]
    exact = {c: int(part["n"].sum()) for c, part in final.groupby("candidate")}
    assert len(set(exact.values())) == 1, exact  # every candidate on the same rows
    n = next(iter(exact.values()))
    card = _card(demo_run)
    published = _about(card["evaluation_data"]["size"])
    assert abs(published - n) < BASE and published % BASE == 0, (published, n)
    assert _about(card["quantitative_analyses"]["overall"]["note"]) == published
    fair = _json(demo_run.out / "fairness" / "fairness.json")
    assert abs(fair["settings"]["n"] - n) < BASE, (fair["settings"]["n"], n)
    assert f"covers {fair['settings']['n']:,}" in fair["summary"][1]
    promise = {m["metric"]: m for m in _json(
        demo_run.out / "monitoring-planted" / "summary.json")["promise"]}
    assert promise["auc"]["n"] == n, (promise["auc"], n)
    atrs = json.dumps(_json(demo_run.out / "card" / "atrs_record.json"))
    assert f"testing: about {published:,} child-date rows" in atrs
    per = re.search(r"About ([\d,]+) children open to early help at each test date", atrs)
    assert per and abs(int(per.group(1).replace(",", "")) - n / len(
        final["as_of"].unique())) < BASE, per


def test_a_month_has_one_cohort(demo_run):
    """The month scored: the scores, their audit, the rejected file, the printed line and
    monitoring's cohort of that month agree; last month's cohort is the previous month's."""
    audit = json.loads((demo_run.out / "scoring-audit.jsonl").read_text().splitlines()[-1])
    scores = pd.read_parquet(demo_run.out / "scores.parquet")
    rejected = pd.read_parquet(demo_run.out / "scores.rejected.parquet")
    assert audit["counts"]["scored"] == len(scores)
    waiting = sum(audit["not_scored"].values())
    assert audit["counts"]["rejected"] + waiting == len(rejected), (audit["counts"], waiting)
    flat = " ".join(demo_run.stdout.split())
    said = re.search(r"not scored: ([\d,]+) rejected by the model, ([\d,]+) open children "
                     r"whose episode was not yet known \(([\d,]+) in all\)", flat)
    assert said, flat[:2000]
    assert [int(x.replace(",", "")) for x in said.groups()] == [
        audit["counts"]["rejected"], waiting, len(rejected)]
    months = sorted((demo_run.out / "monitoring").iterdir())
    now = _json(months[-1] / "summary.json")
    assert now["as_of"] == audit["as_of"]
    # the cohort is published as the fairness report publishes "everyone": protected
    assert now["cohort"]["now"] == _published(scores, now), (now["cohort"], len(scores))
    before = _json(months[-2] / "summary.json")
    assert now["cohort"]["last_month"] == before["cohort"]["now"]
    assert re.search(rf"scored {len(scores):,} children open to early help on {audit['as_of']}",
                     flat)


def test_the_champion_has_one_auc_result_and_capacity(demo_run):
    """The champion's AUC in the printed leaderboard, the card and monitoring's promise; its
    result; the capacity in the leaderboard, card, fairness rule and scores."""
    card = _card(demo_run)
    run_id = _champion(demo_run)
    name = card["model_details"]["model_type"].split("candidate '")[1].split("'")[0]
    flat = " ".join(demo_run.stdout.split())
    printed = re.search(rf"\b{name} (0\.\d{{3}}) .*? (PASS|FAIL)\b", flat)
    assert printed, flat[:3000]
    overall = {r["measure"]: r for r in card["quantitative_analyses"]["overall"]["rows"]}
    auc_card = next(v for k, v in overall.items() if "AUC" in k)["value"]
    row = next(r for r in card["quantitative_analyses"]["candidates"]["rows"]
               if r["candidate"] == name)
    promise = {m["metric"]: m for m in _json(
        demo_run.out / "monitoring-planted" / "summary.json")["promise"]}
    assert printed.group(1) == f"{auc_card:.3f}" == row["auc"].split()[0] \
        == f"{promise['auc']['value']:.3f}"
    assert row["result"] == printed.group(2) and f"result: {printed.group(2)}" in \
        card["metrics"]["pass_thresholds"]
    about = _json(demo_run.out / "card" / "model_card.json")["about"]
    assert about["training_run"] == run_id  # the card is of the model monitoring watches
    audit = json.loads((demo_run.out / "scoring-audit.jsonl").read_text().splitlines()[-1])
    cap = audit["capacity"]  # e.g. "top 10%"
    fair = _json(demo_run.out / "fairness" / "fairness.json")
    assert f"capacity {cap}" in flat
    assert fair["settings"]["rule"].startswith(cap), fair["settings"]["rule"]
    share = cap.removeprefix("top ")
    assert f"the {share} of children" in card["metrics"]["decision_threshold"]


def test_the_card_names_the_groups_the_fairness_verdict_names(demo_run):
    """'Disproportionality found' on the card is the fairness report's flagged findings, in
    its words: the groups said to face a disparity are the groups the verdict names."""
    fair = _json(demo_run.out / "fairness" / "fairness.json")
    findings = pd.DataFrame(fair["findings"])
    flags = findings[findings["status"] == "flag"]
    against = flags[flags["direction"] == "disadvantaged"]
    verdict = fair["summary"][0]
    for label, group in set(zip(against["label"], against["group"], strict=True)):
        assert f"{label} \u2018{group}\u2019" in verdict, (label, group, verdict)
    found = _card(demo_run)["ethical_considerations"]["disproportionality"]
    lines = found if isinstance(found, list) else [found]
    sentences = set(findings["sentence"])
    if flags.empty:
        assert "No finding" in lines[0]
        return
    assert all(line.split(" (And ")[0] in sentences for line in lines), lines
    shown = findings[findings["sentence"].isin([line.split(" (And ")[0] for line in lines])]
    # one line per flagged group, no other group
    assert set(zip(shown["characteristic"], shown["group"], strict=True)) == set(
        zip(flags["characteristic"], flags["group"], strict=True))
    # a group the card says faces a disparity is a group the verdict names, and each group
    # the verdict names is on the card
    said_against = shown[shown["sentence"].str.contains("a disparity against them")]
    assert set(said_against["group"]) <= set(against["group"])
    assert set(against["group"]) <= set(shown["group"])
    # the card shows the verdict sentence itself
    assert verdict in _card(demo_run)["quantitative_analyses"]["by_group"]


def test_monitoring_verdicts_are_the_words_printed(demo_run):
    """Each month's verdict in its summary is the word the demo printed for that month."""
    flat = " ".join(demo_run.stdout.split())
    printed = dict(re.findall(r"8\. monitored (\d{4}-\d\d-\d\d): verdict (\w+)", flat))
    assert len(printed) == 7, printed
    for month, word in printed.items():
        assert _json(demo_run.out / "monitoring" / month / "summary.json")["verdict"] == word
    assert set(printed.values()) <= {"ok", "watch", "retrain"}


def test_the_decisions_report_counts_what_was_added(demo_run):
    """``decisions add`` prints exact counts; the report publishes each rounded (within 4),
    no part above its whole; its children are the list's month's scored children."""
    said = " ".join(demo_run.decisions_stdout.split())
    exact = {
        "listed": r"(\d+) listed:", "reviewed": r"reviewed by a panel (\d+)",
        "listed_offered": r"offered early help (\d+)",
        "listed_declined": r"declined by the family (\d+)",
        "listed_already_supported": r"already supported (\d+)",
        "listed_not_needed": r"not needed \(listed but not offered\) (\d+)",
        "not_reviewed": r"not reviewed (\d+)", "added": r"added though not listed[^\d]*(\d+)"}
    counts = _json(demo_run.out / "decisions" / "summary.json")["counts"]
    for key, pattern in exact.items():
        found = re.search(pattern, said)
        assert found, (key, said)
        assert abs(counts[key] - int(found.group(1))) < BASE, (key, counts[key], said)
    for part, whole in (("reviewed", "listed"), ("not_reviewed", "listed"),
                        ("listed_offered", "reviewed"), ("added", "offered")):
        assert counts[part] <= counts[whole], (part, whole, counts)
    scores = pd.read_parquet(demo_run.out / "scores.parquet")
    assert abs(counts["children"] - len(scores)) < BASE
    assert abs(counts["listed"] - int(scores["in_capacity"].sum())) < BASE


def test_groups_are_compared_with_the_same_reference_and_tolerance(demo_run):
    """Fairness, monitoring and decisions compare each group with everyone else (everyone
    not in it), with the same tolerance: the same ratio means the same thing in all three."""
    fair = _json(demo_run.out / "fairness" / "fairness.json")
    month = _json(demo_run.out / "monitoring-planted" / "summary.json")
    decided = _json(demo_run.out / "decisions" / "summary.json")
    rest = "everyone else"
    assert {f["reference"] for f in fair["findings"] if f["measure"] != "calibration"} == {rest}
    groups = [g for r in month["realised"].values() for g in r["groups"]]
    assert groups and {g["reference"] for g in groups} == {rest}
    assert decided["findings"] and {f["reference"] for f in decided["findings"]} == {rest}
    tol = fair["settings"]["tolerance"]
    assert [tol["low"], tol["high"]] == month["tolerance"] == [
        decided["settings"]["tolerance"]["low"], decided["settings"]["tolerance"]["high"]]


def test_training_and_monitoring_count_the_same_children_at_a_date(demo_run):
    """At the last date of the final period, monitoring's cohort is every child open then and
    training's test rows are those of them with a known outcome (the labels' home says who:
    a child who moved away before an outcome was seen has none)."""
    from riskmodel.data import load_tables, read_extract_date
    from riskmodel.features import build_labels

    month = _json(demo_run.out / "monitoring-final" / "summary.json")
    per_date = _per_date(demo_run)
    at = per_date[(per_date["as_of"] == month["as_of"]) & (per_date["period"] == "final")]
    assert len(at) and at["n"].nunique() == 1, at
    council = demo_run.out / "council"
    horizon = month["model"]["horizon_months"]
    labels = build_labels(load_tables(council), [month["as_of"]], horizon_months=horizon,
                          extract_date=read_extract_date(council))
    outcome = month["model"]["outcome"]
    assert month["cohort"]["now"] == _published(labels, month), (month["cohort"], len(labels))
    assert int(at["n"].iloc[0]) == int(labels[outcome].notna().sum())
    size = _card(demo_run)["evaluation_data"]["size"]
    assert "known outcome" in size, size  # the card says which children the rows are
