"""What knowledge dates change: the same council with and without them, and today's values.

A synthetic council plants late-filled MASH ratings and outcomes, backdated episodes and
families rehoused after a step-up (docs/synthetic-council.md). The escalation model
(the packaged spec's LightGBM, no MLflow) is trained on the earlier as-of dates and judged
on the spec's final held-out dates, three ways:

- ``recorded``: the extract says when each value was filled in and keeps a history;
- ``lagged``: the same extract without any of it, and the packaged spec's defaults (a
  14-day lag; locality and IMD decile switched off);
- ``today``: the same extract read the old way (no lag, today's locality and IMD decile at
  every past date).

For each it prints the AUC as the evaluation measures it, the AUC on the rows and values a
council would have had at the time (the ``recorded`` matrix: what monthly scoring sees),
and the truth's AUC on those rows. The difference between the first two is how much a
leak flatters the evaluation.

    python benchmarks/knowledge.py --children 20000 --seed 1
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from sklearn.metrics import roc_auc_score

    from riskmodel._core.errors import InputWarning
    from riskmodel.data import extract_date_of, first_record_date, simulate_council
    from riskmodel.data._contract import RECORDED_DATES
    from riskmodel.features import build_matrix, feature_columns, load_feature_spec
    from riskmodel.features._spec import CurrentValues, KnowledgeSpec, LagDays
    from riskmodel.training import as_of_schedule, fit_final, load_training_spec

    t0 = time.perf_counter()
    council = simulate_council(args.children, seed=args.seed)
    spec = load_training_spec(outcome="escalation")
    recorded = council.tables
    bare = {t: df.drop(columns=[c for (tt, _), c in RECORDED_DATES.items() if tt == t],
                       errors="ignore")
            for t, df in recorded.items() if t != "children_history"}
    fspec = load_feature_spec()
    old = fspec.model_copy(update={"knowledge": KnowledgeSpec(
        lag_days=LagDays(mash_rag=0, outcome=0, episode_start=0, triage_start=0),
        current_values=CurrentValues(locality="current", imd_decile="current"))})
    extract = extract_date_of(recorded)
    dates = as_of_schedule(spec, extract, records_start=first_record_date(recorded),
                           longest_window_months=36)
    final = dates[-spec.splits.holdout:]
    lightgbm = next(c for c in spec.candidates if c.kind == "lightgbm")
    truth = council.truth[["child_id", "as_of", "p_escalation_6m"]].rename(
        columns={"p_escalation_6m": "p_true"})

    def matrix(tables, feature_spec):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InputWarning)
            return build_matrix(tables, dates, outcome="escalation", spec=feature_spec,
                                extract_date=extract)

    now = matrix(recorded, fspec)
    held = now[now["as_of"].isin(final) & now["label"].notna()]
    held = held.merge(truth.astype({"as_of": held["as_of"].dtype}), on=["child_id", "as_of"],
                      how="left")
    y_held = held["label"].to_numpy(dtype=int)
    print(f"{args.children:,} children, seed {args.seed}; trained on {len(dates) - len(final)} "
          f"as-of dates, judged on {', '.join(str(d.date()) for d in final)}")
    print(f"{'setting':<10}{'features':>9}{'rows':>8}{'AUC measured':>14}"
          f"{'AUC at the time':>17}{'truth':>8}")
    for name, tables, feature_spec in (("recorded", recorded, fspec), ("lagged", bare, fspec),
                                       ("today", bare, old)):
        m = now if name == "recorded" else matrix(tables, feature_spec)
        features = feature_columns(m)
        train = m[~m["as_of"].isin(final)]
        test = m[m["as_of"].isin(final) & m["label"].notna()]
        model = fit_final(train, features, lightgbm, spec)
        measured = roc_auc_score(test["label"].astype(int),
                                 model.predict_proba(test[features])[:, 1])
        at_time = roc_auc_score(y_held, model.predict_proba(held[features])[:, 1])
        true = roc_auc_score(y_held, held["p_true"])
        print(f"{name:<10}{len(features):>9}{len(test):>8,}{measured:>14.4f}"
              f"{at_time:>17.4f}{true:>8.4f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
