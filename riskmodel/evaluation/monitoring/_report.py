"""The monitoring report: one self-contained HTML page, and the history as a table.

The page leads with the verdict and its reasons, then shows every month since go-live as
charts (cohort size and verdict, drift, performance realised and estimated against the
model card's promise, bands), then this month's input, score, performance and fairness
tables. Charts are inline PNG; nothing is fetched from the network.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._core.io import write_text
from riskmodel.evaluation._html import figure_png, new_figure, render
from riskmodel.evaluation.monitoring._summary import MonitorSummary

COLOURS = {"ok": "#1a7f37", "watch": "#8a5a00", "retrain recommended": "#b42318"}


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _metric(summary: dict, *path) -> float:
    node: Any = summary
    for key in path:
        if not isinstance(node, dict):
            return math.nan
        node = node.get(key)
    return _num(node)


def history_table(history: list[dict]) -> pd.DataFrame:
    """One row per month: children, verdict, what moved, score PSI, estimated and realised AUC.

    Realised figures sit on the month they describe (computed once its window closed).

    Examples
    --------
    >>> history_table([{"as_of": "2025-01-01", "verdict": "ok", "cohort": {"now": 400},
    ...                 "moved": {"counted": 0}, "scores": {"psi": 0.01},
    ...                 "estimate": {"auc": {"value": 0.75}}, "early": {}}])[["as_of",
    ...                 "children", "verdict"]].to_dict("records")
    [{'as_of': '2025-01-01', 'children': 400, 'verdict': 'ok'}]
    """
    realised = {}
    for s in history:
        for month, r in (s.get("realised") or {}).items():
            realised[month] = r["overall"]["metrics"]
    rows = []
    for s in history:
        real = realised.get(s["as_of"], {})
        rows.append({
            "as_of": s["as_of"], "children": (s.get("cohort") or {}).get("now"),
            "verdict": s.get("verdict"),
            "features_moved": (s.get("moved") or {}).get("counted"),
            "score_psi": _metric(s, "scores", "psi"),
            "early_ratio": _metric(s, "early", "ratio"),
            "auc_estimated": _metric(s, "estimate", "auc", "value"),
            "auc_realised": _num((real.get("auc") or {}).get("value")),
            "precision_realised": _num((real.get("precision_at_capacity") or {}).get("value")),
            "reasons": len(s.get("reasons") or []),
        })
    return pd.DataFrame(rows, columns=["as_of", "children", "verdict", "features_moved",
                                       "score_psi", "early_ratio", "auc_estimated",
                                       "auc_realised", "precision_realised", "reasons"])


def _dates(history) -> list[pd.Timestamp]:
    return [pd.Timestamp(s["as_of"]) for s in history]


def _chart_cohort(history):
    fig = new_figure(8, 2.6)
    ax = fig.add_subplot(111)
    x = _dates(history)
    n = [_metric(s, "cohort", "now") for s in history]
    ax.bar(x, n, width=20, color=[COLOURS.get(s.get("verdict"), "#57606a") for s in history])
    ax.set_ylabel("children open")
    ax.set_title("Children open each month (bar colour: verdict; green ok, amber watch, "
                 "red retrain recommended)", fontsize=9)
    fig.autofmt_xdate()
    return figure_png(fig)


def _chart_drift(history, thresholds):
    fig = new_figure(8, 2.6)
    ax = fig.add_subplot(111)
    x = _dates(history)
    top = []
    for s in history:
        vals = [_num(r.get("psi")) for r in s.get("inputs") or []
                if _num(r.get("importance")) >= thresholds.get("min_importance", 0)]
        vals = [v for v in vals if np.isfinite(v)]
        top.append(max(vals) if vals else math.nan)
    ax.plot(x, top, "o-", label="largest PSI of a feature that matters")
    ax.plot(x, [_metric(s, "scores", "psi") for s in history], "s--", label="PSI of the scores")
    psi = thresholds.get("psi", {})
    for level, style in ((psi.get("watch", 0.1), ":"), (psi.get("act", 0.25), "-.")):
        ax.axhline(level, color="#57606a", linestyle=style, linewidth=1)
    ax.set_ylabel("PSI")
    # the legend beside the chart, never over the latest months (#26 item 9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.set_title("Drift against the training reference (dotted: watch, dash-dot: act)",
                 fontsize=9)
    fig.autofmt_xdate()
    return figure_png(fig)


def _chart_performance(history, promise, metric, label):
    fig = new_figure(8, 2.6)
    ax = fig.add_subplot(111)
    realised = {}
    for s in history:
        for month, r in (s.get("realised") or {}).items():
            m = (r["overall"]["metrics"] or {}).get(metric) or {}
            if np.isfinite(_num(m.get("value"))):
                realised[month] = m
    x = _dates(history)
    est = [_metric(s, "estimate", metric, "value") for s in history]
    ax.plot(x, est, "o--", color="#57606a", label="estimated from the scores (CBPE)")
    if realised:
        xs = [pd.Timestamp(k) for k in sorted(realised)]
        v = np.array([realised[k]["value"] for k in sorted(realised)], float)
        lo = np.array([_num(realised[k]["low"]) for k in sorted(realised)])
        hi = np.array([_num(realised[k]["high"]) for k in sorted(realised)])
        ax.errorbar(xs, v, yerr=[v - lo, hi - v], fmt="s-", color="#0b5cad", capsize=3,
                    label="realised (95% interval)")
    p = next((r for r in promise or [] if r.get("metric") == metric), None)
    if p is not None:
        ax.axhline(p["value"], color="#1a7f37", linewidth=1, label="promised (test metrics)")
        if np.isfinite(_num(p.get("low"))):
            ax.axhspan(_num(p["low"]), _num(p["high"]), color="#1a7f37", alpha=0.1)
    ax.set_ylabel(label)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.set_title(f"{label}: realised when outcomes have matured, estimated before", fontsize=9)
    fig.autofmt_xdate()
    return figure_png(fig)


def _chart_bands(history):
    fig = new_figure(8, 2.4)
    ax = fig.add_subplot(111)
    x = _dates(history)
    bottom = np.zeros(len(history))
    for name, colour in (("high", "#b42318"), ("medium", "#d4a72c"), ("low", "#8c959f")):
        v = np.array([_metric(s, "scores", "bands", name, "now") for s in history])
        v = np.nan_to_num(v)
        ax.bar(x, v, width=20, bottom=bottom, color=colour, label=name)
        bottom += v
    ax.set_ylabel("share of children")
    # the legend beside the chart, never over the latest months (#26 item 9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    ax.set_title("Risk bands each month (shares; a hidden small count shows as a gap)",
                 fontsize=9)
    fig.autofmt_xdate()
    return figure_png(fig)


def write_monitoring_report(summary: MonitorSummary, history: list[dict], path: str | Path, *,
                            title: str | None = None) -> Path:
    """Write the monitoring report for ``summary`` (this month) and ``history`` (every
    month since go-live, this one included, as stored: JSON) to ``path``, atomically. The
    page shows the summary as published (its ``to_dict()``).

    Returns
    -------
    Path

    Examples
    --------
    >>> run = monitor("council/", "models:/escalation@champion", "2025-07-01",
    ...               out="monitoring/2025-07")  # doctest: +SKIP
    >>> write_monitoring_report(run.summary, run.history, "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    history = sorted(history, key=lambda s: s["as_of"])
    thresholds = dict(summary.thresholds)
    promise = list(summary.promise)
    charts = [
        ("cohort", _chart_cohort(history)),
        ("drift", _chart_drift(history, thresholds)),
        ("auc", _chart_performance(history, promise, "auc", "AUC")),
        ("precision", _chart_performance(history, promise, "precision_at_capacity",
                                         "precision at capacity")),
        ("bands", _chart_bands(history)),
    ]
    realised_all: dict = {}
    for h in history:
        realised_all.update(h.get("realised") or {})
    published = summary.to_dict()
    inputs = pd.DataFrame(published["inputs"])
    moved = inputs[(inputs["band"] != "stable") | (inputs["level"] != "")] if len(inputs) \
        else inputs
    html = render(
        "monitoring.html.j2",
        title=title or f"Monitoring: {summary.model.name} v{summary.model.version}"
                       f" at {summary.as_of}",
        s=published, charts=charts, moved=moved.head(40).to_dict(orient="records"),
        n_features=len(inputs), table=history_table(history).to_dict(orient="records"),
        realised_all=dict(sorted(realised_all.items())),
    )
    return write_text(html, path)
