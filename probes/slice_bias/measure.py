"""slice_bias's measurements: counts per declared group, and the slice search.

Both are folded over the audit's partitions (``ctx.measure``): confusion
counts or error sums per group (``GroupCounts``), and the rows' compact codes
and errors for the search (``SliceRows``). What must be fixed before any row
is counted (the bands of a numeric sensitive column, the quantile edges of the
searched columns, the error bins of a regressor's bootstrap) is planned on
the audit's shared sample of at most ``PLAN_ROWS`` rows: every row of the data
audited today, and the same rows however the data is split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from auditkit import AuditContext, Part
from probes._shared import slice_search
from probes._shared.group_metrics import GroupCounts, GroupTable, error_bin_edges
from probes._shared.groups import SensitiveValues, plan_groupings
from probes._shared.slice_codes import Column, SliceRows, plan_columns
from probes._shared.slice_stats import Search
from probes.slice_bias.candidates import distinct_slices
from probes.slice_bias.outcomes import Coding, Outcome
from probes.slice_bias.slice_verdict import Candidate, SliceJudge

if TYPE_CHECKING:
    from probes.slice_bias.probe import SliceBias

__all__ = ["PLAN_ROWS", "Slices", "measure_groups", "measure_slices"]

# The sample the groups' bands and the search's edges are planned on (see above).
PLAN_ROWS = 1_000_000
# No slice is judged on fewer rows than this, whatever fraction min_support gives.
MIN_SLICE_ROWS = 30


def _sample_part(ctx: AuditContext, sample: np.ndarray, columns: list[str], *, predictions: bool) -> Part:
    # The sample's rows and the columns planned on, read by position: the plan needs their
    # values (and, for a regressor's error bins, the model's outputs there), nothing more.
    frame = ctx.data.frame
    if len(sample) == len(frame):
        planned = frame[columns]  # every row: no copy (copy-on-write)
    else:
        planned = frame.iloc[sample, frame.columns.get_indexer(columns)]
    return Part(0, sample, planned, ctx.predictions.take(sample) if predictions else None)


def measure_groups(probe: SliceBias, ctx: AuditContext, coding: Coding, sample: np.ndarray) -> list[GroupTable]:
    """The group table of every sensitive feature (and pair, with ``intersections``)."""
    sensitive = list(ctx.data.sensitive)
    seen = ctx.measure(lambda: SensitiveValues(sensitive), predictions=False)
    regression = coding.task == "regression"
    columns = list(dict.fromkeys(sensitive + ([coding.target] if regression else [])))
    planned = _sample_part(ctx, sample, columns, predictions=regression)
    groupings = plan_groupings(
        seen, planned.frame, sensitive,
        intersections=probe.intersections, age_bands=probe.age_bands, bins=int(probe.sensitive_bins),
    )
    edges = None
    if regression:
        y_true, y_pred = coding.labels(planned)
        edges = error_bin_edges(np.abs(y_true - y_pred))
    return ctx.measure(lambda: GroupCounts(groupings, coding.labels, coding.task, coding.n_classes, edges))


@dataclass(frozen=True)
class Slices:
    """What the slice search measured: the columns searched, the outcome, the search and
    the searched slices shrunk to reproducers (``kept``, findings first)."""

    columns: list[Column]
    outcome: Outcome
    index: pd.Index
    found: Search
    judge: SliceJudge
    kept: list[Candidate]
    min_rows: int
    budget: float


def measure_slices(probe: SliceBias, ctx: AuditContext, coding: Coding, sample: np.ndarray) -> Slices:
    """Code the rows, search them, and shrink the slices found."""
    n = ctx.data.n_rows
    min_rows = max(MIN_SLICE_ROWS, int(np.ceil(probe.min_support * n)))
    planned = _sample_part(ctx, sample, list(ctx.data.features), predictions=False)
    plans = plan_columns(
        planned.frame, ctx.data.kinds, bins=int(probe.numeric_bins), max_levels=int(probe.max_levels),
        min_rows=min_rows * len(sample) / max(n, 1),
    )
    rows = ctx.measure(lambda: SliceRows(plans, coding.rows, min_rows=min_rows))
    outcome = Outcome.of(coding, rows.values)
    columns = rows.columns
    budget = min(probe.search_budget_s, 0.8 * ctx.timeout_s)  # leave the runner time to collect
    found = slice_search.search(
        columns,
        outcome.error,
        zero_one=coding.task != "regression",
        max_conditions=int(probe.max_conditions),
        min_rows=min_rows,
        error_weight=probe.error_weight,
        k=max(100, 20 * int(probe.top_k)),
        deadline_s=budget,
        expected=outcome.recalibrated,
        min_error_ratio=probe.min_error_ratio,
    )
    judge = SliceJudge(found, outcome, columns, significance=probe.significance, min_error_ratio=probe.min_error_ratio)
    # The search chose each condition among all of them, so the evidence that a condition
    # matters must clear a level corrected for that many choices (Bonferroni).
    keep_level = probe.significance / max(1, sum(len(c.conditions) for c in columns))
    kept = distinct_slices(
        found, columns, outcome, judge, level=keep_level, min_rows=min_rows, top_k=int(probe.top_k),
        max_conditions=int(probe.max_conditions), error_weight=probe.error_weight,
    )
    return Slices(columns, outcome, rows.index, found, judge, kept, min_rows, budget)
