"""The fixed injections: every column x every malformed value x every rate,
and the frame-level faults, each pushed through the model as one batch.

How the injected batches are stacked into calls depends on the settings and
the sample alone, never on time: the same audit sends the same calls on any
machine. Time is only a safety stop (see ``Stacking``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import Predictions
from auditkit.strategies import FAULTS, ColumnSchema, Fault, fault_values, to_source

from probes.nan_injection.calls import Answer, ModelCaller, ModelHung
from probes.nan_injection.messages import INJECTION_LABELS
from probes.nan_injection.outcome import NOT_RUN, Reference, Verdict, judge_answer, judge_stacked

Rate = Literal["one_cell", "fraction", "whole_column"]
RATES: tuple[Rate, ...] = ("one_cell", "fraction", "whole_column")

EXTRA_COLUMN = "__auditkit_extra__"

# A failed stacked call of at most this many injected frames is retried frame by frame.
_SPLIT_ALONE = 16


@dataclass
class Stacking:
    """How injected batches are stacked into calls: up to ``rows`` rows a call,
    a number from the settings. ``safe_rows`` is the safety stop: a stack
    estimated at the clean call's pace to need more than half the per-call
    budget is split in halves before it is sent, so that a slow model is not
    taken for a hung one. That changes how many calls are made, not which
    batches are judged (nor, but for a model whose answer depends on its
    batch-mates, their outcomes); ``split_for_time`` counts it, for the metrics."""

    rows: int
    safe_rows: int
    split_for_time: int = field(default=0)


@dataclass(frozen=True)
class Injection:
    """One named malformed value for one column."""

    column: str
    name: str
    family: Fault
    value: Any

    @property
    def label(self) -> str:
        return INJECTION_LABELS.get(self.name, self.name.replace("_", " "))


@dataclass(frozen=True)
class CellResult:
    """The outcome of one injection at one rate."""

    injection: Injection
    rate: Rate
    rows: int
    verdict: Verdict
    first_row: int


@dataclass(frozen=True)
class FaultResult:
    """The outcome of one frame-level fault."""

    fault: str
    detail: str
    verdict: Verdict
    reproducer: str


def injections(schema: Sequence[ColumnSchema]) -> Iterator[Injection]:
    for column in schema:
        for family in FAULTS:
            for name, value in fault_values(column, family).items():
                yield Injection(column.name, name, family, value)


def rate_rows(n: int, fraction: float, rng: np.random.Generator) -> dict[Rate, np.ndarray]:
    """The rows each rate touches: one, a share, all; nested, so rates compare."""
    order = rng.permutation(n)
    k = max(1, min(n, int(round(fraction * n))))
    return {"one_cell": np.sort(order[:1]), "fraction": np.sort(order[:k]), "whole_column": np.arange(n)}


def run_cells(
    caller: ModelCaller,
    sample: pd.DataFrame,
    schema: Sequence[ColumnSchema],
    reference: Reference,
    rows_for: dict[Rate, np.ndarray],
    stacking: Stacking,
) -> list[CellResult]:
    """Every injection at every rate.

    A call costs mostly its fixed overhead at these sizes (a pipeline's checks
    and encoders), so injected frames go through the model stacked, up to
    ``stacking.rows`` rows a call: every frame whose columns keep the sample's
    dtypes (NaN into a float column, an unseen category into a text one) in
    common stacks across columns, the others with the frames of their own
    column that share their dtypes, since stacking frames of different dtypes
    would change what the model sees. Injections that leave the same column
    behind (None and NaN in a float column) share one frame. A stacked call
    that fails is split in halves (a small one into single frames) until each
    frame gets the outcome it alone causes.
    """
    n = len(sample)
    all_rows = np.arange(n)
    signature = tuple(sample.dtypes)
    verdicts: dict[tuple[Any, ...], Verdict] = {}
    open_stacks: dict[tuple[Any, ...], list[_Frame]] = {}
    planned: set[tuple[Any, ...]] = set()
    plan: list[tuple[Injection, Rate, tuple[Any, ...], np.ndarray]] = []

    def flush(sig: tuple[Any, ...]) -> None:
        # Models answer an injection alike in every column (a validating model
        # rejects NaN anywhere), so frames ordered by injection keep failures
        # together, where halving finds them in few calls.
        stack = sorted(open_stacks.pop(sig, []), key=lambda f: f.order)
        verdicts.update(_judge_stack(caller, stack, reference, all_rows, stacking))

    for column in schema:
        original = sample[column.name].astype(object).to_numpy()
        for inj in injections([column]):
            for rate in RATES:
                touched_idx = rows_for[rate]
                values = original.copy()
                values[touched_idx] = [inj.value] * len(touched_idx)  # a list, so tuples and bytes stay whole
                injected = column.series(values, index=sample.index)
                key = (inj.column, rate, str(injected.dtype), _cell_key(injected.iloc[touched_idx[0]]))
                plan.append((inj, rate, key, touched_idx))
                if key in planned:
                    continue
                planned.add(key)
                frame = sample.assign(**{inj.column: injected})
                sig = tuple(frame.dtypes)
                stack = open_stacks.setdefault(sig, [])
                stack.append(_Frame(key, frame, touched_idx, (inj.name, RATES.index(rate), len(plan))))
                if (len(stack) + 1) * n > stacking.rows:
                    flush(sig)
        # Frames of other dtypes than the sample's can only come from this column.
        for sig in [s for s in open_stacks if s != signature]:
            flush(sig)
    flush(signature)
    return [CellResult(inj, rate, len(idx), verdicts[key], int(idx[0])) for inj, rate, key, idx in plan]


@dataclass(frozen=True)
class _Frame:
    key: tuple[Any, ...]
    frame: pd.DataFrame
    touched: np.ndarray
    order: tuple[str, int, int]


def _judge_stack(
    caller: ModelCaller, stack: list[_Frame], reference: Reference, all_rows: np.ndarray, stacking: Stacking,
) -> dict[tuple[Any, ...], Verdict]:
    """Judge injected frames of the same dtypes with as few calls as honest."""
    if not stack:
        return {}
    if len(stack) == 1:
        return {stack[0].key: _query(caller, stack[0].frame, reference, all_rows, stack[0].touched)}
    n = len(all_rows)
    if len(stack) * n > stacking.safe_rows:
        stacking.split_for_time += 1
        half = len(stack) // 2
        return {
            **_judge_stack(caller, stack[:half], reference, all_rows, stacking),
            **_judge_stack(caller, stack[half:], reference, all_rows, stacking),
        }
    stacked = pd.concat([f.frame for f in stack], ignore_index=True)
    try:
        answer = caller.predictions(stacked)
    except ModelHung:
        return {f.key: NOT_RUN for f in stack}
    if answer.timed_out:
        # The caller is now hung and takes no further queries, so which frame
        # hung cannot be told apart: each is reported as that hang, and says so.
        columns = list(dict.fromkeys(f.key[0] for f in stack))
        hung = judge_answer(answer, rows=n)
        text = (f"no answer within the per-call budget for one batch stacking {len(stack)} injected batches "
                f"(columns {', '.join(map(repr, columns[:6]))}{' and more' if len(columns) > 6 else ''}); "
                "which of them hung is not known")
        return {f.key: replace(hung, error_text=text) for f in stack}
    value = answer.value
    if answer.error is not None or not isinstance(value, Predictions) or len(value) != len(stacked):
        # Halving finds a few failing frames among many in few calls; a small
        # stack that failed likely fails throughout, so its frames go alone.
        parts = [[f] for f in stack] if len(stack) <= _SPLIT_ALONE else [stack[: len(stack) // 2], stack[len(stack) // 2 :]]
        out: dict[tuple[Any, ...], Verdict] = {}
        for part in parts:
            out.update(_judge_stack(caller, part, reference, all_rows, stacking))
        return out
    masks = []
    for f in stack:
        mask = np.zeros(n, dtype=bool)
        mask[f.touched] = True
        masks.append(mask)
    return {f.key: v for f, v in zip(stack, judge_stacked(answer, reference, all_rows, masks))}


def cell_reproducer(sample: pd.DataFrame, schema: Sequence[ColumnSchema], cell: CellResult) -> str:
    """One injected row as pasteable Python."""
    column = next(c for c in schema if c.name == cell.injection.column)
    row = sample.iloc[[cell.first_row]].reset_index(drop=True)
    return to_source(row.assign(**{column.name: column.series([cell.injection.value])}))


def run_frame_faults(
    caller: ModelCaller,
    sample: pd.DataFrame,
    schema: Sequence[ColumnSchema],
    reference: Reference,
    rng: np.random.Generator,
) -> list[FaultResult]:
    """Faults of the whole batch rather than of a cell."""
    n = len(sample)
    all_rows = np.arange(n)
    everything = np.ones(n, dtype=bool)
    nothing = np.zeros(n, dtype=bool)
    first = sample.columns[0]
    extra = sample.copy()
    extra.insert(0, EXTRA_COLUMN, rng.normal(size=n))
    retyped_name, retyped = _wrong_dtype_column(sample, schema)
    # (name, detail, frame, reference rows, touched)
    cases: list[tuple[str, str, pd.DataFrame, np.ndarray, np.ndarray]] = [
        ("missing_column", f"column {first!r} dropped", sample.drop(columns=[first]), all_rows, everything),
        ("extra_column", f"column {EXTRA_COLUMN!r} added in front", extra, all_rows, nothing),
        ("reordered_columns", "columns in reverse order", sample.loc[:, sample.columns[::-1]], all_rows, nothing),
        (
            "wrong_dtype_column", f"column {retyped_name!r} as {retyped.dtype}",
            sample.assign(**{retyped_name: retyped}), all_rows, everything,
        ),
        ("empty_batch", "0 rows", sample.iloc[:0], all_rows[:0], nothing[:0]),
        ("single_row", "1 row", sample.iloc[:1], all_rows[:1], nothing[:1]),
    ]
    results = []
    for name, detail, frame, base_rows, touched in cases:
        verdict = _query(caller, frame, reference, base_rows, touched)
        reproducer = to_source(frame.iloc[:1].reset_index(drop=True)) if len(frame.columns) <= 40 else ""
        results.append(FaultResult(name, detail, verdict, reproducer))
    return results


def shuffled_shift(caller: ModelCaller, sample: pd.DataFrame, column: str, reference: Reference, rng: np.random.Generator) -> float | None:
    """Mean prediction shift when the column's values are shuffled among the
    rows: how far a plausible but wrong value moves predictions, the yardstick
    for how far an imputed missing value may move them."""
    shuffled = sample[column].iloc[rng.permutation(len(sample))].to_numpy()
    frame = sample.assign(**{column: shuffled})
    n = len(sample)
    verdict = _query(caller, frame, reference, np.arange(n), np.ones(n, dtype=bool))
    return verdict.mean_shift if verdict.outcome == "handled" else None


def _query(caller: ModelCaller, frame: pd.DataFrame, reference: Reference, base_rows: np.ndarray, touched_idx: np.ndarray) -> Verdict:
    if touched_idx.dtype != bool:
        mask = np.zeros(len(frame), dtype=bool)
        mask[touched_idx] = True
    else:
        mask = touched_idx
    try:
        answer: Answer = caller.predictions(frame)
    except ModelHung:
        return NOT_RUN
    return judge_answer(answer, rows=len(frame), reference=reference, base_rows=base_rows, touched=mask)


def _wrong_dtype_column(sample: pd.DataFrame, schema: Sequence[ColumnSchema]) -> tuple[str, pd.Series]:
    # Numbers arriving as their text ("0.53"), or categories as integer codes.
    for column in schema:
        if column.numeric:
            return column.name, sample[column.name].map(lambda v: "" if pd.isna(v) else str(v)).astype("str")
    column = schema[0]
    codes = pd.factorize(sample[column.name])[0]
    return column.name, pd.Series(codes, index=sample.index)


def _cell_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, repr(value))
