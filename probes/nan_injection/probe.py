"""Probe ``nan_injection``: malformed input must fail loudly, never silently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from auditkit import AuditContext, Evidence, Needs, Probe, require

from probes.nan_injection.figures import figures
from probes.nan_injection.judge import judge
from probes.nan_injection.measure import measure, metrics
from probes.nan_injection.online import POISONS

__all__ = ["NanInjection"]


@dataclass(frozen=True, kw_only=True)
class NanInjection(Probe):
    """Pushes malformed input through the model's real predict and judges what comes back.

    **Detects** models that answer malformed input (NaN, None, "null"-like text,
    infinities, 1e308, wrong types, unseen categories, garbled text in any
    column; a column missing, added or reordered) with wrong output and no
    error (``critical``), or crash on it instead of refusing it (``high``);
    also predictions that depend on the batch, a poisoned online update that
    wrecks the model, a model that writes into its input frame, and float
    overflow at 1e308 (``low``).

    **Measures** each injection's outcome on one batch of ``sample_size`` rows
    of the audit's seeded sample (handled, rejected, silent corruption,
    crashed, overflow), how far handled missing values move predictions against
    shuffling the column, and ``fuzz_examples`` batches that hypothesis draws.
    The work is a count fixed by the settings and the seed; the time limits
    are safety stops whose cuts are reported as ``not_run``.

    **Defaults**: 200 rows pin a share of changed rows to seven points, and one
    row already shows whether an injection is handled; a 0.15 probability
    shift moves a typical row across a threshold. The reasons for every
    default are in ``probes/nan_injection/README.md``.
    """

    name: ClassVar[str] = "nan_injection"
    needs: ClassVar[Needs] = Needs(queryable=True)

    # Why each default is what it is: README.md, "Defaults".
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
    fuzz_seconds: float = 20.0  # a safety stop: what it cuts is reported as not_run

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
        measured = measure(self, ctx)
        return Evidence(metrics=metrics(measured), findings=judge(self, measured), figures=figures(measured))
