"""The ``slice_bias`` probe: its settings and its run (measure, judge, draw)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from auditkit import AuditContext, Evidence, Finding, GroupRates, Needs, Probe, Ranking, SliceTable, require
from probes.slice_bias.figures import disparity_ranking, group_rates, slice_table
from probes.slice_bias.judge import judge_groups, judge_slices
from probes.slice_bias.measure import PLAN_ROWS, measure_groups, measure_slices
from probes.slice_bias.outcomes import Coding

__all__ = ["SliceBias"]


@dataclass(frozen=True, kw_only=True)
class SliceBias(Probe):
    """Groups and slices where the model does worse than on everyone else.

    Detects gaps between the groups of each ``sensitive`` column (selection
    rate, false positive and false negative rates; multiclass: error rate;
    regression: MAE) and hidden slices, conjunctions of up to
    ``max_conditions`` conditions found by a SliceLine search, shrunk to
    minimal reproducers. Measures per-group metrics from confusion counts
    (fairlearn's ``MetricFrame``) with bootstrap intervals, and per-slice error
    against the rest with p-values corrected over every slice tried.

    Defaults: ``ratio_threshold`` 0.8 is the four-fifths rule of adverse
    impact, with ``difference_threshold`` 0.05 so a 1% vs 2% rate is not flagged
    on its ratio alone; ``significance`` 0.05 with ``strong_significance`` 0.01
    for medium or high severity (a gap tested a handful of times per audit
    would otherwise fail one clean audit in twenty); ``min_group_size`` 30, the
    usual floor of a rate's normal approximation; slices need ``min_support``
    1% of the rows (never fewer than 30) and ``min_error_ratio`` 1.5 times the
    overall error. ``positive_outcome`` says whether the positive class is a
    benefit or a risk, which decides whose side each error is on. See
    ``probes/slice_bias/README.md`` for the reasoning behind each choice.
    """

    name: ClassVar[str] = "slice_bias"
    needs: ClassVar[Needs] = Needs(tasks=("binary", "multiclass", "regression"))

    positive_outcome: Literal["benefit", "risk"] = "benefit"
    intersections: bool = False
    min_group_size: int = 30
    ratio_threshold: float = 0.8
    difference_threshold: float = 0.05
    significance: float = 0.05
    strong_significance: float = 0.01
    n_bootstrap: int = 1000
    age_bands: tuple[float, ...] = (25, 35, 45, 55, 65)
    sensitive_bins: int = 4
    discover: bool = True
    max_conditions: int = 3
    min_support: float = 0.01
    numeric_bins: int = 10
    max_levels: int = 30
    error_weight: float = 0.95
    min_error_ratio: float = 1.5
    top_k: int = 5
    search_budget_s: float = 120.0

    def __post_init__(self) -> None:
        require(self.positive_outcome in ("benefit", "risk"), "positive_outcome must be 'benefit' or 'risk'")
        require(int(self.min_group_size) >= 1, "min_group_size must be a positive number of rows")
        require(0 < self.ratio_threshold <= 1, "ratio_threshold must be in (0, 1]")
        require(0 <= self.difference_threshold < 1, "difference_threshold must be in [0, 1)")
        require(0 < self.significance < 0.5, "significance must be in (0, 0.5)")
        require(
            0 < self.strong_significance <= self.significance,
            "strong_significance must be in (0, significance]",
        )
        require(int(self.n_bootstrap) >= 100, "n_bootstrap must be at least 100")
        require(
            all(np.isfinite(b) for b in self.age_bands) and list(self.age_bands) == sorted(set(self.age_bands)),
            "age_bands must be increasing numbers",
        )
        require(int(self.sensitive_bins) >= 2, "sensitive_bins must be at least 2")
        require(self.max_conditions in (1, 2, 3), "max_conditions must be 1, 2 or 3")
        require(0 < self.min_support < 1, "min_support must be a fraction of the rows in (0, 1)")
        require(int(self.numeric_bins) >= 2, "numeric_bins must be at least 2")
        require(int(self.max_levels) >= 1, "max_levels must be at least 1")
        require(0 < self.error_weight < 1, "error_weight must be in (0, 1)")
        require(self.min_error_ratio >= 1, "min_error_ratio must be at least 1")
        require(int(self.top_k) >= 1, "top_k must be at least 1")
        require(self.search_budget_s > 0, "search_budget_s must be positive")

    def run(self, ctx: AuditContext) -> Evidence:
        coding = Coding.of(ctx)
        metrics: dict[str, Any] = {"task": coding.task}
        if coding.task != "regression":
            metrics["positive_class"] = coding.positive
            metrics["positive_outcome"] = self.positive_outcome
        findings: list[Finding] = []
        figures: list[GroupRates | Ranking | SliceTable] = []
        level = 1 - self.significance
        sample = ctx.sample(PLAN_ROWS) if ctx.data.sensitive or self.discover else np.zeros(0, dtype=np.int64)
        if ctx.data.sensitive:
            tables = measure_groups(self, ctx, coding, sample)
            groups = judge_groups(self, tables, coding, ctx.rng)
            metrics.update(groups.metrics)
            findings.extend(groups.findings)
            figures.extend(group_rates(tables, coding.task, level))
            ranking = disparity_ranking(self, groups, coding.positive)
            figures.extend([ranking] if ranking is not None else [])
        else:
            metrics.update(groups=[], disparities=[], insufficient=[])
        if self.discover:
            slices = measure_slices(self, ctx, coding, sample)
            judged = judge_slices(self, slices)
            metrics.update(judged.metrics)
            findings.extend(judged.findings)
            figures.append(slice_table(self, slices, judged))
        return Evidence(metrics=metrics, findings=findings, figures=figures)
