"""The synthetic council as a council holds it: an Ofsted Annex A workbook and CIN factors.

``riskmodel synth --format annex-a`` writes ``annex_a.xlsx`` (Lists 1, 2, 3, 6, 7 and 8,
DfE codes, day-first dates) and ``assessment_factors.csv`` (CIN census assessment factor
codes with their dates) from the same simulation as the native tables, so that importing it
(``riskmodel import annex-a``) can be compared with the native extract for what Annex A
carries. Each contract value is written as one of the DfE codes the import reads back as
that value (the code lists in ``riskmodel/data/codelists/``), chosen at random per row.

Two things go beyond the Ofsted lists, both said in ``docs/annex-a.md``: List 2 carries an
"Early help end date" column (councils that record one can add it; without it the import
infers ends), and List 3's referral dates are the dates of the contacts they came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.data._codelists import code_list

WORKBOOK = "annex_a.xlsx"
FACTORS = "assessment_factors.csv"
_GENDER = {"male": "a) Male", "female": "b) Female", "unknown": "c) Not stated/recorded"}
_LISTS = {
    "cin": ("List 6", "CIN Start Date", "CIN Closure Date"),
    "cp": ("List 7", "Child Protection Plan Start Date", "Child Protection Plan End Date"),
    "lac": ("List 8", "Date Started to be Looked After", "Date Ceased to be Looked After"),
}


def _codes_for(name: str) -> dict[str, list]:
    """``{contract value: [codes read back as it]}`` of a packaged code list."""
    out: dict[str, list] = {}
    for c in code_list(name).codes:
        if c.value is not None:
            out.setdefault(c.value, []).append(c)
    return out


def _pick(rng: np.random.Generator, values: pd.Series, options: dict[str, list[Any]],
          fmt: Callable[[Any], Any]) -> list[Any]:
    """``fmt`` of a code chosen at random among those of each value (None when empty)."""
    out: list = []
    for v in values.astype(object):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        choices = options[v]
        out.append(fmt(choices[int(rng.integers(len(choices)))]))
    return out


def _uk(d: Any) -> str | None:
    """A date as day/month/year text (None when empty)."""
    return None if pd.isna(d) else f"{pd.Timestamp(d):%d/%m/%Y}"


def _cell(d: Any) -> Any:
    """A date as a spreadsheet datetime cell (None when empty)."""
    return None if pd.isna(d) else pd.Timestamp(d).to_pydatetime()


def _person(children: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each child's DfE gender and ethnicity codes and date of birth, by child id."""
    eth = _codes_for("dfe_ethnicity")
    return pd.DataFrame({
        "child_id": children["child_id"],
        "Gender": children["sex"].map(_GENDER),
        "Ethnicity": _pick(rng, children["ethnicity"], eth, lambda c: c.code),
        "dob": children["date_of_birth"],
    }).set_index("child_id")


def _age(dob: pd.Series, at: pd.Series) -> list[int | None]:
    """Age in whole years on ``at`` (None when unknown or not yet born)."""
    years = at.dt.year - dob.dt.year - ((at.dt.month * 100 + at.dt.day)
                                        < (dob.dt.month * 100 + dob.dt.day))
    return [None if pd.isna(y) or y < 0 else int(y) for y in years]


_PERSON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
_STAFF = ["Allocated Team", "Allocated Worker"]


class _Book:
    """The write-only workbook being filled, and each child's DfE gender and ethnicity."""

    def __init__(self, people: pd.DataFrame) -> None:
        import openpyxl

        self.wb = openpyxl.Workbook(write_only=True)
        self.people = people

    def sheet(self, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
        """Add one list: a title row above the header (as templates have), then the rows."""
        ws = self.wb.create_sheet(title)
        ws.append([f"Annex A {title}"])
        ws.append(header)
        for r in rows:
            ws.append(r)

    def who(self, ids: pd.Series) -> tuple[list[Any], list[Any], pd.Series]:
        """Gender codes, ethnicity codes and dates of birth of the children ``ids``."""
        p = self.people.loc[ids]
        return p["Gender"].tolist(), p["Ethnicity"].tolist(), p["dob"]


def _contacts_list(book: _Book, contacts: pd.DataFrame, rng: np.random.Generator
                   ) -> tuple[pd.DataFrame, list[Any]]:
    """List 1: contacts in date order; gives them and their DfE source codes."""
    c = contacts.sort_values(["contact_date", "contact_id"], kind="stable")
    g, e, dob = book.who(c["child_id"])
    source = _pick(rng, c["source"], _codes_for("dfe_source"),
                   lambda x: f"{x.code}: {x.label.split(' - ')[0]}")
    ages = _age(dob.reset_index(drop=True), c["contact_date"].reset_index(drop=True))
    book.sheet("List 1 - Contacts", [*_PERSON, "Date of Contact", "Contact Source"],
               zip(c["child_id"], g, e, map(_uk, dob), ages, map(_uk, c["contact_date"]),
                   source, strict=True))
    return c, source


def _referrals_list(book: _Book, c: pd.DataFrame, source: list[Any]) -> None:
    """List 3: referrals, the contacts whose outcome is social care."""
    refs = c[c["outcome"] == "social_care"]
    g, e, dob = book.who(refs["child_id"])
    ref_source = [s for s, o in zip(source, c["outcome"], strict=True) if o == "social_care"]
    book.sheet("List 3 - Referrals",
               [*_PERSON, "Date of referral", "Referral Source", "Referral NFA?",
                "Number of Referrals in Last 12 Months", *_STAFF],
               ((i, gg, ee, _uk(d), None, _uk(r), s, "b) No", 1, "Front Door", "A Worker")
                for i, gg, ee, d, r, s in zip(refs["child_id"], g, e, dob,
                                              refs["contact_date"], ref_source, strict=True)))


def _early_help_list(book: _Book, eps: pd.DataFrame) -> None:
    """List 2: early-help episodes, assessments completed 28 days in (or at the end)."""
    eh = eps[~eps["service"].isin(list(_LISTS))]
    g, e, dob = book.who(eh["child_id"])
    done = (eh["start_date"] + pd.Timedelta(days=28)).where(
        eh["end_date"].isna() | (eh["start_date"] + pd.Timedelta(days=28) <= eh["end_date"]),
        eh["end_date"])
    book.sheet("List 2 - Early Help",
               [*_PERSON, "Assessment start date", "Assessment completion date",
                "Organisation completing assessment", "Early help end date"],
               zip(eh["child_id"], g, e, map(_cell, dob),
                   _age(dob.reset_index(drop=True), eh["start_date"].reset_index(drop=True)),
                   map(_cell, eh["start_date"]), map(_cell, done), ["Early Help Hub"] * len(eh),
                   map(_cell, eh["end_date"]), strict=True))


def _social_care_lists(book: _Book, eps: pd.DataFrame) -> None:
    """Lists 6, 7 and 8: CIN, child protection and looked-after episodes."""
    for service, (title, start, end) in _LISTS.items():
        sc = eps[eps["service"] == service]
        g, e, dob = book.who(sc["child_id"])
        book.sheet(title, [*_PERSON, start, end, *_STAFF],
                   ((i, gg, ee, _cell(d), None, _cell(s), _cell(x), "Safeguarding", "A Worker")
                    for i, gg, ee, d, s, x in zip(sc["child_id"], g, e, dob, sc["start_date"],
                                                  sc["end_date"], strict=True)))


def _write_factors(ace_factors: pd.DataFrame, path: Path, rng: np.random.Generator) -> None:
    """``assessment_factors.csv``: each recorded ACE as a CIN assessment factor code."""
    aces = _codes_for("cin_factors")
    first = {k: [c for c in v if c.code in ("18C", "19C", "17A", "16A", "3B", "1B", "2B",
                                              "4B")] or v[:1] for k, v in aces.items()}
    a = ace_factors[ace_factors["factor"].isin(list(first))].sort_values(
        ["recorded_date", "child_id"], kind="stable")
    pd.DataFrame({
        "Child Unique ID": a["child_id"],
        "Factors identified at the end of assessment": _pick(rng, a["factor"], first,
                                                             lambda x: x.code),
        "Date of authorisation": a["recorded_date"].map(_uk),
    }).to_csv(path, index=False, encoding="utf-8-sig")


def write_annex_a(tables: dict[str, pd.DataFrame], folder: Path, *, seed: int) -> None:
    """Write ``annex_a.xlsx`` and ``assessment_factors.csv`` for the typed ``tables``."""
    rng = np.random.default_rng([seed, 903])
    book = _Book(_person(tables["children"], rng))
    contacts, source = _contacts_list(book, tables["contacts"], rng)
    eps = tables["episodes"].sort_values(["start_date", "episode_id"], kind="stable")
    _early_help_list(book, eps)
    _referrals_list(book, contacts, source)
    _social_care_lists(book, eps)
    book.wb.save(folder / WORKBOOK)
    _write_factors(tables["ace_factors"], folder / FACTORS, rng)
