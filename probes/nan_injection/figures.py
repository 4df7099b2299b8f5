"""What a report draws for nan_injection: outcome grids, filled from the measurements.

One grid of features by injected values, one cell each with the worst
outcome over the three rates; one row of the faults of the whole batch.
An overflow is ``overflow`` and what an earlier hang cut is ``not_run``, as
the findings say, never ``handled``.
"""

from __future__ import annotations

from collections import Counter

from auditkit import GridCell, OutcomeGrid

from probes.nan_injection.grid import CellResult
from probes.nan_injection.measure import Measured
from probes.nan_injection.messages import (
    FAULT_GRID_ROW,
    FAULT_GRID_TITLE,
    FRAME_FAULT_LABELS,
    GRID_CAPTION,
    GRID_TITLE,
    INJECTION_HEADERS,
)

# A cell shows the worst of its rates: what the model did wrong first, then a rate
# left unsent (a cell cut short is not known to be handled), then a refusal.
_WORST_FIRST = ("silent_corruption", "crashed", "overflow", "not_run", "rejected", "handled")


def figures(m: Measured) -> tuple[OutcomeGrid, ...]:
    out = []
    if m.cells:
        out.append(injection_grid(m))
    if m.faults:
        out.append(fault_grid(m))
    return tuple(out)


def injection_grid(m: Measured) -> OutcomeGrid:
    by_cell: dict[tuple[str, str], list[CellResult]] = {}
    for cell in m.cells:
        by_cell.setdefault((cell.injection.column, cell.injection.name), []).append(cell)
    names = list(dict.fromkeys(cell.injection.name for cell in m.cells))
    rows = [c.name for c in m.schema if any((c.name, n) in by_cell for n in names)]
    header = {n: INJECTION_HEADERS.get(n, n.replace("_", " ")) for n in names}
    cells = [
        GridCell(row=column, column=header[name], outcome=_worst(group), detail=_detail(group))
        for (column, name), group in by_cell.items()
    ]
    fraction = len(m.rows_for["fraction"])
    return OutcomeGrid(
        title=GRID_TITLE,
        rows=tuple(rows),
        columns=tuple(header[n] for n in names),
        cells=tuple(cells),
        caption=GRID_CAPTION.format(rows=len(m.sample), fraction=fraction),
    )


def fault_grid(m: Measured) -> OutcomeGrid:
    cells = []
    for f in m.faults:
        detail = f"{f.detail}: " + (f.verdict.error or f.verdict.problem or f.verdict.outcome.replace("_", " "))
        cells.append(GridCell(row=FAULT_GRID_ROW, column=FRAME_FAULT_LABELS[f.fault], outcome=f.verdict.outcome, detail=detail))
    return OutcomeGrid(
        title=FAULT_GRID_TITLE,
        rows=(FAULT_GRID_ROW,),
        columns=tuple(FRAME_FAULT_LABELS[f.fault] for f in m.faults),
        cells=tuple(cells),
        caption="Each cell is one batch of the sampled rows with one fault of the batch as a whole.",
    )


def _worst(group: list[CellResult]) -> str:
    return min((c.verdict.outcome for c in group), key=_WORST_FIRST.index)


def _detail(group: list[CellResult]) -> str:
    """One line of counts: '3 batches: 2 rejected (ValueError), 1 handled'."""
    counts = Counter(c.verdict.outcome for c in group)
    parts = []
    for outcome in _WORST_FIRST:
        if counts[outcome]:
            text = f"{counts[outcome]} {outcome.replace('_', ' ')}"
            errors = sorted({c.verdict.error for c in group if c.verdict.outcome == outcome and c.verdict.error})
            if errors:
                text += f" ({', '.join(errors)})"
            parts.append(text)
    return f"{len(group)} batch{'es' if len(group) != 1 else ''}: " + ", ".join(parts)
