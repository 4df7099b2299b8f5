"""Columns as small integer codes, with the basic conditions a slice is made of.

Every searchable column is reduced to codes (categories, numeric quantile
bins, null), and every basic condition (``color == 'red'``, ``age >= 52``,
``17 <= age < 23``, ``income is null``) is a 0/1 row over its column's codes.

The coding is planned once, from the audit's shared sample (``ColumnPlan``:
the kept category levels, the quantile edges), and then applied to each
partition of the rows on its own (``SliceRows``), so the codes of a row never
depend on how the rows were split. The codes and the per-row errors are what
a slice search and the shrinking after it read: the partitions' codes are
kept (int32 per row and column, far smaller than the frame) and put back in
row order when merged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from auditkit import Condition, Measurement, Part

__all__ = ["Column", "ColumnPlan", "SliceRows", "SlicedRows", "encode", "plan_columns"]

_SEARCHABLE = ("numeric", "categorical", "boolean")
# Cut points per numeric column for moving a condition's cut after the search.
_FINE_CUTS = 512


@dataclass(frozen=True)
class Column:
    """One column reduced to codes, with the basic conditions over those codes."""

    name: str
    codes: np.ndarray           # code of every row, 0 .. n_codes - 1
    n_codes: int
    conditions: tuple[Condition, ...]
    member: np.ndarray          # (conditions x codes): 1.0 where the condition holds for the code
    # Numeric columns only: finer cut points (data values) and, per row, how many of them
    # are <= its value (len(cuts) + 1 when missing), for moving a cut after the search.
    cuts: np.ndarray | None = None
    fine: np.ndarray | None = None
    integer: bool = False

    def rows(self, condition: int) -> np.ndarray:
        """The boolean row mask of one condition."""
        return self.member[condition].astype(bool)[self.codes]


@dataclass(frozen=True)
class ColumnPlan:
    """How one column becomes codes: its kept levels, or its quantile edges and cuts.

    Planned on a sample; ``codes`` applies it to any rows. Conditions whose rows
    turn out too few over all the rows are dropped when the column is built.
    """

    name: str
    numeric: bool
    n_codes: int
    conditions: tuple[Condition, ...]
    member: np.ndarray
    levels: tuple[Any, ...] = ()                  # categorical: the kept values, code by code
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))  # numeric: bin edges
    cuts: np.ndarray = field(default_factory=lambda: np.zeros(0))   # numeric: fine cut points
    integer: bool = False

    def codes(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
        """The code of every row and, for a numeric column, its place among the fine cuts."""
        if not self.numeric:
            found = pd.Index(list(self.levels)).get_indexer(series) if self.levels else np.full(len(series), -1)
            codes = np.where(found >= 0, found, len(self.levels))
            codes = np.where(series.isna().to_numpy(), len(self.levels) + 1, codes)
            return codes.astype(np.int32), None
        x = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(x)
        at = np.where(finite, x, 0.0)
        n_bins = len(self.edges) + 1
        codes = np.where(finite, np.searchsorted(self.edges, at, side="right"), n_bins)
        fine = np.where(finite, np.searchsorted(self.cuts, at, side="right"), len(self.cuts) + 1)
        return codes.astype(np.int32), fine.astype(np.int16)

    def build(self, codes: np.ndarray, fine: np.ndarray | None, min_rows: int) -> Column | None:
        """The column over all the rows' codes, keeping the conditions with enough rows."""
        m = self.member.copy()
        counts = np.bincount(codes, minlength=self.n_codes)
        m[:, counts == 0] = 0.0  # empty codes change nothing; two conditions differing only there are one
        support = m @ counts
        keep, seen = [], set()
        for i, row in enumerate(m):
            key = row.tobytes()
            if support[i] >= min_rows and support[i] < len(codes) and key not in seen:
                seen.add(key)
                keep.append(i)
        if not keep:
            return None
        column = Column(self.name, codes, self.n_codes, tuple(self.conditions[i] for i in keep), m[keep])
        if self.numeric:
            column = replace(column, cuts=self.cuts, fine=fine, integer=self.integer)
        return column


def plan_columns(
    sample: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    bins: int,
    max_levels: int,
    min_rows: float,
) -> list[ColumnPlan]:
    """The coding of every searchable column, from a sample of the rows. ``min_rows`` is
    the smallest slice in the sample's own rows (the audit's minimum, scaled to the sample):
    a category level with fewer gets no code of its own."""
    out = []
    for name in sample.columns:
        kind = kinds.get(name)
        if kind not in _SEARCHABLE:
            continue  # text, identifiers and dates name single rows, not populations
        series = sample[name]
        if kind == "numeric" and ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
            plan = _numeric(series, str(name), bins=bins)
        else:
            plan = _categorical(series, str(name), max_levels=max_levels, min_rows=min_rows)
        if plan is not None:
            out.append(plan)
    return out


def encode(
    frame: pd.DataFrame, kinds: Mapping[str, str], *, bins: int, max_levels: int, min_rows: int
) -> list[Column]:
    """Codes and conditions for every searchable column of one frame, planned on the
    frame itself; conditions that hold for fewer than ``min_rows`` rows are dropped
    (no slice inside them can qualify)."""
    out = []
    for plan in plan_columns(frame, kinds, bins=bins, max_levels=max_levels, min_rows=min_rows):
        column = plan.build(*plan.codes(frame[plan.name]), min_rows)
        if column is not None:
            out.append(column)
    return out


def _categorical(series: pd.Series, name: str, *, max_levels: int, min_rows: float) -> ColumnPlan:
    cat = pd.Categorical(series)
    levels = np.bincount(np.asarray(cat.codes, dtype=np.int64) + 1, minlength=len(cat.categories) + 1)[1:]
    order = np.argsort(-levels, kind="stable")[:max_levels]
    kept = [int(i) for i in order if levels[i] >= min_rows]
    # codes: kept levels 0..L-1, every other level L, missing L+1
    n_codes = len(kept) + 2
    conditions = [Condition(name, "==", _plain(cat.categories[i])) for i in kept]
    member = [np.eye(n_codes)[i] for i in range(len(kept))]
    conditions.append(Condition(name, "is_null"))  # dropped when too few rows are null
    member.append(np.eye(n_codes)[len(kept) + 1])
    return ColumnPlan(name, False, n_codes, tuple(conditions), np.vstack(member),
                      levels=tuple(cat.categories[i] for i in kept))


def _numeric(series: pd.Series, name: str, *, bins: int) -> ColumnPlan | None:
    x = series.to_numpy(dtype=float, na_value=np.nan)
    values, counts = np.unique(x[np.isfinite(x)], return_counts=True)
    if values.size == 0:
        return None
    as_int = ptypes.is_integer_dtype(series.dtype)
    # Quantile edges taken from the data itself (numpy's "lower" quantiles), so a
    # condition reads "age >= 37", not 36.5.
    cumulative = np.cumsum(counts)

    def quantiles(k: int) -> np.ndarray:
        if values.size <= k:
            return values[1:]
        at = np.floor(np.linspace(0, 1, k + 1)[1:-1] * (cumulative[-1] - 1))
        edges = np.unique(values[np.searchsorted(cumulative, at, side="right")])
        return edges[edges > values[0]]

    edges = quantiles(bins)
    # Few distinct values: each its own code, with "==" for each besides "<" and ">=".
    exact = values if values.size <= bins else None
    n_bins = len(edges) + 1
    n_codes = n_bins + 1
    e = [_number(v, as_int) for v in edges]
    conditions: list[Condition] = []
    member: list[np.ndarray] = []
    below = np.arange(n_codes) < np.arange(1, n_bins)[:, None]  # row i: codes below edge i+1
    nonnull = np.arange(n_codes) < n_bins
    for i in range(1, n_bins):
        conditions.append(Condition(name, "<", e[i - 1]))
        member.append(below[i - 1].astype(float))
        conditions.append(Condition(name, ">=", e[i - 1]))
        member.append((nonnull & ~below[i - 1]).astype(float))
    for i in range(n_bins):
        if exact is not None:
            conditions.append(Condition(name, "==", _number(exact[i], as_int)))
        elif 0 < i < n_bins - 1:
            conditions.append(Condition(name, "between", (e[i - 1], e[i])))
        else:
            continue  # the first and last bins are "<" and ">=" above
        member.append(np.eye(n_codes)[i])
    conditions.append(Condition(name, "is_null"))  # dropped when too few rows are null
    member.append(np.eye(n_codes)[n_bins])
    return ColumnPlan(name, True, n_codes, tuple(conditions), np.vstack(member),
                      edges=edges, cuts=quantiles(_FINE_CUTS), integer=as_int)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _number(value: Any, as_int: bool) -> Any:
    v = float(value)
    return int(v) if as_int and v.is_integer() else v


# -- the rows a slice search reads, partition by partition ---------------------------


@dataclass(frozen=True)
class SlicedRows:
    """Every audit row's codes (as built columns), in row order, with the per-row values
    the search judges (errors, say) and the rows' index labels for examples."""

    columns: list[Column]
    rows: np.ndarray
    values: dict[str, np.ndarray]
    index: pd.Index


@dataclass
class _Chunk:
    rows: np.ndarray
    codes: list[np.ndarray]
    fine: list[np.ndarray | None]
    values: dict[str, np.ndarray]
    index: pd.Index


class SliceRows(Measurement[SlicedRows]):
    """The compact codes of every column plan and the per-row ``values`` of each partition.

    ``values(part)`` gives the per-row arrays the search needs (say, the error of
    each row). Merging keeps the partitions' chunks; finishing puts them in row
    order and builds the columns, dropping conditions with fewer than ``min_rows``
    rows over all the rows.
    """

    def __init__(
        self, plans: Sequence[ColumnPlan], values: Callable[[Part], dict[str, np.ndarray]], *, min_rows: int
    ) -> None:
        self.plans = list(plans)
        self.values = values
        self.min_rows = int(min_rows)
        self.chunks: list[_Chunk] = []

    def update(self, part: Part) -> None:
        if len(part) == 0:
            return
        coded = [plan.codes(part.frame[plan.name]) for plan in self.plans]
        self.chunks.append(_Chunk(
            rows=np.asarray(part.rows), codes=[c for c, _ in coded], fine=[f for _, f in coded],
            values=self.values(part), index=part.frame.index,
        ))

    def merge(self, other: SliceRows) -> SliceRows:
        self.chunks.extend(other.chunks)
        return self

    def finalize(self) -> SlicedRows:
        chunks = sorted(self.chunks, key=lambda c: int(c.rows[0]))
        if not chunks:
            return SlicedRows([], np.zeros(0, dtype=np.int64), {}, pd.Index([]))

        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]

        columns = []
        for i, plan in enumerate(self.plans):
            fine = None if chunks[0].fine[i] is None else joined([c.fine[i] for c in chunks])  # type: ignore[misc]
            column = plan.build(joined([c.codes[i] for c in chunks]), fine, self.min_rows)
            if column is not None:
                columns.append(column)
        values = {k: joined([c.values[k] for c in chunks]) for k in chunks[0].values}
        index = chunks[0].index.append([c.index for c in chunks[1:]]) if len(chunks) > 1 else chunks[0].index
        return SlicedRows(columns, joined([c.rows for c in chunks]), values, index)
