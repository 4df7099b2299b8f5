"""What nan_injection concludes: its measurements turned into findings.

Each outcome of the grid is one finding per fault family (every offending
column named), graded by what it costs in production: silent corruption is
``critical`` (a wrong answer nobody hears of), a crash ``high`` (an outage
instead of a refusal), float overflow ``low`` (the float range running out at
1e308). The thresholds for the measured shifts and batch differences are the
probe's settings; their reasons are in README.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from auditkit import Finding, Severity
from auditkit.strategies import ColumnSchema

from probes.nan_injection.batch import BatchResult
from probes.nan_injection.fuzz import FuzzResult
from probes.nan_injection.grid import RATES, CellResult, FaultResult, cell_reproducer
from probes.nan_injection.measure import Measured
from probes.nan_injection.messages import (
    BATCH_FAILURE_MESSAGE,
    BATCH_MESSAGE,
    CLEAN_INVALID_MESSAGE,
    CORRUPTION_MESSAGE,
    CRASH_MESSAGE,
    FRAME_CORRUPTION_MESSAGE,
    FRAME_CRASH_MESSAGE,
    FRAME_FAULT_LABELS,
    FUZZ_MESSAGE,
    FUZZ_OVERFLOW_MESSAGE,
    INJECTION_LABELS,
    MUTATES_INPUT_MESSAGE,
    OVERFLOW_MESSAGE,
    POISON_CRASH_MESSAGE,
    POISON_MESSAGE,
    SHIFT_MESSAGE,
    SHIFT_OFFENDER,
    VALIDATION_NAMES,
)
from probes.nan_injection.online import PoisonResult
from probes.nan_injection.overflow import PLAUSIBLE_SPANS, Ladder

if TYPE_CHECKING:
    from probes.nan_injection.probe import NanInjection


def judge(probe: NanInjection, m: Measured) -> list[Finding]:
    """Every finding, in the order a reader wants them: the clean rows, the
    input, the grid, the frame faults, the shifts, the batches, the online
    updates, hypothesis."""
    findings = _clean_findings(m) + _input_findings(m)
    findings += _cell_findings(m.cells, m.sample, m.schema, m.budget_s, m.ladders)
    findings += _fault_findings(m.faults, m.budget_s)
    findings += _shift_findings(probe, m.shifts)
    findings += _batch_findings(probe, m.batch)
    findings += _poison_findings(m.poisons, probe.poison_batch_sizes)
    overflowed = any(f.code == "float_overflow" for f in findings)
    return findings + _fuzz_findings(m.fuzzed, overflowed)


def _clean_findings(m: Measured) -> list[Finding]:
    if not m.clean_invalid:
        return []
    rows = len(m.sample)
    return [Finding(
        code="invalid_output_on_clean_rows", severity=Severity.CRITICAL,
        message=CLEAN_INVALID_MESSAGE.format(problem=m.clean_what, n_invalid=m.clean_invalid, rows=rows),
        metrics={"invalid_rows": m.clean_invalid, "rows": rows},
    )]


def _input_findings(m: Measured) -> list[Finding]:
    """A model that writes into the frame it is handed (caught on its copy)."""
    if not m.input_writes:
        return []
    columns = list(m.input_writes)
    return [Finding(
        code="mutates_input", severity=Severity.HIGH,
        message=MUTATES_INPUT_MESSAGE.format(rows=len(m.sample), n_columns=len(columns), columns=_names(columns)),
        features=tuple(c for c in columns if c in m.sample.columns),
        metrics={"columns": columns, "rows": len(m.sample)},
    )]


def _shift_findings(probe: NanInjection, shifts: dict[str, dict[str, Any]]) -> list[Finding]:
    offenders = []
    for column, s in shifts.items():
        shuffled = s["shuffled_shift"]
        if shuffled is None or s["mean_shift"] <= probe.shift_threshold:
            continue
        if s["mean_shift"] > probe.shift_ratio * shuffled:
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
            threshold=probe.shift_threshold, ratio=probe.shift_ratio,
        ),
        features=tuple(c for c, _, _ in offenders),
        metrics={c: {**s, "ratio": t} for c, s, t in offenders},
    )]

def _batch_findings(probe: NanInjection, batch: BatchResult | None) -> list[Finding]:
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
    if (batch.max_diff or 0.0) > probe.batch_tolerance or batch.flipped:
        return [Finding(
            code="batch_dependent_output", severity=Severity.HIGH,
            message=BATCH_MESSAGE.format(
                rows=batch.rows, small=batch.small_batch, single=min(probe.single_rows, batch.rows),
                max_diff=batch.max_diff, tolerance=probe.batch_tolerance,
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


