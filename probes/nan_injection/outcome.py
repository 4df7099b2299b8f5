"""Judging one answer of the model: its outcome, and how far it moved.

Every answer to an injected batch is sorted into one of four outcomes:

- ``handled``: the right shape, finite and valid outputs, untouched rows unchanged;
- ``rejected``: an error of the validation family (``ValueError``, ``TypeError``, ``KeyError``);
- ``silent_corruption``: invalid outputs, or untouched rows changed, with no error;
- ``crashed``: any other exception, or no answer within the per-call budget.

Whether outputs are valid is auditkit's one output check
(``Predictions.check``), the same that refuses the shared predictions; here
it is read row by row. Two more outcomes are never this judge's: ``overflow``
is given afterwards to a ``silent_corruption`` whose NaN or infinite output
came only from a value at the edge of the float range (``overflow.py``), and
``not_run`` to what was never sent because an earlier call hung.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import OUTCOMES as FIGURE_OUTCOMES
from auditkit import Predictions

from probes.nan_injection.calls import Answer

Outcome = Literal["handled", "rejected", "silent_corruption", "overflow", "crashed", "not_run"]
OUTCOMES: tuple[Outcome, ...] = ("handled", "rejected", "silent_corruption", "overflow", "crashed", "not_run")
assert set(OUTCOMES) <= set(FIGURE_OUTCOMES)

# Failing loudly with one of these is what a model should do with malformed input.
VALIDATION_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError)

# Untouched rows must come back as they were: exact up to float noise.
UNCHANGED_ATOL = 1e-6


@dataclass(frozen=True)
class Verdict:
    """The judged outcome of one query, with what was measured on the way."""

    outcome: Outcome
    problem: str = ""  # with counts: "3 of 1000 rows came back with NaN or infinite probabilities"
    what: str = ""  # without: "NaN or infinite probabilities"
    kinds: tuple[str, ...] = ()  # each kind of invalid output found, as in ``what``
    error: str | None = None
    error_text: str = ""
    rows: int = 0
    invalid_rows: int = 0
    changed_rows: int = 0
    untouched_rows: int = 0
    flip_share: float | None = None
    mean_shift: float | None = None
    max_shift: float | None = None
    nonfinite: bool = False  # every kind of invalid output found is NaN or infinity

    @property
    def nonfinite_only(self) -> bool:
        """Every invalid output is NaN or infinite, and no untouched row changed."""
        return self.nonfinite and not self.changed_rows

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.error:
            out["error"] = self.error
        if self.outcome in ("silent_corruption", "overflow"):
            out.update(problem=self.problem, invalid_rows=self.invalid_rows, changed_rows=self.changed_rows)
        if self.flip_share is not None:
            out.update(flip_share=self.flip_share, mean_shift=self.mean_shift, max_shift=self.max_shift)
        return out


NOT_RUN = Verdict(outcome="not_run", problem="not run: an earlier call hung")


@dataclass(frozen=True)
class Reference:
    """The clean predictions answers are compared with, and how to read them."""

    predictions: Predictions
    task: str
    classes: np.ndarray | None
    scale: float = 1.0  # regression: the spread shifts are measured in


def judge_answer(
    answer: Answer,
    *,
    rows: int,
    reference: Reference | None = None,
    base_rows: np.ndarray | None = None,
    touched: np.ndarray | None = None,
) -> Verdict:
    """Sort one answer into its outcome.

    ``base_rows`` are the reference rows the answer's rows correspond to, and
    ``touched`` marks which of them were changed on purpose; the others must
    come back exactly as in the reference. Movement (flipped labels,
    probability shift) is measured on the touched rows of a handled answer.
    A ``reference`` is needed to judge an answer that came back.
    """
    if answer.timed_out:
        return Verdict("crashed", error="timeout", error_text="no answer within the per-call budget", rows=rows)
    if answer.error is not None:
        exc = answer.error
        outcome: Outcome = "rejected" if isinstance(exc, VALIDATION_ERRORS) else "crashed"
        return Verdict(outcome, error=type(exc).__name__, error_text=short_error(exc), rows=rows)
    pred = answer.value
    assert reference is not None, "an answer that came back is judged against the clean one"
    check = pred.check(rows, reference.task, reference.classes)
    if check.shape:  # wrong shape: nothing row by row to compare
        return Verdict("silent_corruption", problem=check.shape, what=check.shape, rows=rows, invalid_rows=rows)
    shifts = None
    if base_rows is not None and rows:
        shifts = row_shift(pred, reference.predictions.take(base_rows), reference.task, reference.scale)
    return _verdict(rows, check, shifts, touched)


def judge_stacked(answer: Answer, reference: Reference, base_rows: np.ndarray, touched: list[np.ndarray]) -> list[Verdict]:
    """Judge an answer to several injected batches sent as one, each batch
    being ``base_rows`` with its own ``touched`` rows: as :func:`judge_answer`
    would judge each part alone, with the checks run once over the whole answer."""
    n, k = len(base_rows), len(touched)
    check = answer.value.check(n * k, reference.task, reference.classes)
    if check.shape:
        return [judge_answer(answer, rows=n * k, reference=reference)] * k
    shifts = row_shift(answer.value, reference.predictions.take(np.tile(base_rows, k)), reference.task, reference.scale)
    out = []
    for i, mask in enumerate(touched):
        part = slice(i * n, (i + 1) * n)
        out.append(_verdict(n, check.part(part), (shifts[0][part], shifts[1][part]), mask))
    return out


def _verdict(rows: int, check: Any, shifts: tuple[np.ndarray, np.ndarray] | None, touched: np.ndarray | None) -> Verdict:
    """The outcome of a well-shaped answer from its output check (``Predictions.check``,
    or a part of one) and, where a reference was given, each row's movement from it."""
    kinds = check.kinds
    invalid = check.invalid_rows
    n_invalid = int(invalid.sum())
    changed = 0
    untouched = 0
    movement: tuple[float | None, float | None, float | None] = (None, None, None)
    if shifts is not None:
        diff, flips = shifts
        touched = np.zeros(rows, dtype=bool) if touched is None else touched
        moved = (diff > UNCHANGED_ATOL) | flips
        untouched = int((~touched).sum())
        changed = int((moved & ~touched).sum())
        ok = touched & ~invalid
        if ok.any():
            movement = (float(flips[ok].mean()), float(np.nanmean(diff[ok])), float(np.nanmax(diff[ok])))
    if n_invalid or changed:
        parts = []
        if n_invalid:
            parts.append(f"{n_invalid} of {rows} rows came back with {check.what}")
        if changed:
            parts.append(f"{changed} of {untouched} untouched rows changed their prediction")
        what = check.what if n_invalid else "a change in rows that were not touched"
        return Verdict(
            "silent_corruption", problem="; ".join(parts), what=what, kinds=kinds, rows=rows,
            invalid_rows=n_invalid, changed_rows=changed, untouched_rows=untouched, nonfinite=check.nonfinite_only,
        )
    return Verdict(
        "handled", rows=rows, untouched_rows=untouched,
        flip_share=movement[0], mean_shift=movement[1], max_shift=movement[2],
    )


def row_shift(pred: Predictions, base: Predictions, task: str, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how far the output moved (largest probability change, or the
    change in value over ``scale``) and whether the label changed."""
    labels = np.asarray(pred.labels)
    with np.errstate(invalid="ignore"):
        if task == "regression":
            a = np.asarray(pred.scores if pred.scores is not None else labels, dtype=float).reshape(len(labels), -1)
            b = np.asarray(base.scores if base.scores is not None else base.labels, dtype=float).reshape(len(labels), -1)
            diff = np.abs(a - b).max(axis=1) / (scale or 1.0)
            return np.where(np.isnan(diff), np.inf, diff), np.zeros(len(labels), dtype=bool)
        flips = ~_same(labels, np.asarray(base.labels))
        if pred.proba is not None and base.proba is not None:
            diff = np.abs(np.asarray(pred.proba, dtype=float) - base.proba).max(axis=1)
        elif pred.scores is not None and base.scores is not None:
            diff = np.abs(np.asarray(pred.scores, dtype=float) - base.scores)
        else:
            diff = flips.astype(float)
    return np.where(np.isnan(diff), np.inf, diff), flips


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa, sb = pd.Series(a, dtype=object), pd.Series(b, dtype=object)
    return ((sa == sb) | (sa.isna() & sb.isna())).to_numpy(dtype=bool)


def short_error(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
