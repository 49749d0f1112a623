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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel._core.errors import InputError
from riskmodel.evaluation._disclosure import cell_keys, record_keys, round_counts
from riskmodel.evaluation._profile import categories
from riskmodel.evaluation.fairness._findings import (
    REST,
    judge,
    mark_counterparts,
    normal_comparison,
)
from riskmodel.evaluation.fairness._policy import resolve_policy
from riskmodel.evaluation.fairness._summary import findings_records

HELPED = ("early_help", "social_care")
_PREBIRTH_DAYS = 270
_ADULT_DAYS = int(round(18 * 365.25))
# a source is compared on its own when the cohort has at least this many of its contacts
MIN_SOURCE_CONTACTS = 200


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
                                characteristics=None, policy=None, start=None, end=None,
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
    cdate = pd.to_datetime(contacts["contact_date"])
    start = pd.Timestamp(start) if start is not None else cdate.min()
    end = pd.Timestamp(end) if end is not None else cdate.max()
    keep = (cdate >= start) & (cdate <= end)
    con = contacts.loc[keep]
    index = pd.Index(kids["child_id"].astype(str))
    child = index.get_indexer(con["child_id"].astype(str))
    con, child = con[child >= 0], child[child >= 0]
    sources_all = con["source"].astype(str).to_numpy()
    counts = pd.Series(sources_all).value_counts()
    sources = [s for s in counts.index if counts[s] >= MIN_SOURCE_CONTACTS]
    helped = (con["outcome"].astype(str).isin(HELPED).to_numpy() if "outcome" in con.columns
              else np.zeros(len(con), bool))
    years = _exposure_years(kids["date_of_birth"], start, end)
    fam = pd.factorize(kids["family_id"].astype(str) if "family_id" in kids.columns
                       else kids["child_id"].astype(str))[0]
    nf = int(fam.max()) + 1 if len(fam) else 0
    base = pol.min_count
    child_keys = record_keys(kids["child_id"].astype(str))
    cid = con["contact_id"].astype(str) if "contact_id" in con.columns else \
        pd.Series(np.arange(len(con)).astype(str))
    contact_keys = record_keys(cid)
    per_source = {s: np.bincount(child[sources_all == s], minlength=len(kids)) for s in sources}
    per_source["all sources"] = np.bincount(child, minlength=len(kids))
    helped_child = np.bincount(child[helped], minlength=len(kids))

    rows, comps = [], []
    tol = pol.tolerance

    def fam_sum(values, mask):
        return np.bincount(fam[mask], weights=values[mask], minlength=nf)

    everyone = np.ones(len(kids), bool)
    n_all = int(round_counts([len(kids)], [int(child_keys.sum() % 2**31)], base)[0])
    groups = [("all", "everyone", "all", everyone)]
    for c in chars:
        labels, order = categories(kids[pol.column(c)], column=pol.column(c))
        groups += [(c, pol.label(c), g, labels == g) for g in order]
    for key, label, g, mask in groups:
        n_pub = int(round_counts([mask.sum()], cell_keys(mask[None, :], child_keys), base)[0])
        on = mask[child]
        h_num, h_se = _ratio_se(fam_sum(helped_child.astype(float), mask),
                                fam_sum(per_source["all sources"].astype(float), mask))
        rest = ~mask  # #27: a group against everyone not in it, not everyone (who include it)
        rest_help = _ratio_se(fam_sum(helped_child.astype(float), rest),
                              fam_sum(per_source["all sources"].astype(float), rest))
        for src in ["all sources"] + sources:
            sel = on if src == "all sources" else on & (sources_all == src)
            c_pub = int(round_counts([sel.sum()], cell_keys(sel[None, :], contact_keys),
                                     base)[0])
            yrs = years[mask].sum()
            rec = {"characteristic": key, "label": label, "group": g, "source": src,
                   "children": n_pub, "contacts": c_pub,
                   "rate_per_1000": round(1000 * c_pub / yrs, 1) if yrs > 0 else np.nan,
                   "stepped_up": np.nan}
            if src == "all sources":
                hsel = on & helped
                h_pub = int(round_counts([hsel.sum()], cell_keys(hsel[None, :], contact_keys),
                                         base)[0])
                rec["stepped_up"] = h_pub / c_pub if c_pub else np.nan
            rows.append(rec)
            if key == "all":
                continue
            r, se = _ratio_se(fam_sum(per_source[src].astype(float), mask),
                              fam_sum(years, mask))
            r0, se0 = _ratio_se(fam_sum(per_source[src].astype(float), rest),
                                fam_sum(years, rest))
            ratio, lo, hi, p = normal_comparison(np.log(r / r0) if r > 0 and r0 > 0 else np.nan,
                                                 np.hypot(se, se0), confidence=pol.bootstrap
                                                 .confidence, tolerance=tol)
            comps.append({"characteristic": key, "label": label, "kind": "characteristic",
                          "group": g, "measure": "contact_rate", "source": src,
                          "reference": REST, "value": rec["rate_per_1000"],
                          "reference_value": np.nan, "ratio": ratio, "low": lo, "high": hi,
                          "p_value": p, "n": n_pub, "n0": n_all - n_pub})
        ratio, lo, hi, p = normal_comparison(
            np.log(h_num / rest_help[0]) if h_num > 0 and rest_help[0] > 0 else np.nan,
            np.hypot(h_se, rest_help[1]), confidence=pol.bootstrap.confidence, tolerance=tol)
        if key != "all":
            comps.append({"characteristic": key, "label": label, "kind": "characteristic",
                          "group": g, "measure": "stepped_up", "source": "all sources",
                          "reference": REST, "value": np.nan, "reference_value": np.nan,
                          "ratio": ratio, "low": lo, "high": hi, "p_value": p, "n": n_pub,
                          "n0": n_all - n_pub})
    rates = pd.DataFrame(rows)
    all_rates = rates[rates.characteristic == "all"].set_index("source")["rate_per_1000"]
    comp = pd.DataFrame(comps)
    comp["reference_value"] = comp["source"].map(all_rates).where(
        comp["measure"] == "contact_rate")
    judged = mark_counterparts(judge(comp, tolerance=tol,
                                     false_discovery_rate=pol.judging.false_discovery_rate,
                                     min_children=pol.judging.min_children), REST)
    settings = {"start": str(start.date()), "end": str(end.date()), "population": n_all,
                "subjects": subjects, "sources": sources, "min_count": base,
                "characteristics": chars}
    words = {"subjects": subjects, "positive_words": "", "negative_words": "",
             "bootstrap": {"confidence": pol.bootstrap.confidence}}
    return ReferralAudit(rates=rates, findings=findings_records(judged, words),
                         settings=settings)


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
