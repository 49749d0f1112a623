"""Model card and ATRS record: every field filled from data or marked for the council, nothing
identifying, small counts suppressed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel import InputError
from riskmodel.evaluation import FOR_COUNCIL, AuditOptions, fairness_audit
from riskmodel.evaluation.card._document import missing_fields
from riskmodel.evaluation.card._groups import locality_table
from riskmodel.jobs import model_card

from helpers.frames import child_dates
from helpers.privacy import assert_names_no_child

MITCHELL_SECTIONS = ["model_details", "intended_use", "factors", "metrics", "evaluation_data",
                     "training_data", "quantitative_analyses", "ethical_considerations",
                     "caveats"]
ATRS_SECTIONS = ["tier_1", "owner_and_responsibility", "description_and_rationale",
                 "decision_making_process", "technical_specification_and_data",
                 "risks_mitigations_and_impact_assessments"]
# Fields only the council can know: they must say so, never be guessed.
COUNCIL_ONLY = {
    "model_card": ["model_details.developer", "model_details.contact",
                   "ethical_considerations.impact_assessments"],
    "atrs_record": ["tier_1.contact_email", "tier_1.organisation", "tier_1.phase",
                    "owner_and_responsibility.senior_responsible_owner",
                    "owner_and_responsibility.external_supplier",
                    "decision_making_process.human_decisions_and_review",
                    "risks_mitigations_and_impact_assessments.impact_assessments"],
}
URI = "models:/escalation@champion"


def _run(args: list[str]) -> None:
    from riskmodel.cli import main

    try:
        main(args)
    except SystemExit as exc:  # main exits only on an error
        pytest.fail(f"riskmodel {args[0]} exited with {exc.code}")


@pytest.fixture(scope="module")
def loaded(trained, tracking):
    from riskmodel.store import load_model

    return load_model(URI)


@pytest.fixture(scope="module")
def fairness_dir(trained, loaded, tmp_path_factory):
    """The champion's out-of-time fairness report, made with the public API."""
    from riskmodel.evaluation import AuditOptions, fairness_audit, write_fairness_report

    champion = next(c for c in trained.candidates if c.run_id == loaded.run_id)
    carried = trained.extra["matrix"][["child_id", "as_of", "ethnicity", "sex", "disability",
                                       "age_band", "imd_quintile"]]
    scores = champion.predictions.merge(carried, on=["child_id", "as_of"], how="left")
    audit = fairness_audit(scores, AuditOptions(label="label", score="score", top="10%",
                                                cluster="family_id", policy=_small_policy()))
    out = tmp_path_factory.mktemp("fairness")
    write_fairness_report(audit, out, charts=False)
    return out


def _small_policy() -> dict:
    from importlib import resources

    policy = yaml.safe_load((resources.files("riskmodel.evaluation") / "fairness.yaml")
                            .read_text())
    policy["bootstrap"] = {"n": 50, "confidence": 0.95}
    return policy


@pytest.fixture(scope="module")
def card_dir(fairness_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("card")
    _run(["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir)])
    return out


def _fields(doc: dict) -> dict[str, object]:
    return {f"{s}.{k}": v for s, sec in doc["sections"].items()
            for k, v in sec["fields"].items()}


def test_every_field_is_filled_from_data_or_marked_for_the_council(card_dir, fairness_dir,
                                                                   loaded):
    card = json.loads((card_dir / "model_card.json").read_text())
    record = json.loads((card_dir / "atrs_record.json").read_text())
    assert list(card["sections"]) == MITCHELL_SECTIONS
    assert list(record["sections"]) == ATRS_SECTIONS
    for doc in (card, record):
        assert missing_fields(doc) == [], doc["document"]
        fields = _fields(doc)
        for key in COUNCIL_ONLY[doc["document"]]:
            assert fields[key] == FOR_COUNCIL, key
        # the Markdown and HTML show every field: data, or the council's marker
        md = (card_dir / f"{doc['document']}.md").read_text()
        html = (card_dir / f"{doc['document']}.html").read_text()
        n_council = sum(v == FOR_COUNCIL for v in fields.values())
        assert md.count(f"_{FOR_COUNCIL}_") == n_council
        assert html.count(f'<span class="status amber">{FOR_COUNCIL}</span>') == n_council
        for sec in doc["sections"].values():
            assert sec["title"] in md and sec["title"] in html

    # filled from MLflow: the registered version, its run and its test metrics
    fields = _fields(card)
    assert fields["model_details.name"].startswith(f"escalation version {loaded.version}")
    assert loaded.run_id in fields["model_details.provenance"]
    auc = next(m for m in loaded.meta["test_metrics"] if m["metric"] == "auc")
    overall = {r["measure"]: r for r in fields["quantitative_analyses.overall"]["rows"]}
    shown = next(r for k, r in overall.items() if k.startswith("ranking quality"))
    assert shown["value"] == pytest.approx(auc["value"], abs=1e-4)
    assert shown["95% low"] == pytest.approx(auc["low"], abs=1e-4)
    candidates = [r["candidate"] for r in fields["quantitative_analyses.candidates"]["rows"]]
    assert {"rule", "logistic", "lightgbm"} <= set(candidates)
    # filled from the fairness results: the audited groups and their published ratios
    by_group = fields["quantitative_analyses.by_group"]
    table = next(x for x in by_group if isinstance(x, dict))
    fair = json.loads((fairness_dir / "fairness.json").read_text())
    assert [x for x in by_group if isinstance(x, str)] == fair["summary"]
    published = {(r["label"], r["group"], r["metric"]) for r in fair["tables"]["ratios"]
                 if r["status"] != "suppressed"}
    assert len(table["rows"]) > 0
    assert all(r["status"] != "suppressed" for r in table["rows"])
    assert {(r["characteristic"], r["group"]) for r in table["rows"]} <= {
        (a, b) for a, b, _ in published}


def test_outputs_name_no_child(card_dir, council):
    children = pd.read_parquet(council / "children.parquet")
    texts = [p.read_text(encoding="utf-8") for p in sorted(card_dir.iterdir())]
    assert len(texts) == 7
    for text in texts:
        # the only dates in a card are run dates (registration, test and as-of dates)
        assert_names_no_child(text, children, allowed_dates=_run_dates(card_dir))


def _run_dates(card_dir) -> set[str]:
    import re

    card = json.loads((card_dir / "model_card.json").read_text())
    fields = _fields(card)
    text = " ".join(str(fields[k]) for k in ("model_details.registered",
                                             "evaluation_data.dates", "training_data.schedule"))
    return set(re.findall(r"\d{4}-\d{2}-\d{2}", text))


def test_council_answers_fill_only_council_fields(card_dir, fairness_dir, tmp_path):
    skeleton = (card_dir / "council_answers.yaml").read_text()
    answered = skeleton.replace("    # senior_responsible_owner: ''",
                                "    senior_responsible_owner: Director of Children's Services")
    assert answered != skeleton
    answers = tmp_path / "answers.yaml"
    answers.write_text(answered)
    out = tmp_path / "card"
    _run(["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir),
          "--answers", str(answers)])
    record = json.loads((out / "atrs_record.json").read_text())
    fields = _fields(record)
    assert fields["owner_and_responsibility.senior_responsible_owner"] == (
        "Director of Children's Services")
    assert fields["owner_and_responsibility.team"] == FOR_COUNCIL
    assert missing_fields(record) == []
    with pytest.raises(InputError, match="atrs_record.tier_1.description.*metadata"):
        model_card(URI, fairness=fairness_dir,
                   answers={"atrs_record": {"tier_1": {"description": "a better story"}}})
    with pytest.raises(InputError, match="model_card.model_details.colour.*no such field"):
        model_card(URI, fairness=fairness_dir,
                   answers={"model_card": {"model_details": {"colour": "blue"}}})


@st.composite
def localities(draw):
    k = draw(st.integers(2, 8))
    rows = []
    for i in range(k):
        n = draw(st.integers(0, 300))
        pos = draw(st.integers(0, n))
        flagged = draw(st.integers(0, n))
        tp = draw(st.integers(max(0, pos + flagged - n), min(pos, flagged)))
        rows.append((f"loc{i}", n, pos, flagged, tp))
    return rows


def _ratio_of_rounded(shown: float, num: int, den: int, base: int = 5) -> bool:
    """Whether ``shown`` is (to two decimals) a ratio of two multiples of ``base``, each
    within ``base - 1`` of the true count (the part clipped to its whole)."""
    dens = [d for d in range(0, den + base, base) if abs(d - den) < base and d > 0]
    nums = [k for k in range(0, num + base, base) if abs(k - num) < base]
    return any(round(min(k, d) / d, 2) == shown for d in dens for k in nums)


@settings(max_examples=150, deadline=None)
@given(localities())
def test_locality_rates_are_ratios_of_protected_counts(rows):
    """Every locality rate is a ratio of two counts rounded to 5 (issue 27: no rate from
    exact counts), so it says nothing exact about a small count."""
    records = []
    for loc, n, pos, flagged, tp in rows:
        for metric, num, den in (("base_rate", pos, n), ("precision_at_capacity", tp, flagged),
                                 ("recall_at_capacity", tp, pos)):
            records.append({"locality": loc, "metric": metric,
                            "value": num / den if den else np.nan, "n": n})
    table = locality_table(pd.DataFrame(records))
    truth = {loc: (n, pos, flagged, tp) for loc, n, pos, flagged, tp in rows}
    for loc, base, prec, rec in table.rows:
        n, pos, flagged, tp = truth[loc]
        for shown, num, den in ((base, pos, n), (prec, tp, flagged), (rec, tp, pos)):
            if isinstance(shown, float):
                assert _ratio_of_rounded(shown, num, den), (loc, shown, num, den)
            else:
                assert shown == "not defined"


def test_card_reads_the_fairness_report_logged_with_the_run(trained, tracking):
    """Without --fairness, the fairness results logged by training are the card's source."""
    mc = model_card(URI)
    assert mc.card.about["fairness_source"] == "the fairness report logged with the training run"
    by_group = next(f.value for s in mc.card.sections for f in s.fields if f.key == "by_group")
    assert isinstance(by_group, list) and by_group, by_group
    assert missing_fields(mc.record.to_dict()) == []


def _open_fields(out) -> dict[str, int]:
    """Fields each written document leaves for the council, from its JSON."""
    return {doc: sum(v == FOR_COUNCIL for v in _fields(json.loads(
        (out / f"{doc}.json").read_text())).values()) for doc in ("model_card", "atrs_record")}


def test_answers_in_the_out_folder_survive_a_rerun(fairness_dir, tmp_path, capsys):
    """The council answers the template where it was written and runs the card again, twice:
    its answers are never replaced by a blank template, and fewer fields stay open."""
    out = tmp_path / "card"
    _run(["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir)])
    before = _open_fields(out)
    answers_path = out / "council_answers.yaml"
    blank = answers_path.read_text()
    answered = (blank
                .replace("    # senior_responsible_owner: ''",
                         "    senior_responsible_owner: Director of Children's Services")
                .replace("    # contact: ''", "    contact: earlyhelp.insight@council.example"))
    assert answered.count("\n    #") == blank.count("\n    #") - 2
    answers_path.write_text(answered)
    capsys.readouterr()

    for _ in range(2):
        _run(["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir),
              "--answers", str(answers_path)])
        printed = capsys.readouterr().out
        assert answers_path.read_text() == answered  # the council's file, untouched
        assert _open_fields(out) == {"model_card": before["model_card"] - 1,
                                     "atrs_record": before["atrs_record"] - 1}
        record = _fields(json.loads((out / "atrs_record.json").read_text()))
        assert record["owner_and_responsibility.senior_responsible_owner"] == (
            "Director of Children's Services")
        # the new blank template lists only the fields still open, beside the answers
        spare = out / "council_answers.template.yaml"
        assert "council_answers.template.yaml" in printed
        assert "senior_responsible_owner" not in spare.read_text()
        assert spare.read_text().count("\n    # ") == sum(_open_fields(out).values())
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries


def test_an_edited_template_is_kept_and_an_unchanged_one_rewritten(fairness_dir, tmp_path):
    out = tmp_path / "card"
    args = ["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir)]
    _run(args)
    template = out / "council_answers.yaml"
    blank = template.read_bytes()
    _run(args)  # the same template again: nothing kept aside
    assert template.read_bytes() == blank
    assert not (out / "council_answers.template.yaml").exists()
    template.write_bytes(blank + b"# our notes\n")
    _run(args)
    assert template.read_bytes() == blank + b"# our notes\n"
    assert (out / "council_answers.template.yaml").read_bytes() == blank


def test_the_count_printed_is_the_count_each_document_shows(fairness_dir, tmp_path, capsys):
    import re

    out = tmp_path / "card"
    _run(["card", "--model", URI, "--out", str(out), "--fairness", str(fairness_dir)])
    printed = capsys.readouterr().out
    for doc, name in (("model_card", "model card"), ("atrs_record", "ATRS record")):
        html = (out / f"{doc}.html").read_text()
        shown = re.search(rf"<strong>(\d+) fields? {FOR_COUNCIL}\.</strong>", html)
        said = re.search(rf"{name}: (\d+) fields? {FOR_COUNCIL}", printed)
        assert shown and said, printed
        n = _open_fields(out)[doc]
        assert int(shown.group(1)) == int(said.group(1)) == n
        assert (out / f"{doc}.md").read_text().count(f"_{FOR_COUNCIL}_") == n


def test_the_card_rounds_the_test_rows_as_the_fairness_report_does():
    """The same exact count of test rows is the same published figure in the card and in the
    fairness report: training logs the rows' cell key, and the card rounds the logged total
    by it (#26). Over ten cohorts, the old key (a hash of the label and count) rounds some
    the other way."""
    from types import SimpleNamespace

    from riskmodel.evaluation import protect_total
    from riskmodel.evaluation.card._facts import published_rows
    from riskmodel.jobs.train import _test_rows_params

    other_way = 0
    for seed in range(10):
        frame = child_dates(150 + 7 * seed, seed)
        audit = fairness_audit(frame, AuditOptions(label="label", score="score", top="10%",
                                                   sensitive="sex", bootstrap=False))
        n = int(frame["label"].notna().sum())
        facts = SimpleNamespace(meta={"test_metrics": [{"metric": "auc", "n": n}]},
                                params={k: str(v) for k, v in _test_rows_params(frame).items()})
        assert published_rows(facts) == audit.settings["n"], seed
        other_way += protect_total(n, "test rows", 5) != audit.settings["n"]
        # a logged key for another count is not this count's key
        facts.params["test_rows"] = str(n + 1)
        assert published_rows(facts) == protect_total(n, "test rows", 5)
    assert other_way, "no cohort tells the old rounding from the report's"



def test_the_card_prints_the_test_rows_as_the_logged_fairness_report_does(trained, tracking):
    """Trained, logged and read back: the card's test size and the fairness report logged with
    the same run publish the same count of the same rows as the same figure (#26)."""
    from riskmodel.evaluation.card import TEST_ROWS_PARAMS
    from riskmodel.jobs.card import gather_facts

    facts = gather_facts(URI)
    n = int(pd.DataFrame(facts.meta["test_metrics"])["n"].max())
    assert facts.fairness and int(facts.params[TEST_ROWS_PARAMS[0]]) == n, facts.params
    size = next(f.value for s in model_card(URI).card.sections if s.key == "evaluation_data"
                for f in s.fields if f.key == "size")
    assert size.startswith(f"about {facts.fairness['settings']['n']:,} child-date rows"), size
