"""Probe ``nan_injection``: malformed input must fail loudly, never silently."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from auditkit import AuditContext, Evidence, Finding, Needs, Probe, Severity, require
from auditkit.strategies import ColumnSchema, infer_schema

from probes._injection_batch import BatchResult, check_batches
from probes._injection_calls import (
    OUTCOMES,
    VALIDATION_NAMES,
    ModelCaller,
    Reference,
    validity,
)
from probes._injection_fuzz import FuzzResult, fuzz
from probes._injection_grid import (
    FRAME_FAULT_LABELS,
    INJECTION_LABELS,
    RATES,
    CellResult,
    FaultResult,
    cell_reproducer,
    rate_rows,
    run_cells,
    run_frame_faults,
    shuffled_shift,
)
from probes._injection_online import POISONS, PoisonResult, poison_model
from probes._injection_overflow import PLAUSIBLE_SPANS, Ladder, classify_overflow

__all__ = ["NanInjection"]

FAMILY_LABELS = {
    "missing": "missing values",
    "extreme": "extreme values",
    "wrong_type": "values of the wrong type",
    "unseen": "unseen categories",
    "garbled": "garbled text",
}

# Message templates (the tests build the expected messages from these).
CORRUPTION_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) returned invalid "
    "output with no error in {n_cells} of {n_tried} batch(es) (allowed: none); e.g. {example} in {column!r}, "
    "{rate}: {problem}. Reproduce with X = {reproducer}"
)
CRASH_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) crashed the model in "
    "{n_cells} of {n_tried} batch(es) with {errors} instead of a validation error ({validation}); e.g. "
    "{example} in {column!r}, {rate}: {error_text}. Reproduce with X = {reproducer}"
)
OVERFLOW_MESSAGE = (
    "Injecting {injections} into {n_columns} of {n_applicable} column(s) ({columns}) came back with {what} and no "
    "error in {n_cells} of {n_tried} batch(es); e.g. {example} in {column!r}, {rate}: {problem}. That is float overflow "
    "at the edge of the range (float64 ends at 1.8e308, float32 at 3.4e38), not a missing value passed through: in "
    "{column!r} the output is finite up to {last:g} and first turns NaN or infinite at {first:g}, far above the "
    "{limit:.2g} taken as plausible there ({spans:g} times the column's range). Clip or reject such values if a feed "
    "can send them. Reproduce with X = {reproducer}"
)
FUZZ_OVERFLOW_MESSAGE = (
    "Hypothesis found {batches} generated batch(es) that came back with NaN or infinite output only because of finite "
    "values beyond any plausible magnitude (float overflow at the edge of the range: with those values brought "
    "down to the largest plausible ones, the same batches are answered); e.g. X = {reproducer}"
)
FRAME_CORRUPTION_MESSAGE = (
    "A batch with {fault} ({detail}) returned invalid output with no error (allowed: none): {problem}."
)
FRAME_CRASH_MESSAGE = (
    "A batch with {fault} ({detail}) crashed the model with {error} instead of a validation error "
    "({validation}): {error_text}."
)
SHIFT_MESSAGE = (
    "Missing values are handled but move predictions far in {n_columns} of {n_tried} column(s): {offenders} "
    "(thresholds: a mean shift above {threshold:g} and above {ratio:g}x the shift from shuffling the column). "
    "An imputer filling a value far from the data does this."
)
SHIFT_OFFENDER = "{column!r} ({injection}: mean shift {shift:.3f}, {times:.1f}x shuffling, {flipped:.0%} of labels flip)"
BATCH_MESSAGE = (
    "Predictions depend on the batch: the same {rows} rows predicted in one batch, in batches of {small} "
    "and (the first {single}) one at a time differ by up to {max_diff:.3g} (tolerance {tolerance:g}) in {differing} row(s), and "
    "{flipped} label(s) flip. Batch statistics used at inference (batch norm in training mode) or "
    "padding bugs do this."
)
BATCH_FAILURE_MESSAGE = (
    "Predicting {rows} clean rows {how} failed with {error} ({error_text}), while the same rows in one "
    "batch were answered."
)
POISON_MESSAGE = (
    "One online update with a poisoned batch of {size} row(s) ({injection} in {column!r}) {effect}; "
    "{size} is the smallest poisoned batch that does it (sizes tried: {sizes}). Reproduce with "
    "learner.update(X, y), X = {reproducer}"
)
POISON_CRASH_MESSAGE = (
    "One online update with a poisoned batch of {size} row(s) ({injection} in {column!r}) crashed with "
    "{error} instead of a validation error ({validation}): {error_text}."
)
FUZZ_MESSAGE = (
    "Hypothesis found {what} that {effect} with no validation error after {examples} generated batches; "
    "shrunk to: X = {reproducer}"
)
CLEAN_INVALID_MESSAGE = (
    "The model returns {problem} for {n_invalid} of {rows} clean sampled rows, before any injection "
    "(allowed: none)."
)


@dataclass(frozen=True, kw_only=True)
class NanInjection(Probe):
    """Pushes malformed input through the model's real predict and judges what comes back.

    **Detects** models that turn malformed input into wrong answers without a
    word: NaN, None, empty and "null"-like strings, infinities, extreme
    magnitudes, wrong types, unseen categories and garbled text in any column
    (in one cell, in a share of rows, in the whole column), and faults of the
    whole batch (a column missing, added, reordered or of the wrong dtype; an
    empty batch; a single row). Each injection goes through the model as one
    batch over a sample of the audit rows and ends in one outcome:

    - *handled*: the right shape, finite valid outputs, the untouched rows unchanged;
    - *rejected*: a ``ValueError``, ``TypeError`` or ``KeyError``, which is what we want;
    - *silent corruption* (``critical``): NaN, infinite or invalid outputs, or
      rows that were not touched changing, with no error;
    - *crashed* (``high``): any other exception, or no answer within ``call_timeout_s``;
    - *overflow* (``low``): NaN or infinite output caused only by a finite
      value beyond any plausible magnitude (1e308, -1e308). Any model that
      multiplies such a value by a weight above 1.8 overflows (a standardised
      ``Ridge``, a multinomial ``LogisticRegression``), which is the float
      range running out, not NaN passed through. A ladder of powers of ten
      in one call, on the row the injection touched, shows where the output
      first turns non-finite; if that is within 1e12 times the column's range
      (a log or square root of a negative, an unguarded ``exp``), it is no
      overflow and stays silent corruption. The "value 1000x outside the
      column's range" injection is always graded as corruption.

    Also checks that predictions do not depend on how rows are batched
    (``high``), that one poisoned update cannot wreck a model that learns
    online (``critical``), and lets hypothesis search for rows beyond the fixed
    list, shrunk to the smallest failing one. Under handled missing values it
    **measures** how far predictions move, and flags (``medium``) columns where
    that exceeds both ``shift_threshold`` and ``shift_ratio`` times the shift
    of shuffling the column: an imputed value should move predictions less
    than a random plausible one does (a median imputer moves them about half
    as far; a constant far outside the data, twice as far or more).

    **Defaults.** A 200-row sample pins a share of changed rows to within seven
    points (95%, at worst); ``fraction`` 0.1 touches 20 rows. Whether an
    injection is handled, rejected or corrupts is a yes/no that one row
    already shows, so a larger sample buys little. At these sizes a model
    call costs mostly its fixed overhead (a pipeline's checks and encoders),
    so injected batches are stacked into calls of up to ``stack_rows`` rows
    (fewer when the clean sample's call says a call that size would take over
    a tenth of ``call_timeout_s``): the whole grid of a 20-column table then
    takes a few dozen calls, most of them the frames of other dtypes and the
    retries of stacks a model rejected. The batch check predicts 64 rows in
    one batch, in batches of 8, and the first 8 one at a time: a model whose
    answer depends on its batch-mates shows it on any row. Hypothesis then
    tries 20 generated batches of up to 4 rows beyond the fixed list (under a
    second: drawing the rows costs more than predicting them; small batches
    also keep one rejected cell from hiding another cell's silent failure);
    raise ``fuzz_examples`` for a deeper search in a nightly run. A probability shift of 0.15 moves a typical row
    across a decision threshold; shuffling is the yardstick because it is what
    losing the column entirely costs. Batch results may differ by 1e-5 (float32
    kernels differ by batch size by far less). An update collapses a model when
    its clean score falls 0.2 below that of the same update without the poison.
    The poisons tried by default are NaN and +inf, the values a broken feed
    really sends; ``"huge"`` (1e308) is opt-in: one update with a finite but
    absurd value wrecks any plain linear learner (scikit-learn's
    ``SGDClassifier`` included), which is worth knowing when a feed can send
    such values, and which the injection grid reports for ``predict`` as overflow.
    """

    name: ClassVar[str] = "nan_injection"
    needs: ClassVar[Needs] = Needs(queryable=True)

    sample_size: int = 200
    fraction: float = 0.1
    stack_rows: int = 50_000
    call_timeout_s: float = 30.0
    shift_threshold: float = 0.15
    shift_ratio: float = 1.5
    batch_rows: int = 64
    small_batch: int = 8
    single_rows: int = 8
    batch_tolerance: float = 1e-5
    poison_batch_sizes: tuple[int, ...] = (1, 8, 64)
    poisons: tuple[str, ...] = ("nan", "pos_inf")
    collapse_drop: float = 0.2
    fuzz_examples: int = 20
    fuzz_rows: int = 4
    fuzz_seconds: float = 20.0

    def __post_init__(self) -> None:
        require(self.sample_size >= 10, "sample_size must be at least 10 rows")
        require(0 < self.fraction < 1, "fraction must be in (0, 1)")
        require(self.stack_rows >= 1, "stack_rows must be at least 1 (1 sends every injected batch alone)")
        require(self.call_timeout_s > 0, "call_timeout_s must be positive")
        require(0 < self.shift_threshold <= 1, "shift_threshold must be in (0, 1]")
        require(self.shift_ratio >= 1, "shift_ratio must be at least 1")
        require(self.batch_rows >= 2, "batch_rows must be at least 2")
        require(1 < self.small_batch < self.batch_rows, "small_batch must be between 2 and batch_rows - 1")
        require(1 <= self.single_rows <= self.batch_rows, "single_rows must be between 1 and batch_rows")
        require(self.batch_tolerance >= 0, "batch_tolerance must be non-negative")
        require(
            len(self.poison_batch_sizes) > 0 and all(int(s) >= 1 for s in self.poison_batch_sizes),
            "poison_batch_sizes must be one or more positive batch sizes",
        )
        object.__setattr__(self, "poison_batch_sizes", tuple(sorted({int(s) for s in self.poison_batch_sizes})))
        object.__setattr__(self, "poisons", tuple(self.poisons))
        require(
            len(self.poisons) > 0 and set(self.poisons) <= set(POISONS),
            f"poisons must be one or more of {', '.join(POISONS)}",
        )
        require(0 < self.collapse_drop <= 1, "collapse_drop must be in (0, 1]")
        require(self.fuzz_examples >= 0, "fuzz_examples must be non-negative (0 turns fuzzing off)")
        require(self.fuzz_rows >= 1, "fuzz_rows must be at least 1")
        require(self.fuzz_seconds > 0, "fuzz_seconds must be positive")

    def run(self, ctx: AuditContext) -> Evidence:
        ctx.predictions  # the model must answer the audit rows at all; its failure is reported as such
        data = ctx.data
        n = min(self.sample_size, data.n_rows)
        index = np.sort(ctx.rng.choice(data.n_rows, size=n, replace=False))
        sample = data.X.iloc[index].reset_index(drop=True)
        y = data.y.to_numpy()[index]
        schema = infer_schema(data)
        task = ctx.model.task
        caller = ModelCaller(ctx.model, min(self.call_timeout_s, ctx.timeout_s))
        try:
            with warnings.catch_warnings():
                # Malformed input makes models warn by the thousand ("overflow encountered
                # in cast"); the outcome of each injection already says what happened.
                warnings.simplefilter("ignore")
                return self._run(ctx, caller, sample, y, schema, task)
        finally:
            caller.close()

    def _run(
        self, ctx: AuditContext, caller: ModelCaller, sample: pd.DataFrame, y: np.ndarray,
        schema: tuple[ColumnSchema, ...], task: str,
    ) -> Evidence:
        clean = caller.predictions(sample)
        if clean.timed_out or clean.error is not None:
            what = "no answer in time" if clean.timed_out else f"{type(clean.error).__name__}: {clean.error}"
            raise RuntimeError(f"the model failed on a clean sample of {len(sample)} audit rows ({what})")
        scale = 1.0
        if task == "regression":
            values = np.asarray(clean.value.scores if clean.value.scores is not None else clean.value.labels, dtype=float)
            finite = values[np.isfinite(values)]
            scale = float(np.std(finite)) if finite.size and np.std(finite) > 0 else 1.0
        reference = Reference(clean.value, task, ctx.model.classes if task != "regression" else None, scale)
        findings: list[Finding] = []
        problem, invalid = validity(clean.value, len(sample), task, reference.classes)
        if problem:
            n_invalid = len(sample) if invalid is None else int(invalid.sum())
            findings.append(Finding(
                code="invalid_output_on_clean_rows", severity=Severity.CRITICAL,
                message=CLEAN_INVALID_MESSAGE.format(problem=problem, n_invalid=n_invalid, rows=len(sample)),
                metrics={"invalid_rows": n_invalid, "rows": len(sample)},
            ))

        rows_for = rate_rows(len(sample), self.fraction, ctx.rng)
        # A stacked call may take a tenth of the per-call budget at the pace of
        # the clean call (whose fixed overhead makes that pace a cautious one).
        paced = int(len(sample) * caller.budget_s / (10 * max(clean.seconds, 1e-3)))
        stack_rows = max(len(sample), min(self.stack_rows, paced))
        cells = run_cells(caller, sample, schema, reference, rows_for, stack_rows)
        cells, ladders = classify_overflow(caller, sample, schema, reference, cells)
        faults = run_frame_faults(caller, sample, schema, reference, ctx.rng)
        shifts = self._missing_shifts(caller, sample, cells, reference, ctx.rng)
        batch_rows = sample.iloc[: min(self.batch_rows, len(sample))]
        batch = None if caller.hung else check_batches(
            caller, batch_rows, reference, self.small_batch, self.single_rows, self.batch_tolerance,
        )
        poisons: list[PoisonResult] = []
        clean_scores: dict[int, float] = {}
        online = ctx.model.capabilities.online
        if online and not caller.hung:
            poisons, clean_scores = poison_model(
                caller, ctx.model, sample, y, schema, reference, self.poison_batch_sizes, self.poisons,
                self.collapse_drop, ctx.rng,
            )
        fuzzed = None
        if self.fuzz_examples and not caller.hung:
            fuzzed = fuzz(
                caller, schema, reference, seed=ctx.seed, examples=self.fuzz_examples,
                max_rows=self.fuzz_rows, budget_s=min(self.fuzz_seconds, ctx.timeout_s / 4),
            )

        findings += _cell_findings(cells, sample, schema, caller.budget_s, ladders)
        findings += _fault_findings(faults, caller.budget_s)
        findings += self._shift_findings(shifts)
        findings += self._batch_findings(batch)
        findings += _poison_findings(poisons, self.poison_batch_sizes)
        overflowed = any(f.code == "float_overflow" for f in findings)
        findings += _fuzz_findings(fuzzed, overflowed)
        metrics = _metrics(
            cells, ladders, faults, shifts, batch, poisons, clean_scores, online, fuzzed, rows_for, sample, caller,
        )
        return Evidence(metrics=metrics, findings=findings)

    # -- measurements that need more than one query ------------------------------

    def _missing_shifts(
        self, caller: ModelCaller, sample: pd.DataFrame, cells: list[CellResult], reference: Reference,
        rng: np.random.Generator,
    ) -> dict[str, dict[str, Any]]:
        """Per column: the worst handled missing-value injection over the whole
        column, and the shift of shuffling that column, its yardstick."""
        worst: dict[str, CellResult] = {}
        for cell in cells:
            v = cell.verdict
            whole_missing = cell.rate == "whole_column" and cell.injection.family == "missing"
            if whole_missing and v.outcome == "handled" and v.mean_shift is not None:
                best = worst.get(cell.injection.column)
                if best is None or v.mean_shift > (best.verdict.mean_shift or 0.0):
                    worst[cell.injection.column] = cell
        out: dict[str, dict[str, Any]] = {}
        for column, cell in worst.items():
            if caller.hung:
                break
            shuffled = None
            if (cell.verdict.mean_shift or 0.0) > self.shift_threshold:  # only then can it matter
                shuffled = shuffled_shift(caller, sample, column, reference, rng)
            out[column] = {
                "injection": cell.injection.name,
                "mean_shift": cell.verdict.mean_shift,
                "flip_share": cell.verdict.flip_share,
                "shuffled_shift": shuffled,
            }
        return out

    # -- judging ------------------------------------------------------------------

    def _shift_findings(self, shifts: dict[str, dict[str, Any]]) -> list[Finding]:
        offenders = []
        for column, s in shifts.items():
            shuffled = s["shuffled_shift"]
            if shuffled is None or s["mean_shift"] <= self.shift_threshold:
                continue
            if s["mean_shift"] > self.shift_ratio * shuffled:
                offenders.append((column, s, s["mean_shift"] / max(shuffled, 1e-12)))
        if not offenders:
            return []
        offenders.sort(key=lambda o: -o[1]["mean_shift"])
        text = ", ".join(
            SHIFT_OFFENDER.format(
                column=c, injection=INJECTION_LABELS[s["injection"]], shift=s["mean_shift"],
                times=min(times, 999.0), flipped=s["flip_share"] or 0.0,
            )
            for c, s, times in offenders[:5]
        ) + (f" and {len(offenders) - 5} more" if len(offenders) > 5 else "")
        return [Finding(
            code="missing_value_shift", severity=Severity.MEDIUM,
            message=SHIFT_MESSAGE.format(
                n_columns=len(offenders), n_tried=len(shifts), offenders=text,
                threshold=self.shift_threshold, ratio=self.shift_ratio,
            ),
            features=tuple(c for c, _, _ in offenders),
            metrics={c: {**s, "ratio": t} for c, s, t in offenders},
        )]

    def _batch_findings(self, batch: BatchResult | None) -> list[Finding]:
        if batch is None:
            return []
        if batch.failed_how is not None:
            return [Finding(
                code="batch_size_failure", severity=Severity.HIGH,
                message=BATCH_FAILURE_MESSAGE.format(
                    rows=batch.rows, how=batch.failed_how, error=batch.error, error_text=batch.error_text,
                ),
                metrics=batch.to_dict(),
            )]
        if (batch.max_diff or 0.0) > self.batch_tolerance or batch.flipped:
            return [Finding(
                code="batch_dependent_output", severity=Severity.HIGH,
                message=BATCH_MESSAGE.format(
                    rows=batch.rows, small=batch.small_batch, single=min(self.single_rows, batch.rows),
                    max_diff=batch.max_diff, tolerance=self.batch_tolerance,
                    differing=batch.differing_rows, flipped=batch.flipped,
                ),
                metrics=batch.to_dict(),
            )]
        return []


def _names(columns: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _rate_text(cell: CellResult) -> str:
    if cell.rate == "one_cell":
        return "one cell"
    if cell.rate == "fraction":
        return f"{cell.rows} rows"
    return f"the whole column ({cell.rows} rows)"


def _error_label(error: str | None, budget_s: float) -> str:
    return f"a hang (no answer within {budget_s:g} s)" if error == "timeout" else str(error)


def _cell_findings(
    cells: list[CellResult], sample: pd.DataFrame, schema: Sequence[ColumnSchema], budget_s: float,
    ladders: Sequence[Ladder],
) -> list[Finding]:
    """One finding per fault family and bad outcome, naming every offending column."""
    ladder_of = {(lad.column, lad.injection): lad for lad in ladders}
    by_family: dict[str, list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_family[cell.injection.family].append(cell)
    findings = []
    for family, group in by_family.items():
        applicable = sorted({c.injection.column for c in group}, key=[s.name for s in schema].index)
        for outcome in ("silent_corruption", "crashed", "overflow"):
            bad = [c for c in group if c.verdict.outcome == outcome]
            if not bad:
                continue
            columns = sorted({c.injection.column for c in bad}, key=applicable.index)
            injections = list(dict.fromkeys(c.injection.label for c in bad))
            # The smallest reproducer: the lowest rate in the first offending column.
            example = min(bad, key=lambda c: (columns.index(c.injection.column), RATES.index(c.rate)))
            reproducer = cell_reproducer(sample, schema, example) if len(schema) <= 40 else "(too wide to print; see metrics)"
            common = dict(
                injections=", ".join(injections[:6]) + (" and more" if len(injections) > 6 else ""),
                n_columns=len(columns), n_applicable=len(applicable), columns=_names(columns),
                n_cells=len(bad), n_tried=len(group), example=example.injection.label,
                column=example.injection.column, rate=_rate_text(example), reproducer=reproducer,
            )
            metrics = {
                "family": family,
                "batches": len(bad),
                "tried": len(group),
                "cells": [
                    {"column": c.injection.column, "injection": c.injection.name, "rate": c.rate, **c.verdict.to_dict()}
                    for c in bad[:50]
                ],
            }
            if outcome == "silent_corruption":
                findings.append(Finding(
                    code="silent_corruption", severity=Severity.CRITICAL,
                    message=CORRUPTION_MESSAGE.format(problem=example.verdict.problem, **common),
                    features=tuple(columns), metrics=metrics, examples=(reproducer,),
                ))
            elif outcome == "overflow":
                ladder = ladder_of[(example.injection.column, example.injection.name)]
                metrics["ladders"] = {
                    f"{lad.column}/{lad.injection}": lad.to_dict() for lad in ladders if lad.overflow and lad.column in columns
                }
                findings.append(Finding(
                    code="float_overflow", severity=Severity.LOW,
                    message=OVERFLOW_MESSAGE.format(
                        what=example.verdict.what, problem=example.verdict.problem, first=ladder.first_invalid,
                        last=ladder.last_valid, limit=ladder.limit, spans=PLAUSIBLE_SPANS, **common,
                    ),
                    features=tuple(columns), metrics=metrics, examples=(reproducer,),
                ))
            else:
                errors = list(dict.fromkeys(_error_label(c.verdict.error, budget_s) for c in bad))
                findings.append(Finding(
                    code="crash_on_malformed_input", severity=Severity.HIGH,
                    message=CRASH_MESSAGE.format(
                        errors=" or ".join(errors[:3]), validation=VALIDATION_NAMES,
                        error_text=example.verdict.error_text, **common,
                    ),
                    features=tuple(columns), metrics=metrics, examples=(reproducer,),
                ))
    return findings


def _fault_findings(faults: list[FaultResult], budget_s: float) -> list[Finding]:
    findings = []
    for f in faults:
        v = f.verdict
        label = FRAME_FAULT_LABELS[f.fault]
        if v.outcome == "silent_corruption":
            findings.append(Finding(
                code="silent_corruption", severity=Severity.CRITICAL,
                message=FRAME_CORRUPTION_MESSAGE.format(fault=label, detail=f.detail, problem=v.problem),
                metrics={"fault": f.fault, **v.to_dict()}, examples=(f.reproducer,) if f.reproducer else (),
            ))
        elif v.outcome == "crashed":
            findings.append(Finding(
                code="crash_on_malformed_input", severity=Severity.HIGH,
                message=FRAME_CRASH_MESSAGE.format(
                    fault=label, detail=f.detail, error=_error_label(v.error, budget_s),
                    validation=VALIDATION_NAMES, error_text=v.error_text,
                ),
                metrics={"fault": f.fault, **v.to_dict()}, examples=(f.reproducer,) if f.reproducer else (),
            ))
    return findings


def _poison_findings(poisons: list[PoisonResult], sizes: Sequence[int]) -> list[Finding]:
    findings = []
    for p in poisons:
        if p.outcome == "poisoned":
            findings.append(Finding(
                code="online_poisoning", severity=Severity.CRITICAL,
                message=POISON_MESSAGE.format(
                    size=p.size, injection=p.label, column=p.column, effect=p.effect,
                    sizes=", ".join(map(str, sizes)), reproducer=p.reproducer or "(too wide to print)",
                ),
                features=(p.column,) if p.column else (),
                metrics={"poison": p.poison, "smallest_batch": p.size, "score": p.score, "clean_update_score": p.clean_score},
                examples=(p.reproducer,) if p.reproducer else (),
            ))
        elif p.outcome == "crashed":
            findings.append(Finding(
                code="online_update_crash", severity=Severity.HIGH,
                message=POISON_CRASH_MESSAGE.format(
                    size=p.size, injection=p.label, column=p.column, error=p.error,
                    validation=VALIDATION_NAMES, error_text=p.error_text,
                ),
                features=(p.column,) if p.column else (),
                metrics={"poison": p.poison, "batch": p.size, "error": p.error},
                examples=(p.reproducer,) if p.reproducer else (),
            ))
    return findings


def _fuzz_findings(fuzzed: FuzzResult | None, overflow_reported: bool) -> list[Finding]:
    if fuzzed is None:
        return []
    if fuzzed.verdict is None:
        if not fuzzed.overflow_batches or overflow_reported:  # the grid already says it, with where it starts
            return []
        return [Finding(
            code="float_overflow", severity=Severity.LOW,
            message=FUZZ_OVERFLOW_MESSAGE.format(batches=fuzzed.overflow_batches, reproducer=fuzzed.overflow_example),
            metrics=fuzzed.to_dict(), examples=(fuzzed.overflow_example,),
        )]
    v = fuzzed.verdict
    what = "a row" if fuzzed.single_row else f"a batch of {fuzzed.rows} rows"
    if v.outcome == "silent_corruption":
        effect, severity = f"comes back with {v.what or 'invalid output'}", Severity.CRITICAL
    else:
        effect, severity = f"crashes the model with {v.error} ({v.error_text})", Severity.HIGH
    return [Finding(
        code="fuzz_counterexample", severity=severity,
        message=FUZZ_MESSAGE.format(what=what, effect=effect, examples=fuzzed.examples, reproducer=fuzzed.reproducer),
        metrics=fuzzed.to_dict(), examples=(fuzzed.reproducer,),
    )]


def _metrics(
    cells: list[CellResult],
    ladders: Sequence[Ladder],
    faults: list[FaultResult],
    shifts: dict[str, dict[str, Any]],
    batch: BatchResult | None,
    poisons: list[PoisonResult],
    clean_scores: dict[int, float],
    online: bool,
    fuzzed: FuzzResult | None,
    rows_for: dict[str, np.ndarray],
    sample: pd.DataFrame,
    caller: ModelCaller,
) -> dict[str, Any]:
    grid: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    movement: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    errors: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    by_injection: dict[str, Counter[str]] = defaultdict(Counter)
    outcomes: Counter[str] = Counter({o: 0 for o in OUTCOMES})
    for cell in cells:
        v, inj = cell.verdict, cell.injection
        grid[inj.column][inj.name][cell.rate] = v.outcome
        outcomes[v.outcome] += 1
        by_injection[inj.name][v.outcome] += 1
        if v.outcome == "handled" and v.mean_shift is not None:
            movement[inj.column][inj.name][cell.rate] = {
                "flip_share": v.flip_share, "mean_shift": v.mean_shift, "max_shift": v.max_shift,
            }
        if v.error:
            errors[inj.column][inj.name][cell.rate] = v.error
    return {
        "sample_rows": len(sample),
        "rows_per_rate": {rate: len(rows) for rate, rows in rows_for.items()},
        "columns": int(sample.shape[1]),
        "queries": caller.calls,
        "hung": caller.hung,
        "outcomes": dict(outcomes),
        "grid": {c: dict(v) for c, v in grid.items()},
        "by_injection": {k: dict(v) for k, v in by_injection.items()},
        "errors": {c: dict(v) for c, v in errors.items()},
        "movement": {c: dict(v) for c, v in movement.items()},
        "missing_shift": shifts,
        "overflow_ladders": {f"{lad.column}/{lad.injection}": lad.to_dict() for lad in ladders},
        "frame_faults": {f.fault: {"detail": f.detail, **f.verdict.to_dict()} for f in faults},
        "batch_consistency": None if batch is None else batch.to_dict(),
        "online": {
            "applied": bool(online),
            "clean_update_scores": {str(k): v for k, v in clean_scores.items()},
            "poisons": {
                p.poison: {"outcome": p.outcome, "smallest_batch": p.size, "column": p.column, "effect": p.effect,
                           "error": p.error, "tried": p.tried}
                for p in poisons
            },
        },
        "fuzz": None if fuzzed is None else fuzzed.to_dict(),
    }
