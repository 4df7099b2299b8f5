"""Calling the model under a time budget, and judging what comes back.

Every query of the ``nan_injection`` probe goes through :class:`ModelCaller`
(one worker thread, a per-call budget) and every answer through
:func:`judge`, which sorts it into one of four outcomes:

- ``handled``: the right shape, finite and valid outputs, untouched rows unchanged;
- ``rejected``: an error of the validation family (``ValueError``, ``TypeError``, ``KeyError``);
- ``silent_corruption``: invalid outputs, or untouched rows changed, with no error;
- ``crashed``: any other exception, or no answer within the budget.

A fifth, ``overflow``, is never the judge's: the probe gives it afterwards to a
``silent_corruption`` whose NaN or infinite output came only from a finite
value at the edge of the float range (see ``probes._injection_overflow``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from auditkit import Model, Predictions, ProbeCancelled

Outcome = Literal["handled", "rejected", "silent_corruption", "overflow", "crashed", "not_run"]
OUTCOMES: tuple[Outcome, ...] = ("handled", "rejected", "silent_corruption", "overflow", "crashed", "not_run")

# Failing loudly with one of these is what a model should do with malformed input.
VALIDATION_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, KeyError)
VALIDATION_NAMES = "ValueError, TypeError or KeyError"

# Untouched rows must come back as they were: exact up to float noise.
UNCHANGED_ATOL = 1e-6
# The kinds of invalid output that are NaN or infinity ("NaN or infinite probabilities", ...).
NONFINITE = "NaN or infinite"

# Probabilities may stray this far from [0, 1] and from summing to 1 (float32 softmax).
PROBA_ATOL = 1e-4


@dataclass(frozen=True)
class Answer:
    """What one call returned: a value, an exception, or nothing within the budget."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    seconds: float = 0.0


class ModelHung(RuntimeError):
    """A call ran past its budget; the model may still be running, so it is not queried again."""


class ModelCaller:
    """Runs calls to the model one at a time on a daemon worker thread, each
    within ``budget_s``. A call past its budget is abandoned (a thread cannot
    be killed) and every later call raises :class:`ModelHung`, since a model
    still busy in the background cannot be trusted to answer the next one."""

    def __init__(self, model: Model, budget_s: float) -> None:
        self.model = model
        self.budget_s = float(budget_s)
        self.hung = False
        self.calls = 0
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, box, done = job
            try:
                box["value"] = fn()
            except BaseException as exc:  # the model's every failure is an outcome to judge
                box["error"] = exc
            done.set()

    def call(self, fn: Callable[[], Any]) -> Answer:
        if self.hung:
            raise ModelHung("an earlier call exceeded its time budget")
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="auditkit-nan-injection-model", daemon=True)
            self._thread.start()
        box: dict[str, Any] = {}
        done = threading.Event()
        start = time.perf_counter()
        self.calls += 1
        self._jobs.put((fn, box, done))
        if not done.wait(self.budget_s):
            self.hung = True
            return Answer(timed_out=True, seconds=time.perf_counter() - start)
        if isinstance(box.get("error"), ProbeCancelled):
            raise box["error"]  # the runner gave up on the probe: not the model's doing, and the end of it
        return Answer(value=box.get("value"), error=box.get("error"), seconds=time.perf_counter() - start)

    def predictions(self, X: pd.DataFrame) -> Answer:
        """The model's outputs on ``X`` in one pass (``Model.outputs``): a
        classifier is asked for its probabilities alone, which tell whether
        the output is valid and how far it moved."""
        return self.call(lambda: self.model.outputs(X))

    def close(self) -> None:
        if self._thread is not None and not self.hung:
            self._jobs.put(None)


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

    @property
    def nonfinite_only(self) -> bool:
        """Every invalid output is NaN or infinite, and no untouched row changed."""
        return bool(self.kinds) and all(k.startswith(NONFINITE) for k in self.kinds) and not self.changed_rows

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


def judge(
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
    """
    if answer.timed_out:
        return Verdict("crashed", error="timeout", error_text="no answer within the per-call budget", rows=rows)
    if answer.error is not None:
        exc = answer.error
        outcome: Outcome = "rejected" if isinstance(exc, VALIDATION_ERRORS) else "crashed"
        return Verdict(outcome, error=type(exc).__name__, error_text=_short(exc), rows=rows)
    pred = answer.value
    assert reference is not None or isinstance(pred, Predictions)
    task = reference.task if reference is not None else "binary"
    classes = reference.classes if reference is not None else None
    shape, flags = row_problems(pred, rows, task, classes)
    if shape:  # wrong shape: nothing row by row to compare
        return Verdict("silent_corruption", problem=shape, what=shape, rows=rows, invalid_rows=rows)
    shifts = None
    if reference is not None and base_rows is not None and rows:
        shifts = row_shift(pred, reference.predictions.take(base_rows), task, reference.scale)
    return _verdict(rows, flags, shifts, touched)


def judge_stacked(answer: Answer, reference: Reference, base_rows: np.ndarray, touched: list[np.ndarray]) -> list[Verdict]:
    """Judge an answer to several injected batches sent as one, each batch
    being ``base_rows`` with its own ``touched`` rows: as :func:`judge` would
    judge each part alone, with the checks run once over the whole answer."""
    n, k = len(base_rows), len(touched)
    shape, flags = row_problems(answer.value, n * k, reference.task, reference.classes)
    if shape:
        return [judge(answer, rows=n * k, reference=reference)] * k
    shifts = row_shift(answer.value, reference.predictions.take(np.tile(base_rows, k)), reference.task, reference.scale)
    out = []
    for i, mask in enumerate(touched):
        part = slice(i * n, (i + 1) * n)
        out.append(_verdict(n, {p: f[part] for p, f in flags.items()}, (shifts[0][part], shifts[1][part]), mask))
    return out


def _verdict(
    rows: int,
    flags: dict[str, np.ndarray],
    shifts: tuple[np.ndarray, np.ndarray] | None,
    touched: np.ndarray | None,
) -> Verdict:
    """The outcome of a well-shaped answer from its invalid rows (by problem)
    and, where a reference was given, each row's movement from it."""
    problems = [p for p, f in flags.items() if f.any()]
    problem = ", ".join(problems)
    invalid = np.logical_or.reduce(list(flags.values())) if flags else np.zeros(rows, dtype=bool)
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
            parts.append(f"{n_invalid} of {rows} rows came back with {problem}")
        if changed:
            parts.append(f"{changed} of {untouched} untouched rows changed their prediction")
        what = problem if n_invalid else "a change in rows that were not touched"
        return Verdict(
            "silent_corruption", problem="; ".join(parts), what=what, kinds=tuple(problems), rows=rows,
            invalid_rows=n_invalid, changed_rows=changed, untouched_rows=untouched,
        )
    return Verdict(
        "handled", rows=rows, untouched_rows=untouched,
        flip_share=movement[0], mean_shift=movement[1], max_shift=movement[2],
    )


def validity(pred: Predictions, rows: int, task: str, classes: np.ndarray | None) -> tuple[str, np.ndarray | None]:
    """What is wrong with the outputs (empty when nothing) and which rows are invalid.

    Rows are ``None`` when the shape itself is wrong.
    """
    shape, flags = row_problems(pred, rows, task, classes)
    if shape:
        return shape, None
    invalid = np.logical_or.reduce(list(flags.values())) if flags else np.zeros(rows, dtype=bool)
    return ", ".join(p for p, f in flags.items() if f.any()), invalid


def row_problems(pred: Predictions, rows: int, task: str, classes: np.ndarray | None) -> tuple[str, dict[str, np.ndarray]]:
    """A wrong shape (empty when the shape is right), and for each kind of
    invalid output the rows that show it."""
    labels = np.asarray(pred.labels)
    if labels.ndim == 0 or len(labels) != rows:
        got = "a scalar" if labels.ndim == 0 else f"{len(labels)} outputs"
        return f"{got} for {rows} rows", {}
    flags: dict[str, np.ndarray] = {}
    if task == "regression":
        values = pred.scores if pred.scores is not None else labels
        try:
            v = np.asarray(values, dtype=float).reshape(rows, -1)
        except (TypeError, ValueError):
            return "", {"non-numeric predictions": np.ones(rows, dtype=bool)}
        flags[f"{NONFINITE} predictions"] = ~np.isfinite(v).all(axis=1)
        return "", flags
    if pred.proba is not None:
        p = np.asarray(pred.proba, dtype=float)
        width = len(classes) if classes is not None else p.shape[-1]
        if p.ndim != 2 or p.shape != (rows, width):
            return f"probabilities of shape {p.shape} for {rows} rows and {width} classes", {}
        with np.errstate(invalid="ignore"):
            nonfinite = ~np.isfinite(p).all(axis=1)
            outside = ((p < -PROBA_ATOL) | (p > 1 + PROBA_ATOL)).any(axis=1) | (np.abs(p.sum(axis=1) - 1) > PROBA_ATOL)
        flags[f"{NONFINITE} probabilities"] = nonfinite
        flags["probabilities outside [0, 1] or not summing to 1"] = outside & ~nonfinite
    elif pred.scores is not None:
        s = np.asarray(pred.scores, dtype=float).ravel()
        if len(s) != rows:
            return f"{len(s)} scores for {rows} rows", {}
        flags[f"{NONFINITE} scores"] = ~np.isfinite(s)
    if classes is not None:
        flags["labels that are not classes of the target"] = ~pd.Series(labels, dtype=object).isin(list(classes)).to_numpy()
    return "", flags


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


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
