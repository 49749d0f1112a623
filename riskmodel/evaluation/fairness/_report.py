"""Writing an audit: CSV tables, one JSON file and the self-contained HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskmodel._core.io import write_table, write_text
from riskmodel.evaluation.fairness._measures import (
    MEASURES,
    MITIGATION_MEASURES,
    group_columns,
    headings,
)
from riskmodel.evaluation.fairness._result import FairnessAudit, jsonable, table_records
from riskmodel.evaluation.fairness._summary import source_words, what_to_do

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from riskmodel.evaluation.fairness._policy import Tolerance


def write_fairness_report(audit: FairnessAudit, out_dir, *, title: str = "Fairness and "
                          "disproportionality report", profile: pd.DataFrame | None = None,
                          charts: bool = True) -> dict[str, Path]:
    """Write the audit as a self-contained HTML report, CSV tables and one JSON file.

    Parameters
    ----------
    audit : FairnessAudit
    out_dir : path
        Folder to write into (created if needed). Every file is written atomically.
    title : str
    profile : DataFrame, optional
        A cohort profile (from :func:`cohort_profile`) to show instead of the audit's own.
        It must describe the same children as the audit, or differences between the two
        could reveal small counts; by default the audit's own profile is used.
    charts : bool, default=True
        Draw the charts (matplotlib, embedded as PNG).

    Returns
    -------
    dict
        Paths by name: ``html``, ``json`` and one ``<table>`` CSV per table
        (``fairness_groups.csv``, ``fairness_ratios.csv``, ...).

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd
    >>> from riskmodel.evaluation import AuditOptions, fairness_audit, write_fairness_report
    >>> rng = np.random.default_rng(1)
    >>> f = pd.DataFrame({"sex": rng.choice(["female", "male"], 200),
    ...                   "score": rng.uniform(size=200)})
    >>> f["label"] = (rng.uniform(size=200) < f.score).astype(int)
    >>> audit = fairness_audit(f, AuditOptions(
    ...     label="label", score="score", threshold=0.5, sensitive="sex",
    ...     policy={"characteristics": {"sex": None}, "intersections": [],
    ...             "bootstrap": {"n": 20}}))
    >>> paths = write_fairness_report(audit, tempfile.mkdtemp(), charts=False)
    >>> sorted(paths)[:3]
    ['findings', 'groups', 'html']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = audit.tables()
    if profile is not None:
        tables["profile"] = profile
    paths: dict[str, Path] = {}
    for name, df in tables.items():
        paths[name] = write_table(df, out / f"fairness_{name}.csv")
    doc = {
        "title": title, "settings": audit.settings, "summary": audit.summary,
        "what_to_do": what_to_do(audit), "findings": table_records(audit.findings),
        "notes": audit.notes, "policy": audit.policy.model_dump(mode="json"),
        "tables": {name: table_records(df) for name, df in tables.items()},
    }
    paths["json"] = write_text(json.dumps(jsonable(doc), indent=2, ensure_ascii=False),
                               out / "fairness.json")
    html = render_fairness_html(audit, title=title, profile=tables["profile"], charts=charts)
    paths["html"] = write_text(html, out / "fairness_report.html")
    return paths


# ------------------------------------------------------------------ the HTML report ----------

#: Inches between an axis and its tick labels (the tick's 3.5 pt and its 3.5 pt pad), between
#: the panels and their titles (6 pt), and round the chart (as ``bbox_inches="tight"`` kept).
_TICK_GAP, _TITLE_GAP, _EDGE = 7 / 72, 6 / 72, 0.1


def _chart(key: str, groups: list[str], ratios: pd.DataFrame, metrics: list[str],
           tol: Tolerance) -> str | None:
    """Each group's ratio to its reference with its interval, one panel per measure (PNG).

    The figure is laid out before it is drawn (:func:`_fixed_layout`), so it is drawn once.
    """
    from riskmodel.evaluation._html import figure_png, new_figure

    sub = ratios[(ratios.characteristic == key) & ratios.status.isin(
        ["flag", "watch", "within"])]
    if sub.empty:
        return None
    metrics = [m for m in metrics if (sub.metric == m).any()]
    groups = [g for g in groups if (sub.group == g).any()]
    width, height = min(2.6 * len(metrics) + 1.2, 15), 1.3 + 0.3 * len(groups)
    fig = new_figure(width, height)
    ylabels = [g.replace("_", " ") for g in groups]
    xlabels: list[str] = []
    titles: list[str] = []
    for k, m in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        xlabels += _panel(ax, sub[sub.metric == m].set_index("group"), groups, tol)
        ax.set_yticks(range(len(groups)))
        ax.set_yticklabels(ylabels if k == 0 else [""] * len(groups), fontsize=8)
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.tick_params(axis="x", labelsize=7)
        short = MEASURES[m].short
        titles.append(short if MEASURES[m].against_one else f"{short} (ratio)")
        # placed where matplotlib would place it, without measuring every tick label for it
        ax.set_title(titles[-1], fontsize=9, y=1.0)
    # the panels' area as the default margins left it (0.775 and 0.77 of the figure)
    _fixed_layout(fig, (0.775 * width, 0.77 * height), ylabels, xlabels, titles)
    return figure_png(fig, tight=False)


def _panel(ax: Axes, rows: pd.DataFrame, groups: list[str], tol: Tolerance) -> list[str]:
    """One measure's panel: each group's ratio and interval on a log axis, the tolerance
    shaded; returns the x axis's tick labels."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    style = {"flag": ("D", "#b42318"), "watch": ("o", "#b7791f"), "within": ("s", "#1a7f37")}
    ax.axvspan(tol.low, tol.high, color="#e3f6e8", zorder=0)
    ax.axvline(1.0, color="#57606a", lw=0.8, zorder=1)
    xs = []
    for yi, g in enumerate(groups):
        if g not in rows.index:
            continue
        r = rows.loc[g]
        try:
            lo, hi, x = float(r.ratio_low), float(r.ratio_high), float(r.ratio)
        except (TypeError, ValueError):
            continue
        if not (np.isfinite(x) and x > 0):
            continue
        marker, colour = style[r.status]
        if np.isfinite(lo) and np.isfinite(hi) and lo > 0:
            ax.plot([lo, hi], [yi, yi], color=colour, lw=1.6, zorder=2)
            xs += [lo, hi]
        ax.plot([x], [yi], marker=marker, color=colour, ms=6, zorder=3, ls="none")
        xs.append(x)
    ax.set_xscale("log")
    span = [v for v in xs if v > 0] + [tol.low, tol.high]
    left, right = min(span) / 1.15, max(span) * 1.15
    ax.set_xlim(left, right)
    # A few labelled ticks only: log axes otherwise label dozens of minor ticks.
    ticks = spaced_ticks(left, right, (tol.low, tol.high))
    labels = [f"{v:g}" for v in ticks]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))
    ax.xaxis.set_minor_locator(NullLocator())
    return labels


def _fixed_layout(fig: Figure, panels: tuple[float, float], ylabels: list[str], xlabels: list[str],
                  titles: list[str]) -> None:
    """Size ``fig`` round its panels' area (``panels``: width and height, inches) so that the
    group names, tick labels and titles fit, measured without drawing (``bbox_inches=
    "tight"`` would draw the figure once to find them, then again to save it)."""
    from riskmodel.evaluation._html import text_inches

    names, _ = text_inches(fig, ylabels, 8)
    ticks_w, ticks_h = text_inches(fig, xlabels, 7)
    left, right = _EDGE + names + _TICK_GAP, _EDGE + ticks_w / 2
    bottom, top = _EDGE + ticks_h + _TICK_GAP, _EDGE + text_inches(fig, titles, 9)[1] + _TITLE_GAP
    width, height = left + panels[0] + right, bottom + panels[1] + top
    fig.set_size_inches(width, height)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=0.08)


def spaced_ticks(left: float, right: float, tolerance: tuple[float, float],
                 gap: float = 0.13) -> list[float]:
    """The labelled ticks of a log ratio axis from ``left`` to ``right``: 1 first, then the
    tolerance's edges and round ratios, each kept only if it is at least ``gap`` of the
    axis's width from every tick kept, so no two labels run together ("0.81.25", #26 item 9).

    Examples
    --------
    >>> spaced_ticks(0.04, 4.6, (0.8, 1.25))
    [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]
    >>> spaced_ticks(0.6, 1.6, (0.8, 1.25))
    [0.8, 1.0, 1.25]
    """
    width = np.log(right / left)
    kept: list[float] = []
    for v in (1.0, *tolerance, 0.5, 2.0, 0.25, 4.0, 0.1, 10.0):
        if left <= v <= right and all(abs(np.log(v / k)) >= gap * width for k in kept):
            kept.append(v)
    return sorted(kept)


def render_fairness_html(audit: FairnessAudit, *, title: str, profile: pd.DataFrame,
                         charts: bool = True) -> str:
    """The self-contained HTML report of an audit (used by :func:`write_fairness_report`)."""
    from riskmodel.evaluation._html import render

    st = audit.settings
    words = {"s": st["subjects"], "pos": st["positive_words"], "neg": st["negative_words"]}
    pol = audit.policy
    probabilities = st["scores_are_probabilities"]
    metrics = [m for m in pol.metrics if probabilities or not MEASURES[m].probabilities]
    sections = []
    for key, rows in profile.groupby("section", sort=False):
        sections.append({"name": key, "note": rows["note"].iloc[0] if "note" in rows else "",
                         "rows": rows.to_dict("records")})
    tables = []
    for key, info in st["characteristics"].items():
        g = audit.groups[audit.groups.characteristic == key]
        tables.append({
            "key": key, "label": info["label"], "kind": info["kind"],
            "reference": info["reference"], "reference_note": info["reference_note"],
            "groups": g.to_dict("records"),
            "chart": (_chart(key, list(g.group), audit.ratios, metrics, pol.tolerance)
                      if charts else None),
        })
    shown = [m for m in MEASURES.values() if not m.referral
             and (m.in_groups_table or m.name in metrics or m.in_mitigation)
             and (probabilities or not m.probabilities)]
    explain = {m.name: m.explain.format(**words) for m in shown}
    names = headings(words["pos"], words["neg"])
    findings = audit.findings.to_dict("records") if len(audit.findings) else []
    referrals = audit.referrals.context() if audit.referrals is not None else None
    return render(
        "fairness.html.j2", title=title, audit=audit, settings=st, policy=pol,
        summary=audit.summary, notes=audit.notes, profile_sections=sections, tables=tables,
        overall=audit.groups.iloc[0].to_dict(), metrics=metrics, explain=explain,
        names=names, short={k: m.short for k, m in MEASURES.items()}, words=words,
        columns=group_columns(probabilities),
        mitigation_measures=[MEASURES[m] for m in MITIGATION_MEASURES], todo=what_to_do(audit),
        source_words=source_words,
        findings=[f for f in findings if f["status"] in ("flag", "watch")],
        other_findings=[f for f in findings if f["status"] not in ("flag", "watch")],
        referrals=referrals,
        mitigation=None if audit.mitigation is None else audit.mitigation.to_dict("records"),
        thresholds=None if audit.thresholds is None else audit.thresholds.to_dict("records"),
        confidence=round(100 * pol.bootstrap.confidence),
    )
