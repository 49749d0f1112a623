"""Builders of a child's context: family, locality demand, the child's own age."""


from __future__ import annotations

from typing import Literal

from riskmodel.data import PROTECTED
from riskmodel.features._builder_base import (
    PROTECTED_VALUES,
    Builder,
    _in,
    _longest,
    age_years_sql,
    register_builder,
)
from riskmodel.features._dictionary import (
    FeatureDef,
    is_missing,
    say_count,
    say_flag,
    say_template,
    words,
)
from riskmodel.features._labels import ESCALATED
from riskmodel.features._session import Params
from riskmodel.features._spec_parts import BuilderConfig, Windows
from riskmodel.features._windows import window_description, window_phrase


class FamilySpec(BuilderConfig):
    """Siblings (same family_id) known before t, their contacts and escalations."""

    windows: Windows = ["12m", "all"]


@register_builder
class FamilyBuilder(Builder):
    """``family_*``: siblings known to services before t, their contacts and escalations."""

    prefix, table = "family", "f_family"
    Config = FamilySpec
    words = "siblings (same family) and their contacts and escalations"
    needs = (
        (r"^family_escalated_", ("children.family_id", "children_history.family_id",
                                 "episodes.closure_reason")),
        (r"^family_", ("children.family_id", "children_history.family_id")),
    )

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
        at = s.attributes()  # the family at t (history, or today's where the spec allows)
        s.run(
            "CREATE TEMP TABLE family_candidates AS SELECT DISTINCT a.*, ch.child_id, "
            f"ch.family_id FROM cohort c JOIN {at} f ON f.as_of = c.as_of "
            "AND f.child_id = c.child_id JOIN asof_dates a ON a.as_of = c.as_of "
            f"JOIN {at} ch ON ch.as_of = c.as_of AND ch.family_id = f.family_id"
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
            f"FROM cohort c JOIN {at} ch ON ch.as_of = c.as_of AND ch.child_id = c.child_id "
            "JOIN family_members m ON m.as_of = c.as_of AND m.family_id = ch.family_id "
            "AND m.child_id <> c.child_id "
            "LEFT JOIN mc ON mc.as_of = m.as_of AND mc.child_id = m.child_id "
            "LEFT JOIN me ON me.as_of = m.as_of AND me.child_id = m.child_id "
            "GROUP BY c.as_of, c.child_id", q,
        )


class DemandSpec(BuilderConfig):
    """The locality's contact rate and step-up rate, and the child's IMD decile."""

    windows: Windows = ["12m"]


@register_builder
class DemandBuilder(Builder):
    """``demand_*``: the locality's contact and step-up rates, and the child's IMD decile."""

    prefix, table = "demand", "f_demand"
    Config = DemandSpec
    words = "the locality's demand and the area's deprivation"
    needs = (
        (r"^demand_locality_.*_stepuprate", ("children.locality", "children_history.locality",
                                             "episodes.closure_reason")),
        (r"^demand_locality_", ("children.locality", "children_history.locality")),
        (r"^demand_imd_", ("children.imd_decile", "children_history.imd_decile")),
    )

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

    def _counted(self, col: str) -> str:
        """SQL: ``col`` falls in a window some rate counts (rows before all of them are
        never counted: left out before the join to the localities, not after)."""
        windows = self.config.windows
        return "TRUE" if "all" in windows else _in(col, _longest(windows))

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
        # Each child's locality and IMD decile at t (history, or today's where allowed).
        at = s.attributes()
        on = "ch.as_of = k.as_of AND ch.child_id = k.child_id"
        s.run(
            f"CREATE TEMP TABLE {self.table} AS "
            "WITH kids AS (SELECT k.as_of, ch.locality, count(*) AS children "
            f"FROM ({s.known_children('asof_dates')}) k "
            f"JOIN {at} ch ON {on} GROUP BY ALL), "
            f"con AS (SELECT k.as_of, ch.locality, {', '.join(con)} "
            f"FROM ({s.known('contacts', 'asof_dates')}) k "
            f"JOIN {at} ch ON {on} WHERE {self._counted('recorded_date')} GROUP BY ALL), "
            f"eps AS (SELECT k.as_of, ch.locality, {', '.join(eps)} "
            f"FROM ({s.known('episodes', 'asof_dates')}) k "
            f"JOIN {at} ch ON {on} WHERE {self._counted('end_date')} GROUP BY ALL), "
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
            f"FROM cohort c JOIN {at} ch ON ch.as_of = c.as_of AND ch.child_id = c.child_id "
            "JOIN allc a ON a.as_of = c.as_of "
            "LEFT JOIN loc l ON l.as_of = c.as_of AND l.locality = ch.locality", q,
        )


class ChildSpec(BuilderConfig):
    """Age at the as-of date; protected characteristics only when listed here."""

    protected_features: list[Literal[PROTECTED]] = []  # type: ignore[valid-type]

    def for_lookup(self, extra_window: str) -> ChildSpec:
        return self.model_copy(update={"enabled": True, "protected_features": list(PROTECTED)})


@register_builder
class ChildBuilder(Builder):
    """``child_*``: age at t, unborn flag, and protected characteristics only if the spec asks."""

    prefix, table = "child", "f_child"
    Config = ChildSpec
    words = "the child's age"
    needs = ((r"^child_(age|unborn)_", ("children.date_of_birth",)),)

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
