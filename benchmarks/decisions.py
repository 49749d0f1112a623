"""What each training choice for children offered help does, on a council where help works.

A synthetic council is generated; a first model (logistic, trained on 2020-2021) makes a
quarterly list (top 10%) from 2022-01 to 2024-07; synthetic panels answer each list
(``synth_decisions``); help is planted so that an offer lowers the chance of escalation in
the next 6 months by ``--effect`` (``plant_help``: exact, known truth). The decisions are
stored as ``riskmodel decisions add`` stores them, and the training spec's ``decisions:``
choice (keep, drop, flag) is applied by ``training_matrix`` as ``riskmodel train`` does.

For each choice the candidates are trained on the as-of dates up to 2024-07-01 and measured
two ways:

- **reported**: what training reports (``evaluate_candidates``: the final out-of-time period
  of the training dates, on the rows the choice judges on);
- **true**: the model fitted on every training row, scored on 2025-01-01 and 2025-04-01 (no
  help reaches those outcome windows, so their outcomes are the untreated outcomes a list
  should predict): AUC, calibration error, observed / predicted overall and in the top 10%.

Two kinds of panel: ``random`` (an offer does not depend on the child's true risk, given the
list) and ``informed`` (panels offer help more often to children truly at higher risk, as
panels who know more than the score would). ``baseline`` is the same council without any
help: the model one would get if help changed nothing.

    python benchmarks/decisions.py --children 20000 --seed 1 --effect 0.5

``--settle SEEDS`` measures instead how well the decisions report's estimate of the months of
lists that would settle a comparison (issue 31) matches what more months show (a minute).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

LISTS = pd.date_range("2022-01-01", "2024-07-01", freq="QS")
TEST = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]


def _lists(ex, truth, panels: str, seed: int) -> pd.DataFrame:
    """Quarterly lists from a first model, answered by synthetic panels; the offers."""
    from riskmodel.data.synth import synth_decisions
    from riskmodel.features import feature_columns
    from riskmodel.models import CalibratedModel, LogisticClassifier

    first = ex.matrix(list(pd.date_range("2020-01-01", "2021-04-01", freq="QS")),
                      outcome="escalation")
    feats = feature_columns(first)
    first = first[first["label"].notna()]
    model = CalibratedModel(LogisticClassifier(C=0.1), method="sigmoid").fit(
        first[feats], first["label"].astype(int).to_numpy(), groups=first["family_id"].to_numpy())
    cohort = ex.matrix(list(LISTS), outcome="escalation")
    cohort["score"] = model.predict_proba(cohort[feats])[:, 1]
    cohort = cohort.merge(truth, on=["child_id", "as_of"], how="left")
    decided, before = [], {}
    for when, s in cohort.groupby("as_of", sort=True):
        s = s.reset_index(drop=True)
        s["in_capacity"] = s["score"].rank(ascending=False, method="first") <= np.ceil(
            0.1 * len(s))
        agree = 0.8
        if panels == "informed":  # panels who see more than the score: the truly riskier
            r = s["p_true"].rank(pct=True).to_numpy()
            agree = 0.45 + 0.5 * r
        recent = {c for c, d in before.items() if d > when - pd.DateOffset(months=6)}
        d = synth_decisions(s, seed=seed, agree=agree, previously_offered=recent)
        d["as_of"] = when
        decided.append(d)
        for c in d.loc[d["decision"] == "offered", "child_id"]:
            before[c] = when
    return pd.concat(decided, ignore_index=True)


def _store(decisions: pd.DataFrame, folder: Path) -> None:
    """Store the decisions as ``riskmodel decisions add`` does (one file per list)."""
    from riskmodel.jobs._decisions_store import write_stored

    for when, d in decisions.groupby("as_of"):
        d = d.copy()
        d["listed"] = True
        d["addition"] = False
        d["decision_date"] = pd.to_datetime(d["decision_date"], errors="coerce")
        write_stored(d, {"month": f"{when:%Y-%m}"}, folder / f"list-{when:%Y-%m}.decisions.parquet")


def _oe(y, p, groups, n_boot=200, seed=0):
    """Observed / predicted with a family-bootstrap 95% interval."""
    rng = np.random.default_rng(seed)
    fam, inv = np.unique(groups, return_inverse=True)
    ys, ps = np.bincount(inv, y, len(fam)), np.bincount(inv, p, len(fam))
    draws = [ys[i].sum() / ps[i].sum() for i in
             (rng.integers(0, len(fam), len(fam)) for _ in range(n_boot))]
    return float(y.sum() / p.sum()), *np.quantile(draws, [0.025, 0.975])


def _measure(ex, spec, test, choice_label):
    from riskmodel.evaluation._metrics import evaluate_predictions
    from riskmodel.jobs import training_matrix
    from riskmodel.training import evaluate_candidates, fit_final

    tm = training_matrix(ex, spec)
    result = evaluate_candidates(tm.matrix, spec, features=tm.features)
    rows = []
    for cand, res in zip(spec.candidates, result.candidates, strict=True):
        rep = res.metrics.set_index("metric")
        model = fit_final(tm.matrix, tm.features, cand, spec)
        p = model.predict_proba(test[tm.features])[:, 1]
        y = test["label"].astype(int).to_numpy()
        fam = test["family_id"].to_numpy()
        top = pd.Series(p).groupby(test["as_of"].to_numpy()).rank(
            ascending=False, pct=True).to_numpy() <= 0.10
        m = evaluate_predictions(y, p, flags=top, groups=fam, n_boot=200).set_index("metric")
        oe, oe_lo, oe_hi = _oe(y, p, fam)
        oet, oet_lo, oet_hi = _oe(y[top], p[top], fam[top])
        rows.append({
            "choice": choice_label, "candidate": cand.name,
            "rows_offered_help": (tm.decisions or {}).get("labelled_offered_help", 0),
            "reported_auc": rep.loc["auc", "value"],
            "reported_cal_error": rep.loc["calibration_error", "value"],
            "auc": m.loc["auc", "value"], "auc_low": m.loc["auc", "low"],
            "auc_high": m.loc["auc", "high"],
            "cal_error": m.loc["calibration_error", "value"],
            "oe": oe, "oe_low": oe_lo, "oe_high": oe_hi,
            "oe_top10": oet, "oe_top10_low": oet_lo, "oe_top10_high": oet_hi,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--effect", type=float, default=0.5)
    parser.add_argument("--panels", default="random,informed")
    args = parser.parse_args()

    import yaml

    from riskmodel.data import generate_council
    from riskmodel.data.synth import plant_help
    from riskmodel.jobs import open_extract
    from riskmodel.jobs._extract import Extract
    from riskmodel.training import TrainingSpec
    from riskmodel.training._spec import packaged_training_spec

    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="riskmodel-decisions-"))
    council = generate_council(n_children=args.children, seed=args.seed, out=work / "council")
    ex = open_extract(council)
    truth = pd.read_parquet(council / "truth.parquet")[["child_id", "as_of", "p_escalation_6m"]]
    truth = truth.rename(columns={"p_escalation_6m": "p_true"})
    truth["as_of"] = pd.to_datetime(truth["as_of"]).astype("datetime64[ns]")
    raw = yaml.safe_load(packaged_training_spec("escalation").read_text())
    raw["as_of"]["end"] = "2024-07-01"
    raw["candidates"] = [c for c in raw["candidates"] if c["name"] in ("logistic", "lightgbm")]
    raw["bootstrap"] = 100

    def spec(choice=None, source=None):
        r = dict(raw)
        if choice:
            r["decisions"] = {"source": str(source), "offered": choice}
        return TrainingSpec.model_validate(r)

    rows = []
    base_test = ex.matrix(TEST, outcome="escalation")
    rows += _measure(ex, spec(), base_test[base_test["label"].notna()], "baseline (no help)")
    print(f"{time.perf_counter() - t0:6.0f}s baseline", flush=True)
    for panels in args.panels.split(","):
        decisions = _lists(ex, truth, panels, args.seed)
        offers = decisions.loc[decisions["decision"] == "offered", ["child_id", "as_of"]]
        tables, rec = plant_help(ex.tables, offers, effect=args.effect, seed=args.seed)
        planted = Extract(source=f"planted-{panels}", tables=tables, date=ex.date)
        folder = work / f"decisions-{panels}"
        _store(decisions, folder)
        test = planted.matrix(TEST, outcome="escalation")
        test = test[test["label"].notna()]
        print(f"{time.perf_counter() - t0:6.0f}s {panels} panels: {len(offers):,} offers to "
              f"{rec['children_offered']:,} children, {rec['children_helped']:,} helped; "
              f"{rec['closures_changed']:,} escalations undone", flush=True)
        for choice in ("keep", "drop", "flag"):
            rows += _measure(planted, spec(choice, folder), test, f"{panels}: {choice}")
            print(f"{time.perf_counter() - t0:6.0f}s {panels} {choice}", flush=True)
    out = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(out.round(3).to_string(index=False))
    print("\n| panels: choice | candidate | rows offered help | reported AUC | true AUC (95%) "
          "| reported cal. error | true cal. error | true obs/pred | true obs/pred, top 10% |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in out.itertuples():
        print(f"| {r.choice} | {r.candidate} | {r.rows_offered_help:,} | {r.reported_auc:.3f} "
              f"| {r.auc:.3f} ({r.auc_low:.3f}–{r.auc_high:.3f}) | {r.reported_cal_error:.3f} "
              f"| {r.cal_error:.3f} | {r.oe:.2f} ({r.oe_low:.2f}–{r.oe_high:.2f}) "
              f"| {r.oe_top10:.2f} ({r.oe_top10_low:.2f}–{r.oe_top10_high:.2f}) |")
    print(f"\nchildren {args.children:,}, seed {args.seed}, effect {args.effect}, "
          f"{time.perf_counter() - t0:.0f}s")


def _month_lists(months: int, seed: int, bias: str | None) -> pd.DataFrame:
    """Months of synthetic lists as issue 31 measured them: 1,500 children scored a month,
    ~150 listed (10%), ~15 of them black; panels' decisions with ``bias`` planted."""
    from riskmodel.data.synth import synth_decisions
    from riskmodel.evaluation.decisions import decision_table

    rng = np.random.default_rng(seed)
    parts = []
    for k in range(months):
        n = 1500
        s = pd.DataFrame({
            "child_id": [f"M{k}C{i:05d}" for i in range(n)],
            "as_of": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
            "ethnicity": rng.choice(["white", "black", "asian", "mixed", "other"], n,
                                    p=[.7, .1, .1, .05, .05]),
            "sex": rng.choice(["female", "male"], n),
            "disability": rng.choice(["yes", "no"], n, p=[.1, .9]),
            "locality": rng.choice(list("ABCDE"), n),
            "imd_quintile": rng.integers(1, 6, n),
            "in_capacity": rng.uniform(size=n) < 0.1})
        d = synth_decisions(s, seed=seed * 100 + k, override_bias=bias)
        parts.append(decision_table(d, s))
    return pd.concat(parts, ignore_index=True)


def settle_main() -> None:
    """``--settle SEEDS``: the months-to-settle estimate against what more months show.

    For each seed: one month's list with black children's chance of an offer halved (their
    not-offered rate about three times everyone's); the report's verdict and its estimate of
    the months that would settle it; then the verdict with 3 and 6 months of lists; and the
    flags with 6 months and no bias planted.
    """
    from riskmodel.evaluation.decisions import decisions_report

    parser = argparse.ArgumentParser(description=settle_main.__doc__.splitlines()[0])
    parser.add_argument("--settle", type=int, default=8, help="seeds")
    args = parser.parse_args()

    def black(t: pd.DataFrame):
        f = decisions_report(t).findings
        return f[(f.characteristic == "ethnicity") & (f.group == "black")
                 & (f.measure == "not_offered")].iloc[0], int((f.status == "flag").sum())

    print("| seed | 1 month: status (ratio, interval) | estimated months | 3 months | 6 months "
          "| flags, 6 months, none planted |")
    print("|---|---|---|---|---|---|")
    for seed in range(args.settle):
        one, _ = black(_month_lists(1, seed, "ethnicity=black:0.5"))
        three, _ = black(_month_lists(3, seed, "ethnicity=black:0.5"))
        six, _ = black(_month_lists(6, seed, "ethnicity=black:0.5"))
        _, none = black(_month_lists(6, seed, None))
        print(f"| {seed} | {one.status} ({one.ratio:.2f}, {one.low:.2f}\u2013{one.high:.2f}) "
              f"| {one.months_to_settle:.0f} | {three.status} | {six.status} | {none} |")


if __name__ == "__main__":
    import sys

    settle_main() if any(a.startswith("--settle") for a in sys.argv) else main()
