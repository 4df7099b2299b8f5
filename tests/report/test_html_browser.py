"""The HTML report and the notebook cell in a real headless browser (Debian's
chromium): the page loads with no console message at all, its charts are in the
rendered page, a hostile column name is text; and what a person looks for is
on the screen, measured where the browser laid it out: the audit's title, each
probe's status, a chart whose drawing spans its range. Screenshots are kept
for people to look at (``tests/artifacts/report.png`` and ``notebook.png``, or
under ``$AUDITKIT_TEST_ARTIFACTS``)."""

from __future__ import annotations

import html
import json
import os
import re
import struct
import subprocess
from pathlib import Path

import pytest

import auditkit

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("AUDITKIT_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
# A browser that talks to nothing: no network of its own, no updates, no sync.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
)

WAIVING = {
    "fail_on": "high",
    "waivers": [{"probe": "target_leakage", "features": ["body"], "reason": "removed in v2", "expires": "2026-12-31"}],
}


def load(page: Path, profile: Path, *extra: str) -> tuple[str, list[str]]:
    """The page's DOM after it loaded, and every console message it logged."""
    proc = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_report_renders_in_a_browser_with_no_console_errors(cards, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(auditkit.render_html(cards.full_card_of(WAIVING)), encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)

    dom, console = load(page, tmp_path / "profile", "--window-size=1200,5200", f"--screenshot={shot}")

    assert console == []  # no error, no warning, no blocked load: nothing at all
    # The charts are in the rendered page, drawn.
    charts = re.findall(r'<figure class="chart" data-chart="([a-z_]+)">', dom)
    assert set(charts) == {"ranking", "group_rates", "slice_table", "outcome_grid", "curve"}
    assert dom.count("<svg") == len(charts)
    assert len(re.findall(r'<rect [^>]*class="bar"', dom)) >= 20
    assert len(re.findall(r'<rect [^>]*class="cell"', dom)) == 21
    assert re.search(r'<polyline points="[0-9., ]{200,}" class="curve">', dom)
    # The hostile column name is text in the page, never an element.
    assert "<img" not in dom
    assert dom.count("&lt;img src=x onerror=alert(1)&gt;") >= 5
    assert "waived (until 2026-12-31): removed in v2" in dom
    # The screenshot is there to look at, and is not a blank page.
    assert png_size(shot) == (1200, 5200)
    assert shot.stat().st_size > 100_000


def test_the_console_check_would_catch_a_page_that_misbehaves(tmp_path: Path) -> None:
    """The check above can fail: the same harness hears a script's error and a blocked handler."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>"
        "<body><img src=x onerror=alert(1)><p>hello</p></body></html>",
        encoding="utf-8",
    )
    dom, console = load(page, tmp_path / "profile")
    assert "<p>hello</p>" in dom
    assert any("Content Security Policy" in line for line in console)


# What a reader sees, measured by the browser that laid the page out: the measuring
# script belongs to the test page around the report (the report itself runs none).
MEASURE = """
function shown(el) {  // laid out, and not hidden (a closed fold hides its content without removing its boxes)
  if (!el || !el.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true})) return false;
  const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0;
}
function measure(doc) {
  const out = {probes: {}, charts: []};
  const h1 = doc.querySelector(".auditkit h1");
  out.title = shown(h1) ? h1.innerText : null;
  out.title_colour = getComputedStyle(h1).color;
  out.background = getComputedStyle(doc.querySelector(".auditkit")).backgroundColor;
  out.title_size = getComputedStyle(h1).fontSize;
  const facts = doc.querySelector(".auditkit table.facts"), fact = facts.querySelector("td");
  out.facts = {align: getComputedStyle(fact).textAlign, background: getComputedStyle(fact.parentElement).backgroundColor,
               left: facts.getBoundingClientRect().left - doc.querySelector(".auditkit").getBoundingClientRect().left};
  for (const row of doc.querySelectorAll("table.summary tr")) {
    const a = row.querySelector("a"), st = row.querySelector(".status");
    if (a && shown(st)) out.probes[a.innerText] = st.innerText;
  }
  for (const fold of doc.querySelectorAll("details.probe")) {
    const st = fold.querySelector("summary .status");
    if (shown(st)) out.probes[fold.dataset.probe] = st.innerText;
  }
  out.charts = [...doc.querySelectorAll("figure.chart")].filter(shown).map(f => f.dataset.chart);
  const curve = doc.querySelector("svg.chart-curve polyline.curve");
  if (shown(curve)) {
    out.curve = {height: curve.getBoundingClientRect().height, chart: curve.ownerSVGElement.getBoundingClientRect().height};
  }
  out.bars = [...doc.querySelectorAll("svg.chart-ranking rect.bar")].filter(shown).map(b => b.getBoundingClientRect().width);
  return out;
}
function report(doc) {
  const before = measure(doc);
  for (const fold of doc.querySelectorAll("details.probe")) fold.open = true;  // a reader opens every fold
  document.getElementById("measured").textContent = JSON.stringify({before: before, opened: measure(doc)});
}
"""
# A notebook's page: its own dark theme and global styles, which the cell must withstand.
# (Rules in the manner of JupyterLab's rendered-HTML styles, on a dark theme.)
NOTEBOOK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ background: #1e1e1e; color: #d4d4d4; font: 17px serif; }}
.jp-RenderedHTMLCommon h1 {{ font-size: 2.6em; margin-top: 1em; }}
.jp-RenderedHTMLCommon table {{ border: 1px solid #888; font-size: 12px; table-layout: fixed; margin-left: auto; margin-right: auto; }}
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr {{ text-align: right; border: 1px solid #888; padding: 0.5em; }}
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) {{ background: #333333; }}
.jp-RenderedHTMLCommon code {{ background-color: #333333; padding: 1px 5px; }}
</style></head><body>
<div class="jp-Cell"><div class="jp-InputPrompt">In [3]:</div><pre>card</pre>
<div class="jp-OutputArea-output jp-RenderedHTMLCommon" style="width: 1000px">{cell}</div></div>
<pre id="measured">not measured</pre>
<script>{script}
window.addEventListener("load", () => report(document));</script></body></html>"""
REPORT_FRAME = """<!DOCTYPE html><html><body>
<iframe id="report" src="report.html" style="width: 1200px; height: 1000px"></iframe>
<pre id="measured">not measured</pre>
<script>{script}
window.addEventListener("load", () => report(document.getElementById("report").contentDocument));</script></body></html>"""


def measured(page: Path, profile: Path, *extra: str) -> dict:
    dom, console = load(page, profile, "--allow-file-access-from-files", "--virtual-time-budget=5000", *extra)
    assert not [line for line in console if "Uncaught" in line], console
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, flags=re.S)
    assert found and found.group(1) != "not measured", dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def statuses(card) -> dict[str, str]:
    return {p.name: p.status for p in auditkit.scorecard_from_json(auditkit.render_json(card)).probes}


def test_a_reader_of_the_report_page_sees_the_title_every_status_and_a_chart_that_varies(cards, tmp_path: Path) -> None:
    card = cards.full_card_of()
    (tmp_path / "report.html").write_text(auditkit.render_html(card), encoding="utf-8")
    (tmp_path / "frame.html").write_text(REPORT_FRAME.format(script=MEASURE), encoding="utf-8")

    seen = measured(tmp_path / "frame.html", tmp_path / "profile")["before"]

    assert seen["title"] == cards.TITLE
    assert seen["probes"] == statuses(card)
    assert set(seen["charts"]) == {"ranking", "group_rates", "slice_table", "outcome_grid", "curve"}
    # The cost curve rises and falls across its chart instead of lying flat along an edge.
    assert seen["curve"]["height"] > 0.4 * seen["curve"]["chart"]
    # The leakage ranking's bars tell the features apart.
    assert len(seen["bars"]) >= 10 and max(seen["bars"]) > 1.5 * min(seen["bars"])


def test_a_reader_of_the_notebook_cell_sees_the_title_every_status_and_the_charts_when_opened(cards, tmp_path: Path) -> None:
    card = cards.full_card_of()
    page = tmp_path / "notebook.html"
    page.write_text(NOTEBOOK_PAGE.format(cell=card._repr_html_(), script=MEASURE), encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "notebook.png"
    shot.unlink(missing_ok=True)
    load(page, tmp_path / "shot", "--window-size=1100,2400", f"--screenshot={shot}")
    assert png_size(shot) == (1100, 2400)

    seen = measured(page, tmp_path / "profile")
    before, opened = seen["before"], seen["opened"]

    # The notebook's dark theme does not reach into the cell: dark text on white ...
    assert before["title"] == cards.TITLE
    assert before["title_colour"] == "rgb(31, 35, 40)" and before["background"] == "rgb(255, 255, 255)"
    # ... nor do its headings, right-aligned striped tables, centred or not.
    assert before["title_size"] == "18px"
    assert before["facts"] == {"align": "left", "background": "rgba(0, 0, 0, 0)", "left": before["facts"]["left"]}
    assert before["facts"]["left"] < 20
    # Every probe's status is on its folded line; the failed ones are open with their charts.
    assert before["probes"] == statuses(card)
    assert "ranking" in before["charts"] and "curve" not in before["charts"]  # cost_weighted_errors passed: folded
    assert len(before["bars"]) >= 10 and max(before["bars"]) > 1.5 * min(before["bars"])
    # Opened, the passed probe's cost curve spans its chart, within the cell's width.
    assert set(opened["charts"]) == {"ranking", "group_rates", "slice_table", "outcome_grid", "curve"}
    assert opened["curve"]["height"] > 0.4 * opened["curve"]["chart"]
