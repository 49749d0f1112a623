"""The front door: contact (referral) rates per group by source, and what contacts led to.

A model trained on a council's records learns from outcomes that services decided; if one
group is referred more often for the same need, that bias is in the labels, and no measure
computed against the labels can see it. This looks where it enters: how often the children of
each group are the subject of a contact, from each source agency, against the population the
council serves (the children table, or a population given), and what those contacts led to
(early help or social care). A group referred more often whose contacts lead to help less
often is the mark of over-referral.

Rates are contacts per 1,000 children a year of the window, each child counted for the part of
the window in which they were under 18 (from 9 months before birth); the share that led to help
is of contacts. Intervals treat families as the unit of resampling (contacts repeat within a
child and a family): a ratio estimator's variance across families, on the log scale. Counts
are rounded by their cell keys as everywhere in the report (see ``_disclosure``).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation._disclosure import protect_counts, published_rate, record_keys
from riskmodel.evaluation._profile import categories
from riskmodel.evaluation.fairness._findings import (
    REST,
    judge,
    mark_counterparts,
    normal_comparison,
)
from riskmodel.evaluation.fairness._policy import FairnessPolicy, resolve_policy
from riskmodel.evaluation.fairness._summary import findings_records

HELPED = ("early_help", "social_care")
_PREBIRTH_DAYS = 270
_ADULT_DAYS = int(round(18 * 365.25))
# a source is compared on its own when the cohort has at least this many of its contacts
MIN_SOURCE_CONTACTS = 200
ALL = "all sources"
STEPPED_UP = "stepped_up"
# a window end as the callers give it
DateLike: TypeAlias = str | dt.date | pd.Timestamp


@dataclass
class ReferralAudit:
    """The front door, by group: rates by source, what contacts led to, and the findings."""

    rates: pd.DataFrame
    findings: pd.DataFrame
    settings: dict
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Published tables by name (``referrals``, ``referral_findings``)."""
        return {"referrals": self.rates, "referral_findings": self.findings}

    def context(self) -> dict:
        """What the HTML report shows."""
        st = self.settings
        tables = []
        for _, part in self.rates.groupby("characteristic", sort=False):
            rows = []
            for g, gp in part.groupby("group", sort=False):
                r = gp.set_index("source")
                rows.append({"group": g, "children": int(r["children"].iloc[0]),
                             "rates": r["rate_per_1000"].to_dict(),
                             "stepped_up": r.loc["all sources", "stepped_up"]})
            tables.append({"label": part["label"].iloc[0], "rows": rows})
        f = self.findings
        shown = f[f.status.isin(["flag", "watch"])].to_dict("records") if len(f) else []
        return {
            "intro": (f"Contacts from {st['start']} to {st['end']} about the "
                      f"{st['population']:,} {st['subjects']} the council serves, by group, "
                      "each group against everyone not in it. Over-referral shows as a group "
                      "referred more often whose contacts lead to early help or social care "
                      "less often."),
            "reading": ("A rate is contacts per 1,000 children a year; a ratio compares a "
                        "group's rate with everyone else's. These figures describe who "
                        "reaches the "
                        "front door, which the model's labels inherit; they say nothing about "
                        "why."),
            "findings": shown, "tables": tables, "sources": st["sources"], "per": "1,000",
        }


def _exposure_years(dob: pd.Series, start, end) -> np.ndarray:
    d = pd.to_datetime(dob)
    lo = np.maximum((d - pd.Timedelta(days=_PREBIRTH_DAYS)).to_numpy(), np.datetime64(start))
    hi = np.minimum((d + pd.Timedelta(days=_ADULT_DAYS)).to_numpy(), np.datetime64(end))
    days = (hi - lo) / np.timedelta64(1, "D")
    return np.clip(np.nan_to_num(days.astype(float)), 0, None) / 365.25


def _ratio_se(num_f: np.ndarray, den_f: np.ndarray) -> tuple[float, float]:
    """A ratio of sums over families and the standard error of its log."""
    num, den = num_f.sum(), den_f.sum()
    k = int((den_f > 0).sum())
    if den <= 0 or num <= 0 or k < 2:
        return (num / den if den > 0 else np.nan), np.nan
    r = num / den
    var = k / (k - 1) * np.sum((num_f - r * den_f) ** 2) / den ** 2
    return r, float(np.sqrt(var) / r)


def referral_disproportionality(children: pd.DataFrame, contacts: pd.DataFrame, *,
                                characteristics: list[str] | None = None,
                                policy: FairnessPolicy | str | os.PathLike | dict | None = None,
                                start: DateLike | None = None, end: DateLike | None = None,
                                subjects: str = "children") -> ReferralAudit:
    """Contact rates per group by source agency, and the share that led to help.

    Parameters
    ----------
    children : DataFrame
        The population the council serves: ``child_id``, ``family_id``, ``date_of_birth``
        and the characteristic columns (``imd_decile`` gives ``imd_quintile``).
    contacts : DataFrame
        ``child_id``, ``contact_date``, ``source``, ``outcome`` (and ``contact_id``).
    characteristics : list of str, optional
        Columns to compare; default the policy's characteristics present in ``children``.
    policy : FairnessPolicy, path or dict, optional
        Tolerance, judging and rounding (default: the packaged policy).
    start, end : date, optional
        The window of contacts (default: the first and last contact date).
    subjects : str
        Who the rows are, in words.

    Returns
    -------
    ReferralAudit

    Examples
    --------
    >>> import pandas as pd
    >>> kids = pd.DataFrame({"child_id": ["a", "b", "c", "d"], "family_id": ["1", "2", "3", "4"],
    ...                      "date_of_birth": ["2015-01-01"] * 4,
    ...                      "ethnicity": ["white", "white", "black", "black"]})
    >>> con = pd.DataFrame({"child_id": ["a", "c", "c", "d"], "source": "police",
    ...                     "contact_date": ["2020-01-01", "2020-02-01", "2020-03-01",
    ...                                      "2021-01-01"], "outcome": "nfa"})
    >>> r = referral_disproportionality(kids, con, characteristics=["ethnicity"],
    ...                                 policy={"characteristics": {"ethnicity": None},
    ...                                         "intersections": [], "min_count": 1})
    >>> r.rates.query("source == 'all sources'").children.tolist()
    [4, 2, 2]
    """
    pol = resolve_policy(policy)
    kids, chars = _children(children, contacts, pol, characteristics)
    cdate = pd.to_datetime(contacts["contact_date"])
    t0 = pd.Timestamp(start) if start is not None else cdate.min()
    t1 = pd.Timestamp(end) if end is not None else cdate.max()
    fd = _front_door(kids, contacts.loc[(cdate >= t0) & (cdate <= t1)], t0, t1,
                     pol.min_count)
    deff = _design_effects(fd)
    published = [(key, label, g, _publish(fd, mask))
                 for key, label, g, mask in _groups(kids, chars, pol)]
    ref = published[0][3]
    rows, comps = _rates_and_comparisons(fd, published, deff, pol)
    settings = {"start": str(t0.date()), "end": str(t1.date()),
                "population": int(ref["children"]), "subjects": subjects,
                "sources": fd.sources, "min_count": fd.base, "characteristics": chars,
                "design_effects": deff}
    return _audit(pd.DataFrame(rows), pd.DataFrame(comps), settings, pol)


def _rates_and_comparisons(fd: _FrontDoor, published: list[tuple[str, str, str, dict]],
                           deff: dict[str, float],
                           pol: FairnessPolicy) -> tuple[list[dict], list[dict]]:
    """Each published group's rate rows, and each group (not everyone) against the rest."""
    ref = published[0][3]
    rows: list[dict] = []
    comps: list[dict] = []
    for key, label, g, pub in published:
        rows += _rate_rows(fd, key, label, g, pub)
        if key != "all":
            comps += _comparisons(fd, key, label, g, pub, _rest(ref, pub), deff, pol)
    return rows, comps


def _rest(everyone: dict, pub: dict) -> dict:
    """The rest of the cohort (everyone not in the group): everyone's published figures less
    the group's, so a large group is not compared with a reference that half holds it."""
    return {"children": max(everyone["children"] - pub["children"], 0),
            "years": max(everyone["years"] - pub["years"], 0.0),
            "contacts": {s: max(c - pub["contacts"][s], 0)
                         for s, c in everyone["contacts"].items()},
            "helped": max(everyone["helped"] - pub["helped"], 0)}


def _audit(rates: pd.DataFrame, comp: pd.DataFrame, settings: dict,
           pol: FairnessPolicy) -> ReferralAudit:
    """The comparisons judged (one family for the front door) and put into words."""
    judged = mark_counterparts(judge(comp, tolerance=pol.tolerance,
                                     false_discovery_rate=pol.judging.false_discovery_rate,
                                     min_children=pol.judging.min_children), REST)
    words = {"subjects": settings["subjects"], "positive_words": "", "negative_words": "",
             "bootstrap": {"confidence": pol.bootstrap.confidence}}
    return ReferralAudit(rates=rates, findings=findings_records(judged, words),
                         settings=settings)


def _children(children: pd.DataFrame, contacts: pd.DataFrame, pol: FairnessPolicy,
              characteristics: list[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """The children table checked (with ``imd_quintile``) and the characteristics to compare."""
    for col in ("child_id", "date_of_birth"):
        if col not in children.columns:
            raise InputError(f"referrals: the children table has no {col!r} column")
    for col in ("child_id", "contact_date", "source"):
        if col not in contacts.columns:
            raise InputError(f"referrals: the contacts table has no {col!r} column")
    kids = children.reset_index(drop=True).copy()
    if "imd_quintile" not in kids.columns and "imd_decile" in kids.columns:
        dec = pd.to_numeric(kids["imd_decile"], errors="coerce")
        kids["imd_quintile"] = np.ceil(dec / 2).where(dec > 0).astype("Int64").astype(str) \
            .replace("<NA>", None)
    if characteristics is None:
        characteristics = [c for c in pol.characteristics if pol.column(c) in kids.columns]
    chars = [c for c in characteristics if pol.column(c) in kids.columns]
    if not chars:
        raise InputError("referrals: none of the characteristics is a column of the children "
                         "table")
    return kids, chars


def _groups(kids: pd.DataFrame, chars: list[str], pol: FairnessPolicy) -> list[tuple]:
    """(characteristic, label, group, mask): everyone, then each group of each one."""
    groups = [("all", "everyone", "all", np.ones(len(kids), bool))]
    for c in chars:
        labels, order = categories(kids[pol.column(c)], column=pol.column(c))
        groups += [(c, pol.label(c), g, labels == g) for g in order]
    return groups


@dataclass
class _FrontDoor:
    """The contacts of the window joined to the children, with every record's key."""

    child: np.ndarray  # each contact's child (row of the children table)
    source: np.ndarray  # each contact's source
    helped: np.ndarray  # whether each contact led to early help or social care
    years: np.ndarray  # each child's years under 18 within the window
    family: np.ndarray  # each child's family (code)
    sources: list[str]  # sources compared on their own
    child_keys: np.ndarray
    contact_keys: np.ndarray
    base: int
    _masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _front_door(kids: pd.DataFrame, con: pd.DataFrame, start: pd.Timestamp,
                end: pd.Timestamp, base: int) -> _FrontDoor:
    index = pd.Index(kids["child_id"].astype(str))
    child = index.get_indexer(con["child_id"].astype(str))
    con, child = con[child >= 0], child[child >= 0]
    source = con["source"].astype(str).to_numpy()
    counts = pd.Series(source).value_counts()
    cid = con["contact_id"].astype(str) if "contact_id" in con.columns else \
        pd.Series(np.arange(len(con)).astype(str))
    return _FrontDoor(
        child=child, source=source,
        helped=(con["outcome"].astype(str).isin(HELPED).to_numpy() if "outcome" in con.columns
                else np.zeros(len(con), bool)),
        years=_exposure_years(kids["date_of_birth"], start, end),
        family=pd.factorize(kids["family_id"].astype(str) if "family_id" in kids.columns
                            else kids["child_id"].astype(str))[0],
        sources=[s for s in counts.index if counts[s] >= MIN_SOURCE_CONTACTS],
        # numpy arrays: the keys read every id, which an Arrow-backed column hands out slowly
        child_keys=record_keys(kids["child_id"].astype(str).to_numpy()),
        contact_keys=record_keys(cid.to_numpy()),
        base=base)


def _contacts_of(fd: _FrontDoor, src: str) -> np.ndarray:
    """The contacts from a source (every contact for ``ALL``), found once per source."""
    if src not in fd._masks:
        fd._masks[src] = np.ones(len(fd.source), bool) if src == ALL else fd.source == src
    return fd._masks[src]


def _publish(fd: _FrontDoor, mask: np.ndarray) -> dict:
    """A group's published figures: children, person-years, and per source its contacts
    (and for all sources those that led to help), each count protected by its cell key."""
    on = mask[fd.child]
    contacts = np.vstack([on & _contacts_of(fd, s) for s in [ALL, *fd.sources]])
    c_pub = protect_counts(contacts, fd.contact_keys, fd.base)
    return {"children": int(protect_counts(mask, fd.child_keys, fd.base)[0]),
            "years": float(fd.years[mask].sum()),
            "contacts": dict(zip([ALL, *fd.sources], c_pub.tolist(), strict=True)),
            "helped": int(protect_counts(on & fd.helped, fd.contact_keys, fd.base)[0])}


def _rate_rows(fd: _FrontDoor, key: str, label: str, g: str, pub: dict) -> list[dict]:
    rows = []
    yrs = pub["years"]
    for src, c_pub in pub["contacts"].items():
        rows.append({"characteristic": key, "label": label, "group": g, "source": src,
                     "children": pub["children"], "contacts": c_pub,
                     "rate_per_1000": round(1000 * c_pub / yrs, 1) if yrs > 0 else np.nan,
                     "stepped_up": (published_rate(pub["helped"], c_pub) if src == ALL
                                    else np.nan)})
    return rows


def _design_effects(fd: _FrontDoor) -> dict[str, float]:
    """How much wider than a Poisson (or binomial) interval the family-clustered interval of
    everyone's rate is, per source and for ``stepped_up``: one cohort-wide number each,
    rounded to one decimal and at least 1, so it carries no group's count."""
    nf = int(fd.family.max()) + 1 if len(fd.family) else 0
    fam_child = fd.family[fd.child]

    def fam(values: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.bincount(fam_child[where], weights=values[where], minlength=nf)

    years = np.bincount(fd.family, weights=fd.years, minlength=nf)
    ones = np.ones(len(fd.child), float)
    out = {}
    for src in [ALL, *fd.sources]:
        sel = _contacts_of(fd, src)
        _, se = _ratio_se(fam(ones, sel), years)
        out[src] = se ** 2 * sel.sum()
    _, se = _ratio_se(fam(ones, fd.helped), fam(ones, np.ones(len(ones), bool)))
    h, c = fd.helped.sum(), len(ones)
    out[STEPPED_UP] = se ** 2 / (1 / h - 1 / c) if 0 < h < c else np.nan
    return {k: round(max(1.0, float(v)), 1) if np.isfinite(v) else 1.0 for k, v in out.items()}


def _log_var(k: float, n: float | None, deff: float, base: int, roundings: int = 1) -> float:
    """Variance of the log of a published count's rate (Poisson when ``n`` is None, else a
    share of ``n``), times the design effect, plus the rounding's (uniform, base**2 / 12, once
    per rounded count the figure is made of: twice for the rest of the cohort)."""
    if k <= 0:
        return np.nan
    sampling = 1 / k - (0 if n is None or n <= 0 else 1 / n)
    return deff * sampling + roundings * (base ** 2 / 12) / k ** 2 * (base > 1)


def _comparisons(fd: _FrontDoor, key: str, label: str, g: str, pub: dict, ref: dict,
                 deff: dict, pol: FairnessPolicy) -> list[dict]:
    """A group's contact rates (per source) and share stepped up, against the reference's:
    every ratio, interval and p-value from published counts and person-years only."""
    conf, tol = pol.bootstrap.confidence, pol.tolerance
    base = fd.base
    common = {"characteristic": key, "label": label, "kind": "characteristic", "group": g,
              "reference": REST, "reference_value": np.nan, "n": pub["children"],
              "n0": ref["children"]}
    out = []
    for src, c in pub["contacts"].items():
        c0 = ref["contacts"][src]
        r, r0 = float(published_rate(c, pub["years"])), float(published_rate(c0, ref["years"]))
        var = _log_var(c, None, deff[src], base) + _log_var(c0, None, deff[src], base, 2)
        ratio, lo, hi, p = normal_comparison(
            np.log(r / r0) if r > 0 and r0 > 0 else np.nan, np.sqrt(var),
            confidence=conf, tolerance=tol)
        out.append({**common, "measure": "contact_rate", "source": src,
                    "value": round(1000 * r, 1) if np.isfinite(r) else np.nan,
                    "reference_value": round(1000 * r0, 1) if np.isfinite(r0) else np.nan,
                    "ratio": ratio, "low": lo, "high": hi, "p_value": p})
    h, c, h0, c0 = pub["helped"], pub["contacts"][ALL], ref["helped"], ref["contacts"][ALL]
    s, s0 = float(published_rate(h, c)), float(published_rate(h0, c0))
    var = (_log_var(h, c, deff[STEPPED_UP], base)
           + _log_var(h0, c0, deff[STEPPED_UP], base, 2))
    ratio, lo, hi, p = normal_comparison(np.log(s / s0) if s > 0 and s0 > 0 else np.nan,
                                         np.sqrt(var), confidence=conf, tolerance=tol)
    out.append({**common, "measure": STEPPED_UP, "source": ALL, "value": np.nan,
                "ratio": ratio, "low": lo, "high": hi, "p_value": p})
    return out


def over_referral(findings: pd.DataFrame) -> list[str]:
    """Groups referred clearly more often (flagged) whose contacts clearly lead to help less
    often (the whole interval below 1): the mark of over-referral."""
    if findings is None or findings.empty:
        return []
    f = findings
    more = f[(f.measure == "contact_rate") & (f.status == "flag")
             & (f.direction == "disadvantaged")]
    less = f[(f.measure == "stepped_up") & (f.high < 1) & (f.status != "insufficient")]
    both = sorted(set(zip(more.label, more.group, strict=True))
                  & set(zip(less.label, less.group, strict=True)))
    return [f"Over-referral: {str(lab).replace('_', ' ')} \u2018{str(g).replace('_', ' ')}\u2019 "
            "is referred clearly more often than everyone else, but fewer of its contacts lead to "
            "early help or social care. Ask the referring agencies why." for lab, g in both]


def add_referrals(audit, referrals: ReferralAudit):
    """Join the front door to an audit: its tables, findings (ranked with the audit's),
    verdict and summary.

    Returns the audit (changed in place).
    """
    from riskmodel.evaluation.fairness._findings import STATUS_ORDER
    from riskmodel.evaluation.fairness._summary import summary_sentences

    audit.referrals = referrals
    f = pd.concat([audit.findings.assign(_part=0), referrals.findings.assign(_part=1)],
                  ignore_index=True)
    f["_s"] = f["status"].map(STATUS_ORDER)
    f["_d"] = (f["direction"] != "disadvantaged").astype(int)
    f = f.sort_values(["_s", "_d", "rank", "_part"], kind="stable")
    f["rank"] = np.arange(1, len(f) + 1)
    audit.findings = f.drop(columns=["_s", "_d", "_part"]).reset_index(drop=True)
    audit.settings["referrals"] = referrals.settings
    audit.summary = summary_sentences(audit)
    marks = over_referral(referrals.findings)
    audit.summary[1:1] = marks
    return audit
