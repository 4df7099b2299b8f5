"""A scorecard or a probe result in a notebook cell (``_repr_html_``): the
report's content as a fragment that lives inside the notebook's page without
touching it, one fold per probe, its charts drawn by the report's own code."""

from __future__ import annotations

import dataclasses
import re

import auditkit
from auditkit._report import render_probe_notebook
from auditkit._report._html import NOTEBOOK
from auditkit._report._notebook import CUT_NOTE

FOLD = re.compile(r'<details class="probe" data-probe="([^"]+)"( open)?>')


def charts(html: str) -> list[str]:
    return re.findall(r'<figure class="chart" data-chart="[a-z_]+">.*?</figure>', html, flags=re.S)


def test_a_scorecard_shows_as_the_report_in_a_cell(full_card) -> None:
    cell = full_card._repr_html_()
    assert cell.startswith('<div class="auditkit notebook">') and cell.rstrip().endswith("</div>")
    assert "<h1>credit model v3 vs 2026-Q4 traffic</h1>" in cell
    assert '<span class="verdict verdict-FAILED">FAILED</span>' in cell
    # One fold per probe, in the scorecard's order; what needs reading starts open.
    folds = FOLD.findall(cell)
    assert [name for name, _ in folds] == [p.name for p in full_card.probes]
    opened = {name for name, is_open in folds if is_open}
    judged = {p.name: p.status for p in auditkit.scorecard_from_json(auditkit.render_json(full_card)).probes}
    assert opened == {name for name, status in judged.items() if status in ("failed", "error")}
    # Each fold's line gives the probe's status and score without opening it.
    line = re.search(r'data-probe="needs_costs">\s*<summary>(.*?)</summary>', cell, flags=re.S).group(1)
    assert '<span class="status status-skipped">skipped</span>' in line and "no costs were given" in line
    assert CUT_NOTE.format(n=NOTEBOOK.findings_per_probe) not in cell  # nothing was left out


def test_the_cell_is_a_fragment_that_leaves_the_notebook_page_alone(full_card) -> None:
    cell = full_card._repr_html_()
    for tag in ("<script", "<html", "<head", "<body", "<link", "<iframe", "<meta"):
        assert tag not in cell.lower()
    assert " id=" not in cell  # a notebook shows many audits: ids would collide
    assert "<img" not in cell and "&lt;img src=x onerror=alert(1)&gt;" in cell  # hostile data is text
    # Every style rule is scoped to the cell, so the notebook's own look is untouched.
    (css,) = re.findall(r"<style>(.*?)</style>", cell, flags=re.S)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", re.sub(r"@media[^{]*\{", "", css)) for s in block.split(",")]
    assert selectors and all(s.startswith(".auditkit") for s in selectors), [s for s in selectors if not s.startswith(".auditkit")]


def test_the_cells_charts_are_the_reports_charts(full_card) -> None:
    """One drawing for both: the cell's charts are the page's, element for element."""
    page, cell = charts(auditkit.render_html(full_card)), charts(full_card._repr_html_())
    assert len(cell) == len(page) == 7 and cell == page
    kinds = {re.search(r'data-chart="([a-z_]+)"', c).group(1) for c in cell}
    assert kinds == {"ranking", "group_rates", "slice_table", "outcome_grid", "curve"}
    assert all('<p class="reading">' in c for c in cell)  # each with its one-line reading


def test_a_probe_result_shows_as_its_own_open_fold(full_card) -> None:
    result = full_card["cost_weighted_errors"]
    cell = result._repr_html_()
    assert FOLD.findall(cell) == [("cost_weighted_errors", " open")]
    assert "<h1>" not in cell  # no scorecard header: the result alone
    assert charts(cell) == charts(render_probe_notebook(result))
    assert 'data-chart="curve"' in cell and "money_left_on_table" in cell
    # A result not yet judged shows as it is, never as judged under a policy it did not meet.
    plain = auditkit.ProbeResult(name="raw", status="passed", score=100.0)
    assert "No findings." in plain._repr_html_() and "status-passed" in plain._repr_html_()


def test_a_cell_shows_the_worst_findings_and_says_where_the_rest_are(cards) -> None:
    leak = cards.leakage_result()
    many = dataclasses.replace(leak, findings=tuple(
        dataclasses.replace(leak.findings[1], features=(f"f{i}",), message=f"Feature 'f{i}' leaks.") for i in range(25)
    ) + leak.findings[:1])
    cell = cards.make_card((many,))._repr_html_()
    assert cell.count('<div class="finding') == NOTEBOOK.findings_per_probe
    assert "single_feature_leak" in cell and "alone predicts" in cell  # the critical one is among those shown
    assert "16 more findings are in the JSON scorecard" in cell
    assert CUT_NOTE.format(n=NOTEBOOK.findings_per_probe) in cell
    assert auditkit.render_html(cards.make_card((many,))).count('<div class="finding') == 26  # the page has them all


def test_a_version_1_scorecard_shows_in_a_cell_without_charts_and_says_why(cards) -> None:
    old = cards.make_card(tuple(dataclasses.replace(p, figures=()) for p in cards.full_card_of().probes), schema_version=1)
    cell = old._repr_html_()
    assert "written before probes stored the figures" in cell and not charts(cell)


def test_a_diff_shows_both_audits_by_title_and_its_sections_in_a_cell(cards) -> None:
    base = cards.make_card((dataclasses.replace(cards.leakage_result(), findings=cards.leakage_result().findings[1:]),),
                           title="credit model v2 vs 2026-Q3 traffic")
    now = cards.full_card_of()
    cell = auditkit.diff_scorecards(base, now)._repr_html_()
    assert cell.startswith('<div class="auditkit notebook diff">') and "<script" not in cell and " id=" not in cell
    assert f"<tr><th>Baseline</th><td>credit model v2 vs 2026-Q3 traffic ({cards.CREATED})</td></tr>" in cell
    assert f"<tr><th>Current</th><td>{cards.TITLE} ({cards.CREATED})</td></tr>" in cell
    sections = re.findall(r'<details class="probe" data-section="([a-z]+)"( open)?>', cell)
    assert sections[0] == ("new", " open") and all(not opened for _, opened in sections[1:])
    # The critical leak is new, its hostile feature name text.
    new = cell[cell.index('data-section="new"') : cell.index("</details>")]
    assert "[critical] target_leakage/single_feature_leak" in new and "&lt;img src=x onerror=alert(1)&gt;" in new
    assert "<img" not in cell
