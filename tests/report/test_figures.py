"""The typed figures drawn in the HTML report: every kind, the outcome grid's whole
vocabulary (an overflow is drawn as overflow, a cell never tried as not run),
the cost curve zoomed on the thresholds that matter, a one-line reading under
every chart, and a version-1 scorecard (no figures) rendered without charts."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import numpy as np
import pytest

import auditkit
from auditkit import (
    OUTCOMES,
    Bar,
    Curve,
    GridCell,
    GroupRates,
    GroupRow,
    Marker,
    OutcomeGrid,
    ProbeResult,
    Ranking,
    Reference,
    SliceRow,
    SliceTable,
)
from auditkit._figures import FIGURE_KINDS
from auditkit._report._charts import DRAWERS, OUTCOME_COLOURS, Chart, charts_for

XSS = "<img src=x onerror=alert(1)>"


def one_chart(figure: Any) -> Chart:
    charts, notes = charts_for(ProbeResult(name="p", status="passed", figures=(figure,)))
    assert notes == []
    (chart,) = charts
    return chart


def page_of(cards: Any, *figures: Any, name: str = "probe") -> str:
    result = ProbeResult(name=name, status="failed", score=40.0, figures=figures)
    return auditkit.render_html(cards.make_card((result,)))


def figure_blocks(page: str) -> list[str]:
    return re.findall(r'<figure class="chart".*?</figure>', page, re.S)


def titanic_curve() -> Curve:
    """The shape of the cost curve on the shipped Titanic demo: 0.62 at threshold 0
    (flag everyone), 1.9 at threshold 1 (flag no one), 0.076-0.12 between."""
    x = np.linspace(0, 1, 201)
    y = 0.076 + 0.6 * (x - 0.14) ** 2
    y[x < 0.02] = 0.62 - (0.62 - 0.12) * x[x < 0.02] / 0.02
    y[x > 0.95] = 0.12 + (1.9 - 0.12) * (x[x > 0.95] - 0.95) / 0.05
    return Curve(
        title="Cost curve",
        x_label="threshold",
        y_label="expected cost per row",
        x=x.tolist(),
        y=y.tolist(),
        markers=(Marker(0.17, None, "current threshold", "current"), Marker(0.14, 0.076, "optimal threshold", "optimal")),
    )


SAMPLES: dict[str, Any] = {
    "ranking": Ranking(
        title="The leakage ranking",
        metric="ROC AUC",
        bars=(Bar("boat", 0.97, 0.95, 0.99, "high"), Bar("sex", 0.76, 0.72, 0.8), Bar("fare", 0.69)),
        references=(Reference(0.8, "near-leak", "threshold"), Reference(0.99, "whole model", "model"), Reference(0.5, "chance", "chance")),
        total=14,
    ),
    "group_rates": GroupRates(
        title="Rates per group of sex",
        feature="sex",
        metrics=("selection_rate", "false_negative_rate"),
        groups=(GroupRow("male", 843, (0.19, 0.21), (0.16, 0.17), (0.22, 0.25)), GroupRow("female", 466, (0.71, 0.48), (0.67, 0.41), (0.75, 0.55))),
    ),
    "slice_table": SliceTable(
        title="Slices where the model errs more",
        metric="error rate",
        slices=(SliceRow(({"feature": "age", "op": ">=", "value": 60},), 321, 0.41, 0.36, 0.46, "medium"),),
        overall=0.15,
    ),
    "curve": titanic_curve(),
    "outcome_grid": OutcomeGrid(
        title="What each injection did",
        rows=("age", "fare"),
        columns=("nan", "huge"),
        cells=(GridCell("age", "nan", "handled"), GridCell("age", "huge", "rejected"), GridCell("fare", "nan", "handled"), GridCell("fare", "huge", "overflow")),
    ),
}

READINGS = {
    "ranking": "Boat ranks first of 14: ROC AUC 0.97, above the near-leak line at 0.8 (1 of the top 3 above it); whole model: 0.99.",
    "group_rates": "Selection rate differs most across sex: 0.71 for female against 0.19 for male.",
    "slice_table": "Error rate is 0.41 where age &gt;= 60 (321 rows), 2.7 times the 0.15 overall.",
    "curve": None,  # computed from the figure below
    "outcome_grid": "Of 4 cells: 1 overflow, 1 rejected, 2 handled; the worst is fare x huge (overflow).",
}


def test_every_figure_kind_has_a_drawing_and_a_sample_here() -> None:
    assert set(DRAWERS) == set(FIGURE_KINDS) == set(SAMPLES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_figure_kind_is_drawn_in_the_page_with_its_reading(cards, kind: str) -> None:
    figure = SAMPLES[kind]
    page = page_of(cards, figure)
    (block,) = figure_blocks(page)
    assert f'data-chart="{kind}"' in block
    assert f'<figcaption class="chart-title">{html.escape(figure.title)}</figcaption>' in block
    reading = re.search(r'<p class="reading">(.*?)</p>', block).group(1)
    if READINGS[kind] is not None:
        assert reading == READINGS[kind]
    assert re.search(r"<(rect|polyline)\b", block)  # something is drawn, not an empty frame
    # The same figure read back from the JSON scorecard draws the same chart.
    again = auditkit.render_html(auditkit.scorecard_from_json(auditkit.render_json(cards.make_card((ProbeResult(name="probe", status="failed", score=40.0, figures=(figure,)),)))))
    assert figure_blocks(again) == [block]


def test_reports_never_draw_from_free_form_metrics(cards) -> None:
    """A probe whose metrics look like the old chart inputs, without figures, gets no chart."""
    legacy = cards.full_card_of()
    bare = tuple(ProbeResult(name=r.name, status=r.status, score=r.score, metrics=r.metrics, findings=r.findings) for r in legacy.probes)
    page = auditkit.render_html(cards.make_card(bare))
    assert figure_blocks(page) == []
    assert 'id="charts-notice"' not in page  # a version-2 card without figures is no old file


def test_a_long_note_beside_a_bar_is_cut_to_the_chart_and_kept_whole_in_the_tooltip() -> None:
    note = "female 0.069 vs male 0; " + "share of actual positives the model misses " * 3
    chart = one_chart(Ranking(title="Disparities", metric="ratio", bars=(Bar("sex", 0.3, 0.1, 0.99, note=note), Bar("race", 0.0, note=note))))
    for s in chart.shapes:
        if s.tag == "text" and s.attr("class") == "value":
            x = float(s.attr("x"))
            extent = x if s.attr("text-anchor") == "end" else x + len(s.text) * 6.4
            assert extent <= chart.width, s.text
    assert any(s.tooltip and s.tooltip.endswith(note) for s in chart.shapes)


# --- the outcome grid ---------------------------------------------------------------------


def test_every_outcome_has_its_own_colour() -> None:
    assert tuple(OUTCOME_COLOURS) == OUTCOMES
    assert len(set(OUTCOME_COLOURS.values())) == len(OUTCOMES)


def test_overflow_and_not_run_cells_show_for_what_they_are_in_the_page(cards) -> None:
    grid = OutcomeGrid(
        title="What each injection did, column by injection",
        rows=("age", "fare", XSS),
        columns=("nan", "huge", "inf"),
        cells=(
            GridCell("age", "nan", "silent_corruption", "12 of 12 rows NaN"),
            GridCell("age", "huge", "overflow", "probabilities NaN only above 1e308"),
            GridCell("age", "inf", "handled"),
            GridCell("fare", "nan", "crashed"),
            GridCell("fare", "huge", "not_run", "budget spent"),
            GridCell("fare", "inf", "rejected"),
            GridCell(XSS, "nan", "skipped"),
            GridCell(XSS, "huge", "not_run"),
        ),
    )
    page = page_of(cards, grid, name="nan_injection")
    (block,) = figure_blocks(page)
    cells = re.findall(r'<rect ([^>]*class="cell"[^>]*)>\s*<title>(.*?)</title>', block)
    drawn = {title: dict(re.findall(r'([a-z-]+)="([^"]*)"', attrs)) for attrs, title in cells}
    assert len(drawn) == 8  # the ninth pair was never planned: a blank square
    overflow = drawn["age x huge: overflow; probabilities NaN only above 1e308"]
    assert overflow["data-outcome"] == "overflow" and overflow["fill"] == OUTCOME_COLOURS["overflow"]
    not_run = drawn["fare x huge: not run; budget spent"]
    assert not_run["data-outcome"] == "not_run" and not_run["fill"] == OUTCOME_COLOURS["not_run"]
    assert drawn[f"{html.escape(XSS)} x huge: not run"]["data-outcome"] == "not_run"
    handled = drawn["age x inf: handled"]
    assert overflow["fill"] != handled["fill"] != not_run["fill"]
    assert sum(a["data-outcome"] == "handled" for a in drawn.values()) == 1  # an overflow is never drawn as handled
    # Every outcome in the legend, with its colour and count, the empty ones too.
    legend = dict((label, colour) for colour, label in re.findall(r'<i style="background: (#[0-9a-f]{6})"></i>([^<]*)</span>', block))
    assert legend == {
        "silent corruption (1)": OUTCOME_COLOURS["silent_corruption"],
        "crashed (1)": OUTCOME_COLOURS["crashed"],
        "overflow (1)": OUTCOME_COLOURS["overflow"],
        "rejected (1)": OUTCOME_COLOURS["rejected"],
        "handled (1)": OUTCOME_COLOURS["handled"],
        "not run (2)": OUTCOME_COLOURS["not_run"],
        "skipped (1)": OUTCOME_COLOURS["skipped"],
    }
    assert "Of 8 cells: 1 silent corruption, 1 crashed, 1 overflow, 1 rejected, 1 handled, 2 not run, 1 skipped; the worst is age x nan (silent corruption)." in block
    assert XSS not in page


def test_a_grid_cut_to_its_caps_keeps_the_rows_and_columns_that_went_wrong() -> None:
    rows = tuple(f"c{i}" for i in range(100))
    columns = tuple(f"k{j}" for j in range(50))
    cells = [GridCell(r, c, "handled") for r in rows for c in columns]
    cells[-1] = GridCell("c99", "k49", "overflow")  # the last pair, past both caps
    chart = one_chart(OutcomeGrid(title="grid", rows=rows, columns=columns, cells=tuple(cells)))
    outcomes = [s.attr("data-outcome") for s in chart.shapes if s.tag == "rect"]
    assert len(outcomes) == 30 * 30 and "overflow" in outcomes
    assert "70 more rows" in chart.caption and "20 more columns" in chart.caption


# --- the cost curve -----------------------------------------------------------------------


def _ticks(chart: Chart, anchor: str) -> list[float]:
    return [float(s.text) for s in chart.shapes if s.tag == "text" and s.attr("class") == "label tick" and s.attr("text-anchor") == anchor]


def test_the_cost_curve_is_zoomed_on_the_thresholds_that_matter_and_says_so() -> None:
    figure = titanic_curve()
    chart = one_chart(figure)
    y_ticks, x_ticks = _ticks(chart, "end"), _ticks(chart, "middle")
    # The y axis spans the costs around the marked thresholds (0.076 to 0.094 and a margin), not the extremes.
    assert min(y_ticks) <= 0.08 and 0.094 < max(y_ticks) < 0.2
    assert 0 <= min(x_ticks) <= 0.14 and 0.17 < max(x_ticks) <= 1
    # The curve fills the plot's height: what varies is visible.
    ys = [float(p.split(",")[1]) for s in chart.shapes if s.tag == "polyline" for p in s.attr("points").split()]
    assert max(ys) - min(ys) > 0.8 * 220
    assert "the extremes are clipped (the highest, 1.9, at threshold 1)" in chart.caption
    assert chart.caption.startswith("Zoomed on the marked points: threshold ")
    current = float(np.interp(0.17, figure.x, figure.y))
    fall = round((current - 0.076) / current * 100)
    assert chart.reading == f"Expected cost per row falls {fall}% if the threshold moves from 0.17 to 0.14 ({current:.2g} to 0.076)."
    assert {label for _, label in chart.legend} >= {"current threshold 0.17", "optimal threshold 0.14"}


def test_the_current_rule_without_a_threshold_is_a_level_the_reading_starts_from() -> None:
    figure = titanic_curve()
    figure = Curve(
        title=figure.title, x_label=figure.x_label, y_label=figure.y_label, x=figure.x, y=figure.y,
        markers=(figure.markers[1],), levels=(Reference(0.094, "current rule's cost", "current"),),
    )
    chart = one_chart(figure)
    assert chart.reading == "Expected cost per row falls 19% if the current rule gives way to threshold 0.14 (0.094 to 0.076)."
    assert "clipped" in chart.caption
    assert max(_ticks(chart, "end")) < 0.2


def test_a_curve_without_marked_points_is_drawn_whole() -> None:
    x = np.linspace(0, 1, 101)
    chart = one_chart(Curve(title="Cost curve", x_label="threshold", y_label="cost", x=x.tolist(), y=(x**2).tolist()))
    assert "clipped" not in chart.caption
    assert min(_ticks(chart, "middle")) == 0 and max(_ticks(chart, "middle")) == 1
    assert max(_ticks(chart, "end")) == 1
    assert chart.reading == "Cost runs from 0 at threshold 0 to 1 at threshold 1."


def test_a_curve_whose_marks_span_it_is_not_zoomed() -> None:
    x = np.linspace(0, 1, 101)
    y = 1 + 0.1 * np.sin(6 * x)
    chart = one_chart(Curve(title="c", x_label="x", y_label="y", x=x.tolist(), y=y.tolist(), markers=(Marker(0.05, None, "a", "current"), Marker(0.95, None, "b", "optimal"))))
    assert "clipped" not in chart.caption


# --- readings, notes, version-1 files ----------------------------------------------------


def test_a_figure_with_nothing_in_it_leaves_a_note(cards) -> None:
    empty = (Ranking(title="Leakage", metric="ROC AUC", bars=()), SliceTable(title="Slices", metric="error", slices=()))
    page = page_of(cards, *empty)
    assert figure_blocks(page) == []
    assert "Leakage: nothing was ranked." in page and "Slices: no slice stood out." in page


def test_a_version_1_scorecard_renders_without_charts_and_says_so_once(cards) -> None:
    """A file written before figures existed, read back as ``auditkit report`` reads it."""
    v1_keys = {
        "card": {"schema_version", "auditkit_version", "seed", "created_at", "model", "data", "score", "grade", "passed", "policy", "probes"},
        "probe": {"name", "status", "score", "reason", "duration_s", "seed", "metrics", "findings"},
        "finding": {"code", "severity", "message", "features", "slice", "metrics", "examples"},
    }
    doc = auditkit.scorecard_from_json(auditkit.render_json(cards.full_card_of())).to_dict()
    v1 = {k: v for k, v in doc.items() if k in v1_keys["card"]}
    v1["schema_version"] = 1
    v1["probes"] = [
        {**{k: v for k, v in p.items() if k in v1_keys["probe"]}, "findings": [{k: v for k, v in f.items() if k in v1_keys["finding"]} for f in p["findings"]]}
        for p in doc["probes"]
    ]
    card = auditkit.scorecard_from_json(json.dumps(v1))
    page = auditkit.render_html(card)
    assert figure_blocks(page) == [] and "<svg" not in page
    assert page.count('id="charts-notice"') == 1
    assert "charts need a scorecard of schema version 2 or later" in page.lower()
    for result in card.probes:
        assert f'<section class="probe" id="probe-{result.name}">' in page
    # The same audit written by this version has its charts and no notice.
    current = auditkit.render_html(cards.full_card_of())
    assert figure_blocks(current) and 'id="charts-notice"' not in current
