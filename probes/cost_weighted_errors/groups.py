"""Who pays for the errors: the groups of each sensitive column and their share of the cost.

The groups are found by a mergeable count of each column's values (each
value's rows and first row), so they come out the same, in the same order,
however the rows are split; a numeric column with many values is cut at its
quartiles, computed exactly from those counts. Each group's cost is then
summed partition by partition (``sums.Moments``) and tested against the
other rows with Welch's t-test from those moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from pandas.api import types as ptypes

from auditkit import Condition, Measurement, Part
from probes.cost_weighted_errors.stats import greater_p
from probes.cost_weighted_errors.sums import Moments

__all__ = ["Group", "GroupCost", "GroupCosts", "SensitiveValues", "judge_groups"]

# A numeric sensitive column with more distinct values than this (an age) is
# cut into quartiles; fewer (a 1-4 code) are groups as they are.
_MAX_LEVELS_AS_GROUPS = 10


class SensitiveValues(Measurement[dict[str, Any]]):
    """Each sensitive column's distinct values: rows and first row of each, and the missing count."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.values: dict[str, dict[Any, list[int]]] = {c: {} for c in self.columns}
        self.missing = dict.fromkeys(self.columns, 0)
        self.numeric = dict.fromkeys(self.columns, False)

    def update(self, part: Part) -> None:
        for column in self.columns:
            series = part.frame[column]
            self.numeric[column] = ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype)
            codes, _ = pd.factorize(series, use_na_sentinel=True)
            self.missing[column] += int((codes < 0).sum())
            valid = codes >= 0
            if not valid.any():
                continue
            present, first = np.unique(codes[valid], return_index=True)
            counts = np.bincount(codes[valid])[present]
            positions = np.flatnonzero(valid)[first]
            order = np.argsort(positions)
            # pd.unique's own values (numpy scalars or str), as the group labels always showed them
            uniques = pd.unique(series.iloc[positions[order]])
            table = self.values[column]
            for value, count, pos in zip(uniques, counts[order].tolist(), part.rows[positions[order]].tolist()):
                if value in table:
                    table[value][0] += count
                    table[value][1] = min(table[value][1], pos)
                else:
                    table[value] = [count, pos]

    def merge(self, other: SensitiveValues) -> SensitiveValues:
        for column in self.columns:
            self.missing[column] += other.missing[column]
            self.numeric[column] = self.numeric[column] or other.numeric[column]
            table = self.values[column]
            for value, (count, pos) in other.values[column].items():
                if value in table:
                    table[value] = [table[value][0] + count, min(table[value][1], pos)]
                else:
                    table[value] = [count, pos]
        return self

    def finalize(self) -> dict[str, Any]:
        return {"values": self.values, "missing": self.missing, "numeric": self.numeric}


@dataclass(frozen=True)
class Group:
    """One group of one sensitive column: a value, a quartile (``low`` to ``high``), or the missing rows."""

    column: str
    label: str
    slice: tuple[Condition, ...]
    value: Any = None
    low: float | None = None
    high: float | None = None
    last: bool = False
    missing: bool = False

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        series = frame[self.column]
        nulls = series.isna().to_numpy()
        if self.missing:
            return nulls
        if self.low is not None:
            numbers = series.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                upper = numbers <= self.high if self.last else numbers < self.high
                return (numbers >= self.low) & upper
        return (series.to_numpy() == self.value) & ~nulls


def define_groups(found: dict[str, Any]) -> list[Group]:
    """The groups of every sensitive column, from ``SensitiveValues``' counts."""
    out: list[Group] = []
    for column, table in found["values"].items():
        if found["numeric"][column] and len(table) > _MAX_LEVELS_AS_GROUPS:
            values = np.fromiter((float(v) for v in table), dtype=float, count=len(table))
            counts = np.fromiter((c for c, _ in table.values()), dtype=np.int64, count=len(table))
            order = np.argsort(values)
            # The quantiles of the sorted values written out: exactly the quantiles of the column.
            numbers = np.repeat(values[order], counts[order])
            edges = np.unique(np.nanquantile(numbers, [0.0, 0.25, 0.5, 0.75, 1.0]))
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
                last = i == len(edges) - 2
                upper = float(np.nextafter(hi, np.inf)) if last else float(hi)
                label = f"{lo:g} <= {column} {'<=' if last else '<'} {hi:g}"
                out.append(Group(column, label, (Condition(column, "between", (float(lo), upper)),),
                                 low=float(lo), high=float(hi), last=last))
        else:
            for value, _ in sorted(table.items(), key=lambda item: item[1][1]):  # first seen first
                out.append(Group(column, f"{column} == {value!r}", (Condition(column, "==", value),), value=value))
        if found["missing"][column]:
            out.append(Group(column, f"{column} is null", (Condition(column, "is_null"),), missing=True))
    return out


class GroupCosts:
    """Each group's row costs, and all rows', as mergeable moments (the other rows' are the difference)."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self.groups = tuple(groups)
        self.inside = [Moments(1) for _ in self.groups]
        self.all = Moments(1)

    def add(self, frame: pd.DataFrame, row_cost: np.ndarray) -> None:
        if not self.groups:
            return
        self.all.add(row_cost)
        for g, inside in zip(self.groups, self.inside):
            inside.add(row_cost[g.mask(frame)])

    def merge(self, other: GroupCosts) -> GroupCosts:
        for mine, theirs in zip([self.all, *self.inside], [other.all, *other.inside]):
            mine.merge(theirs)
        return self


@dataclass(frozen=True)
class GroupCost:
    """One group's share of the total cost."""

    column: str
    label: str
    slice: tuple[Condition, ...]
    rows: int
    total_cost: float
    expected_cost: float
    row_share: float
    cost_share: float
    ratio: float
    p_value: float | None
    p_adjusted: float | None
    flagged: bool

    def to_metrics(self) -> dict[str, Any]:
        return {
            "group": self.label,
            "rows": self.rows,
            "expected_cost": self.expected_cost,
            "total_cost": self.total_cost,
            "row_share": self.row_share,
            "cost_share": self.cost_share,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "flagged": self.flagged,
        }


def judge_groups(
    costs: GroupCosts, n: int, total: float, *, min_rows: int, ratio_limit: float, alpha: float
) -> list[GroupCost]:
    """Each group's cost per row against the overall, tested against the other rows.

    Groups with fewer than ``min_rows`` rows (or leaving fewer outside) are
    reported, not tested. The p-values of all tested groups, over every
    sensitive column, are adjusted together (Benjamini-Hochberg): the more
    groups looked at, the more one of them looks expensive by chance.
    """
    overall = total / n
    pending: list[dict[str, Any]] = []
    for g, inside in zip(costs.groups, costs.inside):
        size = inside.n
        if size == 0:
            continue
        group_total = float(inside.total()[0])
        mean = group_total / size
        testable = size >= min_rows and n - size >= min_rows
        pending.append(
            {
                "column": g.column,
                "label": g.label,
                "slice": g.slice,
                "rows": size,
                "total_cost": group_total,
                "expected_cost": mean,
                "row_share": size / n,
                "cost_share": group_total / total if total > 0 else float("nan"),
                "ratio": mean / overall if overall > 0 else float("nan"),
                "p_value": greater_p(inside, costs.all.minus(inside)) if testable else None,
            }
        )
    tested = [g for g in pending if g["p_value"] is not None]
    if tested:
        adjusted = scipy.stats.false_discovery_control([g["p_value"] for g in tested])
        for g, p in zip(tested, adjusted):
            g["p_adjusted"] = float(p)
    out = []
    for g in pending:
        p_adj = g.get("p_adjusted")
        flagged = bool(p_adj is not None and p_adj < alpha and g["ratio"] >= ratio_limit)
        out.append(GroupCost(**{**g, "p_adjusted": p_adj, "flagged": flagged}))
    return out
