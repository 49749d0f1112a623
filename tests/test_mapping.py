"""A council's own words, mapped in YAML: `riskmodel import extract --mapping mapping.yaml`.

Column renames per table, value maps on top of the DfE presets, the date format; values no
mapping covers reported one line per column (never silently "other"); `unmapped: other` as
the explicit opt-in; the formats councils export read correctly or refused in one line.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from riskmodel import InputError
from riskmodel.cli import main
from riskmodel.data import load_tables
from riskmodel.data._codelists import UnmappedValues
from riskmodel.data._mapping import load_mapping, map_extract

BAD_INPUT_DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"

MAPPING = """\
date_format: day-first
tables:
  children:
    source: Child details
    columns: {child_id: Person ID, family_id: Household, date_of_birth: DOB, sex: Gender,
              ethnicity: Ethnic code, locality: Area}
    values:
      sex: dfe_gender
      ethnicity: {preset: dfe_ethnicity, map: {White - English: white}}
  contacts:
    source: Contacts
    columns: {contact_id: Contact ref, child_id: Person ID, contact_date: Contact date,
              recorded_date: Entered on, source: Source, need: Presenting need}
    values:
      source: {preset: dfe_source, map: {Police - local: police, GP surgery: health}}
      need: {map: {DA: domestic_abuse, Neglect: neglect}}
  episodes:
    source: Involvements
    columns: {episode_id: Involvement ID, child_id: Person ID, service: Type,
              start_date: Start, end_date: End, closure_reason: Reason}
    values:
      service: {map: {Early Help: early_help_pathway, Family Support: fsw_intervention,
                      Child in Need: cin, Child Protection: cp}}
      closure_reason: {map: {Needs met: needs_met, Stepped up: escalated, Refused: declined}}
"""


def council_extract(folder: Path, *, contact_source="Police - local") -> Path:
    """A council's own extract: its own headers, words and UK dates, CSV files of each kind."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Child details.csv").write_text(
        "Person ID;Household;DOB;Gender;Ethnic code;Area;Allocated Worker\r\n"
        "1001.0;H1;02/03/2015;2;WBRI;North;Jo Staffmember\r\n"
        "1002.0;H1;15/11/2017;1;White - English;North;Jo Staffmember\r\n"
        "1003.0;H2;30/06/2012;0;a) CHNE;South;Sam Caseworker\r\n",
        encoding="utf-8-sig")  # Excel's "CSV UTF-8": a BOM, semicolons, Windows line ends
    pd.DataFrame({
        "Contact ref": ["K1", "K2", "K3", "K4"], "Person ID": ["1001", "1002", "1003", "1001"],
        "Contact date": ["03/04/2023", "10/05/2023", "01/02/2024", "13/06/2024"],
        "Entered on": ["03/04/2023", "11/05/2023", "02/02/2024", "13/06/2024"],
        "Source": [contact_source, "2A", "GP surgery", "q) 6: Police"],
        "Presenting need": ["DA", "Neglect", "", "DA"],
    }).to_csv(folder / "Contacts.csv", index=False)
    pd.DataFrame({
        "Involvement ID": ["E1", "E2", "E3"], "Person ID": ["1001", "1003", "1001"],
        "Type": ["Early Help", "Family Support", "Child in Need"],
        "Start": ["10/04/2023", "05/02/2024", "20/06/2024"],
        "End": ["20/06/2024", "", ""], "Reason": ["Stepped up", "", ""],
    }).to_csv(folder / "Involvements.csv", index=False, sep="\t")
    (folder / "mapping.yaml").write_text(MAPPING)
    return folder


def test_a_council_extract_maps_onto_the_contract(tmp_path, capsys):
    src = council_extract(tmp_path / "council")
    main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
          "--out", str(tmp_path / "extract")])
    printed = capsys.readouterr()
    assert "wrote" in printed.out
    assert "warning: children.child_id: 3 id(s) written as decimals (e.g. '1001.0') were " \
        "read as whole numbers ('1001')" in printed.err
    t = load_tables(tmp_path / "extract")
    ch = t["children"].set_index("child_id")
    assert ch.loc["1001", "sex"] == "female" and ch.loc["1002", "ethnicity"] == "white"
    assert ch.loc["1003", "ethnicity"] == "asian" and ch.loc["1003", "sex"] == "unknown"
    assert ch.loc["1001", "date_of_birth"] == pd.Timestamp("2015-03-02")  # 2 March: UK
    co = t["contacts"].set_index("contact_id")
    assert co["source"].tolist() == ["police", "school", "health", "police"]
    assert co.loc["K1", "contact_date"] == pd.Timestamp("2023-04-03")  # 3 April, not 4 March
    assert co["need"].tolist()[:2] == ["domestic_abuse", "neglect"]
    ep = t["episodes"].set_index("episode_id")
    assert ep["service"].tolist() == ["early_help_pathway", "fsw_intervention", "cin"]
    assert ep.loc["E1", "closure_reason"] == "escalated"
    for p in (tmp_path / "extract").iterdir():
        assert b"Staffmember" not in p.read_bytes() and b"Caseworker" not in p.read_bytes()


def test_unmapped_values_are_one_line_per_column_never_other(tmp_path):
    src = council_extract(tmp_path / "council", contact_source="Lollipop man")
    text = (src / "Contacts.csv").read_text().replace("Neglect", "Poverty")
    (src / "Contacts.csv").write_text(text)
    with pytest.raises(UnmappedValues) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        map_extract(src, load_mapping(src / "mapping.yaml"))
    assert exc.value.lines == [
        "contacts.source ('Source'): 1 value no mapping covers, in 1 row: 'Lollipop man' (1); "
        "add it under values: source: map: in mapping.yaml, or set unmapped: other",
        "contacts.need ('Presenting need'): 1 value no mapping covers, in 1 row: 'Poverty' "
        "(1); add it under values: need: map: in mapping.yaml, or set unmapped: other",
    ]


def test_unmapped_other_is_an_explicit_opt_in_and_is_reported(tmp_path):
    src = council_extract(tmp_path / "council", contact_source="Lollipop man")
    (src / "mapping.yaml").write_text(MAPPING.replace("date_format: day-first",
                                                      "date_format: day-first\nunmapped: other"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
              "--out", str(tmp_path / "extract")])
    t = load_tables(tmp_path / "extract")
    assert t["contacts"]["source"].iloc[0] == "other"
    report = (tmp_path / "extract" / "import_report.md").read_text()
    assert "contacts.source: sent to the catch-all by unmapped: other: 'Lollipop man' 1" in report


def test_a_workbook_with_a_sheet_per_table_and_contract_words_needs_no_renames(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    rows = {
        "Children": [["Child ID", "Sex", "Date of Birth"], [123.0, "Female", None]],
        "contacts": [["Contact_ID", "Child_ID", "Contact Date", "Recorded Date", "Source"],
                     ["K1", 123, pd.Timestamp("2023-04-03").to_pydatetime(),
                      "2023-04-04", "Police"]],
        "EPISODES": [["episode id", "child id", "service", "start date", "end date"],
                     ["E1", "123", "CIN", "2023-05-01", None]],
    }
    for name, data in rows.items():
        ws = wb.create_sheet(name)
        for r in data:
            ws.append(r)
    wb.save(tmp_path / "extract.xlsx")
    (tmp_path / "mapping.yaml").write_text("date_format: iso\n")
    m = map_extract(tmp_path / "extract.xlsx", load_mapping(tmp_path / "mapping.yaml"))
    assert m.tables["children"]["sex"].tolist() == ["female"]
    assert m.tables["contacts"]["contact_date"].iloc[0] == pd.Timestamp("2023-04-03")
    assert m.tables["episodes"]["service"].tolist() == ["cin"]


def test_day_first_is_inferred_only_when_the_column_leaves_no_doubt(tmp_path):
    src = council_extract(tmp_path / "council")
    (src / "mapping.yaml").write_text(MAPPING.replace("date_format: day-first\n", ""))
    # Contact date holds 13/06/2024 (only day-first); DOB holds 30/06/2012; but "Start" holds
    # only 10/04/2023, 05/02/2024, 20/06/2024: 20 > 12 settles it too. Entered on has 11/05.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = map_extract(src, load_mapping(src / "mapping.yaml"))
    assert "contact_date: text dates read day-first (the column leaves no doubt)" in \
        m.notes["contacts"]
    (src / "Contacts.csv").write_text((src / "Contacts.csv").read_text().replace(
        "13/06/2024", "12/06/2024"))
    with pytest.raises(InputError, match=r"^contacts.contact_date \('Contact date'\): "
                                         r"'03/04/2023' could be 3 April or 4 March"):
        map_extract(src, load_mapping(src / "mapping.yaml"))


def test_mapping_errors_name_the_key(tmp_path):
    p = tmp_path / "mapping.yaml"
    p.write_text("tables:\n  children:\n    columns: {gender: Sex}\n")
    with pytest.raises(InputError, match="key 'tables.children.gender': children has no "
                                         "column 'gender'"):
        load_mapping(p)
    p.write_text("tables:\n  children:\n    values: {sex: {preset: dfe_sex}}\n")
    with pytest.raises(InputError, match=r"key 'tables.children.values.sex.preset': Value "
                                         r"error, expected a preset among dfe_ethnicity"):
        load_mapping(p)


# ---------------------------------------------------------------- bad input ------------------

def _snapshot(root: Path) -> dict:
    return {p.relative_to(root): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in root.rglob("*")}


def _mapping_with(text):
    def setup(tmp):
        src = council_extract(tmp / "council")
        (src / "mapping.yaml").write_text(text)
        return ["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
                "--out", str(tmp / "out")]
    return setup


def _extract_with(fn):
    def setup(tmp):
        src = council_extract(tmp / "council")
        fn(src)
        return ["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
                "--out", str(tmp / "out")]
    return setup


def _edit(name, old, new):
    return lambda src: (src / name).write_text((src / name).read_text().replace(old, new))


CASES = {
    "extract: a mapping key that is not a contract column": (
        _mapping_with("tables:\n  children:\n    columns: {gender: Gender}\n"),
        "error: {tmp}/council/mapping.yaml: key 'tables.children.gender': children has no "
        "column 'gender' "
        "(it has child_id, family_id, date_of_birth, sex, ethnicity, disability, locality, "
        "imd_decile)"),
    "extract: an unknown preset": (
        _mapping_with("tables:\n  children:\n    values: {sex: dfe_sex}\n"),
        "error: {tmp}/council/mapping.yaml: key 'tables.children.values.sex.preset': Value "
        "error, expected a "
        "preset among dfe_ethnicity, dfe_gender, dfe_source, cin_factors (got 'dfe_sex')"),
    "extract: a value mapped to a word the contract does not have": (
        _mapping_with(MAPPING.replace("White - English: white", "White - English: caucasian")),
        "error: {tmp}/council/mapping.yaml: key 'tables.children.values.ethnicity.map': "
        "'White - English' maps to 'caucasian', not "
        "one of asian, black, mixed, white, other, unknown"),
    "extract: a table not found": (
        _mapping_with(MAPPING.replace("source: Involvements", "source: Episodes")),
        "error: episodes: no file or sheet named 'Episodes' in council (found Child details, "
        "Contacts, Involvements); name it in mapping.yaml (tables: episodes: source:)"),
    "extract: a renamed column not found": (
        _mapping_with(MAPPING.replace("start_date: Start", "start_date: Begin")),
        "error: episodes.start_date: no column 'Begin' in Involvements (columns: Involvement "
        "ID, Person ID, Type, Start, End, Reason); check tables: episodes: columns: in "
        "mapping.yaml"),
    "extract: an ambiguous date column": (
        _extract_with(lambda src: (
            _edit("mapping.yaml", "date_format: day-first\n", "")(src),
            _edit("Child details.csv", "15/11/2017", "11/10/2017")(src),
            _edit("Child details.csv", "30/06/2012", "06/07/2012")(src))),
        "error: children.date_of_birth ('DOB'): dates could be day-first or month-first in 3 "
        "rows (e.g. rows 2, 3, 4); set date_format in mapping.yaml (day-first for 31/03/2024, "
        "month-first for 03/31/2024, or a pattern such as '%d/%m/%Y') and pass it with "
        "--mapping"),
    "extract: a value no mapping covers": (
        _extract_with(_edit("Contacts.csv", "GP surgery", "Walk-in centre")),
        "error: contacts.source ('Source'): 1 value no mapping covers, in 1 row: 'Walk-in "
        "centre' (1); add it under values: source: map: in mapping.yaml, or set unmapped: "
        "other; it is written, ready to fill in, to {tmp}/council/mapping.todo.yaml"),
    "extract: a month-first date in a day-first extract": (
        _extract_with(_edit("Contacts.csv", "10/05/2023", "05/13/2023")),
        "error: contacts.contact_date ('Contact date'): not a day-first date: '05/13/2023' in "
        "1 row (e.g. row 3) (the month is over 12); if the column is month-first, set "
        "date_format: month-first in mapping.yaml"),
    "extract: a rule of the contract broken": (
        _extract_with(_edit("Contacts.csv", "K2,1002,10/05/2023,11/05/2023",
                            "K2,1002,10/05/2023,09/05/2023")),
        "error: contacts.recorded_date: before contact_date in 1 row (e.g. contact_id K2) in "
        "the tables read from council"),
    "validate: an Excel workbook": (
        lambda tmp: ["validate", str(_touch(tmp / "extract.xlsx"))],
        "error: data: {tmp}/extract.xlsx is an Excel workbook; bring it in first with "
        "riskmodel import annex-a (Ofsted Annex A lists) or riskmodel import extract "
        "--mapping (a sheet per table), then give the folder it writes"),
}


def _touch(p: Path) -> Path:
    p.write_bytes(b"PK\x03\x04 not really a workbook")
    return p


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(case, tmp_path, capsys):
    setup, line = CASES[case]
    args = setup(tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(SystemExit) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.strip().splitlines() == [line.format(tmp=tmp_path)], err
    after = _snapshot(tmp_path)
    todo = {p for p in set(after) - set(before) if p.name.endswith(".todo.yaml")}
    assert bool(todo) == ("ready to fill in" in line)  # unmapped values: the file to fill
    folders = {p.parent for p in todo}  # a folder's time changes as the file is added
    assert {p: v for p, v in after.items() if p not in todo | folders} == \
        {p: v for p, v in before.items() if p not in folders}  # nothing else


def test_catalogue_documents_every_import_case():
    doc = BAD_INPUT_DOC.read_text(encoding="utf-8")
    for case in CASES:
        assert f"test_mapping.py::test_bad_input_gives_one_line_exit_2_and_writes_nothing" \
               f"[{case}]" in doc, case


def test_two_columns_unmapped_are_listed_then_one_error(tmp_path, capsys):
    src = council_extract(tmp_path / "council", contact_source="Lollipop man")
    (src / "Contacts.csv").write_text((src / "Contacts.csv").read_text().replace("DA", "??"))
    with pytest.raises(SystemExit) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
              "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(lines) == 3
    assert re.match(r"contacts.source \('Source'\): 1 value", lines[0])
    assert re.match(r"contacts.need \('Presenting need'\): 1 value", lines[1])
    todo = tmp_path / "council" / "mapping.todo.yaml"
    assert lines[2] == ("error: council: 2 columns hold values no mapping covers (listed "
                        "above); add them to mapping.yaml or set unmapped: other; nothing "
                        f"imported; all 2 are written, ready to fill in, to {todo}")
    filled = yaml.safe_load(todo.read_text())
    source_map = filled["tables"]["contacts"]["values"]["source"]["map"]
    assert source_map["Lollipop man"] == "TODO"
    assert source_map["Police - local"] == "police"  # the council's own words, kept
    assert filled["tables"]["contacts"]["values"]["need"]["map"]["??"] == "TODO"
    assert filled["date_format"] == "day-first"  # the council's own mapping, kept
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- knowledge dates -----------

def test_knowledge_dates_and_children_history_map_like_any_column(tmp_path, capsys):
    """New columns by mapping or by a tolerant header; children_history from its own file."""
    src = council_extract(tmp_path / "council")
    contacts = pd.read_csv(src / "Contacts.csv", dtype=str, keep_default_na=False)
    contacts["MASH RAG"] = ["Red", "", "Amber", "green"]
    contacts["RAG date"] = ["04/04/2023", "", "05/02/2024", "13/06/2024"]
    contacts["Outcome"] = ["Early help", "NFA", "Social care", "Early Help"]
    contacts["Outcome Recorded Date"] = ["10/04/2023", "11/05/2023", "", "20/06/2024"]
    contacts.to_csv(src / "Contacts.csv", index=False)
    episodes = pd.read_csv(src / "Involvements.csv", dtype=str, keep_default_na=False, sep="\t")
    episodes["Created on"] = ["08/04/2023", "12/02/2024", "20/06/2024"]  # E1 planned ahead
    episodes.to_csv(src / "Involvements.csv", index=False, sep="\t")
    pd.DataFrame({
        "Person ID": ["1001", "1001", "1003"],
        "Effective from": ["01/09/2019", "14/02/2024", "30/06/2012"],
        "Area": ["South", "North", "South"], "Household": ["H1", "", "H2"],
        "IMD Decile": ["4", "3", ""],
    }).to_csv(src / "Address history.csv", index=False)
    mapping = MAPPING.replace(
        "recorded_date: Entered on,",
        "recorded_date: Entered on, mash_rag: MASH RAG, mash_rag_recorded_date: RAG date,",
    ).replace("start_date: Start,", "start_date: Start, start_recorded_date: Created on,")
    mapping += ("  children_history:\n    source: address history\n"
                "    columns: {child_id: Person ID, valid_from: Effective from, locality: Area,"
                " family_id: Household}\n")
    (src / "mapping.yaml").write_text(mapping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the decimal ids of Child details
        main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
              "--out", str(tmp_path / "extract")])
    assert "children_history 3" in capsys.readouterr().out
    t = load_tables(tmp_path / "extract")
    co = t["contacts"].set_index("contact_id")
    assert co["mash_rag"].tolist()[:1] == ["red"] and pd.isna(co.loc["K2", "mash_rag"])
    assert co.loc["K1", "mash_rag_recorded_date"] == pd.Timestamp("2023-04-04")  # day-first
    assert co["outcome"].tolist() == ["early_help", "nfa", "social_care", "early_help"]
    assert co.loc["K4", "outcome_recorded_date"] == pd.Timestamp("2024-06-20")
    assert t["episodes"].set_index("episode_id").loc["E1", "start_recorded_date"] == \
        pd.Timestamp("2023-04-08")
    h = t["children_history"]
    assert h["child_id"].tolist() == ["1001", "1001", "1003"]
    assert h["valid_from"].tolist() == [pd.Timestamp(d) for d in
                                        ("2019-09-01", "2024-02-14", "2012-06-30")]
    assert h["locality"].tolist() == ["South", "North", "South"]
    assert h["imd_decile"].tolist()[:2] == [4, 3] and pd.isna(h["family_id"].iloc[1])
    main(["validate", str(tmp_path / "extract")])
    out = " ".join(capsys.readouterr().out.split())
    assert "contacts.mash_rag_recorded_date 3 of 3 MASH ratings dated" in out
    assert "episodes.start_recorded_date 3 of 3 episode starts dated" in out
    assert "children_history 2 children with history rows" in out


def test_a_children_history_the_mapping_names_must_exist(tmp_path):
    src = council_extract(tmp_path / "council")
    (src / "mapping.yaml").write_text(MAPPING + "  children_history: {source: Moves}\n")
    with pytest.raises(InputError, match=r"^children_history: no file or sheet named 'Moves' "
                                         r"in council"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        map_extract(src, load_mapping(src / "mapping.yaml"))


# ---------------------------------------------------------------- encodings ----------------

def _excel_1252(src: Path) -> None:
    """The case system's export saved by Excel as plain "CSV": Windows-1252, with the odd
    byte in a column never read ("Known As") and in a value that is read (a mapped source)."""
    (src / "Child details.csv").write_bytes(
        "Person ID;Household;DOB;Gender;Ethnic code;Area;Known As\r\n"
        "1001;H1;02/03/2015;2;WBRI;North;Zoë\r\n"
        "1002;H1;15/11/2017;1;White - English;North;Siân\r\n"
        "1003;H2;30/06/2012;0;a) CHNE;South;Chloé £\r\n".encode("cp1252"))
    contacts = src / "Contacts.csv"
    contacts.write_bytes(contacts.read_text().replace("GP surgery", "Médecin GP")
                         .encode("cp1252"))
    (src / "mapping.yaml").write_text(MAPPING.replace("GP surgery: health",
                                                      "Médecin GP: health"))


def test_a_windows_1252_export_imports_with_the_councils_mapping(tmp_path, capsys):
    """The bar: Excel's default CSV imports as it is, with one note per file (or none when
    the mapping names the encoding)."""
    src = council_extract(tmp_path / "council")
    _excel_1252(src)
    main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
          "--out", str(tmp_path / "extract")])
    err = capsys.readouterr().err
    notes = [ln for ln in err.splitlines() if "read as Windows-1252" in ln]
    assert len(notes) == 2 and "Child details.csv is not UTF-8 (byte 0xeb on line 2)" in err
    t = load_tables(tmp_path / "extract")
    assert t["contacts"].set_index("contact_id").loc["K3", "source"] == "health"
    assert len(t["children"]) == 3
    (src / "mapping.yaml").write_text("encoding: windows-1252\n"
                                      + (src / "mapping.yaml").read_text())
    main(["import", "extract", str(src), "--mapping", str(src / "mapping.yaml"),
          "--out", str(tmp_path / "extract")])
    assert "Windows-1252" not in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-8"])
def test_utf8_and_utf16_exports_read_the_same(tmp_path, encoding):
    src = council_extract(tmp_path / "council")
    text = (src / "Contacts.csv").read_text().replace("GP surgery", "Médecin GP")
    (src / "Contacts.csv").write_bytes(text.encode(encoding))
    (src / "mapping.yaml").write_text(MAPPING.replace("GP surgery: health",
                                                      "Médecin GP: health"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no note: these are read as what they are
        got = map_extract(src, load_mapping(src / "mapping.yaml"))
    assert got.tables["contacts"]["source"].tolist() == ["police", "school", "health",
                                                         "police"]


def test_a_file_in_none_of_the_encodings_is_refused(tmp_path):
    src = council_extract(tmp_path / "council")
    (src / "Contacts.csv").write_bytes(b"Contact ref,Person ID\r\nK1,\x00\x81\x9d\x00\r\n")
    with pytest.raises(InputError, match="is not a text file|neither UTF-8"):
        map_extract(src, load_mapping(src / "mapping.yaml"))
    (src / "mapping.yaml").write_text("encoding: klingon\n" + MAPPING)
    with pytest.raises(InputError, match="key 'encoding': unknown encoding 'klingon'"):
        load_mapping(src / "mapping.yaml")
