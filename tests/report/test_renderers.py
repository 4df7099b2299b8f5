"""The renderers, one pure function per format: HTML (static checks; the browser
test is beside this file), Markdown, JUnit XML and the terminal table."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import markupsafe
import numpy as np

import auditkit
from auditkit import Bar, Condition, Curve, Finding, GridCell, GroupRates, GroupRow, Marker, OutcomeGrid, ProbeResult, Ranking, SliceRow, SliceTable
from auditkit._report import _charts

WAIVING = {
    "fail_on": "high",
    "fail_on_error": True,
    "min_score": 0.0,
    "waivers": [
        {"probe": "target_leakage", "features": ["body"], "reason": "body is removed in v2 <b>soon</b>", "expires": "2026-12-31"},
        {"probe": "nan_injection", "reason": "the imputer ships next sprint", "expires": "2026-01-31"},
    ],
}


def svg_kinds(page: str) -> list[str]:
    return re.findall(r'<figure class="chart" data-chart="([a-z_]+)">', page)


# --- HTML ---------------------------------------------------------------------------------


def test_html_has_grade_score_a_section_per_probe_and_every_finding(full_card) -> None:
    page = auditkit.render_html(full_card)
    assert page.startswith("<!DOCTYPE html>")
    assert '<strong id="score">0</strong>/100' in page and 'class="grade grade-F"' in page
    for result in full_card.probes:
        assert f'<section class="probe" id="probe-{result.name}">' in page
        for f in result.findings:
            assert str(markupsafe.escape(f.message)) in page
    assert "RuntimeError: &lt;img src=x onerror=alert(1)&gt;" in page  # the error's reason
    assert "no costs were given" in page  # the skip's reason
    assert "seed 7" in page


def test_html_draws_a_chart_from_each_probes_figures(full_card) -> None:
    kinds = svg_kinds(auditkit.render_html(full_card))
    assert kinds == [
        "ranking",  # the leakage ranking
        "group_rates",
        "group_rates",  # one per sensitive column
        "ranking",  # the disparities
        "slice_table",
        "outcome_grid",
        "curve",
    ]


def test_every_string_from_data_is_escaped(full_card, cards) -> None:
    page = auditkit.render_html(full_card)
    assert cards.XSS not in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # Nothing runs, nothing loads: no script, no handler, no outside address, and the CSP says so.
    assert "<script" not in page
    assert not re.search(r"<[a-z]+\b[^>]*\son[a-z]+\s*=", page)  # no event handler in any tag
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page


def test_waived_findings_show_their_reason_and_expired_waivers_say_so(cards) -> None:
    page = auditkit.render_html(cards.full_card_of(WAIVING))
    assert "waived (until 2026-12-31): body is removed in v2 &lt;b&gt;soon&lt;/b&gt;" in page
    assert "waiver expired on 2026-01-31, so it no longer waives: the imputer ships next sprint" in page
    assert page.count('class="finding fails waived"') == 0
    assert page.count('class="finding waived"') == 1


def test_a_probe_without_figures_gets_its_section_without_a_chart(cards) -> None:
    bare = [dataclasses.replace(r, figures=()) for r in cards.full_card_of().probes]  # their metrics stay
    page = auditkit.render_html(cards.make_card(tuple(bare)))
    assert svg_kinds(page) == []
    assert "could not be drawn" not in page
    for r in bare:
        assert f'id="probe-{r.name}"' in page


def test_a_chart_that_fails_leaves_a_note_not_a_crash(cards, monkeypatch) -> None:
    def broken(figure):
        raise ValueError("a figure of an unexpected shape")

    monkeypatch.setitem(_charts.DRAWERS, "ranking", broken)
    page = auditkit.render_html(cards.make_card((cards.leakage_result(), cards.cost_result())))
    assert "The chart &#39;The leakage ranking: ROC AUC of each feature alone&#39; could not be drawn (ValueError: a figure of an unexpected shape)." in page
    assert svg_kinds(page) == ["curve"]


def _huge_figures(label: str = "x", long: str = "", points: int = 1_000_000) -> tuple[Any, ...]:
    """Figures far past every cap: 5,000 ranked features, 1,000 groups, 1,000 slices,
    a curve of a million points, a 500 x 60 grid."""
    curve = np.linspace(0, 1, points)
    return (
        Ranking(title="ranking", metric="ROC AUC", bars=tuple(Bar(f"{label}{i}", 0.5 + (4999 - i) / 20000, 0.4, 0.9) for i in range(5000))),
        GroupRates(title="groups", feature="s", metrics=("selection_rate", "accuracy"), groups=tuple(GroupRow(f"g{g}", 1000 + g, (0.3, 0.8)) for g in range(1000))),
        SliceTable(title="slices", metric="error", slices=tuple(SliceRow((Condition("a", "==", long),), 9, 0.5) for _ in range(1000))),
        Curve(title="curve", x_label="threshold", y_label="cost", x=curve, y=curve**2, markers=(Marker(0.0, None, "optimal", "optimal"),)),
        OutcomeGrid(title="grid", rows=tuple(f"c{i}" for i in range(500)), columns=tuple(f"k{j}" for j in range(60)),
                    cells=tuple(GridCell(f"c{i}", f"k{j}", "handled", "rows 1000") for i in range(500) for j in range(60))),
    )


def test_the_charts_cap_what_they_draw() -> None:
    big = ProbeResult(name="huge", status="passed", score=100.0, figures=_huge_figures())
    charts, notes = _charts.charts_for(big)
    assert notes == []
    by_kind = {c.kind: c for c in charts}
    bars = [s for s in by_kind["ranking"].shapes if s.tag == "rect"]
    assert len(bars) == _charts.MAX_BARS
    assert "x0" in {s.text for s in by_kind["ranking"].shapes}  # the top one is drawn
    assert "the other 4980 are in the JSON scorecard" in by_kind["ranking"].caption
    assert len([s for s in by_kind["group_rates"].shapes if s.tag == "rect"]) == 2 * _charts.MAX_GROUPS
    assert len([s for s in by_kind["slice_table"].shapes if s.tag == "rect"]) == _charts.MAX_SLICES
    points = [p for s in by_kind["curve"].shapes if s.tag == "polyline" for p in dict(s.attrs)["points"].split()]
    assert len(points) <= _charts.MAX_CURVE_POINTS + 2
    cells = [s for s in by_kind["outcome_grid"].shapes if s.tag == "rect"]
    assert len(cells) == _charts.MAX_GRID_ROWS * _charts.MAX_GRID_COLUMNS
    assert f"{500 - _charts.MAX_GRID_ROWS} more rows" in by_kind["outcome_grid"].caption


def test_the_page_of_a_huge_audit_stays_under_2_mb(cards) -> None:
    """What a 1M-row audit can put in a scorecard, and more: thousands of ranked
    features and groups, a 200,000-point curve, a 500-column grid, 3,000 findings
    with long examples, five times over. The page caps what it draws and lists;
    the JSON keeps it all."""
    long = "v" * 5000
    findings = tuple(
        Finding(
            code="underperforming_slice",
            severity=("critical", "high", "medium", "low", "info")[i % 5],
            message=f"Slice {i}: the model errs on 41% of 1,000 rows where edu == {long!r}.",
            features=tuple(f"f{j}" for j in range(30)),
            slice=(Condition("edu", "==", long),),
            metrics={f"m{j}": j / 7 for j in range(200)},
            examples=tuple({"row": r, "text": long} for r in range(50)),
        )
        for i in range(3000)
    )
    probes = tuple(
        ProbeResult(
            name=f"probe_{k}",
            status="failed",
            score=0.0,
            metrics={"blob": [list(range(100))] * 1000},
            figures=_huge_figures("x" * 10, long, points=200_000),
            findings=findings,
        )
        for k in range(5)
    )
    page = auditkit.render_html(cards.make_card(probes))
    size = len(page.encode("utf-8"))
    assert size < 2_000_000, size
    print(f"page of the huge audit: {size:,} bytes")
    assert "more findings are in the JSON scorecard" in page


def test_html_is_a_pure_function_of_the_scorecard(full_card) -> None:
    assert auditkit.render_html(full_card) == auditkit.render_html(full_card)
    again = auditkit.scorecard_from_json(auditkit.render_json(full_card))
    assert auditkit.render_html(again) == auditkit.render_html(full_card)


def test_group_rates_draw_the_intervals_the_figure_carries(cards) -> None:
    result = cards.bias_result()
    charts, _ = _charts.charts_for(result)
    sex = next(c for c in charts if c.kind == "group_rates" and c.title.endswith("sex"))
    female = next(g for g in result.figures[0].groups if g.group == "female")
    tips = [s.tooltip for s in sex.shapes if s.tooltip and s.tooltip.startswith("female")]
    assert f"95% CI {female.lows[0]:.4g} to {female.highs[0]:.4g}" in tips[0]


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_is_a_short_summary_with_a_row_per_probe(full_card) -> None:
    md = auditkit.render_markdown(full_card)
    assert md.splitlines()[:3] == [
        "### \u274c credit model v3 vs 2026-Q4 traffic", "", "auditkit: audit **FAILED**, score 0/100 (grade F)",
    ]
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == [f"`{p.name}`" for p in full_card.probes]
    assert all(r.count("|") == 5 for r in rows)  # four cells each, none split by data
    assert "<details><summary>Findings (6)</summary>" in md
    assert len(md) < 10_000


def test_markdown_escapes_data_so_it_neither_runs_nor_breaks_the_table(cards) -> None:
    hostile = "a|b <script>alert(1)</script> [x](javascript:alert(1)) **bold** `tick`"
    probe = ProbeResult(
        name="target_leakage",
        status="failed",
        score=0.0,
        findings=(Finding(code="single_feature_leak", severity="critical", message=hostile, features=(hostile,)),),
    )
    md = auditkit.render_markdown(cards.make_card((probe,)))
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "[x](javascript" not in md and "\\[x\\]" in md
    assert "\\*\\*bold\\*\\*" in md and "\\`tick\\`" in md
    (row,) = [line for line in md.splitlines() if line.startswith("| `target_leakage`")]
    assert row.count("|") - row.count("\\|") == 5
    assert md.count("a\\|b &lt;script&gt;") == 3  # the table, the finding, its feature: all escaped


def test_markdown_marks_waived_findings_and_lapsed_waivers(cards) -> None:
    md = auditkit.render_markdown(cards.full_card_of(WAIVING))
    assert "_waived (until 2026\\-12\\-31): body is removed in v2 &lt;b&gt;soon&lt;/b&gt;_" in md.replace("-", "\\-") or (
        "_waived (until 2026-12-31): body is removed in v2 &lt;b&gt;soon&lt;/b&gt;_" in md
    )
    assert "waiver for nan\\_injection expired on 2026-01-31 and no longer waives" in md
    (row,) = [line for line in md.splitlines() if line.startswith("| `target_leakage`")]
    assert "(+1 more)" in row


def test_markdown_lists_at_most_30_findings(cards) -> None:
    many = ProbeResult(
        name="p",
        status="failed",
        score=0.0,
        findings=tuple(Finding(code="c", severity="high", message=f"finding {i}") for i in range(100)),
    )
    md = auditkit.render_markdown(cards.make_card((many,)))
    assert md.count("\n- **high**") == 30 and "and 70 more in the full report" in md


# --- JUnit XML ----------------------------------------------------------------------------


def test_junit_has_one_testcase_per_probe_with_its_outcome(full_card) -> None:
    root = ET.fromstring(auditkit.render_junit(full_card))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "3", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == [p.name for p in full_card.probes]
    leak = cases["target_leakage"].find("failure")
    assert leak is not None and leak.get("type") == "critical"
    assert "Feature '<img src=x onerror=alert(1)>' alone predicts" in leak.get("message", "")
    assert "target_leakage/single_feature_leak" in (leak.text or "") and "re-run with seed 7" in (leak.text or "")
    assert cases["broken"].find("error") is not None
    assert cases["needs_costs"].find("skipped").get("message") == "no costs were given"
    # A finding below the gate is no failure, but it is not lost either.
    cost = cases["cost_weighted_errors"]
    assert cost.find("failure") is None
    assert "money_left_on_table" in cost.find("system-out").text


def test_junit_metrics_are_flattened_bounded_properties(full_card) -> None:
    root = ET.fromstring(auditkit.render_junit(full_card))
    case = next(c for c in root.iter("testcase") if c.get("name") == "target_leakage")
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    # The same properties, under the same names, as the pytest plugin records under --junitxml.
    from auditkit._report._junit import MAX_METRIC_PROPERTIES, probe_properties

    assert list(props.items()) == probe_properties(full_card["target_leakage"])
    assert len(props) <= MAX_METRIC_PROPERTIES + 10
    assert props["auditkit.status"] == "failed" and props["auditkit.score"] == "0" and props["auditkit.seed"] == "11"
    assert props["auditkit.metric.model_score.score"] == "0.99"
    assert props["auditkit.worst_severity"] == "critical"
    # A list (the ranking of 42 features) is one property, cut to a bounded length.
    ranking = props["auditkit.metric.ranking"]
    assert ranking.startswith('[{"feature": ') and len(ranking) <= 200
    suite_props = {p.get("name"): p.get("value") for p in root.find("testsuite").find("properties")}
    assert suite_props["passed"] == "false" and suite_props["grade"] == "F"


def test_junit_survives_characters_xml_cannot_carry(cards) -> None:
    probe = ProbeResult(
        name="p",
        status="error",
        reason="bad byte \x00 and \x1b[31m colour",
        metrics={"col\x07": 1.0},
    )
    text = auditkit.render_junit(cards.make_card((probe,)))
    root = ET.fromstring(text)
    error = next(root.iter("error"))
    assert error.get("message") == "bad byte \ufffd and \ufffd[31m colour"


def test_junit_marks_waived_findings_and_leaves_them_out_of_the_failure(cards) -> None:
    root = ET.fromstring(auditkit.render_junit(cards.full_card_of(WAIVING)))
    case = next(c for c in root.iter("testcase") if c.get("name") == "target_leakage")
    assert "body" not in case.find("failure").text
    assert "waived (until 2026-12-31): body is removed in v2 <b>soon</b>" in case.find("system-out").text
    assert "nan_injection expired on 2026-01-31" in root.find("testsuite").find("system-err").text


# --- terminal -----------------------------------------------------------------------------


def test_the_terminal_table_is_plain_when_piped_and_coloured_on_a_tty(cards) -> None:
    card = cards.full_card_of(WAIVING)
    plain = auditkit.render_terminal(card)
    assert "\x1b[" not in plain
    lines = plain.splitlines()
    assert lines[0] == "credit model v3 vs 2026-Q4 traffic"
    assert lines[1].startswith("auditkit 0.1.0 - audit FAILED: score 0/100, grade F")
    leak_row = plain[plain.index("\ntarget_leakage") : plain.index("\nslice_bias")]  # wrapped over lines
    assert "(1 waived)" in leak_row
    assert "note: waiver for nan_injection expired on 2026-01-31 and no longer waives" in plain
    coloured = auditkit.render_terminal(card, color=True)
    assert "\x1b[" in coloured


def test_a_probe_whose_findings_are_all_waived_says_so(cards) -> None:
    policy = {"fail_on": "high", "waivers": [{"probe": "nan_injection", "reason": "known"}]}
    plain = auditkit.render_terminal(cards.make_card((cards.injection_result(),), policy=policy))
    assert "no findings (1 waived)" in plain


def test_every_renderer_takes_a_scorecard_and_returns_a_string(full_card) -> None:
    for render in (auditkit.render_html, auditkit.render_markdown, auditkit.render_junit, auditkit.render_terminal, auditkit.render_json):
        assert isinstance(render(full_card), str)
    json.loads(auditkit.render_json(full_card))


def test_the_template_ships_with_the_package() -> None:
    """Under ``make test`` auditkit is an installed wheel: this fails if package-data forgot the template."""
    from importlib import resources

    assert resources.files("auditkit._report").joinpath("templates", "report.html.j2").is_file()


def test_the_outcome_grid_shows_each_cell_with_its_counts(cards) -> None:
    (chart,) = _charts.charts_for(cards.injection_result())[0]
    tips = {s.tooltip for s in chart.shapes if s.tag == "rect"}
    assert {"age x nan: silent corruption", "fare x huge: overflow", "fare x nan: handled"} <= tips
    assert len(tips) == 21


def test_every_headline_gives_the_gate_score_when_waivers_move_it(cards) -> None:
    # Waived, the leak no longer counts: the gate holds 100 against its floor while the
    # score, which counts every finding, reads 25. A headline of "PASSED, 25/100" alone
    # would contradict the floor it prints.
    from auditkit._scoring import overall_score

    policy = {"fail_on": "critical", "min_score": 60, "waivers": [{"probe": "target_leakage", "reason": "known"}]}
    probes = (cards.leakage_result(),)
    card = cards.make_card(probes, policy=policy, score=overall_score(probes), passed=True)
    gate = auditkit.render_json(card) and json.loads(auditkit.render_json(card))["verdict"]["gate_score"]
    assert round(gate) != round(card.score) and gate >= 60 > card.score
    note = f"ate score {gate:.0f}/100 with waived findings set aside (floor 60)"
    assert note in auditkit.render_terminal(card, width=400).splitlines()[1]  # under the title
    assert "below score 60" in auditkit.render_terminal(card, width=400).splitlines()[2]
    assert note in auditkit.render_markdown(card).split("| probe |")[0]
    assert note in auditkit.render_html(card)
    # without waivers, no note
    plain = cards.make_card(probes, score=overall_score(probes))
    assert "ate score" not in auditkit.render_terminal(plain) + auditkit.render_markdown(plain)


def test_errored_probes_are_counted_in_the_headline(full_card) -> None:
    # The score counts the probes that ran; one that errored may hide anything.
    head = auditkit.render_terminal(full_card, width=400).splitlines()[1]
    assert "1 of 6 probes errored and is not scored" in head
    assert "1 of 6 probes errored and is not scored" in auditkit.render_markdown(full_card).split("| probe |")[0]


def test_the_reports_give_the_verdicts_reasons(full_card) -> None:
    from auditkit._judge import judge_scorecard

    reasons = judge_scorecard(full_card).verdict.reasons
    assert reasons[0].startswith("probe target_leakage failed: 2 finding(s) at or above high (single_feature_leak)")
    assert any(r.startswith("probe broken could not run: RuntimeError") for r in reasons)
    page = auditkit.render_html(full_card)
    assert 'id="reasons"' in page and "probe slice_bias failed: 1 finding(s) at or above high" in page
    assert "Why it failed: probe target" in auditkit.render_markdown(full_card)
