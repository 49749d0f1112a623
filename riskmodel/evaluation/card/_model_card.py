"""The model card: the sections of Mitchell et al. (2019), "Model Cards for Model Reporting".

Every field is filled from the model's facts or says :data:`FOR_COUNCIL`, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskmodel.data import INPUTS
from riskmodel.evaluation.card._document import FOR_COUNCIL, Document, Section, Table
from riskmodel.evaluation.card._facts import (
    METRIC_WORDS,
    MIN_COUNT,
    ModelFacts,
    about_model,
    capacity_words,
    feature_groups,
    final_dates,
    inputs_words,
    is_synthetic,
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
from riskmodel.evaluation.card._groups import fairness_summary, groups_words, locality_table


def switched_off_words(meta: Mapping) -> str | list[str]:
    """What the training extract lacked and which features were switched off for it."""
    if "switched_off" not in meta:
        return "Not recorded in the training run."
    off = meta.get("switched_off") or {}
    if not off:
        return "None: the extract held every optional input, so no feature was switched off."
    return [f"{INPUTS[k][0] if k in INPUTS else k}: {len(v)} feature"
            f"{'' if len(v) == 1 else 's'} switched off ({', '.join(v[:3])}"
            f"{', ...' if len(v) > 3 else ''})" for k, v in off.items()]


def knowledge_words(meta: Mapping) -> str | list[str]:
    """When values filled in or changed later were taken as known, as training recorded it."""
    if not meta.get("knowledge"):
        return "Not recorded in the training run."
    return list(meta["knowledge"])


def card_document(facts: ModelFacts) -> Document:
    """The model card of a model, every field filled from its facts or left for the council.

    Parameters
    ----------
    facts : ModelFacts

    Returns
    -------
    Document
        Key ``model_card``: model details, intended use, factors, metrics, evaluation data,
        training data, quantitative analyses, ethical considerations, caveats.
    """
    meta, m = facts.meta, metrics_frame(facts)
    sw = spec_words(meta.get("spec") or {})
    features = list(meta.get("features") or [])
    by_group, intersections, flagged = fairness_summary(facts)
    n_test = published_rows(facts)
    sections = [
        _model_details(facts, meta),
        _intended_use(meta),
        _factors(facts, features),
        _metrics(facts, meta, sw),
        _evaluation_data(facts, sw, n_test),
        _training_data(facts, meta, sw),
        _quantitative_analyses(facts, meta, m, by_group, intersections),
        _ethical_considerations(facts, flagged),
        _caveats(facts, meta, m),
    ]
    return Document(
        key="model_card", title=f"Model card: {facts.name} version {facts.version}",
        subtitle="Sections after Mitchell et al. (2019), Model Cards for Model Reporting. "
                 f"Fields marked '{FOR_COUNCIL}' hold what only the council can know.",
        about=about_model(facts), sections=sections)


def _model_details(facts: ModelFacts, meta: dict) -> Section:
    """The model card's model details: name, outcome, type, provenance, owner."""
    s = Section("model_details", "Model details")
    s.add("name", "Registered model", f"{facts.name} version {facts.version}"
          + (f" ({', '.join(facts.aliases)})" if facts.aliases else ""))
    s.add("outcome", "What it predicts", upper_first(outcome_words(meta)))
    s.add("model_type", "Model type", upper_first(model_words(facts)))
    s.add("registered", "Date registered", facts.registered)
    s.add("provenance", "Provenance",
          f"MLflow run {facts.run_id}; code commit {meta.get('git_commit', 'unknown')}; "
          f"data fingerprint {str(meta.get('data_fingerprint', ''))[:16] or 'not recorded'}")
    s.add("software", "Software", software_words())
    s.add("developer", "Organisation responsible", FOR_COUNCIL,
          "the council and team that trained and own this model")
    s.add("contact", "Contact for questions", FOR_COUNCIL, "a team mailbox, not a person's name")
    s.add("licence", "Licence of the model and its outputs", FOR_COUNCIL)
    return s


def _intended_use(meta: dict) -> Section:
    """The model card's intended use: primary use and users, uses out of scope."""
    s = Section("intended_use", "Intended use")
    s.add("primary_use", "Primary intended use",
          f"To rank the children open to early help at an as-of date by their estimated "
          f"chance of {outcome_words(meta)}, so that an early-help panel can offer "
          f"proactive support to {capacity_words(meta.get('capacity') or {})}. It is an "
          "offer of help, assisting practitioners; it never decides anything about a child "
          "on its own.")
    s.add("primary_users", "Primary intended users",
          "The council's insight (business intelligence) team runs the monthly batch scoring; "
          "early-help locality panels read the list with each child's main reasons; data "
          "scientists retrain and compare models; equality leads and governance review the "
          "fairness report, this card and the transparency record.")
    s.add("out_of_scope", "Out-of-scope uses",
          "Any decision to start a statutory (social-care) intervention, to withdraw or refuse "
          "a service, or any decision without a practitioner's review; children not open to "
          "early help (the model has never seen them); another council's data, or this "
          "council's data after a change in recording practice, without retraining and "
          "re-evaluation.")
    s.add("deployment", "How the council uses the list", FOR_COUNCIL,
          "who sees the list, what an offer of support involves, what happens next")
    return s


def _factors(facts: ModelFacts, features: list[str]) -> Section:
    """The model card's factors: the groups evaluated and the model's inputs."""
    s = Section("factors", "Factors")
    s.add("groups", "Groups the evaluation covers",
          groups_words(facts))
    s.add("inputs", "Characteristics among the model's inputs", inputs_words(features))
    s.add("features", "Model inputs", feature_groups(features))
    s.add("instrumentation", "How the inputs are recorded",
          "From the council's case-management extract (children, contacts, ACE factors, "
          "episodes). A feature at as-of date t uses only records whose recorded date is "
          "before t, so what a practitioner could not have known at t never enters a score.")
    return s


def _metrics(facts: ModelFacts, meta: dict, sw: dict[str, str]) -> Section:
    """The model card's metrics: measures, decision and pass thresholds, uncertainty."""
    s = Section("metrics", "Metrics")
    s.add("measures", "Performance measures",
          "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in METRIC_WORDS.items()) + ".")
    s.add("decision_threshold", "Decision threshold",
          f"No probability cut-off: the list is sized to capacity, "
          f"{capacity_words(meta.get('capacity') or {})}.")
    s.add("pass_thresholds", "Pass thresholds set before training",
          f"{sw['thresholds']} (each judged on the conservative end of its 95% interval); "
          f"this model's result: {facts.tags.get('result') or 'not recorded'}"
          f" ({facts.tags.get('why') or 'no reason recorded'}).")
    s.add("uncertainty", "Uncertainty",
          f"95% intervals from a bootstrap of {sw['bootstrap']} resamples of families "
          "(siblings share outcomes, so families, not children, are resampled).")
    return s


def _evaluation_data(facts: ModelFacts, sw: dict[str, str], n_test: int) -> Section:
    """The model card's evaluation data: test dates, size and method."""
    s = Section("evaluation_data", "Evaluation data")
    s.add("dates", "Test dates", tested_dates(facts))
    s.add("size", "Size", f"about {n_test:,} child-date rows (children open to early help at the "
                          "test dates with a known outcome: their outcome window had closed "
                          "and they had not moved away before an outcome was seen)")
    final, chosen = final_dates(facts)
    held = (f"the candidates were compared on the first {len(chosen)} and this model is "
            f"measured on the last {len(final)}; " if chosen else "")
    s.add("method", "Method",
          f"Rolling origin over {len(final) + len(chosen) or sw['folds']} as-of dates: {held}"
          "each test date is scored by a model trained only on earlier dates whose outcome "
          "windows (plus the recording lag) had closed by it, as the deployed model is trained "
          "on every past row whose outcome is known.")
    return s


def _training_data(facts: ModelFacts, meta: dict, sw: dict[str, str]) -> Section:
    """The model card's training data: dates, size, source and missing inputs."""
    s = Section("training_data", "Training data")
    s.add("schedule", "As-of dates", upper_first(sw["schedule"]))
    s.add("size", "Size", f"about {published_rows(facts, 'training'):,} child-date rows "
                          "with an observed outcome" if facts.parent_params.get("n_rows")
          else "not recorded in the training run")
    s.add("source", "Source",
          "A synthetic council generated with known true probabilities (riskmodel synth)"
          if is_synthetic(facts) else
          "The council's extract mapped onto the riskmodel input contract")
    s.add("source_systems", "Source systems and extract date", FOR_COUNCIL,
          "the case-management systems the extract came from and when it was taken")
    s.add("inputs_missing", "Inputs the extract did not hold", switched_off_words(meta))
    s.add("knowledge_dates", "When values filled in or changed later were known",
          knowledge_words(meta))
    return s


def _quantitative_analyses(facts: ModelFacts, meta: dict, m: pd.DataFrame,
                           by_group: list[Table | str] | str,
                           intersections: Table | str) -> Section:
    """The model card's quantitative analyses: overall, at capacity, by group."""
    s = Section("quantitative_analyses", "Quantitative analyses")
    s.add("overall", "Overall (test dates)", metrics_table(facts))
    s.add("at_capacity", "At capacity", lift_words(m, meta.get("capacity") or {}))
    s.add("candidates", "Compared with the base rate, a simple rule and other models",
          leaderboard_table(facts))
    s.add("by_locality", "By locality", locality_table(facts.by_locality))
    s.add("by_group", "By group (fairness)", by_group)
    s.add("intersectional", "Intersectional", intersections)
    return s


def _ethical_considerations(facts: ModelFacts, flagged: list[str]) -> Section:
    """The model card's ethical considerations: data, disproportionality, harms."""
    s = Section("ethical_considerations", "Ethical considerations")
    s.add("sensitive_data", "Sensitive data",
          "The model reads records of adverse childhood experiences, domestic abuse, mental "
          "ill-health, substance misuse and police and youth-justice contacts: special "
          "category and criminal-offence data about children and their families. Reports "
          "hold aggregates only, never a child's id or date of birth, and counts under "
          f"{MIN_COUNT} are suppressed.")
    s.add("disproportionality", "Disproportionality found",
          flagged if flagged else
          ("No finding of the fairness report was clear enough to flag."
           if facts.fairness else "Not assessed: no fairness report (see above)."))
    s.add("harms", "Harms weighed",
          "Missing a child who needed help (false negative) is the harm equalised first; "
          "flagging a family that did not need help can feel intrusive and stigmatising; "
          "scores can carry forward unequal referral and recording across groups.")
    s.add("impact_assessments", "Impact assessments (DPIA, equality impact assessment)",
          FOR_COUNCIL, "dates and outcomes of the council's assessments")
    return s


def _caveats(facts: ModelFacts, meta: dict, m: pd.DataFrame) -> Section:
    """The model card's caveats and recommendations."""
    s = Section("caveats", "Caveats and recommendations")
    caveats = [lift_words(m, meta.get("capacity") or {})]
    if is_synthetic(facts):
        caveats.append("Trained on synthetic data: not for use with real children.")
    if facts.tags.get("result") == "FAIL":
        caveats.append("This model did not meet every pass threshold set before training.")
    caveats.append("The model learns from past recording and referral; a change in "
                   "practice, services or recording makes it stale, so retrain and re-run the "
                   "fairness report after any such change and at least every "
                   "year.")
    caveats.append("Scores are estimates for groups of similar children; a child's reasons "
                   "show what drove the score, not what caused the child's needs.")
    s.add("caveats", "Caveats", caveats)
    s.add("review", "Review date and reviewer", FOR_COUNCIL)
    return s
