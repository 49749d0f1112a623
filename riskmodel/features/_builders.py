"""Feature builders: one small class per prefix, each a DuckDB query over what was known at t.

A builder has a ``prefix``, lists its features (:meth:`definitions`) and builds a table of
raw values keyed by ``(as_of, child_id)`` for the cohort (:meth:`build`). Raw values are
missing (NULL) where nothing could be measured; the matrix assembly applies each feature's
imputation rule and adds its missing flag. Builders read only
:meth:`~riskmodel.features._session.Session.known` and
:meth:`~riskmodel.features._session.Session.known_children`, where the rules of time live.
Values from the contract vocabularies are bound as parameters; only column names derived
from them (and from the validated window names) are written into the SQL.
"""

from __future__ import annotations

import dataclasses

from riskmodel.data._contract import (
    ACE_FACTORS,
    CLOSURE_REASONS,
    CONTACT_OUTCOMES,
    DISABILITY,
    EARLY_HELP_SERVICES,
    ETHNICITY,
    MASH_RAG,
    NEEDS,
    SEX,
    SOURCES,
    TOXIC_TRIO,
    TRIAGE_LEVELS,
)
from riskmodel.features._dictionary import (
    FeatureDef,
    is_missing,
    missing_flag_def,
    say_count,
    say_flag,
    say_level,
    say_template,
    words,
)
from riskmodel.features._labels import DISENGAGED, ESCALATED
from riskmodel.features._session import Params, Session
from riskmodel.features._spec import FeatureSpec
from riskmodel.features._windows import window_description, window_phrase

# Plain words for vocabulary values, for descriptions and per-child reasons.
SOURCE_WORDS = {
    "police": ("police contact", "police contacts"),
    "school": ("school contact", "school contacts"),
    "health": ("health contact", "health contacts"),
    "la": ("council contact", "council contacts"),
    "voluntary": ("voluntary-sector contact", "voluntary-sector contacts"),
    "housing": ("housing contact", "housing contacts"),
    "youth_justice": ("youth justice contact", "youth justice contacts"),
    "family": ("contact from the family", "contacts from the family"),
    "other": ("contact from another source", "contacts from other sources"),
}
OUTCOME_WORDS = {
    "nfa": "closed with no further action",
    "signposted": "signposted elsewhere",
    "early_help": "referred to early help",
    "social_care": "referred to social care",
}
SERVICE_WORDS = {
    "early_help_pathway": "early help pathway",
    "fsw_intervention": "family support worker intervention",
    "targeted_support": "targeted support",
}
TRIAGE_WORDS = {
    "blue": "blue (self-help)", "green": "green (universal)",
    "yellow": "yellow (extra help)", "orange": "orange (targeted)",
}
ACE_BANDS = {0: "no ACEs recorded", 1: "1 ACE recorded", 2: "2-3 ACEs recorded",
             3: "4 or more ACEs recorded"}
PROTECTED_VALUES = {"ethnicity": ETHNICITY, "sex": SEX, "disability": DISABILITY}


def _in(col: str, window: str) -> str:
    """SQL: ``col`` falls in the window (the upper bound, before t, is the rules of time)."""
    return "TRUE" if window == "all" else f"{col} >= ws_{window}"


def _where(window: str) -> str:
    return "" if window == "all" else window_phrase(window)


def _with_missing_flag(d: FeatureDef, missing_words: str, present_words: str):
    base = dataclasses.replace(d, missing_flag=f"{d.name}_missing")
    return [base, missing_flag_def(base, missing_words=missing_words,
                                   present_words=present_words)]


class Builder:
    """A feature builder: a prefix, its feature definitions and the query that makes them."""

    prefix = ""
    table = ""

    @property
    def tables(self) -> list[str]:
        """The temp tables :meth:`build` creates."""
        return [self.table]

    def __init__(self, spec: FeatureSpec):
        self.spec = spec

    @property
    def config(self):
        return getattr(self.spec.builders, self.prefix)

    def definitions(self) -> list[FeatureDef]:
        raise NotImplementedError

    def build(self, s: Session) -> None:
        """Create temp table ``self.table``: ``as_of``, ``child_id`` and raw feature values."""
        raise NotImplementedError

    def _imputed(self, name, description, window, metric, kind, key, missing, present, say):
        imp = getattr(self.spec.imputation, key)
        d = FeatureDef(name=name, description=description, builder=self.prefix, window=window,
                       metric=metric, kind=kind, imputation=imp.text(), missing_key=key,
                       say=say)
        return _with_missing_flag(d, missing, present)


class AceBuilder(Builder):
    """``ace_*``: a flag per ACE factor, the count of distinct ACEs, its band, the toxic trio."""

    prefix, table = "ace", "f_ace"

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


def _contact_groups():
    """(group, column, value, singular, plural) for each contact count by category."""
    for v in SOURCES:
        yield ("source", "source", v) + SOURCE_WORDS[v]
    for v in NEEDS:
        about = "other needs" if v == "other" else words(v)
        yield ("need", "need", v, f"contact about {about}", f"contacts about {about}")
    for v in MASH_RAG:
        yield ("mash", "mash_rag", v, f"contact rated {v} by the MASH",
               f"contacts rated {v} by the MASH")
    for v in CONTACT_OUTCOMES:
        yield ("outcome", "outcome", v, f"contact {OUTCOME_WORDS[v]}",
               f"contacts {OUTCOME_WORDS[v]}")


class ContactsBuilder(Builder):
    """``contacts_*``: counts by source, need, MASH RAG and outcome; repeats; days since last."""

    prefix, table = "contacts", "f_contacts"

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
            "before the as-of date) to the as-of date.",
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
                cols.append(f'count(*) FILTER (WHERE {col} = {q(v)} AND {inw}) '
                            f'AS "contacts_{group}_{v}_{w}_count"')
            cols.append(f'count(*) FILTER (WHERE {inw}) AS "contacts_total_{w}_count"')
            cols.append(
                "count(*) FILTER (WHERE prev_date IS NOT NULL AND contact_date <= prev_date + "
                f'to_months(CAST({months} AS INTEGER)) AND {inw}) AS "contacts_repeat_{w}_count"'
            )
        cols.append("date_diff('day', max(contact_date), as_of) AS contacts_last_all_days")
        s.run(
            f"CREATE TEMP TABLE {self.table} AS "
            "WITH k AS (SELECT *, lag(contact_date) OVER (PARTITION BY as_of, child_id "
            "ORDER BY contact_date, recorded_date, contact_id) AS prev_date "
            f"FROM ({s.known('contacts')})) "
            f"SELECT as_of, child_id, {', '.join(cols)} FROM k GROUP BY as_of, child_id", q,
        )


class EpisodesBuilder(Builder):
    """``episodes_*``: earlier episodes and closures, social care, and the episode open at t."""

    prefix, table = "episodes", "f_episodes"

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
            "(a short gap means a quick re-referral).",
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
            "date_diff('day', max(end_date) FILTER (WHERE early_help), as_of) "
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
                counts.append(f'count(*) FILTER (WHERE {col} = {q(v)}) '
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


class FamilyBuilder(Builder):
    """``family_*``: siblings known to services before t, their contacts and escalations."""

    prefix, table = "family", "f_family"

    def definitions(self):
        out = [FeatureDef(
            "family_siblings_all_count",
            "Number of siblings (same family_id) known to services before the as-of date.",
            self.prefix, "all", "count",
            say=say_count("sibling known to services", "siblings known to services", ""),
        )]
        for w in self.config.windows:
            when, where = window_description(w), window_phrase(w)
            out += [
                FeatureDef(
                    f"family_contacts_{w}_count",
                    f"Number of contacts about the child's siblings recorded {when}.",
                    self.prefix, w, "count",
                    say=say_count("contact about a sibling", "contacts about siblings", where),
                ),
                FeatureDef(
                    f"family_socialcare_{w}_count",
                    f"Number of social-care episodes of the child's siblings that started {when}.",
                    self.prefix, w, "count",
                    say=say_count("sibling social-care episode", "sibling social-care episodes",
                                  where),
                ),
                FeatureDef(
                    f"family_escalated_{w}_count",
                    "Number of the siblings' early-help episodes that closed as escalated "
                    f"{when}.",
                    self.prefix, w, "count",
                    say=say_count("sibling episode escalated to social care",
                                  "sibling episodes escalated to social care", where),
                ),
            ]
        return out

    def build(self, s):
        # Known members of each cohort child's family at t (the cohort child included).
        s.run(
            "CREATE TEMP TABLE family_candidates AS SELECT DISTINCT a.*, ch.child_id, "
            "ch.family_id FROM cohort c JOIN children f ON f.child_id = c.child_id "
            "JOIN asof_dates a ON a.as_of = c.as_of JOIN children ch ON ch.family_id = f.family_id"
        )
        s.run(f"CREATE TEMP TABLE family_members AS {s.known_children('family_candidates')}")
        q = Params()
        cc, ec, sums = [], [], []
        for w in self.config.windows:
            cc.append(f"count(*) FILTER (WHERE {_in('recorded_date', w)}) AS n_contacts_{w}")
            ec.append(f"count(*) FILTER (WHERE NOT early_help AND {_in('start_date', w)}) "
                      f"AS n_socialcare_{w}")
            ec.append(f"count(*) FILTER (WHERE early_help AND closure_reason = {q(ESCALATED)} "
                      f"AND {_in('end_date', w)}) AS n_escalated_{w}")
            sums += [f'coalesce(sum(mc.n_contacts_{w}), 0) AS "family_contacts_{w}_count"',
                     f'coalesce(sum(me.n_socialcare_{w}), 0) AS "family_socialcare_{w}_count"',
                     f'coalesce(sum(me.n_escalated_{w}), 0) AS "family_escalated_{w}_count"']
        s.run(
            f"CREATE TEMP TABLE {self.table} AS "
            f"WITH mc AS (SELECT as_of, child_id, {', '.join(cc)} "
            f"FROM ({s.known('contacts', 'family_members')}) GROUP BY as_of, child_id), "
            f"me AS (SELECT as_of, child_id, {', '.join(ec)} "
            f"FROM ({s.known('episodes', 'family_members')}) GROUP BY as_of, child_id) "
            "SELECT c.as_of, c.child_id, count(*) AS family_siblings_all_count, "
            f"{', '.join(sums)} "
            "FROM cohort c JOIN children ch ON ch.child_id = c.child_id "
            "JOIN family_members m ON m.as_of = c.as_of AND m.family_id = ch.family_id "
            "AND m.child_id <> c.child_id "
            "LEFT JOIN mc ON mc.as_of = m.as_of AND mc.child_id = m.child_id "
            "LEFT JOIN me ON me.as_of = m.as_of AND me.child_id = m.child_id "
            "GROUP BY c.as_of, c.child_id", q,
        )


class DemandBuilder(Builder):
    """``demand_*``: the locality's contact and step-up rates, and the child's IMD decile."""

    prefix, table = "demand", "f_demand"

    def definitions(self):
        out = []
        for w in self.config.windows:
            when, where = window_description(w), window_phrase(w)
            out += self._imputed(
                f"demand_locality_{w}_contactrate",
                f"Contacts recorded {when} in the child's locality per 1,000 children known "
                "to services there before the as-of date.",
                w, "contactrate", "float", "locality_rate", "locality not recorded",
                "locality recorded",
                say_template(f"locality contact rate {{v}} per 1,000 children {where}",
                             "locality contact rate not known"),
            )

            def say_pct(value, where=where):
                if is_missing(value):
                    return "locality step-up rate not known"
                return f"locality step-up rate {100 * float(value):.0f}% {where}"

            out += self._imputed(
                f"demand_locality_{w}_stepuprate",
                f"Share (0-1) of early-help episodes in the child's locality closed {when} "
                "that closed as escalated (stepped up to social care).",
                w, "stepuprate", "float", "locality_rate",
                "no early-help closures in the locality", "locality closures recorded",
                say_pct,
            )
        out += self._imputed(
            "demand_imd_all_decile",
            "Index of Multiple Deprivation decile of the child's home (1 = most deprived).",
            "all", "decile", "float", "imd_decile", "IMD decile not recorded",
            "IMD decile recorded",
            say_template("IMD decile {v} (1 = most deprived)", "IMD decile not recorded"),
        )
        return out

    def build(self, s):
        q = Params()
        con, eps, counts, council, rates = [], [], [], [], []
        for w in self.config.windows:
            con.append(f"count(*) FILTER (WHERE {_in('recorded_date', w)}) AS contacts_{w}")
            eps += [
                f"count(*) FILTER (WHERE early_help AND end_date IS NOT NULL AND "
                f"{_in('end_date', w)}) AS closed_{w}",
                f"count(*) FILTER (WHERE early_help AND closure_reason = {q(ESCALATED)} AND "
                f"{_in('end_date', w)}) AS escalated_{w}",
            ]
            for n in (f"contacts_{w}", f"closed_{w}", f"escalated_{w}"):
                counts.append(f"coalesce({n}, 0) AS {n}")  # none in the locality: 0
                council.append(f"sum({n}) AS {n}")
            for side, tag in (("l", ""), ("a", "__council")):
                rates += [
                    f"1000.0 * {side}.contacts_{w} / nullif({side}.children, 0) "
                    f'AS "demand_locality_{w}_contactrate{tag}"',
                    f"{side}.escalated_{w} / nullif({side}.closed_{w}, 0) "
                    f'AS "demand_locality_{w}_stepuprate{tag}"',
                ]
        s.run(
            f"CREATE TEMP TABLE {self.table} AS "
            "WITH kids AS (SELECT k.as_of, ch.locality, count(*) AS children "
            f"FROM ({s.known_children('asof_dates')}) k "
            "JOIN children ch ON ch.child_id = k.child_id GROUP BY ALL), "
            f"con AS (SELECT k.as_of, ch.locality, {', '.join(con)} "
            f"FROM ({s.known('contacts', 'asof_dates')}) k "
            "JOIN children ch ON ch.child_id = k.child_id GROUP BY ALL), "
            f"eps AS (SELECT k.as_of, ch.locality, {', '.join(eps)} "
            f"FROM ({s.known('episodes', 'asof_dates')}) k "
            "JOIN children ch ON ch.child_id = k.child_id GROUP BY ALL), "
            "loc AS (SELECT kids.as_of, kids.locality, kids.children, "
            f"{', '.join(counts)} FROM kids "
            "LEFT JOIN con ON con.as_of = kids.as_of "
            "AND con.locality IS NOT DISTINCT FROM kids.locality "
            "LEFT JOIN eps ON eps.as_of = kids.as_of "
            "AND eps.locality IS NOT DISTINCT FROM kids.locality), "
            f"allc AS (SELECT as_of, sum(children) AS children, {', '.join(council)} "
            "FROM loc GROUP BY as_of) "
            f"SELECT c.as_of, c.child_id, {', '.join(rates)}, "
            "CAST(ch.imd_decile AS DOUBLE) AS demand_imd_all_decile "
            "FROM cohort c JOIN children ch ON ch.child_id = c.child_id "
            "JOIN allc a ON a.as_of = c.as_of "
            "LEFT JOIN loc l ON l.as_of = c.as_of AND l.locality = ch.locality", q,
        )


class ChildBuilder(Builder):
    """``child_*``: age at t, unborn flag, and protected characteristics only if the spec asks."""

    prefix, table = "child", "f_child"

    def definitions(self):
        out = self._imputed(
            "child_age_all_years", "Age in whole years at the as-of date (0 if unborn).",
            "all", "years", "float", "age", "date of birth not recorded",
            "date of birth recorded", say_template("aged {v}", "age not known"),
        )
        out.append(FeatureDef(
            "child_unborn_all_flag", "1 if the child was not yet born at the as-of date.",
            self.prefix, "all", "flag", say=say_flag("unborn", "born"),
        ))
        for char in self.config.protected_features:
            for v in PROTECTED_VALUES[char]:
                out.append(FeatureDef(
                    f"child_{char}_{v}_all_flag",
                    f"1 if the child's recorded {char} is {words(v)} (a protected characteristic, "
                    "used as a feature because the spec lists it).",
                    self.prefix, "all", "flag",
                    say=say_flag(f"{char}: {words(v)}", f"{char} not {words(v)}"),
                ))
        return out

    def build(self, s):
        q = Params()
        flags = []
        for char in self.config.protected_features:
            for v in PROTECTED_VALUES[char]:
                flags.append(f'CAST(coalesce(ch."{char}" = {q(v)}, FALSE) AS INTEGER) '
                             f'AS "child_{char}_{v}_all_flag"')
        extra = "".join(f", {f}" for f in flags)
        s.run(
            f"CREATE TEMP TABLE {self.table} AS SELECT c.as_of, c.child_id, "
            f"greatest({age_years_sql('ch.date_of_birth', 'c.as_of')}, 0) "
            "AS child_age_all_years, "
            "CAST(coalesce(ch.date_of_birth > c.as_of, FALSE) AS INTEGER) "
            f"AS child_unborn_all_flag{extra} "
            "FROM cohort c LEFT JOIN children ch ON ch.child_id = c.child_id", q,
        )


def age_years_sql(dob: str, at: str) -> str:
    """SQL: whole years from ``dob`` to ``at`` (birthday-aware; negative before birth)."""
    return (f"(year({at}) - year({dob}) - CASE WHEN month({at}) * 100 + day({at}) < "
            f"month({dob}) * 100 + day({dob}) THEN 1 ELSE 0 END)")


BUILDERS: tuple[type[Builder], ...] = (
    AceBuilder, ContactsBuilder, EpisodesBuilder, FamilyBuilder, DemandBuilder, ChildBuilder,
)


def enabled_builders(spec: FeatureSpec) -> list[Builder]:
    """The builders the spec switches on, in dictionary order."""
    return [b(spec) for b in BUILDERS if getattr(spec.builders, b.prefix).enabled]


def all_definitions(spec: FeatureSpec) -> list[FeatureDef]:
    """Every feature the spec produces, in matrix column order."""
    return [d for b in enabled_builders(spec) for d in b.definitions()]
