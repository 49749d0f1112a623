"""The record in the shape of the UK Algorithmic Transparency Recording Standard (ATRS).

Tier 1 (a summary for the public) and the five tier 2 sections, filled from the model's
facts; what only the council can know says :data:`FOR_COUNCIL`.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskmodel.evaluation.card._document import FOR_COUNCIL, Document, Section, Table
from riskmodel.evaluation.card._facts import (
    MIN_COUNT,
    ModelFacts,
    about_model,
    capacity_words,
    feature_groups,
    final_dates,
    inputs_words,
    interval_words,
    leaderboard_table,
    lift_words,
    metrics_frame,
    metrics_table,
    model_words,
    outcome_words,
    published_rows,
    software_words,
    spec_words,
    tested_dates,
    upper_first,
)
from riskmodel.evaluation.card._groups import fairness_summary


def record_document(facts: ModelFacts) -> Document:
    """The ATRS record of a model, every field filled from its facts or left for the council.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    Document
        Key ``atrs_record``: tier 1 and the five tier 2 sections.
    """
    meta, m = facts.meta, metrics_frame(facts)
    sw = spec_words(meta.get("spec") or {})
    features = list(meta.get("features") or [])
    cap = meta.get("capacity") or {}
    by_group, _, flagged = fairness_summary(facts)
    n_test = published_rows(facts)
    n_dates = len(final_dates(facts)[0])  # the dates the test rows were measured on
    sections = [
        _tier_1(facts, meta, cap),
        _owner_and_responsibility(),
        _description_and_rationale(facts, meta, m, features, cap),
        _decision_making_process(n_test, n_dates),
        _technical_specification_and_data(facts, sw, features, n_test),
        _risks_mitigations_and_impact_assessments(facts, m, by_group, flagged),
    ]
    return Document(
        key="atrs_record",
        title=f"Algorithmic transparency record: {facts.name} version {facts.version}",
        subtitle="In the shape of the UK Algorithmic Transparency Recording Standard (tier 1 "
                 f"and tier 2). Fields marked '{FOR_COUNCIL}' hold what only the council can "
                 "know.",
        about=about_model(facts), sections=sections)


def _tier_1(facts: ModelFacts, meta: dict, cap: Mapping) -> Section:
    """The record's tier 1: a summary for the public."""
    s = Section("tier_1", "Tier 1: summary")
    s.add("name", "Name", f"Early help {meta['outcome']} risk model ({facts.name} version "
                          f"{facts.version})")
    s.add("description", "Description",
          f"A statistical model estimates, for each child open to early help, the chance of "
          f"{outcome_words(meta)}. The children with the highest estimates ("
          f"{capacity_words(cap)}) are listed, with the main reasons for each, so that "
          "practitioners can offer the family extra support earlier. A practitioner reviews "
          "every child on the list; the model decides nothing by itself.")
    s.add("website", "Where to find out more", FOR_COUNCIL,
          "a web page, and an offline route such as a phone number or address")
    s.add("contact_email", "Contact email", FOR_COUNCIL)
    s.add("organisation", "Organisation", FOR_COUNCIL)
    s.add("function", "Function", "Children's services: early help and children's social care")
    s.add("phase", "Phase", FOR_COUNCIL, "pre-deployment, pilot, production or retired")
    s.add("region", "Geographic region", FOR_COUNCIL)
    return s


def _owner_and_responsibility() -> Section:
    """The record's tier 2 owner and responsibility."""
    s = Section("owner_and_responsibility", "Tier 2: owner and responsibility")
    s.add("organisation", "Organisation", FOR_COUNCIL)
    s.add("team", "Team", FOR_COUNCIL)
    s.add("senior_responsible_owner", "Senior responsible owner", FOR_COUNCIL, "a role title")
    s.add("external_supplier", "External supplier involvement", FOR_COUNCIL,
          "supplier, Companies House number, role and terms of access to data, or 'none'")
    s.add("software", "Software used", software_words()
          + "; trained, evaluated and registered with MLflow")
    return s


def _description_and_rationale(
    facts: ModelFacts, meta: dict, m: pd.DataFrame, features: list[str], cap: Mapping,
) -> Section:
    """The record's tier 2 description and rationale."""
    s = Section("description_and_rationale", "Tier 2: description and rationale")
    s.add("detailed_description", "Detailed description",
          f"{upper_first(model_words(facts))}. It reads {len(features)} features built from "
          "the council's records as they stood before each as-of date (ACEs, contacts by "
          "source and need, early-help and social-care episodes, siblings, locality demand "
          "and age) and outputs a calibrated probability per child, its rank, whether the "
          "child is within capacity, and the features that raised the score most, in plain "
          "words.")
    s.add("scope", "Scope",
          f"Children with an early-help episode open at the as-of date; the outcome is "
          f"{outcome_words(meta)}. Not for children outside early help or for decisions "
          "about statutory intervention.")
    s.add("benefit", "Measured benefit", lift_words(m, cap))
    s.add("previous_process", "Previous process", FOR_COUNCIL,
          "how children were identified for extra support before this tool")
    s.add("alternatives_considered", "Alternatives considered", leaderboard_table(facts))
    return s


def _decision_making_process(n_test: int, n_dates: int) -> Section:
    """The record's tier 2 decision-making process."""
    s = Section("decision_making_process", "Tier 2: decision-making process")
    s.add("process_integration", "Process integration", FOR_COUNCIL,
          "where the list enters the early-help workflow and who acts on it")
    s.add("provided_information", "Information provided to decision makers",
          "For each child open to early help: the estimated probability, its rank, whether "
          "the child is within capacity and up to the top few reasons in plain words (for "
          "example '3 police contacts in the last 12 months'); plus the model card, the "
          "fairness report and an explanation report of what drives the model overall.")
    s.add("scale", "Scale",
          f"About {n_test // max(n_dates, 1):,} children open to early help at each test date "
          "in the evaluation data" if n_test else "not recorded in the training run")
    s.add("frequency", "Frequency of use", FOR_COUNCIL, "for example monthly batch scoring")
    s.add("human_decisions_and_review", "Human decisions and review", FOR_COUNCIL,
          "who reviews each flagged child and can disagree with the model")
    s.add("required_training", "Required training", FOR_COUNCIL)
    s.add("appeals_and_review", "Appeals and review", FOR_COUNCIL,
          "how a family can ask what was recorded and challenge it")
    return s


def _technical_specification_and_data(
    facts: ModelFacts, sw: dict[str, str], features: list[str], n_test: int,
) -> Section:
    """The record's tier 2 technical specification and data."""
    s = Section("technical_specification_and_data", "Tier 2: technical specification and data")
    s.add("system_architecture", "System architecture",
          "A Python package (riskmodel) reads the extract, builds as-of-date features, trains "
          "and evaluates candidates and logs each to an MLflow tracking store; the registered "
          "model is stored as JSON with a SHA-256 checksum checked at every load (no code is "
          "unpickled) and scored in batch by the council's insight team.")
    s.add("model", "Model", upper_first(model_words(facts)))
    s.add("model_version", "Model version",
          f"{facts.name} version {facts.version}, registered {facts.registered}, MLflow run "
          f"{facts.run_id}")
    s.add("model_evaluation", "Model evaluation",
          f"Out-of-time rolling-origin evaluation over the last {sw['folds']} as-of dates "
          f"({tested_dates(facts)}); no training outcome window reaches its test "
          f"date; pass thresholds set before training: "
          f"{sw['thresholds']}.")
    s.add("model_performance", "Model performance", metrics_table(facts))
    s.add("maintenance", "Maintenance",
          "Retrained with riskmodel train; a new version is registered as the challenger "
          "and becomes the champion only when a person promotes it (riskmodel promote).")
    s.add("review_schedule", "Review schedule", FOR_COUNCIL)
    s.add("data_sources", "Source data",
          "Four tables of the riskmodel input contract: children (sex, ethnicity, "
          "disability, locality, deprivation decile, date of birth), contacts, ACE factors "
          "and episodes of early help and social care.")
    s.add("data_description", "Data used by the model", feature_groups(features))
    s.add("data_quantities", "Data quantities",
          f"Training: {sw['schedule']}, "
          + (f"about {published_rows(facts, 'training'):,} child-date rows with an observed "
             "outcome" if facts.parent_params.get("n_rows") else "row count not recorded")
          + f"; testing: about {n_test:,} child-date rows.")
    s.add("sensitive_attributes", "Sensitive attributes", inputs_words(features))
    s.add("completeness_and_representativeness", "Completeness and representativeness",
          "Only children known to early help are in the data, so the model cannot speak "
          "for children who were never referred; groups referred or recorded differently "
          "are represented differently. See the fairness results below.")
    s.add("data_collection", "Data collection and legal basis", FOR_COUNCIL)
    s.add("data_sharing", "Data sharing agreements", FOR_COUNCIL)
    s.add("data_access_and_storage", "Data access and storage", FOR_COUNCIL,
          "who can see the extract, the scores and the model store, and for how long")
    return s


def _risks_mitigations_and_impact_assessments(
    facts: ModelFacts, m: pd.DataFrame, by_group: list[Table | str] | str, flagged: list[str],
) -> Section:
    """The record's tier 2 risks, mitigations and impact assessments."""
    s = Section("risks_mitigations_and_impact_assessments",
                "Tier 2: risks, mitigations and impact assessments")
    s.add("impact_assessments", "Impact assessments", FOR_COUNCIL,
          "DPIA and equality impact assessment: dates, outcomes, where published")
    s.add("risks", "Risks and mitigations", _risks_table(facts, m, flagged))
    s.add("fairness_results", "Fairness results by group", by_group)
    return s


def _risks_table(facts: ModelFacts, m: pd.DataFrame, flagged: list[str]) -> Table:
    """The record's risks: each with the evidence from this model and its mitigation."""
    rows = [
        ["Children who need help are missed",
         f"Recall at capacity {interval_words(m, 'recall_at_capacity', percent=True)}",
         "The list adds to, never replaces, referrals and professional judgement; capacity "
         "and recall are reported together so the trade-off is visible."],
        ["Families are flagged who would not have needed help",
         f"Precision at capacity {interval_words(m, 'precision_at_capacity', percent=True)}",
         "Being on the list leads only to an offer of support that a family may decline; "
         "a practitioner reviews every child."],
        ["Some groups are missed or flagged more than others",
         " ".join(flagged) if flagged else (
             "No finding of the fairness report was clear enough to flag"
             if facts.fairness else "Not assessed: no fairness report was available"),
         "The fairness report compares each group's rates with a reference group before "
         "and after go-live; the council's equality lead signs it off."],
        ["Probabilities drift from what happens",
         f"Calibration error {interval_words(m, 'calibration_error')}",
         "Calibration is checked on out-of-time data at every retraining; the model is "
         "retrained when recording practice or services change."],
        ["A child is identified from a report",
         f"Counts under {MIN_COUNT} are suppressed in every published table",
         "Reports, the model card and MLflow hold aggregates only: no child or family id "
         "and no date of birth."],
    ]
    return Table(["risk", "evidence from this model", "mitigation"], rows)
