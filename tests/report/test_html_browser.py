"""The HTML report in a real headless browser (Debian's chromium): it loads with
no console message at all, its charts are in the rendered page, a hostile
column name is text, and a screenshot is kept for people to look at
(``tests/artifacts/report.png``, or under ``$AUDITKIT_TEST_ARTIFACTS``)."""

from __future__ import annotations

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
