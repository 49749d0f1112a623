"""The cohort profile: who is in a table of children (how many, ages, ACEs, needs, groups).

Used at the top of the fairness report and the model card. Counts are published, so every
section goes through the same small-count suppression as the fairness tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.data import DISABILITY, ETHNICITY, NEEDS, SEX
from riskmodel.evaluation._disclosure import plan_with_complements, shown

NOT_RECORDED = "not recorded"
ACE_COLUMN = "ace_total_all_count"
NEED_COLUMN = "contacts_need_{need}_all_count"
ACE_BANDS = ("0", "1", "2\u20133", "4+")
# The carried columns of the feature matrix, in the order the profile shows them.
PROFILE_COLUMNS = {
    "age_band": "Age band",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "disability": "Disability",
    "locality": "Locality",
    "imd_quintile": "IMD quintile (1 = most deprived)",
}
_KNOWN_ORDER = {"sex": SEX, "ethnicity": ETHNICITY, "disability": DISABILITY}


def _text(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _natural(label: str):
    m = re.match(r"^\s*(\d+(?:\.\d+)?)", label)
    return (1, float(m.group(1)), label) if m else (0, 0.0, label)


def categories(series: pd.Series, *, column: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Text labels of a characteristic (missing -> ``"not recorded"``) and their order.

    The order is the contract's for known vocabularies (sex, ethnicity, disability), the
    categorical order for a categorical column, else natural order (so age bands run
    ``unborn, 0-4, 5-7, ...``); ``"not recorded"`` comes last.

    Examples
    --------
    >>> import pandas as pd
    >>> labels, order = categories(pd.Series(["12-15", "0-4", None, "unborn", "5-7"]))
    >>> order
    ['unborn', '0-4', '5-7', '12-15', 'not recorded']
    """
    s = pd.Series(series).reset_index(drop=True)
    missing = s.isna().to_numpy()
    values = np.array([NOT_RECORDED if m else _text(v) for v, m in zip(s, missing, strict=True)],
                      dtype=object)
    present = set(values.tolist()) - {NOT_RECORDED}
    known = _KNOWN_ORDER.get(column or str(s.name))
    if isinstance(s.dtype, pd.CategoricalDtype):
        first = [_text(c) for c in s.cat.categories]
    elif known is not None:
        first = list(known)
    else:
        first = []
    order = [c for c in first if c in present]
    order += sorted(present - set(order), key=_natural)
    if NOT_RECORDED in set(values.tolist()):
        order.append(NOT_RECORDED)
    return values, order


@dataclass
class Section:
    """One section of the profile: labelled categories, each a set of children."""

    name: str
    items: list[tuple[str, np.ndarray]]
    note: str = ""


def _ace_band(v) -> str:
    if pd.isna(v):
        return NOT_RECORDED
    v = int(v)
    return ACE_BANDS[0] if v <= 0 else ACE_BANDS[1] if v == 1 else (
        ACE_BANDS[2] if v <= 3 else ACE_BANDS[3])


def profile_sections(frame: pd.DataFrame, *, columns=None, top_needs: int = 5) -> list[Section]:
    """The profile's sections for the columns ``frame`` has.

    ``columns`` maps extra category columns to section names (or lists them); the carried
    columns of the feature matrix, ACE bands and the top needs are added when present.
    """
    n = len(frame)
    extra = {c: c.replace("_", " ") for c in columns} if isinstance(columns, list | tuple) \
        else dict(columns or {})
    wanted = {c: name for c, name in PROFILE_COLUMNS.items() if c in frame.columns}
    wanted.update({c: name for c, name in extra.items() if c in frame.columns})
    sections = []
    for col, name in wanted.items():
        labels, order = categories(frame[col], column=col)
        sections.append(Section(name, [(c, labels == c) for c in order]))
    if ACE_COLUMN in frame.columns:
        bands = np.array([_ace_band(v) for v in frame[ACE_COLUMN]], dtype=object)
        order = list(ACE_BANDS) + ([NOT_RECORDED] if (bands == NOT_RECORDED).any() else [])
        sections.append(Section("Adverse childhood experiences (ACEs) recorded",
                                [(b, bands == b) for b in order]))
    needs = []
    for need in NEEDS:
        col = NEED_COLUMN.format(need=need)
        if col in frame.columns:
            has = pd.to_numeric(frame[col], errors="coerce").fillna(0).to_numpy() > 0
            needs.append((need.replace("_", " "), has))
    if needs:
        ranked = sorted(needs, key=lambda item: -int(item[1].sum()))[:top_needs]
        sections.append(Section(
            "Top needs", ranked,
            note="Children with at least one contact for the need; a child can have several.",
        ))
    if not sections:
        sections.append(Section("Children", [("all", np.ones(n, bool))]))
    return sections


def profile_table(sections: list[Section], counts: np.ndarray, hidden: np.ndarray,
                  sensitive: np.ndarray, total: int, *, min_count: int) -> pd.DataFrame:
    """Assemble the published profile (row 0 of ``counts`` is the whole cohort)."""
    rows = [{"section": "Children", "category": "all", "children": shown(
        int(total), hidden=bool(hidden[0]), sensitive=bool(sensitive[0]), min_count=min_count),
        "share": 1.0 if not hidden[0] else shown(1.0, hidden=True, sensitive=False,
                                                 min_count=min_count), "note": ""}]
    i = 1
    for sec in sections:
        for cat, _ in sec.items:
            share = counts[i] / total if total else np.nan
            rows.append({
                "section": sec.name, "category": cat,
                "children": shown(int(counts[i]), hidden=bool(hidden[i] or hidden[0]),
                                  sensitive=bool(sensitive[i]), min_count=min_count),
                "share": shown(float(share), hidden=bool(hidden[i] or hidden[0]),
                               sensitive=False, min_count=min_count),
                "note": sec.note,
            })
            i += 1
    return pd.DataFrame(rows, columns=["section", "category", "children", "share", "note"])


def cohort_profile(matrix: pd.DataFrame, *, min_count: int = 5, columns=None,
                   top_needs: int = 5) -> pd.DataFrame:
    """Who is in a cohort: counts and shares by age band, sex, ethnicity, ACEs and needs.

    Uses the columns present: ``age_band``, ``sex``, ``ethnicity``, ``disability``,
    ``locality``, ``imd_quintile``, ``ace_total_all_count`` (banded 0 / 1 / 2-3 / 4+) and
    ``contacts_need_{need}_all_count`` (the ``top_needs`` commonest needs), plus any
    ``columns`` given. Counts from 1 to ``min_count - 1``, and any count or share that would
    let one be worked out (for example the cohort minus the other categories), are shown as
    ``"<5"`` or ``"suppressed"``.

    Parameters
    ----------
    matrix : DataFrame
        One row per child (a feature matrix, a scores table, ...).
    min_count : int, default=5
    columns : list of str or dict, optional
        Extra category columns (a dict maps each to its section name).
    top_needs : int, default=5

    Returns
    -------
    DataFrame
        ``section``, ``category``, ``children`` (int or text), ``share`` (0-1 or text),
        ``note``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"sex": ["female"] * 9 + ["male"] * 8 + ["unknown"] * 3,
    ...                   "ace_total_all_count": [0, 1, 2, 4] * 5})
    >>> p = cohort_profile(m)
    >>> p[p.section == "Sex"].children.tolist()
    [9, 'suppressed', '<5']
    """
    sections = profile_sections(matrix, columns=columns, top_needs=top_needs)
    n = len(matrix)
    masks = np.vstack([np.ones(n, bool)] + [mask for sec in sections for _, mask in sec.items])
    counts = masks.sum(axis=1)
    hidden, sensitive = plan_with_complements(masks, counts, min_count=min_count)
    return profile_table(sections, counts, hidden, sensitive, n, min_count=min_count)


def rounded_profile_table(sections: list[Section], counts: np.ndarray) -> pd.DataFrame:
    """The published profile from rounded counts (row 0 of ``counts`` is the whole cohort).

    Counts come rounded by their cell keys (see ``_disclosure.round_counts``); shares are
    ratios of published counts, so they reveal nothing more.

    Examples
    --------
    >>> import numpy as np
    >>> sec = [Section("Sex", [("female", None), ("male", None)])]
    >>> rounded_profile_table(sec, np.array([20, 10, 10])).children.tolist()
    [20, 10, 10]
    """
    total = int(counts[0])
    rows = [{"section": "Children", "category": "all", "children": total,
             "share": 1.0 if total else np.nan, "note": ""}]
    i = 1
    for sec in sections:
        for cat, _ in sec.items:
            rows.append({"section": sec.name, "category": cat, "children": int(counts[i]),
                         "share": counts[i] / total if total else np.nan, "note": sec.note})
            i += 1
    return pd.DataFrame(rows, columns=["section", "category", "children", "share", "note"])
