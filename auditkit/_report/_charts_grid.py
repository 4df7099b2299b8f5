"""An outcome grid drawn as coloured cells: one outcome per (row, column).

Every outcome of ``OUTCOMES`` has its own colour and legend entry, so an
overflow reads as overflow and a cell the probe's budget never reached reads as
not run, never as handled. Each cell carries its outcome as ``data-outcome``.
"""

from __future__ import annotations

from collections import Counter

from auditkit._figures import OUTCOMES, GridCell, OutcomeGrid
from auditkit._report._charts_svg import (
    CHAR_W,
    LABEL_CHARS,
    MAX_GRID_COLUMNS,
    MAX_GRID_ROWS,
    OUTCOME_COLOURS,
    WIDTH,
    Chart,
    NothingToDraw,
    Shape,
    label_width,
    n,
    sentence,
    shape,
)
from auditkit._report._common import truncate

__all__ = ["BAD_OUTCOMES", "draw_outcome_grid", "outcome_label"]

# What the model did wrong; a grid cut to its caps keeps these rows and columns first.
BAD_OUTCOMES = frozenset({"silent_corruption", "crashed", "overflow"})


def outcome_label(outcome: str) -> str:
    return outcome.replace("_", " ")


def _bad_first(names: tuple[str, ...], bad: set[str], cap: int) -> list[str]:
    """The first ``cap`` names, those with a bad cell first when not all fit (the probe's order otherwise)."""
    if len(names) <= cap:
        return list(names)
    return sorted(names, key=lambda name: name not in bad)[:cap]


def draw_outcome_grid(fig: OutcomeGrid) -> Chart:
    cells: dict[tuple[str, str], GridCell] = {(c.row, c.column): c for c in fig.cells}
    if not cells:
        raise NothingToDraw("no cell was planned.")
    bad_cells = [c for c in fig.cells if c.outcome in BAD_OUTCOMES]
    rows = _bad_first(fig.rows, {c.row for c in bad_cells}, MAX_GRID_ROWS)
    columns = _bad_first(fig.columns, {c.column for c in bad_cells}, MAX_GRID_COLUMNS)
    lw = label_width(rows, cap=200)
    side = max(10.0, min(22.0, (WIDTH - lw - 10) / max(1, len(columns))))
    head_h = 12 + min(LABEL_CHARS, max(len(c) for c in columns)) * CHAR_W * 0.72
    shapes: list[Shape] = []
    for j, column in enumerate(columns):
        x = lw + j * side + side / 2
        shapes.append(shape("text", truncate(column, 24), x=x, y=head_h - 4, class_="label", transform=f"rotate(-45 {n(x)} {n(head_h - 4)})"))
    for i, row in enumerate(rows):
        y = head_h + i * side
        shapes.append(shape("text", truncate(row, LABEL_CHARS), x=lw - 6, y=y + side * 0.7, class_="label", text_anchor="end"))
        for j, column in enumerate(columns):
            cell = cells.get((row, column))
            if cell is None:
                continue
            tip = f"{row} x {column}: {outcome_label(cell.outcome)}" + (f"; {cell.detail}" if cell.detail else "")
            shapes.append(
                shape(
                    "rect",
                    tooltip=tip,
                    x=lw + j * side + 1,
                    y=y + 1,
                    width=side - 2,
                    height=side - 2,
                    fill=OUTCOME_COLOURS[cell.outcome],
                    class_="cell",
                    data_outcome=cell.outcome,
                )
            )
    counts = Counter(c.outcome for c in fig.cells)
    # Every outcome in the legend, even at zero: a reader learns the whole vocabulary and sees what did not happen.
    legend = tuple((OUTCOME_COLOURS[o], f"{outcome_label(o)} ({counts[o]})") for o in OUTCOMES)
    cut = []
    if len(fig.rows) > len(rows):
        cut.append(f"{len(fig.rows) - len(rows)} more rows")
    if len(fig.columns) > len(columns):
        cut.append(f"{len(fig.columns) - len(columns)} more columns")
    caption = fig.caption + " Hover a cell for its counts; a blank square was not planned."
    if cut:
        caption += f" Not drawn: {', '.join(cut)} (in the JSON scorecard)."
    return Chart(
        "outcome_grid",
        fig.title,
        int(max(WIDTH, lw + len(columns) * side + 10)),
        int(head_h + len(rows) * side + 8),
        tuple(shapes),
        caption.strip(),
        legend,
        grid_reading(fig, counts),
    )


def grid_reading(fig: OutcomeGrid, counts: Counter[str]) -> str:
    """Say "of 21 cells: 1 silent corruption, 1 overflow, 17 handled, 2 not run; the worst is age x nan"."""
    parts = ", ".join(f"{counts[o]} {outcome_label(o)}" for o in OUTCOMES if counts[o])
    text = f"of {len(fig.cells)} cells: {parts}"
    worst = min(fig.cells, key=lambda c: OUTCOMES.index(c.outcome))
    if worst.outcome in BAD_OUTCOMES:
        text += f"; the worst is {truncate(worst.row, 40)} x {truncate(worst.column, 40)} ({outcome_label(worst.outcome)})"
    return sentence(text)
