"""What nan_injection measures: the model's answers to malformed batches.

Everything here queries the model again, so it runs on the audit's one seeded
sample (``ctx.sample``: the same rows for every probe and however the data is
partitioned), ``sample_size`` rows of it. How much is sent is a count fixed by
the settings and the seed (the grid's cells, the frame faults, the batches,
the poisons, hypothesis' examples); the time budgets only stop work that a
hung or very slow model would never finish, and what they stop is counted as
``not_run`` in the metrics.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditkit import AuditContext, ModelFailure
from auditkit.strategies import ColumnSchema, infer_schema

from probes.nan_injection.batch import BatchResult, check_batches
from probes.nan_injection.calls import ModelCaller
from probes.nan_injection.fuzz import FuzzResult, fuzz
from probes.nan_injection.grid import (
    CellResult,
    FaultResult,
    Rate,
    Stacking,
    rate_rows,
    run_cells,
    run_frame_faults,
    shuffled_shift,
)
from probes.nan_injection.messages import CLEAN_FAILURE_MESSAGE
from probes.nan_injection.online import PoisonResult, poison_model
from probes.nan_injection.outcome import OUTCOMES, Reference
from probes.nan_injection.overflow import Ladder, classify_overflow

if TYPE_CHECKING:
    from probes.nan_injection.probe import NanInjection

HUNG = "an earlier call hung"


@dataclass
class Measured:
    """Everything nan_injection measured, for the judge, the metrics and the figures."""

    sample: pd.DataFrame
    schema: tuple[ColumnSchema, ...]
    clean_invalid: int  # clean sampled rows the model answered with invalid output (before any injection)
    clean_what: str  # what was wrong with them, in short
    input_writes: tuple[str, ...] | None  # None: the model could not be asked
    rows_for: dict[Rate, np.ndarray]
    stacking: Stacking
    cells: list[CellResult] = field(default_factory=list)
    ladders: list[Ladder] = field(default_factory=list)
    faults: list[FaultResult] = field(default_factory=list)
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch: BatchResult | None = None
    online: bool = False
    poisons: list[PoisonResult] = field(default_factory=list)
    clean_scores: dict[int, float] = field(default_factory=dict)
    fuzzed: FuzzResult | None = None
    fuzz_planned: int = 0
    poisons_planned: tuple[str, ...] = ()
    queries: int = 0
    hung: bool = False
    budget_s: float = 0.0


def measure(probe: NanInjection, ctx: AuditContext) -> Measured:
    ctx.predictions  # the model must answer the audit rows at all; its failure is reported as such
    data = ctx.data
    positions = ctx.sample(probe.sample_size)
    sample = data.frame.iloc[positions][list(data.features)].reset_index(drop=True)
    y = data.y.to_numpy()[positions]
    # The schema (each column's kind, range, typical values and categories, which the
    # injected values and hypothesis' rows are made from) is read from the whole
    # data by auditkit.strategies, as the injections were always made: quantiles
    # do not merge exactly, and a sample's range would move the out-of-range values.
    schema = infer_schema(data)
    caller = ModelCaller(ctx.model, min(probe.call_timeout_s, ctx.timeout_s))
    try:
        with warnings.catch_warnings():
            # Malformed input makes models warn by the thousand ("overflow encountered
            # in cast"); the outcome of each injection already says what happened.
            warnings.simplefilter("ignore")
            return _measure(probe, ctx, caller, sample, y, schema)
    finally:
        caller.close()


def _measure(
    probe: NanInjection, ctx: AuditContext, caller: ModelCaller, sample: pd.DataFrame, y: np.ndarray,
    schema: tuple[ColumnSchema, ...],
) -> Measured:
    task = ctx.model.task
    clean = caller.predictions(sample)
    if clean.timed_out or clean.error is not None:
        what = "no answer in time" if clean.timed_out else f"{type(clean.error).__name__}: {clean.error}"
        raise ModelFailure(CLEAN_FAILURE_MESSAGE.format(rows=len(sample), what=what))
    scale = 1.0
    if task == "regression":
        values = np.asarray(clean.value.scores if clean.value.scores is not None else clean.value.labels, dtype=float)
        finite = values[np.isfinite(values)]
        scale = float(np.std(finite)) if finite.size and np.std(finite) > 0 else 1.0
    reference = Reference(clean.value, task, ctx.model.classes if task != "regression" else None, scale)
    # The model gets a copy of its own in every call, so a model that writes into its
    # input cannot corrupt the reference; whether it does is a finding of its own.
    writes = caller.call(lambda: ctx.model.input_writes(sample))
    # A stack may take half the per-call budget at the pace of the clean call (whose
    # fixed overhead makes that pace a cautious one): only a slow model comes near it.
    safe_rows = int(len(sample) * caller.budget_s / (2 * max(clean.seconds, 1e-6)))
    check = clean.value.check(len(sample), task, reference.classes)
    m = Measured(
        sample=sample, schema=schema, budget_s=caller.budget_s,
        clean_invalid=int(check.invalid_rows.sum()), clean_what=check.what,
        input_writes=None if writes.error is not None or writes.timed_out else tuple(writes.value),
        rows_for=rate_rows(len(sample), probe.fraction, ctx.rng),
        stacking=Stacking(rows=max(len(sample), probe.stack_rows), safe_rows=max(len(sample), safe_rows)),
        online=bool(ctx.model.capabilities.online), fuzz_planned=probe.fuzz_examples, poisons_planned=probe.poisons,
    )
    m.cells = run_cells(caller, sample, schema, reference, m.rows_for, m.stacking)
    m.cells, m.ladders = classify_overflow(caller, sample, schema, reference, m.cells)
    m.faults = run_frame_faults(caller, sample, schema, reference, ctx.rng)
    m.shifts = _missing_shifts(probe, caller, sample, m.cells, reference, ctx.rng)
    batch_rows = sample.iloc[: min(probe.batch_rows, len(sample))]
    if not caller.hung:
        m.batch = check_batches(caller, batch_rows, reference, probe.small_batch, probe.single_rows, probe.batch_tolerance)
    if m.online and not caller.hung:
        m.poisons, m.clean_scores = poison_model(
            caller, ctx.model, sample, y, schema, reference, probe.poison_batch_sizes, probe.poisons,
            probe.collapse_drop, ctx.rng,
        )
    if probe.fuzz_examples and not caller.hung:
        m.fuzzed = fuzz(
            caller, schema, reference, seed=ctx.seed, examples=probe.fuzz_examples,
            max_rows=probe.fuzz_rows, budget_s=min(probe.fuzz_seconds, ctx.timeout_s / 4),
        )
    m.queries, m.hung = caller.calls, caller.hung
    return m


def _missing_shifts(
    probe: NanInjection, caller: ModelCaller, sample: pd.DataFrame, cells: list[CellResult], reference: Reference,
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
        if (cell.verdict.mean_shift or 0.0) > probe.shift_threshold:  # only then can it matter
            shuffled = shuffled_shift(caller, sample, column, reference, rng)
        out[column] = {
            "injection": cell.injection.name,
            "mean_shift": cell.verdict.mean_shift,
            "flip_share": cell.verdict.flip_share,
            "shuffled_shift": shuffled,
        }
    return out


def metrics(m: Measured) -> dict[str, Any]:
    """The measurements as the scorecard stores them."""
    grid: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    movement: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    errors: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    by_injection: dict[str, Counter[str]] = defaultdict(Counter)
    outcomes: Counter[str] = Counter({o: 0 for o in OUTCOMES})
    for cell in m.cells:
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
        "sample_rows": len(m.sample),
        "sample": "the audit's one seeded sample of its rows (the same for every probe and any partitioning)",
        "rows_per_rate": {rate: len(rows) for rate, rows in m.rows_for.items()},
        "columns": int(m.sample.shape[1]),
        "queries": m.queries,
        "stack_rows": m.stacking.rows,
        "stacks_split_for_time": m.stacking.split_for_time,
        "hung": m.hung,
        "input_writes": None if m.input_writes is None else list(m.input_writes),
        "outcomes": dict(outcomes),
        "grid": {c: dict(v) for c, v in grid.items()},
        "by_injection": {k: dict(v) for k, v in by_injection.items()},
        "errors": {c: dict(v) for c, v in errors.items()},
        "movement": {c: dict(v) for c, v in movement.items()},
        "missing_shift": m.shifts,
        "overflow_ladders": {f"{lad.column}/{lad.injection}": lad.to_dict() for lad in m.ladders},
        "frame_faults": {f.fault: {"detail": f.detail, **f.verdict.to_dict()} for f in m.faults},
        "batch_consistency": None if m.batch is None else m.batch.to_dict(),
        "online": {
            "applied": m.online,
            "clean_update_scores": {str(k): v for k, v in m.clean_scores.items()},
            "poisons": {
                p.poison: {"outcome": p.outcome, "smallest_batch": p.size, "column": p.column, "effect": p.effect,
                           "error": p.error, "tried": p.tried}
                for p in m.poisons
            },
        },
        "fuzz": None if m.fuzzed is None else m.fuzzed.to_dict(),
        "not_run": not_run(m),
    }


def not_run(m: Measured) -> dict[str, Any]:
    """What the safety stops cut, and why: never dropped in silence."""
    fuzz_cut = m.fuzzed.not_run if m.fuzzed is not None else (m.fuzz_planned if m.hung else 0)
    out: dict[str, Any] = {
        "cells": sum(c.verdict.outcome == "not_run" for c in m.cells),
        "frame_faults": sum(f.verdict.outcome == "not_run" for f in m.faults),
        "batch_consistency": m.hung and m.batch is None,
        "online_poisons": (
            [p.poison for p in m.poisons if p.outcome == "not_run"] if m.poisons
            else list(m.poisons_planned) if m.online and m.hung else []
        ),
        "fuzz_batches": fuzz_cut,
    }
    reasons = []
    if m.hung:
        reasons.append(HUNG)
    elif m.fuzzed is not None and m.fuzzed.stopped_early:  # a hang stops the search too, said above
        reasons.append("the fuzzing's time budget ran out")
    out["why"] = "; ".join(reasons) or None
    return out
