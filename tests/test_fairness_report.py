"""The HTML report: self-contained, opens in headless Chromium without console errors, and its
rendered text holds the summary but no suppressed count."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.evaluation import AuditOptions, fairness_audit, write_fairness_report

COMPAS = Path(__file__).resolve().parents[2] / "shared" / "external" / "compas" / \
    "compas-two-years.csv"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


def chromium(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The rendered DOM of ``page`` and the browser console messages it produced."""
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(exe).exists(), "headless Chromium is needed (apt-get install -y chromium)"
    profile = tmp_path / f"chromium-{page.stem}"
    done = subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


class _Page(HTMLParser):
    """Visible text, attributes that load things, and the rows of every table."""

    def __init__(self):
        super().__init__()
        self.text, self.links, self.tags = [], [], []
        self.rows, self._row, self._cell, self._skip = [], None, None, 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        self.links += [a[k] for k in ("src", "href") if a.get(k)]
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = [a.get("class") or "", ""]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        if tag in ("td", "th") and self._cell is not None:
            self._row.append((self._cell[0], " ".join(self._cell[1].split())))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell[1] += data


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


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
    for heading in ("Summary", "Who is in this audit", "Relative rate index", "Methods",
                    "Caveats", "Mitigation: a policy decision for the council"):
        assert f">{heading}</h2>" in html, heading
    assert "Labels reflect past decisions" in html
    assert audit.summary and all(s.replace("'", "&#39;") in html for s in audit.summary)


def test_report_renders_in_chromium_with_summary_and_no_suppressed_count(report, tmp_path):
    df, audit, paths = report
    dom, console = chromium(paths["html"], tmp_path)
    assert not console, console
    page = parse(dom)
    text = " ".join(" ".join(page.text).split())
    assert "COMPAS disproportionality" in text
    for sentence in audit.summary:
        assert sentence in text, sentence
    assert re.search(r"who reoffended were missed \d+\.\d\d times as often as those in", text)

    # No count cell anywhere on the page holds a number from 1 to 4.
    counts = [c for row in page.rows for cls, c in row if "count" in cls.split()]
    assert counts and not [c for c in counts if re.fullmatch(r"[1-4]", c)]
    # Intersection cells the data say are small are shown suppressed, whole row.
    sizes = df.groupby(["race", "sex"]).size()
    small = {f"{r} \u00d7 {s}": int(n) for (r, s), n in sizes.items() if n < 5}
    assert small, "COMPAS has small race x sex cells"
    seen = 0
    for row in page.rows:
        if not row or row[0][1] not in small:
            continue
        rest = [c for _, c in row[1:]]
        assert str(small[row[0][1]]) not in rest, row
        cells = [c for cls, c in row if "count" in cls.split()]
        assert all(c in ("<5", "suppressed") for c in cells), row
        seen += bool(cells)
    assert seen >= len(small)


def test_console_capture_sees_errors(tmp_path):
    # A positive control: the same capture reports a page's console errors.
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("boom");'
                    "notDefined();</script></body></html>")
    _, console = chromium(page, tmp_path)
    assert any("boom" in line for line in console)
    assert any("notDefined" in line for line in console)
