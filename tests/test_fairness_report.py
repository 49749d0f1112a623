"""The HTML report: self-contained, opens in headless Chromium without console errors, and its
rendered text holds the summary but no suppressed count."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.evaluation import AuditOptions, fairness_audit, write_fairness_report

from helpers.browser import CHROMIUM_FLAGS, chromium, parse
from helpers.frames import child_dates
from helpers.shared import COMPAS


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    assert COMPAS.is_file(), f"the COMPAS sample is missing: expected {COMPAS}"
    df = pd.read_csv(COMPAS)
    audit = fairness_audit(df, AuditOptions(
        label="two_year_recid", score="decile_score", threshold=5,
        sensitive="race,sex,race*sex", mitigate=True,
        policy={"characteristics": {"race": None, "sex": None}, "intersections": [],
                "bootstrap": {"n": 50}, "mitigation": {"characteristic": "race"}},
        subjects="people", positive_words="reoffended", negative_words="did not reoffend",
    ))
    out = tmp_path_factory.mktemp("compas_report")
    paths = write_fairness_report(audit, out, title="COMPAS disproportionality")
    return df, audit, paths


def test_report_is_self_contained(report):
    _, audit, paths = report
    html = paths["html"].read_text()
    page = parse(html)
    assert not [x for x in page.links if "http" in x.lower()]
    assert all(x.startswith("data:image/png;base64,") for x in page.links)
    assert len(page.links) >= 3  # one chart per characteristic and intersection
    assert "script" not in page.tags and "link" not in page.tags
    for heading in ("Summary", "What to do", "Findings", "Who is in this audit",
                    "Figures for each group", "Methods", "Caveats",
                    "Mitigation: a policy decision for the council"):
        assert f">{heading}</h2>" in html, heading
    assert "cannot see bias that is in the labels" in html
    assert audit.summary and all(s.replace("'", "&#39;") in html for s in audit.summary)


def test_report_renders_in_chromium_with_verdict_and_only_rounded_counts(report, tmp_path):
    df, audit, paths = report
    dom, console = chromium(paths["html"], tmp_path)
    assert not console, console
    page = parse(dom)
    text = " ".join(" ".join(page.text).split())
    assert "COMPAS disproportionality" in text
    for sentence in audit.summary:
        assert sentence in text, sentence
    assert audit.summary[0].startswith("Verdict:")
    assert re.search(r"who reoffended were missed \d+\.\d\d times as often as other people",
                     text)
    # Every count on the page is a multiple of 5 (rounded by its cell key).
    counts = [c for row in page.rows for cls, c in row if "count" in cls.split()]
    assert counts and all(int(c.replace(",", "")) % 5 == 0 for c in counts), counts
    # Words for readers: no names_with_underscores, no log-odds.
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    assert "log-odds" not in text.lower() and "log odds" not in text.lower()


def test_in_their_favour_has_its_own_badge_and_is_in_the_legend(report):
    """#26 item 5: a flag in a group's favour is not drawn as a disparity against it."""
    from riskmodel.evaluation.fairness._report import render_fairness_html

    _, audit, _ = report
    f = audit.findings.copy()
    f.loc[0, ["status", "direction"]] = ["flag", "advantaged"]
    f.loc[1, ["status", "direction"]] = ["flag", "disadvantaged"]
    html = render_fairness_html(replace(audit, findings=f), title="t", profile=audit.profile,
                                charts=False)
    badges = re.findall(r'<span class="status ([a-z]+)">([^<]*)</span>', html)
    favour = {cls for cls, words in badges if "in their favour" in words}
    against = {cls for cls, words in badges if "disadvantaged" in words}
    assert favour and against and not favour & against, badges
    legend = html[html.index("How to read the findings"):html.index("</div>",
                                                                      html.index("How to read"))]
    assert "in their favour" in legend and "Other side of a flag" in legend


MEASURE_SCRIPT = """<script>
window.addEventListener("load", () => {
  const page = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("table, figure, img, section")]
    .filter(e => e.getBoundingClientRect().right > page + 1 || e.scrollWidth > e.clientWidth + 1)
    .map(e => e.tagName + ":" + (e.querySelector("caption") || e).textContent.slice(0, 60));
  document.body.setAttribute("data-overflow", JSON.stringify(wide));
});
</script>"""


def overflowing(page: Path, tmp_path: Path, width: int) -> list[str]:
    """Elements of ``page`` wider than a window ``width`` pixels wide (headless Chromium)."""
    probe = tmp_path / f"probe-{page.stem}.html"
    probe.write_text(page.read_text().replace("</body>", MEASURE_SCRIPT + "</body>"))
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             f"--window-size={width},2000"]
    done = subprocess.run([exe, *flags, "--dump-dom", probe.as_uri()], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-overflow="([^"]*)"', done.stdout)
    assert found, "the measuring script did not run"
    return json.loads(html.unescape(found.group(1)))


def test_the_overflow_probe_sees_a_wide_table(tmp_path):
    # A positive control: a table wider than the window is reported.
    page = tmp_path / "wide.html"
    page.write_text("<!DOCTYPE html><html><body><table><caption>too wide</caption><tr>"
                    f"<td style='white-space:nowrap'>{'x' * 400}</td></tr></table></body></html>")
    assert any("too wide" in e for e in overflowing(page, tmp_path, 900))


@pytest.mark.parametrize("width", [1280, 900])
def test_wide_tables_fit_the_page(report, tmp_path, width):
    """A screenshot at laptop widths, and no table wider than the page."""
    _, _, paths = report
    assert overflowing(paths["html"], tmp_path, width) == []
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             f"--window-size={width},2000"]
    shot = tmp_path / f"report-{width}.png"
    done = subprocess.run([exe, *flags, f"--screenshot={shot}", paths["html"].as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and shot.stat().st_size > 10_000


def test_console_capture_sees_errors(tmp_path):
    # A positive control: the same capture reports a page's console errors.
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("boom");'
                    "notDefined();</script></body></html>")
    _, console = chromium(page, tmp_path)
    assert any("boom" in line for line in console)
    assert any("notDefined" in line for line in console)


def test_front_door_tables_fit_the_page_too(council, tmp_path):
    """A report with the front door (13 columns of referral rates) at 900 pixels."""
    import numpy as np

    from riskmodel.evaluation import add_referrals, referral_disproportionality
    from riskmodel.jobs._extract import open_extract

    tables = open_extract(council).tables
    kids = tables["children"]
    rng = np.random.default_rng(0)
    frame = kids[["child_id", "ethnicity", "sex"]].astype(str).reset_index(drop=True)
    frame["score"] = rng.uniform(size=len(frame))
    frame["label"] = (rng.uniform(size=len(frame)) < 0.2).astype(int)
    audit = fairness_audit(frame, AuditOptions(label="label", score="score", top="10%",
                                               sensitive="ethnicity,sex", bootstrap=False))
    add_referrals(audit, referral_disproportionality(kids, tables["contacts"]))
    paths = write_fairness_report(audit, tmp_path / "report")
    text = paths["html"].read_text()
    assert "The front door" in text and "the local authority" in text.lower()
    assert overflowing(paths["html"], tmp_path, 900) == []


def test_the_fairness_summary_counts_child_date_rows_as_rows(tmp_path):
    """Rows of children at several as-of dates are called child-date rows, not children,
    in the summary and in the report's "who is in this audit"."""
    frame = child_dates(160, 1)
    audit = fairness_audit(frame, AuditOptions(label="label", score="score", top="10%",
                                               sensitive="sex", bootstrap=False))
    n = audit.settings["n"]
    said = audit.summary[1]
    assert said.startswith(f"This audit covers {n:,} child-date rows (children at 2 as-of "
                           "dates"), said
    assert f"{n:,} children" not in " ".join(audit.summary)
    html = write_fairness_report(audit, tmp_path / "report")["html"].read_text()
    assert "Rows with a known outcome (children at 2 as-of dates" in html
    assert "Children with a known outcome" not in html
    one_date = frame[frame["as_of"] == frame["as_of"].min()]
    one = fairness_audit(one_date, AuditOptions(label="label", score="score", top="10%",
                                                sensitive="sex", bootstrap=False))
    assert one.summary[1].startswith(
        f"This audit covers {one.settings['n']:,} children at one as-of date."), one.summary[1]
