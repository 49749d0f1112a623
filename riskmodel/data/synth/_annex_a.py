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

from pathlib import Path

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


def _pick(rng, values: pd.Series, options: dict[str, list], fmt) -> list:
    out: list = []
    for v in values.astype(object):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        choices = options[v]
        out.append(fmt(choices[int(rng.integers(len(choices)))]))
    return out


def _uk(d) -> str | None:
    return None if pd.isna(d) else f"{pd.Timestamp(d):%d/%m/%Y}"


def _cell(d):
    return None if pd.isna(d) else pd.Timestamp(d).to_pydatetime()


def _person(children: pd.DataFrame, rng) -> pd.DataFrame:
    eth = _codes_for("dfe_ethnicity")
    return pd.DataFrame({
        "child_id": children["child_id"],
        "Gender": children["sex"].map(_GENDER),
        "Ethnicity": _pick(rng, children["ethnicity"], eth, lambda c: c.code),
        "dob": children["date_of_birth"],
    }).set_index("child_id")


def _age(dob: pd.Series, at: pd.Series) -> list:
    years = at.dt.year - dob.dt.year - ((at.dt.month * 100 + at.dt.day)
                                        < (dob.dt.month * 100 + dob.dt.day))
    return [None if pd.isna(y) or y < 0 else int(y) for y in years]


def write_annex_a(tables: dict[str, pd.DataFrame], folder: Path, *, seed: int) -> None:
    """Write ``annex_a.xlsx`` and ``assessment_factors.csv`` for the typed ``tables``."""
    import openpyxl

    rng = np.random.default_rng([seed, 903])
    people = _person(tables["children"], rng)
    src = _codes_for("dfe_source")
    staff = ("Allocated Team", "Allocated Worker")
    wb = openpyxl.Workbook(write_only=True)

    def sheet(title, header, rows):
        ws = wb.create_sheet(title)
        ws.append([f"Annex A {title}"])  # a title row above the header, as templates have
        ws.append(header)
        for r in rows:
            ws.append(r)

    def who(ids):
        p = people.loc[ids]
        return p["Gender"].tolist(), p["Ethnicity"].tolist(), p["dob"]

    c = tables["contacts"].sort_values(["contact_date", "contact_id"], kind="stable")
    g, e, dob = who(c["child_id"])
    source = _pick(rng, c["source"], src, lambda x: f"{x.code}: {x.label.split(' - ')[0]}")
    ages = _age(dob.reset_index(drop=True), c["contact_date"].reset_index(drop=True))
    sheet("List 1 - Contacts",
          ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
           "Date of Contact", "Contact Source"],
          zip(c["child_id"], g, e, map(_uk, dob), ages, map(_uk, c["contact_date"]), source,
              strict=True))

    eps = tables["episodes"].sort_values(["start_date", "episode_id"], kind="stable")
    eh = eps[~eps["service"].isin(list(_LISTS))]
    g, e, dob = who(eh["child_id"])
    done = (eh["start_date"] + pd.Timedelta(days=28)).where(
        eh["end_date"].isna() | (eh["start_date"] + pd.Timedelta(days=28) <= eh["end_date"]),
        eh["end_date"])
    sheet("List 2 - Early Help",
          ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
           "Assessment start date", "Assessment completion date",
           "Organisation completing assessment", "Early help end date"],
          zip(eh["child_id"], g, e, map(_cell, dob),
              _age(dob.reset_index(drop=True), eh["start_date"].reset_index(drop=True)),
              map(_cell, eh["start_date"]), map(_cell, done), ["Early Help Hub"] * len(eh),
              map(_cell, eh["end_date"]), strict=True))

    refs = c[c["outcome"] == "social_care"]
    g, e, dob = who(refs["child_id"])
    ref_source = [s for s, o in zip(source, c["outcome"], strict=True) if o == "social_care"]
    sheet("List 3 - Referrals",
          ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
           "Date of referral", "Referral Source", "Referral NFA?",
           "Number of Referrals in Last 12 Months", *staff],
          ((i, gg, ee, _uk(d), None, _uk(r), s, "b) No", 1, "Front Door", "A Worker")
           for i, gg, ee, d, r, s in zip(refs["child_id"], g, e, dob, refs["contact_date"],
                                         ref_source, strict=True)))

    for service, (title, start, end) in _LISTS.items():
        sc = eps[eps["service"] == service]
        g, e, dob = who(sc["child_id"])
        sheet(title, ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                      "Age of Child (Years)", start, end, *staff],
              ((i, gg, ee, _cell(d), None, _cell(s), _cell(x), "Safeguarding", "A Worker")
               for i, gg, ee, d, s, x in zip(sc["child_id"], g, e, dob, sc["start_date"],
                                             sc["end_date"], strict=True)))
    wb.save(folder / WORKBOOK)

    aces = _codes_for("cin_factors")
    first = {k: [c for c in v if c.code in ("18C", "19C", "17A", "16A", "3B", "1B", "2B",
                                              "4B")] or v[:1] for k, v in aces.items()}
    a = tables["ace_factors"]
    a = a[a["factor"].isin(list(first))].sort_values(["recorded_date", "child_id"],
                                                      kind="stable")
    pd.DataFrame({
        "Child Unique ID": a["child_id"],
        "Factors identified at the end of assessment": _pick(rng, a["factor"], first,
                                                             lambda x: x.code),
        "Date of authorisation": a["recorded_date"].map(_uk),
    }).to_csv(folder / FACTORS, index=False, encoding="utf-8-sig")
