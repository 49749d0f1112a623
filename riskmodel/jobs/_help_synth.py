"""``riskmodel synth --help-effect FACTOR``: monthly lists and help with a known effect.

From ``start``, each month the synthetic council lists the top ``share`` of the children open
to early help by a risk score (a logistic model trained on the two years before ``start``),
its panels answer each list (:func:`riskmodel.data.synth.synth_decisions`: reviews,
declines, overrides, additions; a child offered help in the last 6 months is found already
supported), and help is planted (``plant_help``) so that an offered child's chance of
escalating in the 6 months after the offer is ``FACTOR`` times what it was: ``plant_help``'s
``effect`` is ``1 - FACTOR`` (each offered child is helped with that chance, and a helped
child's escalations in the 6 months after each offer are undone). It is the *risk* within
the horizon that is multiplied by ``FACTOR`` exactly; a proportional hazard ``FACTOR``
would give a slightly smaller risk reduction where escalation is common.

Written beside the tables: ``scores/escalation-YYYY-MM.parquet`` (one list a month, with the
children's characteristics as ``riskmodel score --with-characteristics`` writes them, and a
``scoring-audit.jsonl`` line for each), the decisions stored
beside each list as ``riskmodel decisions add`` stores them, the changed ``episodes.parquet``
and ``manifest.json``'s ``help_effect``, which holds the true local effect at the cut-off.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel._core.errors import InputError
from riskmodel._core.fingerprint import sha256_file
from riskmodel._core.io import atomic_path
from riskmodel.data.synth import plant_help, synth_decisions
from riskmodel.features import build_labels, feature_columns
from riskmodel.jobs._decisions_store import write_stored
from riskmodel.jobs._extract import Extract, open_extract
from riskmodel.models import LogisticClassifier
from riskmodel.scoring import AUDIT_NAME, CHARACTERISTIC_COLUMNS

HORIZON = 6
NEAR = 0.25  # the true local effect: the listed quarter of the capacity nearest the cut-off


def list_dates(start, extract_date: pd.Timestamp) -> list[pd.Timestamp]:
    """First days of the months from ``start`` whose 6-month outcome is known by the extract.

    Examples
    --------
    >>> [str(d.date()) for d in list_dates("2025-01-01", pd.Timestamp("2025-09-15"))]
    ['2025-01-01', '2025-02-01', '2025-03-01']
    """
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    last = extract_date - pd.DateOffset(months=HORIZON)
    dates = list(pd.date_range(first, last, freq="MS"))
    if len(dates) < 3:
        raise InputError(f"--help-start: {start} leaves fewer than 3 monthly lists whose "
                         f"{HORIZON}-month outcome is known by the extract ({extract_date.date()})")
    return dates


def _scored(ex: Extract, dates: list[pd.Timestamp]) -> pd.DataFrame:
    """The cohort at each list date, scored by a logistic model fitted before the lists."""
    first = pd.to_datetime(ex.tables["episodes"]["start_date"]).min() + pd.DateOffset(months=3)
    train_dates = [d for d in pd.date_range(dates[0] - pd.DateOffset(months=24),
                                            dates[0] - pd.DateOffset(months=HORIZON),
                                            freq="QS") if d > first]
    train = ex.matrix(train_dates, outcome="escalation")
    train = train[train["label"].notna()]
    if train.empty or train["label"].nunique() < 2:
        raise InputError("--help-start: no outcomes before the start to fit the listing score "
                         "on; start the lists at least 2 years after the council's start")
    feats = feature_columns(train)
    model = LogisticClassifier(C=0.1).fit(train[feats], train["label"].astype(int).to_numpy())
    cohort = ex.matrix(dates, outcome="escalation")
    cohort["score"] = model.predict_proba(cohort[feats])[:, 1]
    carried = [c for c in ("locality", *CHARACTERISTIC_COLUMNS) if c in cohort]
    return cohort[["child_id", "family_id", "as_of", "score", *carried]].reset_index(drop=True)


def _lists(cohort: pd.DataFrame, share: float, seed: int) -> tuple[list, pd.DataFrame]:
    """Each month's list and its synthetic decisions (previous offers: already supported)."""
    lists: list[pd.DataFrame] = []
    decided: list[pd.DataFrame] = []
    last: dict[str, pd.Timestamp] = {}
    for when, s in cohort.groupby("as_of", sort=True):
        s = s.sort_values(["score", "child_id"], ascending=[False, True]).reset_index(drop=True)
        cap = int(np.ceil(share * len(s)))
        s["rank_overall"] = np.arange(1, len(s) + 1)
        s["in_capacity"] = s["rank_overall"] <= cap
        recent = {c for c, d in last.items() if d > when - pd.DateOffset(months=HORIZON)}
        s["recent"] = s["child_id"].isin(recent)
        d = synth_decisions(s, seed=seed, previously_offered=recent)
        d["as_of"] = when
        d["listed"] = d["child_id"].isin(set(s.loc[s["in_capacity"], "child_id"]))
        d["addition"] = ~d["listed"]
        for c in d.loc[d["decision"] == "offered", "child_id"]:
            last[c] = when
        lists.append(s)
        decided.append(d)
    return lists, pd.concat(decided, ignore_index=True)


def _ratio(num: float, den: float) -> float | None:
    """``num / den`` to 4 places; None without escalations to compare (a tiny council)."""
    return round(float(num) / float(den), 4) if den > 0 else None


def true_local_effect(lists: list, decided: pd.DataFrame, y0: pd.DataFrame,
                      y1: pd.DataFrame) -> dict:
    """The true local effect at the cut-off, from the outcomes without help (``y0``) and
    with it (``y1``): among the listed children in the quarter of the capacity nearest the
    cut-off, the risk with this month's offer over the risk with it taken away.

    For an offered child-month, taking the offer away gives the outcome without help (no
    other offer reaches its window: a child offered in the last 6 months is not offered
    again), so ``local_risk_ratio`` (offered children) is the risk with help over the risk
    without it; ``local_risk_ratio_listed`` is the same over every listed child near the
    cut-off and not offered help in the 6 months before (offered or not: the effect of being
    listed, on the children ``riskmodel impact`` judges it on by default).
    """
    t = pd.concat(lists, ignore_index=True)
    cap = t.groupby("as_of")["in_capacity"].transform("sum")
    near = t["in_capacity"] & (t["rank_overall"] > (1 - NEAR) * cap) & ~t["recent"]
    t = t[near][["child_id", "as_of"]]
    off = decided.loc[decided["decision"] == "offered", ["child_id", "as_of"]].assign(o=True)
    t = t.merge(off, on=["child_id", "as_of"], how="left").fillna({"o": False})
    for name, lab in (("y0", y0), ("y1", y1)):
        t = t.merge(lab.rename(columns={"escalation": name}), on=["child_id", "as_of"],
                    how="left")
    t = t.dropna(subset=["y0", "y1"])
    o = t["o"].astype(bool)
    toggled = np.where(o, t["y0"], t["y1"])
    return {"local_risk_ratio": _ratio(t.loc[o, "y1"].sum(), t.loc[o, "y0"].sum()),
            "local_risk_ratio_listed": _ratio(t["y1"].sum(), toggled.sum()),
            "near_cut_off": f"listed children ranked in the last {NEAR:.0%} of each month's "
                            "capacity", "child_months_near": int(len(t)),
            "offered_near": int(o.sum())}


def _labels(tables: dict, dates: list, extract_date: pd.Timestamp) -> pd.DataFrame:
    lab = build_labels(tables, dates, horizon_months=HORIZON, extract_date=extract_date)
    lab["child_id"] = lab["child_id"].astype(str)
    lab["as_of"] = pd.to_datetime(lab["as_of"]).astype("datetime64[ns]")
    return lab[["child_id", "as_of", "escalation"]].astype({"escalation": float})


def _write_lists(folder: Path, lists: list, decided: pd.DataFrame, factor: float) -> list[str]:
    """Each month's scores file, its audit line and its stored decisions."""
    sc = folder / "scores"
    sc.mkdir(exist_ok=True)
    records, names = [], []
    for s in lists:
        when = pd.Timestamp(s["as_of"].iloc[0])
        name = f"escalation-{when:%Y-%m}.parquet"
        carried = [c for c in ("locality", *CHARACTERISTIC_COLUMNS) if c in s]
        frame = s[["child_id", "as_of", "score", "rank_overall", "in_capacity", *carried]].assign(
            outcome="escalation", horizon_months=HORIZON, model_name="synthetic-listing",
            model_version=1, capacity_rule="top share")
        frame["as_of"] = frame["as_of"].dt.date
        with atomic_path(sc / name, private=True) as tmp:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        sent = (when + pd.Timedelta(days=1)).isoformat()
        records.append({"when": sent, "synthetic": True, "help_effect": factor,
                        "model": {"name": "synthetic-listing", "version": 1},
                        "outcome": "escalation", "horizon_months": HORIZON,
                        "outputs": {"scores": name, "scores_sha256": sha256_file(sc / name)}})
        d = decided[decided["as_of"] == when].copy()
        d["decision_date"] = pd.to_datetime(d["decision_date"], errors="coerce")
        write_stored(d, {"scores": name, "scores_sha256": records[-1]["outputs"][
            "scores_sha256"], "as_of": str(when.date()), "month": f"{when:%Y-%m}",
            "sent": sent, "synthetic": True}, sc / name.replace(".parquet", ".decisions.parquet"))
        names.append(name)
    with atomic_path(sc / AUDIT_NAME) as tmp:
        Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return names


def _write_episodes(folder: Path, episodes: pd.DataFrame) -> None:
    schema = pq.read_schema(folder / "episodes.parquet")
    frame = episodes[[f.name for f in schema]].copy()
    for f in schema:
        if pa.types.is_date32(f.type):
            frame[f.name] = pd.to_datetime(frame[f.name]).dt.date
    table = pa.Table.from_pandas(frame, preserve_index=False).cast(schema)
    with atomic_path(folder / "episodes.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")


def plant_listed_help(folder, factor: float, *, start="2021-01-01", share: float = 0.10,
                      seed: int = 0) -> dict:
    """Monthly lists, panel decisions and help with a known effect, in a synthetic council.

    Parameters
    ----------
    folder : path
        A council written by :func:`riskmodel.data.generate_council` (changed in place).
    factor : float
        An offered child's chance of escalating in the next 6 months is multiplied by this
        (0 to 1; 1: help does nothing).
    start : date
        The first list (monthly from then, while the 6-month outcome is known).
    share : float
        The capacity: the top ``share`` of each month's open children are listed.
    seed : int

    Returns
    -------
    dict
        What ``manifest.json`` records as ``help_effect``.

    Examples
    --------
    >>> plant_listed_help("council/", 0.5)["local_risk_ratio"]  # doctest: +SKIP
    0.49
    """
    if not 0 <= float(factor) <= 1:
        raise InputError(f"--help-effect: must be from 0 to 1 (the risk multiplier of help), "
                         f"got {factor}")
    if not 0 < float(share) < 1:
        raise InputError(f"--help-share: must be above 0 and below 1, got {share}")
    folder = Path(folder)
    ex = open_extract(folder)
    dates = list_dates(start, ex.date)
    lists, decided = _lists(_scored(ex, dates), float(share), int(seed))
    offers = decided.loc[decided["decision"] == "offered", ["child_id", "as_of"]]
    tables, rec = plant_help(ex.tables, offers, effect=1 - float(factor), seed=int(seed))
    truth = true_local_effect(lists, decided, _labels(ex.tables, dates, ex.date),
                              _labels(tables, dates, ex.date))
    _write_episodes(folder, tables["episodes"])
    names = _write_lists(folder, lists, decided, float(factor))
    record = {"factor": float(factor), "plant_help_effect": round(1 - float(factor), 6),
              "mapping": "the risk of escalation within 6 months of an offer times factor "
                         "(plant_help effect = 1 - factor)",
              "start": str(dates[0].date()), "lists": len(names), "share": float(share),
              "listing_score": "logistic model on the features, fitted on the 2 years "
                               "before the first list", **rec, **truth}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["help_effect"] = record
    manifest.setdefault("rows", {})["episodes"] = len(tables["episodes"])
    with atomic_path(folder / "manifest.json") as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return record
