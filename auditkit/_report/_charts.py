"""Charts for the HTML report: each typed figure a probe filled (``result.figures``,
see ``auditkit._figures``) becomes plain shapes that the template draws as
inline SVG, so every label passes through jinja2's escaping.

One drawing function per figure kind; nothing here reads a probe's free-form
``metrics``. Every chart caps what it draws (bars, groups, slices, grid cells,
curve points) so the report stays small however large the audit was, and
carries a one-line reading of what it shows for people who don't read charts.
A figure that cannot be drawn leaves a note, never a report that fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditkit._report._charts_bars import draw_group_rates, draw_ranking, draw_slice_table
from auditkit._report._charts_curve import draw_curve
from auditkit._report._charts_grid import draw_outcome_grid
from auditkit._report._charts_svg import (
    MAX_BARS,
    MAX_CURVE_POINTS,
    MAX_FIGURES,
    MAX_GRID_COLUMNS,
    MAX_GRID_ROWS,
    MAX_GROUPS,
    MAX_SLICES,
    OUTCOME_COLOURS,
    Chart,
    NothingToDraw,
    Shape,
)
from auditkit._results import ProbeResult, Scorecard

__all__ = [
    "DRAWERS",
    "FIGURES_SINCE",
    "MAX_BARS",
    "MAX_CURVE_POINTS",
    "MAX_FIGURES",
    "MAX_GRID_COLUMNS",
    "MAX_GRID_ROWS",
    "MAX_GROUPS",
    "MAX_SLICES",
    "OUTCOME_COLOURS",
    "Chart",
    "Shape",
    "charts_for",
    "charts_notice",
]

# The scorecard schema version from which probe results carry figures.
FIGURES_SINCE = 2

DRAWERS: dict[str, Callable[[Any], Chart]] = {
    "ranking": draw_ranking,
    "group_rates": draw_group_rates,
    "slice_table": draw_slice_table,
    "curve": draw_curve,
    "outcome_grid": draw_outcome_grid,
}


def charts_for(result: ProbeResult) -> tuple[list[Chart], list[str]]:
    """A chart for each of the probe's figures (the first ``MAX_FIGURES``), and a
    note for each figure that has nothing to draw or could not be drawn."""
    charts: list[Chart] = []
    notes: list[str] = []
    for figure in result.figures[:MAX_FIGURES]:
        draw = DRAWERS.get(getattr(figure, "kind", ""))
        if draw is None:
            notes.append(f"The figure {getattr(figure, 'title', '?')!r} is of a kind this report cannot draw ({type(figure).__name__}).")
            continue
        try:
            charts.append(draw(figure))
        except NothingToDraw as empty:
            notes.append(f"{figure.title}: {empty}")
        except Exception as exc:  # a report with a section lacking its chart beats no report
            notes.append(f"The chart {figure.title!r} could not be drawn ({type(exc).__name__}: {exc}).")
    if len(result.figures) > MAX_FIGURES:
        notes.append(f"{len(result.figures) - MAX_FIGURES} more figures are in the JSON scorecard (left out here to keep this page small).")
    return charts, notes


def charts_notice(card: Scorecard) -> str:
    """One line for a scorecard written before probes stored figures ("" otherwise)."""
    if card.schema_version >= FIGURES_SINCE or any(r.figures for r in card.probes):
        return ""
    return (
        f"This scorecard is of schema version {card.schema_version}, written before probes stored the figures "
        f"that charts are drawn from: its sections are shown without charts. Charts need a scorecard of schema "
        f"version {FIGURES_SINCE} or later; re-run the audit with this auditkit to get them."
    )
