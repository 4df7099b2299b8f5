"""Measuring what the model's decisions cost, partition by partition.

Each task measures in one or two passes over the partitions, each pass a
mergeable measurement folded with ``ctx.measure``:

1. a sweep (binary, regression): per distinct score (or shortfall), class and
   cross-fitting fold, the rows and the cost column's sum; merged, it prices
   every threshold (offset) exactly and chooses the optimal one, and one per
   fold chosen on the other folds;
2. the rules (every task): each row priced under the current rule, the
   trivial policies, the optimal, cross-fitted and Bayes rules; summed
   exactly, the paired per-row differences kept for the intervals (as counts
   of distinct rows, or the rows up to ``max_bootstrap_rows``), the examples
   that save the most, and each sensitive group's moments.

Cross-fitting folds come from ``auditkit``'s row keys (the probe's seed and the
row's position), so a row is in the same fold however the rows are split.
``MEASURES`` picks the task's measurement by the model's declared task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit import Measurement, Part
from probes.cost_weighted_errors.groups import Group, GroupCosts
from probes.cost_weighted_errors.messages import HINT_COSTS
from probes.cost_weighted_errors.sums import ExactSums, PairedDiffs, TopRows

if TYPE_CHECKING:
    from auditkit._figures import Figure

__all__ = ["EXAMPLES", "Measured", "RowCosts", "Rules", "cost_totals", "scale_of", "show"]

EXAMPLES = 5


@dataclass
class Measured:
    """What one task's measurement hands to the judge."""

    metrics: dict[str, Any]
    rows: int
    current: float  # total cost of the current rule
    diffs: PairedDiffs  # per-row differences, one column per key of ``keys``
    keys: list[str]
    trivial: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (description, total cost)
    better: float | None = None  # the better rule's total cost, priced out of sample
    better_rule: str = ""
    better_how: str = ""
    hint: str = HINT_COSTS
    current_rule: str = "decisions"
    saving_key: str = "saving_crossfit"  # the metric the judged saving is reported under
    changed: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)
    bayes: float | None = None  # the Bayes rule's total cost, compared with ``better``
    bayes_message: str = ""
    bayes_threshold: float | None = None
    threshold: float | None = None
    groups: GroupCosts | None = None
    figures: list[Figure] = field(default_factory=list)


@dataclass
class RowCosts:
    """One partition's rows priced: what ``Rules`` folds in."""

    current: np.ndarray
    sums: Sequence[np.ndarray]  # one per name of ``Rules.sums``
    diffs: np.ndarray  # rows x comparisons
    changed: int = 0
    saving: np.ndarray | None = None  # what the better rule saves per row (examples are its largest)
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # the examples' values


class Rules(Measurement["Rules"]):
    """Every row priced under each rule, summed: a task's ``price`` says how."""

    def __init__(
        self, price: Callable[[Part], RowCosts], sums: Sequence[str], width: int, groups: Sequence[Group],
        max_rows: int,
    ) -> None:
        self.price = price
        self.names = tuple(sums)
        self.n = 0
        self.sums = ExactSums(len(self.names))
        self.diffs = PairedDiffs(width, max_rows)
        self.changed = 0
        self.top = TopRows(EXAMPLES)
        self.groups = GroupCosts(groups)

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        priced = self.price(part)
        self.n += len(part)
        for i, values in enumerate(priced.sums):
            self.sums.add(values, i)
        self.diffs.add_rows(part.rows, priced.diffs)
        self.changed += priced.changed
        if priced.saving is not None:
            self.top.add(priced.saving, part.rows, columns=priced.columns, labels=part.frame.index)
        self.groups.add(part.frame, priced.current)

    def merge(self, other: Rules) -> Rules:
        self.n += other.n
        self.sums.merge(other.sums)
        self.diffs.merge(other.diffs)
        self.changed += other.changed
        self.top.merge(other.top)
        self.groups.merge(other.groups)
        return self

    def finalize(self) -> Rules:
        return self

    def total(self, name: str) -> float:
        return self.sums.value(self.names.index(name))


def cost_totals(total: float, rows: int, prefix: str = "") -> dict[str, float]:
    # Summed (exactly), then divided: integer costs stay exact, so a hand count matches to the last digit.
    return {f"{prefix}expected_cost": total / rows, f"{prefix}total_cost": total}


def scale_of(part: Part, column: str | None) -> np.ndarray | None:
    """The partition's per-row cost column (checked when the costs were resolved)."""
    return None if column is None else part.frame[column].to_numpy(dtype=float)


def show(value: Any) -> str:
    """A class label as a person would type it (2, not np.int64(2))."""
    return repr(value.item() if isinstance(value, np.generic) else value)
