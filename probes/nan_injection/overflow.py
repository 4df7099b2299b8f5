"""Telling float overflow apart from silent corruption.

The ``extreme`` injections include values at the edge of float64 (1e308 and
-1e308). Any model that multiplies such a value by a weight above about 1.8,
or squares it, or casts it to float32, gets infinity, and infinity minus
infinity is NaN: a standardised ``Ridge`` or a multinomial
``LogisticRegression`` returns inf or NaN for them. That is the float range
running out, not a model passing a missing value through, so an injection
whose non-finite output comes *only* from such a magnitude is graded apart
(outcome ``overflow``, a ``low`` finding) from NaN, None or infinity coming
back as NaN (``critical``).

Where overflow starts is measured, not assumed: a ladder of the powers of ten
up to the injected value goes through the model in one call, on the row the
injection touched. Output that turns non-finite only beyond
:data:`PLAUSIBLE_SPANS` times the column's range is overflow. Output that turns
non-finite sooner was not overflow at all (a square root or a log of a
negative number, an unguarded ``exp``), and the injection keeps its
``silent_corruption`` outcome; so does one whose ladder could not be
measured (the call failed) or came back valid throughout (the failure needed
its batch), since nothing then shows that magnitude alone was to blame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from auditkit.strategies import ColumnSchema

from probes.nan_injection.calls import ModelCaller, ModelHung
from probes.nan_injection.grid import CellResult
from probes.nan_injection.outcome import Reference, judge_answer

# Why a bound at 1e12 times the column's range, rather than excusing whatever
# 1e308 does: moderately large values are more serious than 1e308, because a
# feed really sends them by mistake (a unit mix-up of 1e3 or 1e6, a sentinel
# such as 999999999), within about a million times the column's range. A model
# that returns NaN or inf there has a numerical bug (an unguarded exp, a log of
# a negative) that such a feed will hit, so that stays critical, as the grid's
# "out_of_range" injection (1000x outside the range) always is. A model that
# holds out to 1e12 times the range and fails further up only shows where float
# arithmetic ends (a weight above 1.8 times 1e308; a polynomial would need
# degree 26 to overflow below 1e12). One bound, six orders of magnitude above
# the largest plausible mistake, rather than severity bands, keeps it simple.
PLAUSIBLE_SPANS = 1e12


@dataclass(frozen=True)
class Ladder:
    """Where the output of one column's extreme injection first turns non-finite."""

    column: str
    injection: str
    limit: float  # magnitudes up to this are plausible (PLAUSIBLE_SPANS times the column's range)
    first_invalid: float | None = None  # the smallest power of ten (in magnitude) with invalid output
    last_valid: float | None = None  # the power of ten below it, whose output was valid
    error: str | None = None  # the ladder could not be measured (the call failed)

    @property
    def overflow(self) -> bool:
        """Invalid output begins only beyond the plausible magnitudes, and a
        smaller power of ten gave valid output: float overflow."""
        return self.first_invalid is not None and self.last_valid is not None and abs(self.first_invalid) > self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_invalid": self.first_invalid, "last_valid": self.last_valid, "limit": self.limit,
            "overflow": self.overflow, "error": self.error,
        }


def plausible_limit(column: ColumnSchema) -> float:
    """The largest magnitude taken as a value a feed might send to this column."""
    low, high = abs(float(column.low or 0.0)), abs(float(column.high or 0.0))
    span = float(column.high or 0.0) - float(column.low or 0.0)
    if span <= 0:
        span = max(high, 1.0)  # as the out-of-range injection does for a constant column
    return max(low, high) + PLAUSIBLE_SPANS * span


def beyond_plausible(value: Any, column: ColumnSchema) -> bool:
    """A finite number larger in magnitude than the column could plausibly see."""
    if not column.numeric or isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return False
    v = float(value)
    return math.isfinite(v) and abs(v) > plausible_limit(column)


def classify_overflow(
    caller: ModelCaller,
    sample: pd.DataFrame,
    schema: Sequence[ColumnSchema],
    reference: Reference,
    cells: list[CellResult],
) -> tuple[list[CellResult], list[Ladder]]:
    """The cells with their ``silent_corruption`` turned into ``overflow``
    where the non-finite output came only from a magnitude beyond plausible,
    and the ladder measured for each column and injection considered."""
    by_name = {c.name: c for c in schema}

    def candidate(cell: CellResult) -> bool:
        inj = cell.injection
        return (
            inj.family == "extreme"
            and cell.verdict.outcome == "silent_corruption"
            and cell.verdict.nonfinite_only
            and beyond_plausible(inj.value, by_name[inj.column])
        )

    examples: dict[tuple[str, str], CellResult] = {}
    for cell in filter(candidate, cells):
        key = (cell.injection.column, cell.injection.name)
        if key not in examples or cell.rows < examples[key].rows:
            examples[key] = cell  # the fewest-rows batch: its first row alone shows it
    ladders = {
        key: _ladder(caller, sample, by_name[key[0]], reference, key[1], float(cell.injection.value), cell.first_row)
        for key, cell in examples.items()
    }
    out = []
    for cell in cells:
        if candidate(cell) and ladders[(cell.injection.column, cell.injection.name)].overflow:
            cell = replace(cell, verdict=replace(cell.verdict, outcome="overflow"))
        out.append(cell)
    return out, list(ladders.values())


def _ladder(
    caller: ModelCaller, sample: pd.DataFrame, column: ColumnSchema, reference: Reference, name: str,
    value: float, row: int,
) -> Ladder:
    limit = plausible_limit(column)
    sign = math.copysign(1.0, value)
    rungs = [sign * 10.0**k for k in range(int(math.floor(math.log10(abs(value)))) + 1)]
    if rungs[-1] != value:
        rungs.append(value)
    base = sample.iloc[[row] * len(rungs)].reset_index(drop=True)
    frame = base.assign(**{column.name: column.series(rungs, index=base.index)})
    try:
        answer = caller.predictions(frame)
    except ModelHung:
        return Ladder(column.name, name, limit, error="not run: an earlier call hung")
    if answer.timed_out or answer.error is not None:
        verdict = judge_answer(answer, rows=len(rungs))
        return Ladder(column.name, name, limit, error=f"{verdict.error}: {verdict.error_text}")
    check = answer.value.check(len(rungs), reference.task, reference.classes)
    if check.shape:
        return Ladder(column.name, name, limit, error=check.shape)
    invalid = check.invalid_rows
    if not invalid.any():
        # Invalid in its batch, valid alone: no magnitude to blame; left as it was judged.
        return Ladder(column.name, name, limit)
    first = int(np.argmax(invalid))
    return Ladder(column.name, name, limit, first_invalid=rungs[first], last_valid=rungs[first - 1] if first else None)
