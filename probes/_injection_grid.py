"""The fixed injections: every column x every malformed value x every rate,
and the frame-level faults, each pushed through the model as one batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import Predictions
from auditkit.strategies import FAULTS, ColumnSchema, Fault, fault_values, to_source

from probes._injection_calls import NOT_RUN, Answer, ModelCaller, ModelHung, Reference, Verdict, judge

Rate = Literal["one_cell", "fraction", "whole_column"]
RATES: tuple[Rate, ...] = ("one_cell", "fraction", "whole_column")

# Said in findings: "NaN", "the text 'null'", ... (keys are the names fault_values gives).
INJECTION_LABELS: dict[str, str] = {
    "nan": "NaN",
    "none": "None",
    "empty_string": "an empty string",
    "null_text": "the text 'null'",
    "nan_text": "the text 'NaN'",
    "na_text": "the text 'N/A'",
    "pos_inf": "+inf",
    "neg_inf": "-inf",
    "huge": "1e308",
    "neg_huge": "-1e308",
    "out_of_range": "a value 1000x outside the column's range",
    "far_future": "a date in 2262",
    "far_past": "a date in 1677",
    "overlong_text": "a 10,000-character text",
    "wrong_type": "a value of the wrong type",
    "unseen_category": "an unseen category",
    "mojibake": "mojibake (UTF-8 decoded as Latin-1)",
    "invalid_utf8": "invalid UTF-8 (lone surrogates)",
    "control_chars": "control characters",
}

FRAME_FAULT_LABELS: dict[str, str] = {
    "missing_column": "a missing column",
    "extra_column": "an extra column",
    "reordered_columns": "its columns in reverse order",
    "wrong_dtype_column": "a whole column of the wrong dtype",
    "empty_batch": "no rows at all",
    "single_row": "a single row",
}

RATE_LABELS: dict[str, str] = {"one_cell": "one cell", "fraction": "{n} rows", "whole_column": "the whole column ({n} rows)"}

EXTRA_COLUMN = "__auditkit_extra__"


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
) -> list[CellResult]:
    """Every injection at every rate. Injections that leave the same column
    behind (None and NaN in a float column) share one query, and the rates of
    one injection go through the model stacked in one batch: a call costs
    mostly its fixed overhead at these sizes, so three rates cost about one.
    A stacked call that fails is repeated rate by rate, so each rate gets the
    outcome it alone causes."""
    by_name = {c.name: c for c in schema}
    n = len(sample)
    all_rows = np.arange(n)
    seen: dict[tuple[Any, ...], Verdict] = {}
    results = []
    for inj in injections(schema):
        column = by_name[inj.column]
        original = sample[inj.column].astype(object).to_numpy()
        pending: list[tuple[tuple[Any, ...], pd.DataFrame, np.ndarray]] = []
        keys = []
        for rate in RATES:
            touched_idx = rows_for[rate]
            values = original.copy()
            values[touched_idx] = [inj.value] * len(touched_idx)  # a list, so tuples and bytes stay whole
            injected = column.series(values, index=sample.index)
            key = (inj.column, rate, str(injected.dtype), _cell_key(injected.iloc[touched_idx[0]]))
            keys.append((rate, key, touched_idx))
            if key not in seen and all(key != k for k, _, _ in pending):
                pending.append((key, sample.assign(**{inj.column: injected}), touched_idx))
        seen.update(_query_stacked(caller, pending, reference, all_rows))
        for rate, key, touched_idx in keys:
            results.append(CellResult(inj, rate, len(touched_idx), seen[key], int(touched_idx[0])))
    return results


def _query_stacked(
    caller: ModelCaller,
    pending: list[tuple[tuple[Any, ...], pd.DataFrame, np.ndarray]],
    reference: Reference,
    all_rows: np.ndarray,
) -> dict[tuple[Any, ...], Verdict]:
    """Judge several injected frames of one column with as few calls as honest."""
    if not pending:
        return {}
    dtypes = {str(frame[key[0]].dtype) for key, frame, _ in pending}
    if len(pending) == 1 or len(dtypes) > 1:
        # Stacking frames of different dtypes would change what the model sees.
        return {key: _query(caller, frame, reference, all_rows, idx) for key, frame, idx in pending}
    n = len(all_rows)
    stacked = pd.concat([frame for _, frame, _ in pending], ignore_index=True)
    try:
        answer = caller.predictions(stacked)
    except ModelHung:
        return {key: NOT_RUN for key, _, _ in pending}
    if answer.timed_out:
        # The caller is now hung and takes no further queries: the batch that
        # hung holds every pending rate, so each is reported as that hang.
        return {key: judge(answer, rows=len(all_rows)) for key, _, _ in pending}
    value = answer.value
    if answer.error is not None or not isinstance(value, Predictions) or len(value) != len(stacked):
        return {key: _query(caller, frame, reference, all_rows, idx) for key, frame, idx in pending}
    out = {}
    for i, (key, _, idx) in enumerate(pending):
        part = Answer(value=value.take(np.arange(i * n, (i + 1) * n)), seconds=answer.seconds / len(pending))
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        out[key] = judge(part, rows=n, reference=reference, base_rows=all_rows, touched=mask)
    return out


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
    return judge(answer, rows=len(frame), reference=reference, base_rows=base_rows, touched=mask)


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
