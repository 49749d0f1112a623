"""``riskmodel decisions``: record what the panels decided, report on it, and synthesise it.

:func:`add_decisions` checks a panel's decisions against the list they answer and stores them
beside the scores; :func:`report_decisions` writes the decisions report for one or several
lists; :func:`write_synth_decisions` writes synthetic decisions for a list (known truth).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import sha256_file
from riskmodel._core.io import atomic_path, check_writable
from riskmodel.data import read_decisions
from riskmodel.data.synth import synth_decisions
from riskmodel.evaluation.decisions import (
    DEFAULT_TITLE,
    DecisionsReport,
    decision_rates,
    decision_table,
    decisions_report,
    list_month,
    match_decisions,
    write_decisions_report,
)
from riskmodel.features import build_labels
from riskmodel.jobs._decisions_store import (
    SUFFIX,
    list_record,
    read_scores_table,
    read_stored,
    stored_path,
    write_stored,
)
from riskmodel.jobs._extract import Extract, open_extract


@dataclass(frozen=True)
class DecisionsAdded:
    """What :func:`add_decisions` recorded: the stored file, the list's month and counts:
    ``rows`` of this file, ``stored`` in all, ``not_listed_decided`` (decisions for children
    not on the list) and, exact, every count the report publishes rounded
    (:func:`riskmodel.evaluation.decisions.decision_rates` with ``base=1``: ``listed``,
    ``reviewed``, ``listed_declined``, ``added`` ...), so the two agree."""

    path: Path
    month: str
    counts: dict
    replaced: bool


def add_decisions(file: str | os.PathLike, scores: str | os.PathLike, *,
                  mapping: str | os.PathLike | dict | None = None, replace: bool = False
                  ) -> DecisionsAdded:
    """Check a panel's decisions against the list they answer and store them beside it.

    Parameters
    ----------
    file : path
        The decisions: CSV (UTF-8), Excel ``.xlsx`` or Parquet, columns ``child_id``,
        ``scoring_month``, ``decision`` and optionally ``reason`` and ``decision_date``
        (:func:`riskmodel.data.read_decisions`).
    scores : path
        The scores file the decisions answer, as ``riskmodel score`` wrote it, with its
        ``scoring-audit.jsonl`` beside it (which says when the list was sent).
    mapping : path, optional
        The council's column names and words (:func:`riskmodel.data.load_mapping`).
    replace : bool
        Replace the decisions already recorded for this list (default: add to them; a child
        decided twice is an error).

    Returns
    -------
    DecisionsAdded

    Raises
    ------
    InputError
        One line naming the rows; nothing is written.

    Examples
    --------
    >>> added = add_decisions("panel-2025-12.csv", "scores/escalation-2025-12.parquet"
    ...                       )  # doctest: +SKIP
    >>> added.path.name  # doctest: +SKIP
    'escalation-2025-12.decisions.parquet'
    """
    scores = Path(scores)
    table = read_scores_table(scores)
    rec = list_record(scores)
    decisions = read_decisions(file, mapping=mapping)
    target = stored_path(scores)
    existing, meta = _recorded(target, scores, rec, replace)
    matched = match_decisions(decisions, table, sent=rec.get("when"),
                              stored=None if replace else existing,
                              source=Path(file).name, scores_name=scores.name)
    combined = matched if replace or existing is None else pd.concat(
        [existing, matched], ignore_index=True)
    new_meta = _stored_meta(file, scores, table, rec, meta, len(matched), replace)
    write_stored(combined, new_meta, target)
    counts = {"rows": len(matched), "stored": len(combined),
              "not_listed_decided": int(combined["addition"].sum()),
              **decision_rates(combined, table, base=1)}
    return DecisionsAdded(path=target, month=new_meta["month"], counts=counts,
                          replaced=replace)


def _recorded(target: Path, scores: Path, rec: dict, replace: bool
              ) -> tuple[pd.DataFrame | None, dict]:
    """The decisions stored for a list (None if replacing an older list's) and their metadata."""
    existing, meta = read_stored(target)
    if existing is not None and meta.get("scores_sha256") not in (None, rec["scores_sha256"]):
        if not replace:
            raise InputError(f"{target.name}: the recorded decisions answer an earlier version "
                             f"of {scores.name}; give --replace to record against this one")
        existing = None
    return existing, meta


def _stored_meta(file: str | os.PathLike, scores: Path, table: pd.DataFrame, rec: dict,
                 meta: dict, rows: int, replace: bool) -> dict:
    """The metadata stored with the decisions: the list, its model and every file recorded."""
    as_of, month = list_month(table, scores.name)
    files = [] if replace else list(meta.get("files", []))
    files.append({"name": Path(file).name, "sha256": sha256_file(file), "rows": rows,
                  "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    model = rec.get("model") or {}
    return {"scores": scores.name, "scores_sha256": rec["scores_sha256"],
            "as_of": str(as_of.date()), "month": month, "sent": rec.get("when"),
            "model": model, "outcome": rec.get("outcome"),
            "horizon_months": rec.get("horizon_months"), "files": files}


@dataclass(frozen=True)
class DecisionsReportRun:
    """What :func:`report_decisions` made: the report and the files written."""

    report: DecisionsReport
    paths: dict[str, Path]


_FROM_CHILDREN = ("ethnicity", "sex", "disability")


def _with_extract(t: pd.DataFrame, ex, as_of: pd.Timestamp, outcome: str, horizon: int
                  ) -> pd.DataFrame:
    """Add what the extract knows: characteristics the scores lack, and the outcome."""
    ch = ex.tables["children"].copy()
    ch["child_id"] = ch["child_id"].astype(str)
    cols = [c for c in _FROM_CHILDREN if c not in t.columns]
    if "imd_quintile" not in t.columns and "imd_decile" in ch:
        ch["imd_quintile"] = ((pd.to_numeric(ch["imd_decile"], errors="coerce") + 1) // 2
                              ).astype("Int64")
        cols.append("imd_quintile")
    if cols:
        t = t.merge(ch[["child_id", *cols]], on="child_id", how="left")
    labels = build_labels(ex.tables, [as_of], horizon_months=horizon, extract_date=ex.date)
    labels["child_id"] = labels["child_id"].astype(str)
    t = t.merge(labels[["child_id", outcome]].rename(columns={outcome: "label"}),
                on="child_id", how="left")
    t["label"] = pd.to_numeric(t["label"], errors="coerce")
    return t


def _read_lists(paths: list[Path]) -> list[tuple[Path, pd.DataFrame, dict, pd.Timestamp, str]]:
    """Each list given: its scores, its audit line, its date and month; lists are told apart
    by what they are (their month), so one folder per month with the same file name in each
    is fine, and only a month given twice is refused."""
    seen: dict[str, Path] = {}
    out = []
    for p in paths:
        table = read_scores_table(p)
        rec = list_record(p)
        as_of, month = list_month(table, p.name)
        if month in seen:
            raise InputError(f"--scores: the list of {month} is given twice ({seen[month]} and "
                             f"{p}); give each month's list once")
        seen[month] = p
        out.append((p, table, rec, as_of, month))
    return out


def _list_table(p: Path, table: pd.DataFrame, rec: dict, ex: Extract | None, as_of: pd.Timestamp
                ) -> pd.DataFrame:
    """One list's rows with their recorded decisions (and, with the extract, what it adds)."""
    stored, meta = read_stored(stored_path(p))
    if stored is None:
        raise InputError(f"--scores: no decisions recorded for {p.name} (run riskmodel "
                         f"decisions add FILE --scores {p})")
    if meta.get("scores_sha256") not in (None, rec["scores_sha256"]):
        raise InputError(f"--scores: the decisions recorded for {p.name} answer an earlier "
                         "version of it; record them again with --replace")
    t = decision_table(stored, table)
    if ex is not None:
        outcome = str(table["outcome"].iloc[0]) if "outcome" in table else "escalation"
        horizon = int(table["horizon_months"].iloc[0]) if "horizon_months" in table else 6
        t = _with_extract(t, ex, as_of, outcome, horizon)
    return t


def missing_note(missing: list[str], judged: list[str], *, data_given: bool) -> str:
    """What the report cannot examine, and how to include it (the characteristics' labels).

    Examples
    --------
    >>> missing_note(["ethnicity", "sex"], ["locality"], data_given=False)[:60]
    'Overrides are judged by locality only: ethnicity and sex are'
    """
    one = len(missing) == 1
    how = ("score with --with-characteristics to include " if data_given else
           "give the council's extract (--data DIR), or score with --with-characteristics, to "
           "include ") + ("it" if one else "them")
    return (f"Overrides are judged by {_and(judged) if judged else 'no characteristic'} only: "
            f"{_and(missing)} {'is' if one else 'are'} not in these lists, so the report "
            f"cannot show a disparity by {'it' if one else 'them'} and finding none does not "
            f"mean there is none; {how}.")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _decided_children(given: list[tuple[Path, pd.DataFrame, dict, pd.Timestamp, str]],
                      ex: Extract | None) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """Every list's decided children, what each list was, and a note if no outcome is known."""
    parts, lists, notes = [], [], []
    for p, table, rec, as_of, month in given:
        parts.append(_list_table(p, table, rec, ex, as_of))
        model = rec.get("model") or {}
        lists.append({"scores": p.name, "folder": p.parent.name, "month": month,
                      "as_of": str(as_of.date()),
                      "model": f"{model.get('name')} v{model.get('version')}",
                      "sent": str(rec.get("when", ""))[:10]})
    t = pd.concat(parts, ignore_index=True)
    if ex is not None and t["label"].isna().all():
        notes.append("No outcome is known yet for these lists: the model's horizon has not "
                     "passed by the extract's date.")
        t = t.drop(columns="label")
    return t, lists, notes


def report_decisions(scores: str | os.PathLike | list, out_dir: str | os.PathLike, *,
                     data: str | os.PathLike | None = None,
                     policy: str | os.PathLike | dict | None = None,
                     title: str = DEFAULT_TITLE, seed: int = 0) -> DecisionsReportRun:
    """Write the decisions report (``report.html``, ``summary.json``) for one or more lists.

    Parameters
    ----------
    scores : path or list of paths
        Scores files whose decisions were recorded (``riskmodel decisions add``); several
        months are reported together (a month's list is small). Lists are told apart by
        their month (one folder per month with the same file name is fine); a month given
        twice is an error.
    out_dir : path
        Folder for the report: aggregates only, every count rounded by the fairness
        policy's disclosure control.
    data : path, optional
        The council's extract: adds the outcome of each decided child once the horizon has
        passed, and the characteristics the scores do not carry (ethnicity, sex,
        disability, IMD quintile). Without it (and scores without characteristics) the
        report says which characteristics it could not examine.
    policy : path, optional
        The fairness policy (default: the workspace's, else the packaged one).
    title : str
    seed : int

    Returns
    -------
    DecisionsReportRun

    Examples
    --------
    >>> run = report_decisions(["scores/2025-11/scores.parquet",
    ...                         "scores/2025-12/scores.parquet"], "decisions-report",
    ...                        data="extract/")  # doctest: +SKIP
    >>> run.report.summary[0]  # doctest: +SKIP
    "Verdict: no group's overrides differ clearly from everyone's."
    """
    paths = [Path(p) for p in ([scores] if isinstance(scores, str | os.PathLike) else scores)]
    if not paths:
        raise InputError("decisions report: give at least one --scores file")
    check_writable(out_dir, folder=True)
    given = _read_lists(paths)
    ex = open_extract(data) if data is not None else None
    t, lists, notes = _decided_children(given, ex)
    outcome = str(t["outcome"].iloc[0]) if "outcome" in t else "escalation"
    report = decisions_report(t, policy=policy, lists=lists, seed=seed, outcome=outcome,
                              notes=notes)
    missing = report.settings["characteristics_missing"]
    if missing:
        report.notes.insert(0, missing_note(missing, report.settings["characteristics_judged"],
                                            data_given=ex is not None))
    written = write_decisions_report(report, out_dir, title=title)
    return DecisionsReportRun(report=report, paths=written)


def write_synth_decisions(scores: str | os.PathLike, out: str | os.PathLike, *,
                          override_bias: str | list[str] | None = None, seed: int = 0,
                          **options: float
                          ) -> tuple[Path, pd.DataFrame]:
    """Synthetic panel decisions for a scores file, written as a panel's CSV or Excel file.

    Children offered help for an earlier list in the same folder (or a sibling folder: one
    folder per month) within the model's horizon are found already supported. The file holds
    child ids: it is written private (0600) and atomically.

    Parameters
    ----------
    scores : path
    out : path
        ``.csv`` or ``.xlsx``.
    override_bias : str or list of str, optional
        ``column=value:factor`` (:func:`riskmodel.data.synth.synth_decisions`).
    seed : int
    **options
        Passed to ``synth_decisions`` (``review``, ``agree``, ``supported``, ``decline``,
        ``add``).

    Returns
    -------
    (Path, DataFrame)

    Examples
    --------
    >>> path, d = write_synth_decisions("scores/escalation-2025-12.parquet", "panel.csv",
    ...                                 override_bias="ethnicity=black:0.5")  # doctest: +SKIP
    >>> sorted(d.decision.unique())  # doctest: +SKIP
    ['already_supported', 'declined', 'not_needed', 'not_reviewed', 'offered']
    """
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"--out: {out} must end in .csv or .xlsx")
    check_writable(out)
    scores = Path(scores)
    table = read_scores_table(scores)
    rec = list_record(scores)
    as_of, _ = list_month(table, scores.name)
    horizon = int(rec.get("horizon_months") or 6)
    before = set()
    # earlier lists in the same folder, or in a sibling folder (one folder per month)
    for f in {*scores.parent.glob(f"*{SUFFIX}"), *scores.parent.parent.glob(f"*/*{SUFFIX}")}:
        frame, _ = read_stored(f)
        if frame is None:
            continue
        when = pd.to_datetime(frame["as_of"])
        recent = (when < as_of) & (when >= as_of - pd.DateOffset(months=horizon))
        before |= set(frame.loc[recent & frame["decision"].eq("offered"), "child_id"])
    d = synth_decisions(table, sent=rec.get("when"), override_bias=override_bias, seed=seed,
                        previously_offered=before, **options)
    with atomic_path(out, private=True) as tmp:
        if out.suffix.lower() == ".csv":
            d.to_csv(tmp, index=False)
        else:
            d.to_excel(tmp, index=False, engine="openpyxl")
    return out, d
