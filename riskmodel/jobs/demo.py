"""The demo: the whole job on a generated synthetic council, end to end."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from rich.console import Console

from riskmodel._core.io import check_writable
from riskmodel.data import (
    generate_council,
    read_extract_date,
    read_tables,
    summarise_tables,
    validate_tables,
)
from riskmodel.jobs.card import write_model_card
from riskmodel.jobs.explain import explain_extract
from riskmodel.jobs.monitor import monitor
from riskmodel.jobs.score import score
from riskmodel.jobs.train import train
from riskmodel.scoring import ScoreRun
from riskmodel.store import download, experiment_link, tracking_uri
from riskmodel.training import (
    TrainingSpec,
    TrainResult,
    best_passing,
    leaderboard_table,
    leaderboard_title,
    over_time_lines,
)


def run_demo(out_dir: str | Path, *, n_children: int = 40_000, seed: int = 1,
             spec: TrainingSpec | str | os.PathLike | None = None,
             console: Console | None = None) -> dict[str, Path]:
    """Generate a synthetic council and run every step on it, as each user would.

    1. a synthetic council with known truth; 2. validation against the input contract;
    3. training and honest comparison of the escalation candidates, logged to MLflow (the
    embedded store under ``models/`` unless ``MLFLOW_TRACKING_URI`` says otherwise), the
    best passing one registered; 4. the monthly scores for the insight hub with reasons;
    5. the fairness report for equality leads; 6. the explanation report; 7. the model card
    and transparency record; 8. monitoring over the last seven months (history in MLflow),
    and once more on a copy of the council with a planted recording change.

    Returns
    -------
    dict of str to Path
        What was written, by name.

    Examples
    --------
    >>> import tempfile
    >>> written = run_demo(tempfile.mkdtemp(), n_children=3000)  # doctest: +SKIP
    """
    console = console or Console()
    out_dir = Path(out_dir)
    check_writable(out_dir, folder=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _demo_council(out_dir, n_children, seed, console)
    written: dict[str, Path] = {"council": data}
    as_of = pd.Timestamp(_demo_validate(data, console)).replace(day=1)
    # Step 8's council with a planted recording change (temporary: it holds child ids) is
    # generated in another process beside the training, which leaves a core to spare.
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")) as side:
        planted = side.submit(generate_council, n_children=n_children, seed=seed,
                              out=Path(tmp) / "c",
                              drift=[f"recording:{_monitored_months(as_of)[-2]}"])
        result = _demo_train(data, spec, console)
        if result.registered is None:
            console.print("[bold red]no candidate met the pass thresholds set in the spec: "
                          "nothing registered, so nothing is scored[/] (this is the honest "
                          "answer)")
            return written
        version_uri = f"models:/{result.registered['name']}/{result.registered['version']}"
        written["scores"] = _demo_score(data, version_uri, as_of, out_dir, console)
        written["fairness"] = _demo_fairness(result, out_dir, console)
        written["explain"] = _demo_explain(version_uri, data, as_of, out_dir, console)
        written["card"] = _demo_card(version_uri, out_dir, console)
        written.update(_demo_monitoring(data, version_uri, as_of, out_dir, planted, console))
    _demo_next_steps(written, data, as_of, out_dir, console)
    return written


def _demo_council(out_dir: Path, n_children: int, seed: int, console: Console) -> Path:
    """1. A synthetic council with known truth, in ``out_dir/council``."""
    data = Path(generate_council(n_children=n_children, seed=seed, out=out_dir / "council"))
    console.print(f"[bold]1. synthetic council[/]: {n_children:,} children -> {data}")
    return data


def _demo_validate(data: Path, console: Console) -> str | None:
    """2. The council checked against the input contract; returns its extract date."""
    extract = read_extract_date(data)
    tables = read_tables(data)
    problems = validate_tables(tables, extract_date=extract)
    if problems:
        raise RuntimeError("the synthetic council fails its own contract: " + problems[0])
    console.print("[bold]2. validated[/] against the input contract")
    console.print(summarise_tables(tables))
    return extract


def _demo_train(data: Path, spec: TrainingSpec | str | os.PathLike | None,
                console: Console) -> TrainResult:
    """3. Train and compare the escalation candidates (MLflow), registering the best passing."""
    console.print(f"[bold]3. training[/] escalation candidates (MLflow: {tracking_uri()})")
    result = train(data, spec, outcome="escalation",
                   progress=lambda msg: console.print(f"   {msg}", highlight=False))
    console.print(leaderboard_table(result.leaderboard(), title=leaderboard_title(result),
                                    capacity=result.spec.capacity.describe()))
    for line in over_time_lines(result):
        console.print(f"   {line}", highlight=False, soft_wrap=True)
    if result.registered is not None:
        console.print(f"   registered {result.registered['uri']} "
                      f"(version {result.registered['version']})")
    return result


def _demo_score(data: Path, version_uri: str, as_of: pd.Timestamp, out_dir: Path,
                console: Console) -> Path:
    """4. This month's scores with reasons (for the insight hub); shows the top three."""
    scores = out_dir / "scores.parquet"
    run = score(data, version_uri, as_of, out=scores)
    console.print(f"[bold]4. scored[/] {run.counts['scored']:,} children open to early help "
                  f"on {as_of.date()} ({run.counts['in_capacity']} in capacity with reasons) "
                  f"-> {scores}")
    console.print(f"   not scored: {not_scored_words(run)} -> {run.rejected}", highlight=False,
                  soft_wrap=True)
    top = pd.read_parquet(scores).sort_values("rank_overall").head(3)
    for row in top.itertuples():
        console.print(f"   rank {row.rank_overall} ({row.locality}, score {row.score:.2f}): "
                      f"{row.reason_1}", highlight=False)
    return scores


def not_scored_words(run: ScoreRun) -> str:
    """Both kinds of row the rejected file lists, counted as the scoring audit counts them:
    rows the model could not score, and open children whose episode was not yet known.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> not_scored_words(SimpleNamespace(counts={"rejected": 0},
    ...                                  record={"not_scored": {"not yet known": 5}}))
    '0 rejected by the model, 5 open children whose episode was not yet known (5 in all)'
    """
    waiting = sum((run.record.get("not_scored") or {}).values())
    rejected = int(run.counts["rejected"])
    return (f"{rejected:,} rejected by the model, {waiting:,} open children whose episode was "
            f"not yet known ({rejected + waiting:,} in all)")


def _demo_fairness(result: TrainResult, out_dir: Path, console: Console) -> Path:
    """5. The fairness report the training run logged for the registered candidate."""
    best = best_passing(result)
    if best is None or best.run_id is None:  # scoring above needed a champion: not reached
        raise RuntimeError("the demo's training registered no model")
    best_run = best.run_id
    fairness = out_dir / "fairness"
    with tempfile.TemporaryDirectory() as tmp:
        local = download(best_run, "fairness", tmp)
        if local is None:
            raise RuntimeError(f"training run {best_run} logged no fairness report")
        if fairness.exists():
            shutil.rmtree(fairness)
        shutil.copytree(local, fairness)
    report = fairness / "fairness_report.html"
    console.print(f"[bold]5. fairness report[/] (out-of-time test predictions) -> {report}")
    return report


def _demo_explain(version_uri: str, data: Path, as_of: pd.Timestamp, out_dir: Path,
                  console: Console) -> Path:
    """6. The explanation report (SHAP) of the registered model on this month's children."""
    explain = Path(explain_extract(version_uri, data, out_dir / "explain.html", as_of=as_of))
    console.print(f"[bold]6. explanation report[/] -> {explain}")
    return explain


def _demo_card(version_uri: str, out_dir: Path, console: Console) -> Path:
    """7. The model card and ATRS transparency record, in ``out_dir/card``."""
    card = write_model_card(version_uri, out_dir / "card")
    console.print(f"[bold]7. model card and ATRS record[/] -> {out_dir / 'card'} "
                  f"({len(card)} files)")
    return out_dir / "card"


def _demo_next_steps(written: dict[str, Path], data: Path, as_of: pd.Timestamp,
                     out_dir: Path, console: Console) -> None:
    """What to open (every file is local) and what to run next."""
    console.print("\n[bold]Open these[/] (each is a file on this machine; nothing was sent "
                  "anywhere):")
    for what, path in (("fairness report (equality leads)", written["fairness"]),
                       ("explanation report", written["explain"]),
                       ("model card", written["card"] / "model_card.html"),
                       ("transparency record (ATRS)", written["card"] / "atrs_record.html"),
                       ("this month's scores (insight hub; holds child ids)", written["scores"])):
        console.print(f"  {what}: {path}", highlight=False, soft_wrap=True)
    console.print(f"  MLflow runs: mlflow ui --backend-store-uri {tracking_uri()}, then "
                  f"{experiment_link('escalation')}", highlight=False, soft_wrap=True)
    console.print("\n[bold]Next[/]: score the council at an earlier month with capacity per "
                  "locality, then compare the candidate runs:", highlight=False)
    earlier = (as_of - pd.DateOffset(months=1)).date()
    console.print(f"  riskmodel score --data {data} --as-of {earlier} --top 10/locality "
                  f"--out {out_dir / 'scores-previous-month.csv'}",
                  highlight=False, soft_wrap=True)
    console.print("  riskmodel compare --outcome escalation", highlight=False)


def _monitored_months(as_of: pd.Timestamp) -> list:
    """The seven months step 8 monitors, the last one ``as_of``'s.

    Examples
    --------
    >>> [str(m) for m in _monitored_months(pd.Timestamp("2025-12-01"))][-2:]
    ['2025-11-01', '2025-12-01']
    """
    return [(as_of - pd.DateOffset(months=k)).date() for k in range(6, -1, -1)]


def _demo_monitoring(data: Path, version_uri: str, as_of: pd.Timestamp, out_dir: Path,
                     planted: Future, console: Console) -> dict[str, Path]:
    """8. ``riskmodel monitor`` for the last seven months (the first list's outcomes have
    matured by the last), then the first month after a planted recording change (``planted``:
    that council, being made in a temporary folder: it holds child ids)."""
    months = _monitored_months(as_of)
    for month in months:
        run = monitor(data, version_uri, month, out=out_dir / "monitoring" / str(month))
        console.print(f"[bold]8. monitored[/] {month}: verdict {run.verdict} "
                      f"({len(run.summary.reasons)} reasons)", highlight=False)
    console.print(f"   every month since go-live, as charts -> {run.paths['html']}",
                  highlight=False, soft_wrap=True)
    run_planted = monitor(planted.result(), version_uri, months[-1],
                          out=out_dir / "monitoring-planted", record=False)
    console.print(f"   the same council with police contacts recorded twice from {months[-2]}:"
                  f" verdict {run_planted.verdict} -> {run_planted.paths['html']}",
                  highlight=False, soft_wrap=True)
    for reason in run_planted.summary.reasons[:2]:
        console.print(f"     {reason.text}", highlight=False, soft_wrap=True)
    return {"monitoring": run.paths["html"], "monitoring_planted": run_planted.paths["html"]}
