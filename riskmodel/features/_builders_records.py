"""Builders of what is recorded about a child: ACEs, contacts, episodes."""


from __future__ import annotations

from pydantic import Field

from riskmodel.data import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    EARLY_HELP_SERVICES,
    TOXIC_TRIO,
    TRIAGE_LEVELS,
)
from riskmodel.features._builder_base import (
    ACE_BANDS,
    SERVICE_WORDS,
    TRIAGE_WORDS,
    Builder,
    _contact_groups,
    _count,
    _in,
    _longest,
    _since,
    _where,
    register_builder,
)
from riskmodel.features._dictionary import (
    FeatureDef,
    say_count,
    say_flag,
    say_level,
    say_template,
    words,
)
from riskmodel.features._labels import DISENGAGED
from riskmodel.features._session import Params
from riskmodel.features._spec_parts import BuilderConfig, Window, Windows
from riskmodel.features._windows import window_description, window_phrase


class AceSpec(BuilderConfig):
    """ACE flags per factor, the count of distinct ACEs, its band and the toxic-trio count."""

    windows: Windows = ["all"]


@register_builder
class AceBuilder(Builder):
    """``ace_*``: a flag per ACE factor, the count of distinct ACEs, its band, the toxic trio."""

    prefix, table = "ace", "f_ace"
    Config = AceSpec
    words = "adverse childhood experiences (ACEs) recorded"
    needs = ((r"^ace_", ("ace_factors",)),)

    def definitions(self):
        out = []
        for w in self.config.windows:
            when, where = window_description(w), _where(w)
            tail = f" {where}" if where else ""
            for f in ACE_FACTORS:
                out.append(FeatureDef(
                    f"ace_{f}_{w}_flag",
                    f"1 if the ACE '{words(f)}' was recorded {when}, else 0.",
                    self.prefix, w, "flag",
                    say=say_flag(f"{words(f)} recorded as an ACE{tail}",
                                 f"no {words(f)} ACE recorded{tail}"),
                ))
            out.append(FeatureDef(
                f"ace_total_{w}_count",
                f"Number of different ACEs (of the ten) recorded {when}.",
                self.prefix, w, "count",
                say=say_count("ACE", "ACEs", f"recorded{tail}"),
            ))
            out.append(FeatureDef(
                f"ace_total_{w}_band",
                f"Band of the ACE count {when}: 0 = none, 1 = one, 2 = two or three, "
                "3 = four or more (the Walsall bands).",
                self.prefix, w, "band",
                say=say_level({k: v + tail for k, v in ACE_BANDS.items()}, "ACEs not known"),
            ))
            out.append(FeatureDef(
                f"ace_toxictrio_{w}_count",
                "Number of the 'toxic trio' ACEs (domestic abuse, substance misuse, mental "
                f"illness) recorded {when}.",
                self.prefix, w, "count",
                say=say_count("of the toxic trio recorded", "of the toxic trio recorded",
                              where, none=f"none of the toxic trio recorded{tail}"),
            ))
        return out

    def build(self, s):
        q = Params()
        cols = []
        all_factors = ", ".join(q(f) for f in ACE_FACTORS)
        trio = ", ".join(q(f) for f in TOXIC_TRIO)
        for w in self.config.windows:
            inw = _in("recorded_date", w)
            for f in ACE_FACTORS:
                cols.append(f'CAST(bool_or(factor = {q(f)} AND {inw}) AS INTEGER) '
                            f'AS "ace_{f}_{w}_flag"')
            n = f"count(DISTINCT CASE WHEN factor IN ({all_factors}) AND {inw} THEN factor END)"
            cols.append(f'{n} AS "ace_total_{w}_count"')
            cols.append(f'CASE WHEN {n} >= 4 THEN 3 WHEN {n} >= 2 THEN 2 ELSE {n} END '
                        f'AS "ace_total_{w}_band"')
            cols.append(f'count(DISTINCT CASE WHEN factor IN ({trio}) AND {inw} THEN factor END)'
                        f' AS "ace_toxictrio_{w}_count"')
        s.run(f"CREATE TEMP TABLE {self.table} AS SELECT as_of, child_id, {', '.join(cols)} "
              f"FROM ({s.known('ace_factors')}) GROUP BY as_of, child_id", q)


class ContactsSpec(BuilderConfig):
    """Contacts by source, need, MASH RAG and outcome per window; repeats; days since last."""

    windows: Windows = ["3m", "12m", "36m", "all"]
    repeat_within_months: int = Field(12, ge=1, le=120)


@register_builder
class ContactsBuilder(Builder):
    """``contacts_*``: counts by source, need, MASH RAG and outcome; repeats; days since last."""

    prefix, table = "contacts", "f_contacts"
    Config = ContactsSpec
    words = "contacts with the front door, by source, need, RAG rating and outcome"
    needs = (
        (r"^contacts_source_", ("contacts.source",)),
        (r"^contacts_need_", ("contacts.need",)),
        (r"^contacts_mash_", ("contacts.mash_rag",)),
        (r"^contacts_outcome_", ("contacts.outcome",)),
    )

    def definitions(self):
        out = []
        r = self.config.repeat_within_months
        for w in self.config.windows:
            when, where = window_description(w), window_phrase(w)
            for group, _, v, one, many in _contact_groups():
                out.append(FeatureDef(
                    f"contacts_{group}_{v}_{w}_count",
                    f"Number of {many} recorded {when}.",
                    self.prefix, w, "count", say=say_count(one, many, where),
                ))
            out.append(FeatureDef(
                f"contacts_total_{w}_count", f"Number of contacts recorded {when}.",
                self.prefix, w, "count", say=say_count("contact", "contacts", where),
            ))
            out.append(FeatureDef(
                f"contacts_repeat_{w}_count",
                f"Number of contacts recorded {when} that came within {r} months of the "
                "child's previous contact (repeat contacts).",
                self.prefix, w, "count",
                say=say_count(f"repeat contact (within {r} months of the one before)",
                              f"repeat contacts (within {r} months of the one before)", where),
            ))
        out += self._imputed(
            "contacts_last_all_days",
            "Days from the child's last contact (by contact date, among contacts recorded "
            "before the as-of date) to the as-of date." + _since(_longest(self.config.windows)),
            "all", "days", "float", "days_since", "no earlier contact recorded",
            "an earlier contact recorded",
            say_template("last contact {v} days ago", "no earlier contact"),
        )
        return out

    def build(self, s):
        q = Params()
        cols = []
        months = q(self.config.repeat_within_months)
        for w in self.config.windows:
            inw = _in("recorded_date", w)
            for group, col, v, *_ in _contact_groups():
                cols.append(f'{_count(f"{col} = {q(v)} AND {inw}")} '
                            f'AS "contacts_{group}_{v}_{w}_count"')
            cols.append(f'{_count(inw)} AS "contacts_total_{w}_count"')
            repeat = ("prev_date IS NOT NULL AND contact_date <= prev_date + "
                      f"to_months(CAST({months} AS INTEGER)) AND {inw}")
            cols.append(f'{_count(repeat)} AS "contacts_repeat_{w}_count"')
        back = _in("contact_date", _longest(self.config.windows))
        cols.append(f"date_diff('day', max(contact_date) FILTER (WHERE {back}), as_of) "
                    "AS contacts_last_all_days")
        s.run(
            f"CREATE TEMP TABLE {self.table} AS "
            "WITH k AS (SELECT *, lag(contact_date) OVER (PARTITION BY as_of, child_id "
            "ORDER BY contact_date, recorded_date, contact_id) AS prev_date "
            f"FROM ({s.known('contacts')})) "
            f"SELECT as_of, child_id, {', '.join(cols)} FROM k GROUP BY as_of, child_id", q,
        )


class EpisodesSpec(BuilderConfig):
    """Earlier early-help episodes and closures, social care, and the episode open at t."""

    windows: Windows = ["12m", "36m", "all"]
    current_contacts_window: Window = "12m"

    def for_lookup(self, extra_window: str) -> EpisodesSpec:
        wider = super().for_lookup(extra_window)
        return wider.model_copy(update={"current_contacts_window": extra_window})


@register_builder
class EpisodesBuilder(Builder):
    """``episodes_*``: earlier episodes and closures, social care, and the episode open at t."""

    prefix, table = "episodes", "f_episodes"
    Config = EpisodesSpec
    words = "early-help and social-care episodes, including the one open at the as-of date"
    needs = (
        (r"^episodes_current_source_", ("contacts.source",)),
        (r"^episodes_current_need_", ("contacts.need",)),
        (r"^episodes_current_all_triage", ("episodes.triage_start",)),
        (r"^episodes_(prior_disengaged|closed)_", ("episodes.closure_reason",)),
    )

    @property
    def tables(self):
        return [self.table, f"{self.table}_current"]

    def definitions(self):
        out = []
        for w in self.config.windows:
            when, where = window_description(w), _where(w)
            tail = f" {where}" if where else ""
            out.append(FeatureDef(
                f"episodes_prior_{w}_count",
                f"Number of earlier early-help episodes that closed {when}.",
                self.prefix, w, "count",
                say=say_count("earlier early-help episode", "earlier early-help episodes",
                              where, none=f"no earlier early-help episode{tail}"),
            ))
            out.append(FeatureDef(
                f"episodes_prior_disengaged_{w}_count",
                "Number of earlier early-help episodes closed as disengaged or declined (the "
                f"disengagement outcome) {when}.",
                self.prefix, w, "count",
                say=say_count("earlier early-help episode closed as disengaged or declined",
                              "earlier early-help episodes closed as disengaged or declined",
                              where),
            ))
            for r in CLOSURE_REASONS:
                out.append(FeatureDef(
                    f"episodes_closed_{r}_{w}_count",
                    f"Number of earlier early-help episodes closed as {words(r)} {when}.",
                    self.prefix, w, "count",
                    say=say_count(f"earlier early-help episode closed as {words(r)}",
                                  f"earlier early-help episodes closed as {words(r)}", where),
                ))
            out.append(FeatureDef(
                f"episodes_socialcare_{w}_count",
                f"Number of social-care episodes (CIN, CP, LAC) that started {when}.",
                self.prefix, w, "count",
                say=say_count("social-care episode", "social-care episodes",
                              f"started{tail}" if where else "on record"),
            ))
        out.append(FeatureDef(
            "episodes_open_all_count",
            "Number of early-help episodes open at the as-of date.",
            self.prefix, "all", "count",
            say=say_count("open early-help episode", "open early-help episodes", ""),
        ))
        out.append(FeatureDef(
            "episodes_socialcare_open_all_flag",
            "1 if a social-care episode (CIN, CP, LAC) is open at the as-of date, else 0.",
            self.prefix, "all", "flag",
            say=say_flag("open to social care", "not open to social care"),
        ))
        out += self._imputed(
            "episodes_lastclosure_all_days",
            "Days from the last closure of an earlier early-help episode to the as-of date "
            "(a short gap means a quick re-referral)." + _since(_longest(self.config.windows)),
            "all", "days", "float", "days_since", "no earlier early-help episode closed",
            "an earlier early-help episode closed",
            say_template("last early-help episode closed {v} days ago",
                         "no earlier early-help episode closed"),
        )
        out += self._current_definitions()
        return out

    def _current_definitions(self):
        cw = self.config.current_contacts_window
        before = ("before the current episode began" if cw == "all"
                  else f"in the {cw[:-1]} months before the current episode began")
        out = [FeatureDef(
            "episodes_current_all_daysopen",
            "Days the current early-help episode (the latest one open at the as-of date) has "
            "been open.", self.prefix, "all", "daysopen",
            say=say_template("open {v} days", "days open not known"),
        )]
        levels = {i + 1: f"triage at start: {TRIAGE_WORDS[t]}" for i, t in
                  enumerate(TRIAGE_LEVELS)}
        out += self._imputed(
            "episodes_current_all_triage",
            "Triage level when the current episode started: 1 = blue, 2 = green, 3 = yellow, "
            "4 = orange.", "all", "triage", "float", "triage",
            "triage at start not recorded", "triage at start recorded",
            say_level(levels, "triage at start not recorded"),
        )
        for v in EARLY_HELP_SERVICES:
            out.append(FeatureDef(
                f"episodes_current_service_{v}_all_flag",
                f"1 if the current episode is {SERVICE_WORDS[v]}, else 0.",
                self.prefix, "all", "flag",
                say=say_flag(f"current episode: {SERVICE_WORDS[v]}",
                             f"current episode not {SERVICE_WORDS[v]}"),
            ))
        for group, _, v, one, many in _contact_groups():
            if group not in ("source", "need"):
                continue
            out.append(FeatureDef(
                f"episodes_current_{group}_{v}_{cw}_count",
                f"Number of {many} recorded {before}.",
                self.prefix, cw, "count", say=say_count(one, many, before),
            ))
        out.append(FeatureDef(
            f"episodes_current_total_{cw}_count",
            f"Number of contacts recorded {before}.", self.prefix, cw, "count",
            say=say_count("contact", "contacts", before),
        ))
        return out

    def build(self, s):
        q = Params()
        cols = []
        for w in self.config.windows:
            ends, starts = _in("end_date", w), _in("start_date", w)
            cols.append(f"count(*) FILTER (WHERE early_help AND end_date IS NOT NULL AND {ends})"
                        f' AS "episodes_prior_{w}_count"')
            cols.append(f"count(*) FILTER (WHERE early_help AND closure_reason IN "
                        f"({q(DISENGAGED[0])}, {q(DISENGAGED[1])}) AND {ends}) "
                        f'AS "episodes_prior_disengaged_{w}_count"')
            for r in CLOSURE_REASONS:
                cols.append(f"count(*) FILTER (WHERE early_help AND closure_reason = {q(r)} "
                            f'AND {ends}) AS "episodes_closed_{r}_{w}_count"')
            cols.append(f"count(*) FILTER (WHERE NOT early_help AND {starts}) "
                        f'AS "episodes_socialcare_{w}_count"')
        cols += [
            "count(*) FILTER (WHERE early_help AND end_date IS NULL) AS episodes_open_all_count",
            "CAST(bool_or(NOT early_help AND end_date IS NULL) AS INTEGER) "
            "AS episodes_socialcare_open_all_flag",
            "date_diff('day', max(end_date) FILTER (WHERE early_help AND "
            f"{_in('end_date', _longest(self.config.windows))}), as_of) "
            "AS episodes_lastclosure_all_days",
        ]
        s.run(f"CREATE TEMP TABLE {self.table} AS SELECT as_of, child_id, {', '.join(cols)} "
              f"FROM ({s.known('episodes')}) GROUP BY as_of, child_id", q)
        self._build_current(s)

    def _build_current(self, s):
        # The current episode: the latest-started early-help episode open at t.
        s.run(
            "CREATE TEMP TABLE current_episode AS SELECT * EXCLUDE (rn) FROM ("
            "SELECT e.*, row_number() OVER (PARTITION BY as_of, child_id "
            "ORDER BY start_date DESC, episode_id DESC) AS rn "
            f"FROM ({s.known('episodes')}) e WHERE early_help AND end_date IS NULL) "
            "WHERE rn = 1"
        )
        q = Params()
        cw = self.config.current_contacts_window
        lower = ("TRUE" if cw == "all" else
                 f"recorded_date >= start_date - to_months(CAST({q(int(cw[:-1]))} AS INTEGER))")
        counts = []
        for group, col, v, *_ in _contact_groups():
            if group in ("source", "need"):
                counts.append(f'{_count(f"{col} = {q(v)}")} '
                              f'AS "episodes_current_{group}_{v}_{cw}_count"')
        counts.append(f'count(*) AS "episodes_current_total_{cw}_count"')
        triage = " ".join(f"WHEN {q(t)} THEN {i + 1}" for i, t in enumerate(TRIAGE_LEVELS))
        flags = [f"CAST(c.service = {q(v)} AS INTEGER) AS "
                 f'"episodes_current_service_{v}_all_flag"' for v in EARLY_HELP_SERVICES]
        # Contacts in the window before the episode began (known at t, since start < t).
        driver = "current_episode"
        s.run(
            f"CREATE TEMP TABLE {self.table}_current AS "
            f"WITH pre AS (SELECT as_of, child_id, {', '.join(counts)} "
            f"FROM ({s.known('contacts', driver)}) "
            f"WHERE recorded_date < start_date AND {lower} GROUP BY as_of, child_id) "
            "SELECT c.as_of, c.child_id, "
            "date_diff('day', c.start_date, c.as_of) AS episodes_current_all_daysopen, "
            f"CASE c.triage_start {triage} END AS episodes_current_all_triage, "
            f"{', '.join(flags)}, pre.* EXCLUDE (as_of, child_id) "
            "FROM current_episode c LEFT JOIN pre "
            "ON pre.as_of = c.as_of AND pre.child_id = c.child_id", q,
        )
