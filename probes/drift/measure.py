"""What drift counts, as mergeable measurements: per feature, a histogram on edges fixed from
the reference (numbers), counts per distinct value (categories), and counts per spelling of
missing (real gaps, null-like tokens, the reference's sentinel codes).

The reference is profiled by the same measurement run over its frame as one part, so the two
sides are counted by one piece of code. Edges, sentinels and the reference's spread are fixed
from the reference before any audit row is counted, so the audit's counts are integers (and
exact sums) that merge to the same numbers however the rows are split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import AuditData, Measurement, Part
from probes._shared.exact_sums import ExactSums
from probes.drift.tokens import MISSING, is_null_token, sentinel_name, sentinels

__all__ = ["FeatureCounts", "FeatureProfile", "Plan", "plan_column", "plan_features", "profile_reference"]

PlanKind = Literal["numeric", "categorical", "nulls"]
# Columns of these kinds have their missing values counted, never their distribution:
# a date moves by design, free text and identifiers have no distribution to compare.
_NULLS_ONLY = ("datetime", "text", "identifier", "nested")
# An integer column with at most this many distinct reference values is binned on each value.
_MAX_DISCRETE = 200
# Null-like tokens are short: only values this short are looked at in free-text columns.
_TOKEN_LENGTH = 12


@dataclass(frozen=True)
class Plan:
    """How one feature is counted: its kind, and for numbers the edges, sentinels and spread."""

    feature: str
    kind: PlanKind
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    discrete: bool = False
    sentinels: tuple[float, ...] = ()
    scale: float = 1.0


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float, na_value=np.nan)


def _quantiles(ordered: np.ndarray, bins: int) -> np.ndarray:
    """``bins + 1`` evenly spaced quantiles of sorted values and eight more in the tails,
    interpolated linearly (numpy's default method, from one sort instead of a partition per quantile)."""
    # Finer in the tails, where the outer bins would otherwise span the sparse extremes.
    tails = np.array([1e-4, 3e-4, 1e-3, 3e-3])
    shares = np.unique(np.r_[np.linspace(0, 1, bins + 1), tails, 1 - tails])
    at = shares * (len(ordered) - 1)
    below = np.floor(at).astype(np.int64)
    above = np.minimum(below + 1, len(ordered) - 1)
    return ordered[below] + (at - below) * (ordered[above] - ordered[below])


def plan_column(name: str, column: pd.Series, kind: str, bins: int) -> Plan:
    """How to count one column, fixed from its reference values."""
    if kind in _NULLS_ONLY:
        return Plan(name, "nulls")
    if kind != "numeric" or not ptypes.is_numeric_dtype(column.dtype) or ptypes.is_bool_dtype(column.dtype):
        return Plan(name, "categorical")
    values = _floats(column)
    codes = sentinels(values)
    kept = values[np.isfinite(values) & ~np.isin(values, codes)] if codes else values[np.isfinite(values)]
    if len(kept) == 0:
        return Plan(name, "nulls", sentinels=codes)
    distinct = np.unique(kept)
    discrete = len(distinct) <= _MAX_DISCRETE and bool(np.all(distinct == np.round(distinct)))
    edges = distinct if discrete else np.unique(_quantiles(np.sort(kept), bins))
    scale = float(np.std(kept))
    if not scale > 0:
        scale = max(abs(float(kept[0])), 1.0)  # a constant: any move is measured against its size
    return Plan(name, "numeric", edges=edges, discrete=discrete, sentinels=codes, scale=scale)


def plan_features(data: AuditData, bins: int) -> list[Plan]:
    """One plan per feature, fixed from the reference rows alone."""
    ref = data.reference
    assert ref is not None
    return [plan_column(name, ref[name], data.kinds.get(name, "categorical"), bins) for name in data.features]


@dataclass
class FeatureCounts:
    """One feature's counts on one side (reference or audit)."""

    rows: int = 0
    missing: Counter[str] = field(default_factory=Counter)  # spelling -> rows
    cells: np.ndarray | None = None  # numbers: below, each edge's bin, above
    excess: np.ndarray | None = None  # numbers: summed distance below the first edge, above the last
    low: float = np.inf  # numbers: the smallest and largest present value
    high: float = -np.inf
    values: Counter[Any] = field(default_factory=Counter)  # categories: present value -> rows

    @property
    def missing_rows(self) -> int:
        return int(sum(self.missing.values()))

    @property
    def present(self) -> int:
        return self.rows - self.missing_rows


class FeatureProfile(Measurement[dict[str, FeatureCounts]]):
    """Every feature's ``FeatureCounts`` over the rows it is given."""

    def __init__(self, plans: list[Plan]) -> None:
        self.plans = plans
        self.counts = {p.feature: FeatureCounts() for p in plans}
        self.sums = {p.feature: ExactSums(2) for p in plans if p.kind == "numeric"}
        for p in plans:
            if p.kind == "numeric":
                self.counts[p.feature].cells = np.zeros(len(p.edges) + 2, dtype=np.int64)

    def update(self, part: Part) -> None:
        for plan in self.plans:
            column = part.frame[plan.feature]
            counts = self.counts[plan.feature]
            counts.rows += len(column)
            if plan.kind == "numeric":
                self._numbers(plan, _floats(column), counts)
            elif plan.kind == "categorical":
                self._categories(column, counts)
            else:
                self._nulls_only(plan, column, counts)

    def _numbers(self, plan: Plan, values: np.ndarray, counts: FeatureCounts) -> None:
        gap = np.isnan(values)
        counts.missing[MISSING] += int(gap.sum())
        present = values[~gap]
        for code in plan.sentinels:
            hits = present == code
            if hits.any():
                counts.missing[sentinel_name(code)] += int(hits.sum())
                present = present[~hits]
        if len(present) == 0:
            return
        edges = plan.edges
        first, last = edges[0], edges[-1]
        below, above = present < first, present > last
        # cell 0: below the first edge; cell i+1: (edges[i-1], edges[i]]; last cell: above the last edge
        cell = np.searchsorted(edges, present, side="left") + 1
        cell[below] = 0
        cell[above] = len(edges) + 1
        assert counts.cells is not None
        counts.cells += np.bincount(cell, minlength=len(edges) + 2)
        out = below | above
        if out.any():
            self.sums[plan.feature].add(above[out].astype(np.int64), np.where(above[out], present[out] - last, first - present[out]))
        finite = present[np.isfinite(present)]
        if len(finite):
            counts.low, counts.high = min(counts.low, float(finite.min())), max(counts.high, float(finite.max()))

    def _categories(self, column: pd.Series, counts: FeatureCounts) -> None:
        counts.missing[MISSING] += int(column.isna().sum())
        for value, k in column.value_counts(dropna=True, sort=False).items():
            value = value.item() if isinstance(value, np.generic) else value
            if is_null_token(value):
                counts.missing[value] += int(k)
            else:
                counts.values[value] += int(k)

    def _nulls_only(self, plan: Plan, column: pd.Series, counts: FeatureCounts) -> None:
        gap = column.isna()
        counts.missing[MISSING] += int(gap.sum())
        if ptypes.is_string_dtype(column.dtype) or column.dtype == object:
            text = column[~gap]
            short = text[text.map(lambda v: isinstance(v, str) and len(v) <= _TOKEN_LENGTH)]
            for value, k in short.value_counts(sort=False).items():
                if is_null_token(value):
                    counts.missing[value] += int(k)
        elif plan.sentinels:
            values = _floats(column)
            for code in plan.sentinels:
                counts.missing[sentinel_name(code)] += int((values == code).sum())

    def merge(self, other: FeatureProfile) -> FeatureProfile:
        for name, theirs in other.counts.items():
            mine = self.counts[name]
            mine.rows += theirs.rows
            mine.missing.update(theirs.missing)
            mine.values.update(theirs.values)
            if mine.cells is not None and theirs.cells is not None:
                mine.cells = mine.cells + theirs.cells
            mine.low, mine.high = min(mine.low, theirs.low), max(mine.high, theirs.high)
        for name, sums in other.sums.items():
            self.sums[name] = self.sums[name].merge(sums)
        return self

    def finalize(self) -> dict[str, FeatureCounts]:
        for name, sums in self.sums.items():
            self.counts[name].excess = sums.totals()
        for counts in self.counts.values():
            # Zero counts are dropped: a partition that saw no gap adds no key.
            counts.missing = Counter({k: v for k, v in counts.missing.items() if v})
        return self.counts


def profile_reference(ref: pd.DataFrame, plans: list[Plan]) -> dict[str, FeatureCounts]:
    """The reference counted by the same measurement, as one part (it is an in-memory frame)."""
    state = FeatureProfile(plans)
    state.update(Part(0, np.arange(len(ref), dtype=np.int64), ref))
    return state.finalize()
