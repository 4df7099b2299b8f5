"""Declared groups: who belongs to which group of a sensitive feature.

A grouping is planned once, before any row is counted, so that every partition
puts a row in the same group: a column's distinct values (a text or code
column) come from a mergeable pass over all the rows (``SensitiveValues``);
the bands of a numeric column are ages' usual bands or quantiles of the
audit's shared sample, with rounded edges. Bands nobody falls in, and crosses
of two groups nobody is in, are dropped once the rows are counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import Condition, Measurement, Part

__all__ = ["Grouping", "SensitiveValues", "ValuesSeen", "plan_groupings"]

# A numeric sensitive column with at most this many distinct values is read as
# codes (0/1 sex, 1-5 bands), each value its own group.
_MAX_VALUES_AS_GROUPS = 10
_AGE_NAME = re.compile(r"(^|[_\W])age($|[_\W])", re.IGNORECASE)


@dataclass(frozen=True)
class Grouping:
    """One way of splitting the rows: a sensitive column (binned when numeric) or a cross of two.

    ``group_of`` gives each row's group index; ``labels`` and ``slices`` name the groups.
    """

    feature: str                      # "sex", or "sex & race" for an intersection
    columns: tuple[str, ...]
    labels: tuple[Any, ...]           # the group's name in the report, per index
    slices: tuple[tuple[Condition, ...], ...]  # the rows of each group, as conditions
    values: tuple[Any, ...] | None = None      # by value: the value of each group but a last null one
    edges: np.ndarray | None = None            # by band: the band edges
    parts: tuple[Grouping, ...] = ()           # a cross: its two groupings

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def group_of(self, frame: pd.DataFrame) -> np.ndarray:
        """The group index of every row of ``frame``."""
        if self.parts:
            a, b = self.parts
            return a.group_of(frame) * b.n_groups + b.group_of(frame)
        series = frame[self.columns[0]]
        if self.values is not None:
            codes = pd.Index(list(self.values)).get_indexer(series) if self.values else np.full(len(series), -1)
            return np.where(series.isna().to_numpy(), len(self.values), codes).astype(np.intp)
        assert self.edges is not None
        x = series.to_numpy(dtype=float, na_value=np.nan)
        codes = np.searchsorted(self.edges, x, side="right")  # band i is [edges[i-1], edges[i])
        return np.where(np.isfinite(x), codes, len(self.edges) + 1).astype(np.intp)

    def keep(self, present: np.ndarray) -> Grouping:
        """The grouping with only the groups at ``present`` (their indices, ascending)."""
        present = [int(i) for i in present]
        return replace(self, labels=tuple(self.labels[i] for i in present),
                       slices=tuple(self.slices[i] for i in present))


@dataclass(frozen=True)
class ValuesSeen:
    """What a pass over all the rows saw of one sensitive column."""

    distinct: pd.Series    # distinct non-null values (for a numeric column, at most a few past the limit)
    has_null: bool
    low: float             # numeric: the smallest and largest finite values
    high: float
    numeric: bool = False


class SensitiveValues(Measurement[dict[str, ValuesSeen]]):
    """The distinct values, nulls and range of each sensitive column, over all the rows."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.seen: dict[str, ValuesSeen] = {}

    def update(self, part: Part) -> None:
        for name in self.columns:
            series = part.frame[name]
            present = series.dropna()
            low, high = np.inf, -np.inf
            if _banded_kind(series):
                x = present.to_numpy(dtype=float)
                x = x[np.isfinite(x)]
                if x.size:
                    low, high = float(x.min()), float(x.max())
            distinct = pd.Series(present.unique(), dtype=series.dtype)
            self._add(name, ValuesSeen(distinct, bool(series.isna().any()), low, high, _banded_kind(series)))

    def _add(self, name: str, new: ValuesSeen) -> None:
        old = self.seen.get(name)
        if old is not None:
            both = pd.concat([old.distinct, new.distinct], ignore_index=True).drop_duplicates(ignore_index=True)
            new = ValuesSeen(both, old.has_null or new.has_null, min(old.low, new.low), max(old.high, new.high),
                             new.numeric)
        if new.numeric and len(new.distinct) > _MAX_VALUES_AS_GROUPS:
            # past the limit the values are banded: which values they are no longer matters
            new = replace(new, distinct=new.distinct.iloc[: _MAX_VALUES_AS_GROUPS + 1])
        self.seen[name] = new

    def merge(self, other: SensitiveValues) -> SensitiveValues:
        for name, seen in other.seen.items():
            self._add(name, seen)
        return self

    def finalize(self) -> dict[str, ValuesSeen]:
        return self.seen


def plan_groupings(
    seen: dict[str, ValuesSeen],
    sample: pd.DataFrame,
    sensitive: Sequence[str],
    *,
    intersections: bool,
    age_bands: Sequence[float],
    bins: int,
) -> list[Grouping]:
    """Every sensitive column alone, then (when asked) every pair crossed. ``seen`` is
    what ``SensitiveValues`` found over all rows; quantile bands come from ``sample``."""
    single = [_grouping(seen[c], sample[c], c, age_bands=age_bands, bins=bins) for c in sensitive]
    out = list(single)
    if intersections:
        for a, b in combinations(single, 2):
            out.append(_cross(a, b))
    return out


def _banded_kind(series: pd.Series) -> bool:
    return not ptypes.is_bool_dtype(series.dtype) and ptypes.is_numeric_dtype(series.dtype)


def _grouping(seen: ValuesSeen, sample: pd.Series, name: str, *, age_bands: Sequence[float], bins: int) -> Grouping:
    if not _banded_kind(sample) or len(seen.distinct) <= _MAX_VALUES_AS_GROUPS:
        return _by_value(seen, name)
    low, high = seen.low, seen.high
    if _AGE_NAME.search(name) and low >= 0 and high <= 120:
        # Ages get the bands reports and regulators use, not quantiles that move with the sample.
        edges = np.array([e for e in age_bands if low < e <= high], dtype=float)
    else:
        # Quantile edges rounded to two significant digits: "income >= 52000", not 51873.25.
        x = sample.to_numpy(dtype=float, na_value=np.nan)
        qs = np.quantile(x[np.isfinite(x)], np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.unique([float(f"{q:.2g}") for q in qs])
        edges = edges[(edges > low) & (edges <= high)]
    return _by_band(name, edges)


def _by_value(seen: ValuesSeen, name: str) -> Grouping:
    _, uniques = pd.factorize(seen.distinct, sort=True)
    values = tuple(uniques)
    labels: list[Any] = [_plain(v) for v in uniques]
    slices: list[tuple[Condition, ...]] = [(Condition(name, "==", v),) for v in labels]
    labels.append(None)  # the null group, dropped when nobody is in it
    slices.append((Condition(name, "is_null"),))
    return Grouping(name, (name,), tuple(labels), tuple(slices), values=values)


def _by_band(name: str, edges: np.ndarray) -> Grouping:
    labels: list[Any] = []
    slices: list[tuple[Condition, ...]] = []
    e = [_plain(v) for v in edges]
    for i in range(len(e) + 1):
        if i == 0:
            labels.append(f"<{e[0]:g}" if e else "all")
            slices.append((Condition(name, "<", e[0]),) if e else ())
        elif i == len(e):
            labels.append(f">={e[-1]:g}")
            slices.append((Condition(name, ">=", e[-1]),))
        else:
            labels.append(f"[{e[i - 1]:g}, {e[i]:g})")
            slices.append((Condition(name, "between", (e[i - 1], e[i])),))
    labels.append(None)
    slices.append((Condition(name, "is_null"),))
    return Grouping(name, (name,), tuple(labels), tuple(slices), edges=np.asarray(edges, dtype=float))


def _cross(a: Grouping, b: Grouping) -> Grouping:
    labels = tuple([la, lb] for la in a.labels for lb in b.labels)
    slices = tuple(sa + sb for sa in a.slices for sb in b.slices)
    return Grouping(f"{a.feature} & {b.feature}", a.columns + b.columns, labels, slices, parts=(a, b))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
