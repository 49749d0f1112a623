"""From the Annex A lists to the contract tables, counting everything on the way.

- ``contacts``: one row per List 1 contact (``contact_id`` ``L1-<row>``), known on its date
  of contact (plus ``recorded_lag_days``); a List 3 referral marks the contact it came from
  (same child, the same day or up to 7 days after the contact) as ``social_care``; a referral
  with no such contact is a contact of its own (``L3-<row>``). Annex A records no needs, MASH
  ratings or other outcomes.
- ``episodes``: List 2 early-help assessments are early-help episodes
  (``early_help_pathway``, ``L2-<row>``) from the assessment start; List 6, 7 and 8 rows are
  ``cin``, ``cp`` and ``lac`` episodes (``L6-<row>`` ...). An early-help episode ends on the
  list's end date where the council adds one; otherwise at the earliest of the child's next
  early-help assessment, the start of social care, or ``early_help_months`` after the
  assessment completed (or started); later than the extract date, it is open. No closure
  reasons, no triage levels.
- ``children``: every child in any list; gender, ethnicity and date of birth from the
  child's latest row that has them.
- ``ace_factors``: from a CIN census assessment factors file, the codes that are ACEs.

Row ids carry the list and the spreadsheet row, so a problem found later names the row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputWarning
from riskmodel.data._codelists import Unmapped, ValueMap
from riskmodel.data._tolerant import cell_text, parse_dates
from riskmodel.data.annex_a._sheets import ListFrame

SOCIAL_CARE_LISTS = {6: "cin", 7: "cp", 8: "lac"}
REFERRAL_DAYS = 7


@dataclass
class Counts:
    """What the import did, in counts and words only: no child id, no date of birth."""

    lists: dict[str, dict] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.steps.append(line)

    def drop(self, n: int, what: str) -> None:
        if n:
            self.dropped.append(f"{n:,} {what}")


def child_ids(frame: ListFrame) -> pd.Series:
    """A list's child ids as text; ids a spreadsheet turned into decimals read as whole."""
    ids = pd.Series([cell_text(v) for v in frame.data["child_id"]], dtype="string")
    decimal = ids.str.match(r"^\d+\.0+$").fillna(False)
    if decimal.any():
        example = str(ids[decimal].iloc[0])
        warnings.warn(InputWarning(
            f"{frame.where('child_id')}: {int(decimal.sum()):,} id(s) written as decimals (e.g. "
            f"{example!r}) were read as whole numbers ({example.split('.')[0]!r}); a "
            "spreadsheet probably changed them, so check the export"), stacklevel=2)
        ids = ids.where(~decimal, ids.str.replace(r"\.0+$", "", regex=True))
    return ids


def _ids(frame: ListFrame, counts: Counts) -> pd.Series:
    ids = child_ids(frame)
    counts.drop(int(ids.isna().sum()), f"{frame.name} rows without a child id")
    return ids


def _dates(frame: ListFrame, fld: str, counts: Counts) -> pd.Series:
    if fld not in frame.data.columns:
        return pd.Series(pd.NaT, index=frame.data.index, dtype="datetime64[ns]")
    values, note = parse_dates(frame.data[fld], fmt=frame.date_format,
                               where=frame.where(fld),
                               row_numbers=frame.rows, secret=fld == "date_of_birth")
    if note:
        counts.lists[frame.name].setdefault("dates", {})[frame.headers[fld]] = note
    return values


def _values(frame: ListFrame, fld: str, vm: ValueMap, counts: Counts) -> pd.Series:
    if fld not in frame.data.columns:
        return pd.Series(pd.NA, index=frame.data.index, dtype="string")
    mapped, missed = vm.read(frame.data[fld], frame.where(fld))
    if missed.counts:
        counts.unmapped.append(missed)
    raw = frame.data[fld].map(cell_text)
    if vm.column == "source":  # sex and ethnicity are counted per child, at the end
        tally = counts.values.setdefault(vm.column, {})
        for value, n in mapped.fillna("(not recorded)").value_counts().items():
            tally[value] = tally.get(value, 0) + int(n)
    left_empty = int((raw.notna() & mapped.isna()).sum()) - sum(missed.counts.values())
    if left_empty > 0:
        counts.say(f"{frame.where(fld)}: {left_empty:,} values read as not recorded "
                   "(codes with no contract value, such as source 10 'unknown')")
    return mapped


def _base(frame: ListFrame, counts: Counts, *, maps) -> pd.DataFrame:
    """Child id, gender, ethnicity and date of birth of every row of a list."""
    counts.lists[frame.name] = {
        "source": frame.source, "rows": len(frame.data),
        "columns": dict(frame.headers), "ignored": list(frame.ignored),
        "staff_columns_never_read": list(frame.staff),
    }
    return pd.DataFrame({
        "child_id": _ids(frame, counts),
        "sex": _values(frame, "gender", maps["sex"], counts),
        "ethnicity": _values(frame, "ethnicity", maps["ethnicity"], counts),
        "date_of_birth": _dates(frame, "date_of_birth", counts),
        "row": frame.rows,
    })


def _contacts(lists, counts, *, maps, lag_days) -> tuple[pd.DataFrame, list]:
    f1 = lists[1]
    c = _base(f1, counts, maps=maps)
    c["date"] = _dates(f1, "date", counts)
    c["source"] = _values(f1, "source", maps["source"], counts)
    c["contact_id"] = "L1-" + pd.Series(f1.rows).astype(str)
    c["outcome"] = pd.Series(pd.NA, index=c.index, dtype="string")
    people = [c]
    no_date = c["date"].isna() & c["child_id"].notna()
    counts.drop(int(no_date.sum()), "List 1 rows without a date of contact")
    c = c[c["child_id"].notna() & ~no_date]
    if 3 in lists:
        f3 = lists[3]
        r = _base(f3, counts, maps=maps)
        r["date"] = _dates(f3, "date", counts)
        r["source"] = _values(f3, "source", maps["source"], counts)
        people.append(r)
        no_date = r["date"].isna() & r["child_id"].notna()
        counts.drop(int(no_date.sum()), "List 3 rows without a date of referral")
        r = r[r["child_id"].notna() & ~no_date]
        c, added = _referrals(c, r, counts)
        c = pd.concat([c, added], ignore_index=True)
    else:
        counts.say("no List 3: contact outcomes are not recorded")
    c["recorded_date"] = c["date"] + pd.Timedelta(days=lag_days)
    out = pd.DataFrame({
        "contact_id": c["contact_id"].astype("string"), "child_id": c["child_id"],
        "contact_date": c["date"], "recorded_date": c["recorded_date"],
        "source": c["source"], "outcome": c["outcome"].astype("string"),
    })
    return out.reset_index(drop=True), people


def _cost(ref: pd.DataFrame, con: pd.DataFrame) -> np.ndarray:
    """Cost of marking each contact (columns) as each referral's (rows): the days between
    them, plus half a day when the sources differ; ``inf`` outside the window (the contact
    after the referral, or more than REFERRAL_DAYS before it)."""
    gap = (ref["date"].to_numpy()[:, None] - con["date"].to_numpy()[None, :]) \
        / np.timedelta64(1, "D")
    rs = ref["source"].astype(object).fillna("(none: referral)").to_numpy()
    cs = con["source"].astype(object).fillna("(none: contact)").to_numpy()
    same = rs[:, None] == cs[None, :]
    cost = gap + 0.5 * ~same
    return np.where((gap >= 0) & (gap <= REFERRAL_DAYS), cost, np.inf)


def match_referrals(c: pd.DataFrame, r: pd.DataFrame) -> list[tuple[int, int]]:
    """``[(referral position, contact position)]``: each referral matched to one contact of
    the same child, the same day or up to REFERRAL_DAYS before it, so that as many referrals
    as possible are matched and, among those matchings, the days between them (then the
    sources that differ) are fewest. An optimal assignment (``linear_sum_assignment``) per
    child, not a greedy one.

    Examples
    --------
    >>> day = pd.Timestamp
    >>> c = pd.DataFrame({"child_id": ["A", "A"], "date": [day("2024-01-01"), day("2024-01-05")],
    ...                   "source": ["police", "school"]})
    >>> r = pd.DataFrame({"child_id": ["A", "A"], "date": [day("2024-01-06"), day("2024-01-07")],
    ...                   "source": ["police", "police"]})
    >>> match_referrals(c, r)  # both referrals' nearest earlier contact is the 5th's
    [(0, 1), (1, 0)]
    """
    from scipy.optimize import linear_sum_assignment

    big = 1e6  # forbidden pairs: an assignment minimises how many it uses first
    pairs = []
    cpos = pd.Series(np.arange(len(c)), index=c.index)
    rpos = pd.Series(np.arange(len(r)), index=r.index)
    cons = dict(tuple(c.groupby("child_id", sort=False)))
    for child, ref in r.groupby("child_id", sort=False):
        con = cons.get(child)
        if con is None:
            continue
        cost = _cost(ref, con)
        if not np.isfinite(cost).any():
            continue
        rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, big))
        ok = np.isfinite(cost[rows, cols])
        pairs += [(int(rpos[ref.index[i]]), int(cpos[con.index[j]]))
                  for i, j in zip(rows[ok], cols[ok], strict=True)]
    return sorted(pairs)


def _referrals(c: pd.DataFrame, r: pd.DataFrame, counts: Counts
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark each referral's contact social_care; referrals with no contact become contacts."""
    c = c.reset_index(drop=True).copy()
    r = r.reset_index(drop=True).copy()
    pairs = match_referrals(c, r)
    matched_r = {i for i, _ in pairs}
    c.loc[[j for _, j in pairs], "outcome"] = "social_care"
    added = r[~r.index.isin(list(matched_r))].copy()
    added["contact_id"] = "L3-" + added["row"].astype(str)
    added["outcome"] = "social_care"
    counts.say(f"List 3: {len(matched_r):,} referrals matched to their List 1 contact (same "
               f"child, same day or up to {REFERRAL_DAYS} days earlier; the matching that "
               "pairs the most referrals with the fewest days between them), which are marked "
               f"social_care; {len(added):,} referrals with no such contact added as contacts")
    return c, added


def _episodes(lists, counts, *, maps, months, extract, latest):
    """Episodes of Lists 2, 6, 7, 8, the people rows, and the extract date (given or latest)."""
    parts, people = [], []
    for n in (2, 6, 7, 8):
        if n not in lists:
            if n != 2:
                counts.say(f"no List {n}: no {SOCIAL_CARE_LISTS[n]} episodes")
            continue
        f = lists[n]
        e = _base(f, counts, maps=maps)
        people.append(e.assign(date=_dates(f, "start", counts)))
        e["start_date"] = people[-1]["date"]
        e["end_date"] = _dates(f, "end", counts)
        e["completed"] = _dates(f, "completed", counts) if n == 2 else pd.NaT
        e["service"] = "early_help_pathway" if n == 2 else SOCIAL_CARE_LISTS[n]
        e["episode_id"] = f"L{n}-" + pd.Series(f.rows).astype(str)
        e["has_end_column"] = "end" in f.headers
        no_start = e["start_date"].isna() & e["child_id"].notna()
        counts.drop(int(no_start.sum()), f"List {n} rows without a start date")
        e = e[e["child_id"].notna() & ~no_start]
        dup = e.duplicated(["child_id", "start_date", "end_date"])
        counts.drop(int(dup.sum()), f"List {n} rows repeating an earlier row (same child "
                    "and dates)")
        parts.append(e[~dup])
    eps = pd.concat(parts, ignore_index=True)
    if extract is None:
        extract = pd.Series([latest, eps["start_date"].max(), eps["end_date"].max()]).max()
        extract = pd.Timestamp(extract).normalize()
    eh = eps["service"] == "early_help_pathway"
    if not bool(eps.loc[eh, "has_end_column"].any()):
        eps.loc[eh, "end_date"] = _early_help_ends(eps, months, extract)
        counts.say(
            "List 2 has no early-help end date (the Ofsted list has none): each early-help "
            "episode ends at the child's next early-help assessment, the start of social care "
            f"(List 6, 7 or 8), or {months} months after the assessment completed (or "
            "started), whichever comes first; open if that is after the extract date "
            "(set annex_a: early_help_months in mapping.yaml)")
    else:
        counts.say("List 2: early-help episodes end on the list's end date (empty: open)")
    out = eps[["episode_id", "child_id", "service", "start_date", "end_date"]].copy()
    out["episode_id"] = out["episode_id"].astype("string")
    for col in ("start_date", "end_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    return out.reset_index(drop=True), people, extract


def _early_help_ends(eps: pd.DataFrame, months: int, extract: pd.Timestamp) -> pd.Series:
    eh = eps[eps["service"] == "early_help_pathway"].sort_values(["child_id", "start_date"])
    nxt = eh.groupby("child_id")["start_date"].shift(-1)
    base = eh["completed"].fillna(eh["start_date"]).where(
        eh["completed"] >= eh["start_date"], eh["start_date"])
    end = base + pd.DateOffset(months=months)
    end = end.where(nxt.isna() | (nxt > end), nxt)
    sc = eps[eps["service"] != "early_help_pathway"][["child_id", "start_date"]]
    if len(sc):
        pairs = eh[["child_id", "start_date"]].reset_index().merge(
            sc.rename(columns={"start_date": "sc"}), on="child_id")
        pairs = pairs[pairs["sc"] > pairs["start_date"]]
        first_sc = pairs.groupby("index")["sc"].min()
        sc_at = first_sc.reindex(eh.index)
        end = end.where(sc_at.isna() | (sc_at > end), sc_at)
    return end.where(end <= extract).reindex(eps.index[eps["service"] == "early_help_pathway"])


def _children(people: list[pd.DataFrame], counts: Counts) -> pd.DataFrame:
    """One row per child: the latest row's gender, ethnicity and date of birth that has one."""
    rows = pd.concat([p[["child_id", "sex", "ethnicity", "date_of_birth", "date"]]
                      for p in people], ignore_index=True)
    rows = rows[rows["child_id"].notna()].sort_values("date", kind="stable")
    out = pd.DataFrame({"child_id": pd.unique(rows["child_id"])})
    for col in ("sex", "ethnicity", "date_of_birth"):
        known = rows[rows[col].notna()]
        varied = known.groupby("child_id")[col].nunique()
        n = int((varied > 1).sum())
        if n:
            counts.say(f"{n:,} children have different {col.replace('_', ' ')} in different "
                       "rows: the latest row's is used")
        latest = known.groupby("child_id")[col].last()
        out = out.merge(latest.rename(col), left_on="child_id", right_index=True, how="left")
    out["sex"] = out["sex"].astype("string")
    out["ethnicity"] = out["ethnicity"].astype("string")
    return out


def _factors(frame: ListFrame, known: pd.Series, counts: Counts, *, vm: ValueMap):
    counts.lists["factors"] = {"source": frame.source, "rows": len(frame.data),
                               "columns": dict(frame.headers), "ignored": list(frame.ignored),
                               "staff_columns_never_read": list(frame.staff)}
    ids = child_ids(frame)
    dates, _ = parse_dates(frame.data["date"], fmt=frame.date_format, where=frame.where("date"),
                           row_numbers=frame.rows)
    # A cell may hold several codes ("1B, 3B"): one row per code.
    codes = frame.data["factor"].map(cell_text).str.split(r"\s*[,;|]\s*", regex=True)
    long = pd.DataFrame({"child_id": ids, "date": dates, "code": codes}).explode("code")
    long = long[long["code"].notna() & (long["code"] != "")]
    mapped, missed = vm.read(long["code"], frame.where("factor"))
    if missed.counts:
        counts.unmapped.append(missed)
    long["factor"] = mapped
    not_ace = long["factor"].isna() & ~long["code"].isin(list(missed.counts))
    by_code = long.loc[not_ace, "code"].str.upper().value_counts()
    if len(by_code):
        counts.say("assessment factors that are not ACEs, not imported: " + ", ".join(
            f"{c} {n:,}" for c, n in by_code.items()))
    long = long[long["factor"].notna()]
    counts.drop(int(long["child_id"].isna().sum()), "factor rows without a child id")
    counts.drop(int(long["date"].isna().sum()), "factor rows without a date")
    long = long[long["child_id"].notna() & long["date"].notna()]
    unknown = ~long["child_id"].isin(known)
    counts.drop(int(unknown.sum()), "factor rows of children in no Annex A list")
    long = long[~unknown].drop_duplicates(["child_id", "factor", "date"])
    tally = counts.values.setdefault("factor", {})
    for value, n in long["factor"].value_counts().items():
        tally[value] = int(n)
    return pd.DataFrame({"child_id": long["child_id"].astype("string"),
                         "factor": long["factor"].astype("string"),
                         "recorded_date": long["date"]}).reset_index(drop=True)
