"""Hypothesis fuzzing beyond the fixed list, shrunk to a row a person can paste.

Hypothesis draws small batches of rows from the audit data's schema with
malformed cells mixed in (``auditkit.strategies.frames(adversarial=True)``);
each batch is one query. How many batches is a setting (``fuzz_examples``),
and hypothesis draws them from the probe's seed alone, so the same audit
tries the same batches on any machine. The time budget is a safety stop:
the batches it cuts are counted as ``not_run``, never dropped in silence. A batch the model answers with invalid output, or
crashes on, is shrunk by hypothesis towards typical values in every cell
but the one that matters; the rows of the shrunk batch are then tried one
by one, so the finding shows a single row when a single row suffices.

A batch whose NaN or infinite output goes away when its cells beyond any
plausible magnitude (``overflow.py``) are brought down to the largest
plausible ones only shows the float range running out. It is counted, and
the first kept, but it is no counterexample: the search goes on for one that
is, as the fixed grid grades the same overflow apart from corruption.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditkit.strategies import ColumnSchema, frames, to_source

from probes.nan_injection.calls import ModelCaller, ModelHung
from probes.nan_injection.outcome import Reference, Verdict, judge_answer
from probes.nan_injection.overflow import beyond_plausible, plausible_limit

BAD_OUTCOMES = ("silent_corruption", "crashed")


class _OutOfTime(BaseException):
    """Ends the search; a BaseException, so hypothesis does not take it for a failure to shrink."""


@dataclass(frozen=True)
class FuzzResult:
    examples: int  # queries made: generated batches, and the shrinking of a failing one
    planned: int = 0  # batches hypothesis was to generate (the setting)
    generated: int = 0  # of them, generated before the search ended
    verdict: Verdict | None = None
    rows: int = 0
    single_row: bool = False
    reproducer: str = ""
    stopped_early: bool = False  # the time budget cut the search
    error: str | None = None  # the search itself failed (hypothesis' own error)
    overflow_batches: int = 0  # batches whose invalid output was float overflow alone
    overflow_example: str = ""  # the first of them, as pasteable Python

    @property
    def not_run(self) -> int:
        """Planned batches never generated because the time budget ran out (none
        when a counterexample ended the search, or hypothesis ran out of new batches)."""
        return max(0, self.planned - self.generated) if self.stopped_early and self.verdict is None else 0

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "examples": self.examples,
            "planned": self.planned,
            "generated": self.generated,
            "not_run": self.not_run,
            "stopped_early": self.stopped_early,
            "search_error": self.error,
            "outcome": None if self.verdict is None else self.verdict.outcome,
            "overflow_batches": self.overflow_batches,
            "overflow_example": self.overflow_example or None,
        }
        if self.verdict is not None:
            out.update(
                problem=self.verdict.problem or self.verdict.error_text,
                error=self.verdict.error,
                rows=self.rows,
                single_row=self.single_row,
                reproducer=self.reproducer,
            )
        return out


def fuzz(
    caller: ModelCaller,
    schema: Sequence[ColumnSchema],
    reference: Reference,
    *,
    seed: int,
    examples: int,
    max_rows: int,
    budget_s: float,
) -> FuzzResult:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    deadline = time.perf_counter() + budget_s
    tried = [0]
    generated = [0]
    found: list[tuple[pd.DataFrame, Verdict]] = []
    overflows: list[pd.DataFrame] = []

    def misbehaves(X: pd.DataFrame) -> bool:
        if time.perf_counter() > deadline:
            raise _OutOfTime
        tried[0] += 1
        if not found:  # after the first counterexample, hypothesis only shrinks it
            generated[0] += 1
        try:
            answer = caller.predictions(X)
        except ModelHung:
            raise _OutOfTime from None
        verdict = judge_answer(answer, rows=len(X), reference=reference)
        if verdict.outcome in BAD_OUTCOMES and _overflow_only(caller, X, schema, reference, verdict):
            overflows.append(X)
            return False
        if verdict.outcome in BAD_OUTCOMES:
            found.append((X, verdict))  # hypothesis only accepts smaller ones: the last is the smallest
            return True
        return False

    config = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    strategy = frames(schema, adversarial=True, min_rows=1, max_rows=max_rows)
    stopped = False
    error = None
    try:
        find(strategy, misbehaves, settings=config, random=random.Random(seed))
    except NoSuchExample:
        pass
    except _OutOfTime:
        stopped = True
    except Exception as exc:  # e.g. Flaky: a model that answers the same rows differently
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    common: dict[str, Any] = dict(
        planned=examples, generated=generated[0], stopped_early=stopped, error=error,
        overflow_batches=len(overflows), overflow_example=to_source(overflows[0].reset_index(drop=True)) if overflows else "",
    )
    if not found:
        return FuzzResult(tried[0], **common)
    X, verdict = found[-1]
    X = X.reset_index(drop=True)
    single = False
    if len(X) > 1 and not caller.hung:
        for i in range(len(X)):
            row = X.iloc[[i]].reset_index(drop=True)
            try:
                one = judge_answer(caller.predictions(row), rows=1, reference=reference)
            except ModelHung:
                break
            if one.outcome in BAD_OUTCOMES and not _overflow_only(caller, row, schema, reference, one):
                X, verdict, single = row, one, True
                break
    else:
        single = len(X) == 1
    return FuzzResult(tried[0], verdict=verdict, rows=len(X), single_row=single, reproducer=to_source(X), **common)


def _overflow_only(
    caller: ModelCaller, X: pd.DataFrame, schema: Sequence[ColumnSchema], reference: Reference, verdict: Verdict,
) -> bool:
    """Whether the batch's invalid output is NaN or infinity that goes away once its
    implausibly large finite values are brought down to the largest plausible ones, of
    the same sign (one more call). Brought down, not reset to typical values: a model
    that fails for every value below -10 (a square root) fails at the plausible bound
    too, and that is no overflow."""
    if verdict.outcome != "silent_corruption" or not verdict.nonfinite_only:
        return False
    clipped = X.copy()
    changed = False
    for column in schema:
        huge = X[column.name].map(lambda v, c=column: beyond_plausible(v, c)).to_numpy(dtype=bool)
        if huge.any():
            values = X[column.name].to_numpy(dtype=object, copy=True)
            limit = plausible_limit(column)
            values[huge] = [math.copysign(limit, float(v)) for v in values[huge]]
            clipped[column.name] = column.series(values, index=X.index)
            changed = True
    if not changed:
        return False
    try:
        return judge_answer(caller.predictions(clipped), rows=len(X), reference=reference).outcome == "handled"
    except ModelHung:
        return False
